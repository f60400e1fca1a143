//go:build bench_s3

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func init() {
	builders = append(builders, func(cfg aws.Config, endpoint func(string) *string) any {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = endpoint("S3_ENDPOINT"); o.UsePathStyle = true })
	})
}
