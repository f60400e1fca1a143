package main

import (
	"context"
	"crypto/ecdsa"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// trail is a day of audit trail on the local services as the deployed functions leave it: records
// written by a tagging writer, every hour of 2025-03-15 from 07:00 digested, signed and anchored by
// the digest role. The insider has the table client only.
type trail struct {
	db      *dynamodb.Client
	table   string
	env     map[string]string
	builder *audit.Store
	records []audit.Record // the records of 09:00-10:00, in key order
}

var day = time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)

func newTrail(t *testing.T) *trail { return newTrailWith(t, nil) }

// newTrailWith is newTrail, with beforeDigest run on the written trail before 08:00 to 23:00 are
// digested.
func newTrailWith(t *testing.T, beforeDigest func(*trail)) *trail {
	t.Helper()
	ctx := context.Background()
	ls := newLocalTrail(t)
	tr := &trail{db: ls.db, table: ls.table}
	clock := day.Add(7*time.Hour + time.Hour + audit.SettleTime)
	now := func() time.Time { return clock }
	writer := audit.New(audit.Config{DB: ls.db, Table: tr.table, Tagger: envelope.NewTagger(ls.kms, ls.tagKey, envelope.Options{}), Now: now})
	tr.builder = audit.New(audit.Config{DB: ls.db, Table: tr.table, Signer: ls.kms, SigningKey: ls.signKey, PublicKey: ls.pub,
		Anchor: ls.anchor, Now: now})
	if _, err := tr.builder.BuildDue(ctx); err != nil { // genesis: 07:00
		t.Fatal(err)
	}
	for h := 8; h <= 10; h++ {
		for i := range 4 {
			r, err := writer.Append(ctx, action(day.Add(time.Duration(h)*time.Hour+time.Duration(i)*7*time.Minute), h*10+i), nil)
			if err != nil {
				t.Fatal(err)
			}
			if h == 9 {
				tr.records = append(tr.records, r)
			}
		}
	}
	if beforeDigest != nil {
		beforeDigest(tr)
	}
	clock = day.Add(24*time.Hour + audit.SettleTime)
	if built, err := tr.builder.BuildDue(ctx); err != nil || len(built) != 16 {
		t.Fatalf("BuildDue: %d built, %v; want 08:00 to 23:00", len(built), err)
	}
	tr.env = ls.env()
	return tr
}

// localTrail is what a verified trail needs on the local services: a fresh table, a tag key, a
// signing key (its public key also in a file, as an auditor holds it) and a locked digest bucket.
type localTrail struct {
	db              *dynamodb.Client
	kms             *kms.Client
	table           string
	tagKey, signKey string
	pub             *ecdsa.PublicKey
	pubFile         string
	bucket          string
	anchor          *anchor.S3
}

func newLocalTrail(t *testing.T) localTrail {
	t.Helper()
	ls := localTrail{db: testenv.DynamoDB(t), kms: testenv.KMS(t)}
	s3c := testenv.S3(t)
	ls.table = testenv.Table(t, ls.db)
	ls.tagKey = testenv.SymmetricKey(t, ls.kms)
	var der []byte
	ls.signKey, der = testenv.SigningKey(t, ls.kms)
	ls.bucket = testenv.LockedBucket(t, s3c)
	ls.anchor = &anchor.S3{Client: s3c, Bucket: ls.bucket}
	var err error
	if ls.pub, err = audit.ParsePublicKey(der); err != nil {
		t.Fatal(err)
	}
	ls.pubFile = t.TempDir() + "/signing-key.der"
	if err := os.WriteFile(ls.pubFile, der, 0o600); err != nil {
		t.Fatal(err)
	}
	return ls
}

// env is the verifier's environment for the trail, with PUBLIC_KEY_FILE for the -public-key flag.
func (ls localTrail) env() map[string]string {
	return map[string]string{
		"AUDIT_TABLE_NAME": ls.table, "AWS_REGION": testenv.Region, "TAG_KEY_ID": ls.tagKey, "AUDIT_BUCKET_NAME": ls.bucket,
		"DYNAMODB_ENDPOINT": os.Getenv("DYNAMODB_ENDPOINT"), "KMS_ENDPOINT": os.Getenv("KMS_ENDPOINT"),
		"S3_ENDPOINT": os.Getenv("S3_ENDPOINT"), "PUBLIC_KEY_FILE": ls.pubFile,
	}
}

func (tr *trail) verify(t *testing.T) (int, []string, string) {
	t.Helper()
	code, stdout, stderr := execute(t, tr.env, "-date", "2025-03-15", "-public-key", tr.env["PUBLIC_KEY_FILE"])
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	summary := lines[len(lines)-1]
	var findings []string
	for _, l := range lines[:len(lines)-1] {
		f := strings.Fields(l)
		findings = append(findings, f[0]+" "+f[1])
	}
	sort.Strings(findings)
	if !strings.Contains(stderr, "verify-audit: 2025-03-15T09 ") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	return code, findings, summary
}

func recordKey(id string) map[string]types.AttributeValue {
	pk, sk := table.AuditKey(id)
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func digestKey(period string) map[string]types.AttributeValue {
	pk, sk := table.DigestKey(period)
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func leavesKey(period string) map[string]types.AttributeValue {
	pk, sk := table.DigestLeavesKey(period, 0)
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func deleteItem(t *testing.T, db *dynamodb.Client, tbl string, key map[string]types.AttributeValue) {
	t.Helper()
	if _, err := db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(tbl), Key: key}); err != nil {
		t.Fatal(err)
	}
}

func (tr *trail) get(t *testing.T, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := tr.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(tr.table), Key: key})
	if err != nil || out.Item == nil {
		t.Fatalf("get: %v", err)
	}
	return out.Item
}

func (tr *trail) put(t *testing.T, item map[string]types.AttributeValue, rehash bool) {
	t.Helper()
	if rehash {
		h, err := audit.RecordHash(item)
		if err != nil {
			t.Fatal(err)
		}
		item["hash"] = &types.AttributeValueMemberS{Value: h}
	}
	if _, err := tr.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tr.table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func TestAnIntactDay(t *testing.T) {
	tr := newTrail(t)
	code, findings, summary := tr.verify(t)
	if code != 0 || len(findings) != 0 || !strings.HasSuffix(summary, ": intact") ||
		!strings.Contains(summary, "24 periods, 17 digested, 0 not due yet, 7 before the chain, 12 records, 1 writers") {
		t.Fatalf("exit %d, findings %v, summary %q", code, findings, summary)
	}
}

// The insider suite through the command line: full write access to the table, none to the keys or
// the bucket. Each change is a finding and exit status 1.
func TestTheInsiderThroughTheCommandLine(t *testing.T) {
	const p9 = "2025-03-15T09"
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, tr *trail)
		want   string // a finding "kind subject" that must be among them; REC<n> is records[n]
	}{
		{"edit", func(t *testing.T, tr *trail) {
			item := tr.get(t, recordKey(tr.records[1].ID))
			item["actor"] = str("arn:aws:iam::123456789012:role/someone-else")
			tr.put(t, item, false)
		}, "edited REC1"},
		{"delete", func(t *testing.T, tr *trail) { deleteItem(t, tr.db, tr.table, recordKey(tr.records[2].ID)) }, "deleted REC2"},
		{"insert", func(t *testing.T, tr *trail) {
			item := tr.get(t, recordKey(tr.records[1].ID))
			pk, _ := table.AuditKey("rec_planted")
			item["pk"] = str(pk)
			item["day_sk"] = str(table.IndexSortKey(tr.records[1].ReceivedAt.Add(time.Second), "rec_planted"))
			tr.put(t, item, true)
		}, "inserted rec_planted"},
		{"reorder", func(t *testing.T, tr *trail) {
			item := tr.get(t, recordKey(tr.records[0].ID))
			item["day_sk"] = str(table.IndexSortKey(tr.records[3].ReceivedAt.Add(time.Second), tr.records[0].ID))
			tr.put(t, item, false)
		}, "reordered REC0"},
		{"re-hash", func(t *testing.T, tr *trail) {
			item := tr.get(t, recordKey(tr.records[3].ID))
			item["status"] = &types.AttributeValueMemberN{Value: "403"}
			tr.put(t, item, true)
		}, "tag REC3"},
		{"flip a byte of sealed PHI", func(t *testing.T, tr *trail) {
			item := tr.get(t, recordKey(tr.records[2].ID))
			item["phi"] = &types.AttributeValueMemberB{Value: []byte{1, 0, 4, 0xde, 0xad, 0xbe, 0xef}}
			tr.put(t, item, false)
		}, "edited REC2"},
		{"delete a digest", func(t *testing.T, tr *trail) { deleteItem(t, tr.db, tr.table, digestKey(p9)) }, "digest-deleted " + p9},
		{"rebuild a digest", func(t *testing.T, tr *trail) {
			deleteItem(t, tr.db, tr.table, recordKey(tr.records[0].ID))
			deleteItem(t, tr.db, tr.table, digestKey(p9))
			deleteItem(t, tr.db, tr.table, leavesKey(p9))
			if _, err := tr.builder.BuildPeriod(context.Background(), p9); err == nil {
				t.Fatal("the digest role rebuilt an existing period")
			}
		}, "digest-deleted " + p9},
		{"delete a whole period", func(t *testing.T, tr *trail) {
			for _, r := range tr.records {
				deleteItem(t, tr.db, tr.table, recordKey(r.ID))
			}
			deleteItem(t, tr.db, tr.table, digestKey(p9))
			deleteItem(t, tr.db, tr.table, leavesKey(p9))
		}, "leaves " + p9},
		{"restart the chain", func(t *testing.T, tr *trail) {
			for h := 7; h <= 23; h++ {
				deleteItem(t, tr.db, tr.table, digestKey(day.Add(time.Duration(h)*time.Hour).Format("2006-01-02T15")))
			}
			deleteItem(t, tr.db, tr.table, map[string]types.AttributeValue{"pk": str("digest#chain"), "sk": str("digest#chain")})
			if built, err := tr.builder.BuildDue(context.Background()); err != nil || len(built) != 0 {
				t.Fatalf("the digest job after the table lost its chain: %d built, %v; want nothing new", len(built), err)
			}
		}, "digest-deleted 2025-03-15T07"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrail(t)
			tc.tamper(t, tr)
			code, findings, summary := tr.verify(t)
			want := tc.want
			for i, r := range tr.records {
				want = strings.ReplaceAll(want, "REC"+string(rune('0'+i)), r.ID)
			}
			found := false
			for _, f := range findings {
				found = found || f == want
			}
			if code != 1 || !found || !strings.Contains(summary, "TAMPERED") {
				t.Fatalf("exit %d, findings %v (want %q among them), summary %q", code, findings, want, summary)
			}
		})
	}
}
