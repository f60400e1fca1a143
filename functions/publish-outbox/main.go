// Command publish-outbox is PublishOutboxFunction: every minute, publishes the acknowledged webhook events still
// on the outbox.
// Its handler is built once per cold start by shared/wiring/wirewebhook.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wirewebhook"
)

func main() {
	h := wiring.Must(wirewebhook.PublishOutbox(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
