package audit

import (
	"context"
	"fmt"
	"slices"
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

// StoredLine is one StoredLogMessage line: a record its writer stored, by its writer, number and
// period, and when the line was logged (after the write).
type StoredLine struct {
	Writer string
	Seq    int64
	Period string
	Logged time.Time
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

// IndexLag bounds how long a stored record takes to appear in the by-day index the verifier reads
// (a global secondary index: eventually consistent, typically within a second). Lines logged less
// than IndexLag before a verification starts are left to the next one: their records may not be
// readable yet.
const IndexLag = time.Minute

// checkWriteLog reports, after the sequence check of the range has seen every record of the periods
// from c.from to to, each number a writer logged as stored in those periods that no record carries
// (of the lines logged IndexLag before started, when the verification began reading the table).
// Those are records deleted from the table, the last records of a writer that never wrote again
// included. It returns the number of lines read.
func (s *Store) checkWriteLog(ctx context.Context, c *seqCheck, to, started time.Time) (int, error) {
	if c.from.IsZero() {
		return 0, nil
	}
	lines := 0
	missing := map[string]*spans{}
	err := s.cfg.WriteLog.Lines(ctx, c.from, to, func(l StoredLine) error {
		if !l.Logged.Before(started.Add(-IndexLag)) {
			return nil
		}
		lines++
		if ws := c.writers[l.Writer]; ws != nil && ws.seen.contains(l.Seq) {
			return nil
		}
		m := missing[l.Writer]
		if m == nil {
			m = &spans{}
			missing[l.Writer] = m
		}
		m.add(l.Seq, l.Seq, l.Period, l.Period)
		return nil
	})
	if err != nil {
		return lines, fmt.Errorf("audit: read the writers' stored lines: %w", err)
	}
	ids := make([]string, 0, len(missing))
	for w := range missing {
		ids = append(ids, w)
	}
	slices.Sort(ids)
	for _, w := range ids {
		for _, m := range *missing[w] {
			nums := fmt.Sprintf("seq %d", m.lo)
			if m.hi > m.lo {
				nums = fmt.Sprintf("seqs %d-%d", m.lo, m.hi)
			}
			c.report(Finding{Kind: FindingMissingRecord, Period: m.loAt,
				Detail: fmt.Sprintf("writer %s %s: logged as stored (%s), but no record in the table carries it", w, nums, periodSpan(m.loAt, m.hiAt))})
		}
	}
	return lines, nil
}

func periodSpan(a, b string) string {
	if a == b {
		return a
	}
	return a + " to " + b
}
