//go:build bench_secretsmanager

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func init() {
	builders = append(builders, func(cfg aws.Config, endpoint func(string) *string) any {
		return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint("SECRETSMANAGER_ENDPOINT") })
	})
}
