// Command helloclients is P4's second baseline (performance.md): the aws-lambda-go hello world that
// first builds the AWS clients a function uses, as the functions build them at cold start (the
// configuration of shared/config, then one client per service), so that a function's cold start over
// this one is what the project's own code costs, and this one over hello is the SDK's.
//
// Which clients it builds is chosen at build time, one tag per service, so that it links exactly the
// SDK packages the function it stands beside links (scripts/bench derives them from go list):
//
//	go build -tags lambda.norpc,bench_dynamodb,bench_kms ./scripts/bench/helloclients
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/config"
)

// builders are the clients this build makes, one file per service, each at its local endpoint
// when the environment names one.
var builders []func(cfg aws.Config, endpoint func(env string) *string) any

func main() {
	cfg, err := config.Load()
	if err != nil {
		os.Exit(1)
	}
	ac, err := cfg.AWS(context.Background())
	if err != nil {
		os.Exit(1)
	}
	clients := make([]any, 0, len(builders))
	for _, b := range builders {
		clients = append(clients, b(ac, endpoint))
	}
	lambda.Start(func(context.Context, json.RawMessage) (int, error) { return len(clients), nil })
}

// endpoint is a local endpoint from the environment, as the functions' configuration reads it.
func endpoint(name string) *string { return config.Endpoint(os.Getenv(name)) }
