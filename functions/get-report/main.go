// Command get-report is GetReportFunction: GET /reports/{date}, the stored compliance report of a date
// as JSON, HTML or CSV, and GET /reports, the summaries of a range (see shared/report). It only
// wires: configuration and clients once per cold start, and the access policy.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	ctx, cfg := setup.ColdStart()
	h := setup.Must(report.BuildGet(ctx, cfg, report.WithAuthorizer(report.IAMOnly{})))
	lambda.Start(h.Handle)
}
