// Command daily-report is DailyReportFunction: the daily compliance report, run by the schedule at 00:15 UTC for
// the previous UTC day, or invoked with {"date": "YYYY-MM-DD"}.
// Its handler is built once per cold start by shared/wiring/wirereport.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereport"
)

func main() {
	h := wiring.Must(wirereport.DailyReport(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
