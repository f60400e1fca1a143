//go:build bench_eventbridge

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

func init() {
	builders = append(builders, func(cfg aws.Config, endpoint func(string) *string) any {
		return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = endpoint("EVENTBRIDGE_ENDPOINT") })
	})
}
