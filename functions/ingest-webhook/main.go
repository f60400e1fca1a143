// Command ingest-webhook is IngestWebhookFunction: WhatConverts New Lead / Updated Lead webhooks -> audit record -> bus.
// It only wires: configuration, clients and handler are built once per cold start in
// shared/webhook, and a failure there ends the process (an init error) after logging it without PHI.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/setup"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		setup.Fail("load configuration", err)
	}
	h, err := webhook.BuildIngest(context.Background(), cfg)
	if err != nil {
		setup.Fail("build the webhook handler", err)
	}
	lambda.Start(h.Handle)
}
