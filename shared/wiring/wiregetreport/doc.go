// Package wiregetreport builds GetReportFunction (report.Get) from its configuration (see package
// wiring): an IAM route, which links the access policy that the daily report (wirereport) does not.
package wiregetreport
