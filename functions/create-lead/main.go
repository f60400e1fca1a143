// Command create-lead is the CreateLeadFunction Lambda: the Create Lead action behind API Gateway
// (see shared/actions). It only wires: configuration, clients and the WhatConverts credentials once per
// cold start, then the handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(actions.BuildCreateLead(setup.ColdStart()))
	lambda.Start(h.Handle)
}
