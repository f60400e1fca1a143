// Command replay is the ReplayFunction Lambda: POST /replays behind API Gateway, and the Event
// invocations of itself that publish a replay chunk by chunk (see shared/replay; the handler tells
// the two apart). It only wires: configuration and clients once per cold start, then the handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/replay"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(replay.Build(setup.ColdStart()))
	lambda.Start(h.Handle)
}
