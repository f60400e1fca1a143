// Command update-lead is the UpdateLeadFunction Lambda: the Update Lead action behind API Gateway, and
// invoked directly by the workflow rules of WORKFLOW_RULE_ARNS (see shared/actions; the handler tells
// the two apart). It only wires: configuration, clients and the WhatConverts credentials once per cold
// start, then the handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(actions.BuildUpdateLead(setup.ColdStart()))
	lambda.Start(h.Handle)
}
