// Command publish-outbox is PublishOutboxFunction: every minute, publishes the acknowledged webhook events still
// on the outbox.
// Its handler is built once per cold start by shared/wiring/wireoutbox.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireoutbox"
)

func main() {
	h := wiring.Must(wireoutbox.PublishOutbox(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
