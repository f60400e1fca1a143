//go:build bench_kms

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func init() {
	builders = append(builders, func(cfg aws.Config, endpoint func(string) *string) any {
		return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = endpoint("KMS_ENDPOINT") })
	})
}
