// Package auditjob is AuditDigestFunction: the one role that signs and anchors the audit trail's
// period digests, and its continuous verifier.
//
// Every run (hourly, a quarter past, by schedule) it
//
//  1. digests every period that is due since the chain's head, empty ones included, each signed with
//     the ECC_NIST_P256 signing key and anchored in the Object Lock bucket (audit.Store.BuildDue);
//     a chain whose head has gone missing is never restarted: that is a finding;
//  2. verifies the chain from its last checkpoint, and at least the last seven days, to the head,
//     with the public key, the record tags, the table and the bucket, and every writer's record
//     numbers, so that a record deleted before its hour was digested is a finding too
//     (audit.Store.VerifyPeriods);
//  3. publishes the number of findings as the CloudWatch metric wcbridge/Audit AuditFindings, in
//     embedded metric format on stdout; template.yaml's AuditFindingsAlarm fires on any, and on a
//     run that published nothing;
//  4. moves the checkpoint to the head when the run found nothing.
//
// Its role reads the table, writes only digest items (digest#*), signs, and puts objects in the
// bucket; it cannot write an audit record, and no writer can sign. Findings are logged by kind,
// period and record ID: never PHI (the job cannot open a sealed payload).
package auditjob
