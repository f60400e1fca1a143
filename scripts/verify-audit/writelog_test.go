package main

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// The insider deletes the last record of a writer that never writes again, before its period is
// digested: nothing left in the table says it existed. The writer's stored line, in its log group,
// does, and the command line names it when given the writers' log groups (exit 1).
func TestAWritersLastRecordDeletedBeforeItsDigest(t *testing.T) {
	ctx := context.Background()
	db, k, s3c := testenv.DynamoDB(t), testenv.KMS(t), testenv.S3(t)
	tbl := testenv.Table(t, db)
	tagKey := testenv.SymmetricKey(t, k)
	signKey, der := testenv.SigningKey(t, k)
	bucket := testenv.LockedBucket(t, s3c)
	pub, err := audit.ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := t.TempDir() + "/signing-key.der"
	if err := os.WriteFile(pubFile, der, 0o600); err != nil {
		t.Fatal(err)
	}
	// Yesterday: CloudWatch Logs refuses events older than 14 days.
	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	clock := yesterday.Add(8*time.Hour + audit.SettleTime)
	now := func() time.Time { return clock }
	group, _, lw := testenv.LogGroup(t)
	lw.Now = now
	writer := audit.New(audit.Config{DB: db, Table: tbl, Tagger: envelope.NewTagger(k, tagKey, envelope.Options{}), Now: now,
		Log: slog.New(slog.NewJSONHandler(lw, nil))})
	builder := audit.New(audit.Config{DB: db, Table: tbl, Signer: k, SigningKey: signKey, PublicKey: pub,
		Anchor: &anchor.S3{Client: s3c, Bucket: bucket}, Now: now})
	if _, err := builder.BuildDue(ctx); err != nil { // genesis: 07:00
		t.Fatal(err)
	}
	var last audit.Record
	for i := range 3 {
		clock = yesterday.Add(9*time.Hour + time.Duration(i)*10*time.Minute)
		if last, err = writer.Append(ctx, action(clock, 90+i), nil); err != nil {
			t.Fatal(err)
		}
	}
	deleteItem(t, db, tbl, recordKey(last.ID))
	clock = yesterday.Add(24*time.Hour + audit.SettleTime)
	if _, err := builder.BuildDue(ctx); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"AUDIT_TABLE_NAME": tbl, "AWS_REGION": testenv.Region, "TAG_KEY_ID": tagKey, "AUDIT_BUCKET_NAME": bucket,
		"DYNAMODB_ENDPOINT": os.Getenv("DYNAMODB_ENDPOINT"), "KMS_ENDPOINT": os.Getenv("KMS_ENDPOINT"),
		"S3_ENDPOINT": os.Getenv("S3_ENDPOINT"),
	}
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
