// Command create-lead is CreateLeadFunction: the Create Lead action behind API Gateway.
// Its handler is built once per cold start by shared/wiring/wireactions.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
)

func main() {
	h := wiring.Must(wireactions.CreateLead(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
