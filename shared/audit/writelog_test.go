package audit_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/writelog"
)

// logTrail is a seqTrail whose writers log their stored lines to a log group of the local
// CloudWatch Logs (as Lambda delivers a function's output), stamped with the test's clock, and a
// verifier that reads them back.
type logTrail struct {
	*seqTrail
	withLog *audit.Store // the verifier with the writers' log
	logs    *testenv.Logs
}

func newLogTrail(t *testing.T) *logTrail {
	t.Helper()
	// CloudWatch Logs refuses events older than 14 days: this trail's hours are this morning's.
	defer func(h time.Time) { t.Cleanup(func() { hour0 = h }) }(hour0)
	hour0 = time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
	tr := newSeqTrail(t)
	group, client, w := testenv.LogGroup(t)
	w.Now = tr.clock.Now
	logs := &testenv.Logs{}
	tr.cfg.Log = slog.New(slog.NewJSONHandler(io.MultiWriter(w, logs), &slog.HandlerOptions{Level: slog.LevelError}))
	vcfg := audit.Config{DB: tr.db, Table: tr.table, TagChecker: tr.cfg.TagChecker, PublicKey: tr.cfg.PublicKey,
		Anchor: tr.anchor, Now: tr.clock.Now, WriteLog: writelog.CloudWatch{Client: client, Groups: []string{group}}}
	return &logTrail{seqTrail: tr, withLog: audit.New(vcfg), logs: logs}
}

// verifyWithLog verifies hour0+first .. hour0+last with the writers' log, at the test clock.
func (tr *logTrail) verifyWithLog(t *testing.T, first, last int) (audit.RangeReport, []audit.Finding) {
	t.Helper()
	var all []audit.Finding
	rep, err := tr.withLog.VerifyPeriods(ctx(t), period(first), period(last), func(f audit.Finding) { all = append(all, f) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.LogChecked {
		t.Fatal("the report says the log was not checked")
	}
	return rep, all
}

// The table alone cannot show the last records of a writer that never writes again: nothing after
// them says they existed. The writers' stored lines, outside the table, do.
func TestTheWritersLogShowsRecordsDeletedAtTheEndOfTheirWriter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, tr *logTrail) (deleted []audit.Record)
		want  string // the missing-record finding's detail names the writer and this
	}{
		{"a retired writer's last record", func(t *testing.T, tr *logTrail) []audit.Record {
			w := tr.writer(at(1), nil)
			tr.append(t, w, at(1, 10))
			tr.append(t, w, at(1, 20))
			return []audit.Record{tr.append(t, w, at(1, 30))}
		}, "seq 3"},
		{"a retired writer's last two records, across an hour", func(t *testing.T, tr *logTrail) []audit.Record {
			w := tr.writer(at(1, 50), nil)
			tr.append(t, w, at(1, 51))
			return []audit.Record{tr.append(t, w, at(1, 58)), tr.append(t, w, at(2, 3))}
		}, "seqs 2-3"},
		{"every record of a writer", func(t *testing.T, tr *logTrail) []audit.Record {
			w := tr.writer(at(2), nil)
			return []audit.Record{tr.append(t, w, at(2, 5))}
		}, "seq 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newLogTrail(t)
			other := tr.writer(at(1), nil) // a writer left intact
			tr.append(t, other, at(1, 15))
			deleted := tc.write(t, tr)
			for _, r := range deleted {
				deleteItem(t, tr.env, key(r.ID))
			}
			tr.digest(t, 3) // the digests commit to the table without them

			if got, _ := tr.verify(t, 0, 3); got != "" {
				t.Fatalf("without the log the table shows (the limit this closes):\n%s", got)
			}
			rep, all := tr.verifyWithLog(t, 0, 3)
			if len(all) != 1 || all[0].Kind != audit.FindingMissingRecord ||
				!strings.Contains(all[0].Detail, "writer "+deleted[0].Writer+" "+tc.want+":") || all[0].Period != audit.PeriodOf(deleted[0].ReceivedAt) {
				t.Fatalf("findings %v, want one missing-record for writer %s %s in %s", all, deleted[0].Writer, tc.want, audit.PeriodOf(deleted[0].ReceivedAt))
			}
			if rep.Findings != 1 || rep.LogLines == 0 {
				t.Fatalf("report %+v", rep)
			}
			for _, phi := range phiStrings {
				if strings.Contains(all[0].String(), phi) || strings.Contains(tr.logs.String(), phi) {
					t.Fatalf("PHI in a finding or a stored line")
				}
			}
		})
	}
}

func TestTheWritersLogOfAnIntactTrailHasNoFinding(t *testing.T) {
	tr := newLogTrail(t)
	a, b := tr.writer(at(1), nil), tr.writer(at(1, 30), nil)
	appended := 0
	for m := range 6 {
		tr.append(t, a, at(1, 10*m))
		tr.append(t, b, at(1, 30+5*m))
		appended += 2
	}
	// A refused duplicate was not stored: it has no line, and its number is declared skipped.
	key := newLeadKey(42)
	if _, isNew, err := a.RecordIfNew(ctx(t), key, webhook(at(2, 1), "req-first"), leadPayload); err != nil || !isNew {
		t.Fatal(isNew, err)
	}
	if _, isNew, err := b.RecordIfNew(ctx(t), key, webhook(at(2, 2), "req-again"), leadPayload); err != nil || isNew {
		t.Fatal(isNew, err)
	}
	tr.append(t, b, at(2, 3))
	appended += 2
	tr.digest(t, 3)
	rep, all := tr.verifyWithLog(t, 0, 3)
	if len(all) != 0 || rep.LogLines != appended {
		t.Fatalf("findings %v, %d lines read; want none and %d lines", all, rep.LogLines, appended)
	}
	if n := strings.Count(tr.logs.String(), audit.StoredLogMessage); n != appended {
		t.Fatalf("%d stored lines logged, want one per record stored (%d), whatever the logger's level", n, appended)
	}
}

// A line logged just before a verification may name a record the index does not show yet: it is
// left to the next verification, which reports the record if it is gone.
func TestALineLoggedJustBeforeTheVerificationIsLeftToTheNext(t *testing.T) {
	tr := newLogTrail(t)
	w := tr.writer(at(1), nil)
	tr.clock.Set(at(1, 30)) // the line's time
	r := tr.append(t, w, at(1, 30))
	deleteItem(t, tr.env, key(r.ID))
	tr.clock.Set(at(1, 30).Add(audit.IndexLag / 2))
	if _, all := tr.verifyWithLog(t, 1, 1); len(all) != 0 {
		t.Fatalf("findings %v for a line logged %v before the verification", all, audit.IndexLag/2)
	}
	tr.clock.Set(at(1, 30).Add(audit.IndexLag + time.Second))
	if _, all := tr.verifyWithLog(t, 1, 1); len(all) != 1 || all[0].Kind != audit.FindingMissingRecord {
		t.Fatalf("findings %v, want the deleted record once the line is %v old", all, audit.IndexLag)
	}
}
