// Command get-report is GetReportFunction: GET /reports/{date}, the stored compliance report of a date.
// Its handler is built once per cold start by shared/wiring/wiregetreport.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wiregetreport"
)

func main() {
	h := wiring.Must(wiregetreport.GetReport(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
