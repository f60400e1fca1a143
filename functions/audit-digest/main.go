// Command audit-digest is AuditDigestFunction: every hour it signs and anchors the audit trail's due
// period digests and verifies the chain, publishing its findings as a metric (see shared/auditjob).
// It only wires: configuration, clients and the public key once per cold start.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/setup"
)

func main() {
	h := setup.Must(auditjob.Build(setup.ColdStart()))
	lambda.Start(h.Handle)
}
