// Package wirereport builds DailyReportFunction (report.Daily) from its configuration (see package
// wiring; GetReportFunction is wiregetreport's).
package wirereport
