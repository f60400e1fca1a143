// Command get-leads is the GetLeadsFunction Lambda: the Get Leads action behind API Gateway
// (see shared/actions). It only wires: configuration, clients and the WhatConverts credentials once per
// cold start, then the handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(actions.BuildGetLeads(setup.ColdStart()))
	lambda.Start(h.Handle)
}
