// Command trigger-samples is TriggerSamplesFunction: GET /triggers/{trigger}/samples, an audited PHI read.
// Its handler is built once per cold start by shared/wiring/wiresamples.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wiresamples"
)

func main() {
	h := wiring.Must(wiresamples.TriggerSamples(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
