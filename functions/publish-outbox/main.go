// Command publish-outbox is PublishOutboxFunction: every minute, publishes the acknowledged webhook events still on the outbox.
// It only wires: configuration, clients and handler are built once per cold start in
// shared/webhook, and a failure there ends the process (an init error) after logging it without PHI.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/setup"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

func main() {
	h := setup.Must(webhook.BuildPublisher(setup.ColdStart()))
	lambda.Start(h.Handle)
}
