package auditjob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// The hourly job on the local services: a record that an insider with table access deletes before
// the job digests its hour is a finding of the job's next run, in its metric and its log, and the
// checkpoint stays where it was.
func TestTheJobFindsARecordDeletedBeforeItsDigest(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		name := map[bool]string{false: "untouched: no finding, the checkpoint moves", true: "a record deleted before its digest"}[tamper]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			db := testenv.DynamoDB(t)
			tbl := testenv.Table(t, db)
			k := testenv.KMS(t)
			s3c := testenv.S3(t)
			tagKey := testenv.SymmetricKey(t, k)
			signKey, der := testenv.SigningKey(t, k)
			pub, err := audit.ParsePublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			hour0 := time.Date(2025, 3, 15, 7, 0, 0, 0, time.UTC)
			c := &clock{t: hour0.Add(time.Hour + audit.SettleTime)}
			tagger := envelope.NewTagger(k, tagKey, envelope.Options{})
			store := audit.New(audit.Config{DB: db, Table: tbl, Signer: k, SigningKey: signKey, PublicKey: pub, TagChecker: tagger,
				Anchor: &anchor.S3{Client: s3c, Bucket: testenv.LockedBucket(t, s3c)}, Now: c.Now})
			var metrics, logs bytes.Buffer
			job := &auditjob.Job{Trail: store, Checkpoints: store, Metrics: &metrics, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Now: c.Now}
			if res, err := job.Handle(ctx, nil); err != nil || len(res.Built) != 1 || res.Findings != 0 {
				t.Fatalf("first run (genesis): %+v, %v", res, err)
			}

			c.Set(hour0.Add(time.Hour))
			writer := audit.New(audit.Config{DB: db, Table: tbl, Tagger: tagger, Now: c.Now})
			var ids []string
			for i := range 3 {
				r, err := writer.Append(ctx, audit.Record{Kind: audit.KindAction, Actor: "arn:aws:iam::123456789012:role/crm-sync",
					Action: "get-lead", Outcome: audit.OutcomeOK, Status: 200, ProfileID: 1001, LeadIDs: []int64{int64(i)},
					ReceivedAt: hour0.Add(time.Hour + time.Duration(10*(i+1))*time.Minute)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			if tamper {
				pk, sk := table.AuditKey(ids[1])
				if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(tbl), Key: map[string]types.AttributeValue{
					table.PK: &types.AttributeValueMemberS{Value: pk}, table.SK: &types.AttributeValueMemberS{Value: sk}}}); err != nil {
					t.Fatal(err)
				}
			}

			c.Set(hour0.Add(2*time.Hour + audit.SettleTime))
			metrics.Reset()
			res, err := job.Handle(ctx, nil)
			if err != nil || len(res.Built) != 1 || res.Records != 3-len(ids[:map[bool]int{false: 0, true: 1}[tamper]]) {
				t.Fatalf("second run: %+v, %v", res, err)
			}
			var line map[string]any
			if err := json.Unmarshal(metrics.Bytes(), &line); err != nil {
				t.Fatalf("metric line %q: %v", metrics.String(), err)
			}
			cp, err := store.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantFindings := map[bool]int{false: 0, true: 1}[tamper]
			if res.Findings != wantFindings || line[auditjob.MetricFindings] != float64(wantFindings) {
				t.Fatalf("findings %d, metric %v; want %d\nlog:\n%s", res.Findings, line[auditjob.MetricFindings], wantFindings, logs.String())
			}
			if logged := strings.Contains(logs.String(), `"kind":"missing-record"`); logged != tamper {
				t.Errorf("missing-record logged: %v; want %v\n%s", logged, tamper, logs.String())
			}
			if moved := cp == audit.PeriodOf(hour0.Add(time.Hour)); moved == tamper {
				t.Errorf("checkpoint %q after a run with %d findings", cp, res.Findings)
			}
		})
	}
}
