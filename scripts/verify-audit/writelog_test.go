package main

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// The insider deletes the last record of a writer that never writes again, before its period is
// digested: nothing left in the table says it existed. The writer's stored line, in its log group,
// does, and the command line names it when given the writers' log groups (exit 1).
func TestAWritersLastRecordDeletedBeforeItsDigest(t *testing.T) {
	ctx := context.Background()
	ls := newLocalTrail(t)
	// Yesterday: CloudWatch Logs refuses events older than 14 days.
	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	clock := yesterday.Add(8*time.Hour + audit.SettleTime)
	now := func() time.Time { return clock }
	group, _, lw := testenv.LogGroup(t)
	lw.Now = now
	writer := audit.New(audit.Config{DB: ls.db, Table: ls.table, Tagger: envelope.NewTagger(ls.kms, ls.tagKey, envelope.Options{}), Now: now,
		Log: slog.New(slog.NewJSONHandler(lw, nil))})
	builder := audit.New(audit.Config{DB: ls.db, Table: ls.table, Signer: ls.kms, SigningKey: ls.signKey, PublicKey: ls.pub,
		Anchor: ls.anchor, Now: now})
	if _, err := builder.BuildDue(ctx); err != nil { // genesis: 07:00
		t.Fatal(err)
	}
	var last audit.Record
	for i := range 3 {
		var err error
		clock = yesterday.Add(9*time.Hour + time.Duration(i)*10*time.Minute)
		if last, err = writer.Append(ctx, action(clock, 90+i), nil); err != nil {
			t.Fatal(err)
		}
	}
	deleteItem(t, ls.db, ls.table, recordKey(last.ID))
	clock = yesterday.Add(24*time.Hour + audit.SettleTime)
	if _, err := builder.BuildDue(ctx); err != nil {
		t.Fatal(err)
	}

	env, pubFile := ls.env(), ls.pubFile
	date := yesterday.Format("2006-01-02")
	t.Run("without the log groups the table alone looks intact, and the summary says what was not checked", func(t *testing.T) {
		code, stdout, stderr := execute(t, env, "-date", date, "-public-key", pubFile)
		if code != 0 || !strings.Contains(stdout, "not checked: the writers' stored lines (AUDIT_WRITER_LOG_GROUPS not set)") ||
			!strings.Contains(stderr, "NOT checking the writers' stored lines") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("with them the deletion is named", func(t *testing.T) {
		env["AUDIT_WRITER_LOG_GROUPS"], env["LOGS_ENDPOINT"] = group, os.Getenv("LOGS_ENDPOINT")
		code, stdout, stderr := execute(t, env, "-date", date, "-public-key", pubFile)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		want := regexp.MustCompile(`^missing-record ` + audit.PeriodOf(last.ReceivedAt) + ` writer ` + regexp.QuoteMeta(last.Writer) + ` seq 3: logged as stored`)
		if code != 1 || len(lines) != 2 || !want.MatchString(lines[0]) || !strings.Contains(lines[1], ", 3 stored lines") || !strings.HasSuffix(lines[1], ": TAMPERED, 1 finding") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("a log group that cannot be read is an error, not a pass", func(t *testing.T) {
		env["AUDIT_WRITER_LOG_GROUPS"] = group + ",/aws/lambda/no-such-group"
		code, stdout, stderr := execute(t, env, "-date", date, "-public-key", pubFile)
		if code != 2 || !strings.Contains(stderr, "no-such-group") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}
