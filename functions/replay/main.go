// Command replay is ReplayFunction: POST /replays behind API Gateway, and the Event invocations of
// itself that publish a replay chunk by chunk (shared/replay; the handler tells the two apart). Its
// handler is built once per cold start by shared/wiring/wirereplay.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereplay"
)

func main() {
	h := wiring.Must(wirereplay.Replay(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
