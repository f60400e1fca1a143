// Command daily-report is DailyReportFunction: the daily compliance report, invoked by the EventBridge
// schedule at 00:15 UTC for the previous UTC day, or with {"date": "YYYY-MM-DD"} to (re)build that
// date (see shared/report). It only wires: configuration, clients and credentials once per cold start.
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
	h, err := report.BuildDaily(context.Background(), cfg)
	if err != nil {
		setup.Fail("build the daily report", err)
	}
	lambda.Start(h.Handle)
}
