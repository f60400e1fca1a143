package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/logship"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/writelog"
)

// storedLines checks that the bootstraps' output reached their local log groups as Lambda delivers
// it, so that the verifier's second record is there: every stored line in the writers' groups names
// a record of the table, and each writer that logged has a line for every record it holds. (Records
// the scenarios seeded through a store of their own have writers that never logged: not compared.)
func (s *suite) storedLines(t *testing.T, from time.Time) {
	t.Helper()
	endpoint := os.Getenv("LOGS_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("S3_ENDPOINT") != "" {
			t.Fatal("S3_ENDPOINT is set without LOGS_ENDPOINT: scripts/with-services.sh sets both")
		}
		t.Log("no LOGS_ENDPOINT (moto): the functions' log delivery is not checked")
		return
	}
	ctx := context.Background()
	to := time.Now()
	logged := map[audit.StoredLine]bool{}
	writers := map[string]bool{}
	cw := writelog.CloudWatch{Client: logship.Client(endpoint, "us-east-1"), Groups: s.backends.WriterLogGroups()}
	if len(cw.Groups) == 0 {
		t.Fatal("the template names no writers' log groups (AUDIT_WRITER_LOG_GROUPS)")
	}
	err := cw.Lines(ctx, from, to, func(l audit.StoredLine) error {
		l.Logged = time.Time{} // compared by writer, number and period
		logged[l], writers[l.Writer] = true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[audit.StoredLine]bool{}
	store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: s.backends.Options.Table})
	for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		err := store.Day(ctx, table.Day(day), func(r audit.Record) error {
			l := audit.StoredLine{Writer: r.Writer, Seq: r.Seq, Period: audit.PeriodOf(r.ReceivedAt)}
			recorded[l] = true
			if writers[r.Writer] && !logged[l] {
				t.Errorf("record %s (%s) of writer %s, seq %d, has no stored line in the writers' groups", r.ID, r.Action, r.Writer, r.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for l := range logged {
		if !recorded[l] {
			t.Errorf("stored line %v names no record of the table", l)
		}
	}
	if len(writers) < 3 {
		t.Errorf("%d writers logged stored lines, want at least the webhook's and the actions'", len(writers))
	}
	t.Logf("%d stored lines from %d writers, each a record of the table", len(logged), len(writers))
}
