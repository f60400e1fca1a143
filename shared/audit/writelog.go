package audit

import (
	"context"
	"time"
)

// The trail's second record. A writer's numbers (writer.go) show a record deleted from the middle of
// its sequence, but not its last records: a writer that never writes again leaves nothing in the
// table after them. So every writer also logs each record it stored, after the write, as one line
// (StoredLogMessage) with its writer, number and period and nothing else. Lambda delivers the line to
// the function's log group, which a holder of the table cannot edit: CloudWatch Logs has no API that
// changes or removes one event. The verifier reads the lines of its range back (WriteLog) and reports
// every number logged as stored that no record in the table carries.
const (
	StoredLogMessage = "audit record stored"
	LogWriter        = "audit_writer"
	LogSeq           = "audit_seq"
	LogPeriod        = "audit_period"
)

// StoredLine is one StoredLogMessage line: a record its writer stored, by its writer, number and period.
type StoredLine struct {
	Writer string
	Seq    int64
	Period string
}

// WriteLog reads back what writers logged as stored. Lines reports every line whose period lies in
// [from, to] (period starts); it may report a line more than once (a log delivered twice), and a line
// whose fields do not parse is not reported. shared/writelog reads CloudWatch Logs.
type WriteLog interface {
	Lines(ctx context.Context, from, to time.Time, fn func(StoredLine) error) error
}

// LogDelay bounds how long after a record's period ends its stored line can still be delivered: the
// write and its line come within a function's timeout (15 minutes) of the record's time, and Lambda
// delivers a line within seconds. A reader of [from, to] reads the log up to to's end plus LogDelay.
const LogDelay = 20 * time.Minute
