// Command ingest-webhook is IngestWebhookFunction: WhatConverts New Lead and Updated Lead webhooks, audited,
// then put on the bus.
// Its handler is built once per cold start by shared/wiring/wirewebhook.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wirewebhook"
)

func main() {
	h := wiring.Must(wirewebhook.IngestWebhook(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
