// Command get-report is GetReportFunction: GET /reports/{date}, the stored compliance report of a date
// (see shared/report). It only wires: configuration and clients once per cold start.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(report.BuildGet(setup.ColdStart()))
	lambda.Start(h.Handle)
}
