// Command get-report is GetReportFunction: GET /reports/{date}, the stored compliance report of a date
// (see shared/report). It only wires: configuration and clients once per cold start.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		setup.Fail("load configuration", err)
	}
	h, err := report.BuildGet(context.Background(), cfg)
	if err != nil {
		setup.Fail("build the report reader", err)
	}
	lambda.Start(h.Handle)
}
