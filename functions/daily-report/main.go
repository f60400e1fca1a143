// Command daily-report is DailyReportFunction: the daily compliance report, invoked by the EventBridge
// schedule at 00:15 UTC for the previous UTC day, or with {"date": "YYYY-MM-DD"} to (re)build that
// date (see shared/report). It only wires: configuration, clients and credentials once per cold start.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(report.BuildDaily(setup.ColdStart()))
	lambda.Start(h.Handle)
}
