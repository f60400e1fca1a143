//go:build bench_dynamodb

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func init() {
	builders = append(builders, func(cfg aws.Config, endpoint func(string) *string) any {
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint("DYNAMODB_ENDPOINT") })
	})
}
