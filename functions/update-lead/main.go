// Command update-lead is UpdateLeadFunction: the Update Lead action behind API Gateway, also invoked directly
// by the workflow rules of WORKFLOW_RULE_ARNS.
// Its handler is built once per cold start by shared/wiring/wireactions.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
)

func main() {
	h := wiring.Must(wireactions.UpdateLead(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
