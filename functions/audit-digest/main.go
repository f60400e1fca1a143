// Command audit-digest is AuditDigestFunction: every hour it signs and anchors the audit trail's due
// period digests and verifies the chain, publishing its findings as a metric (see shared/auditjob).
// Its handler is built once per cold start by shared/wiring/wireaudit.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireaudit"
)

func main() {
	h := wiring.Must(wireaudit.AuditDigest(wiring.ColdStart()))
	lambda.Start(h.Handle)
}
