package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// The real envelope encryption over local-kms: a writer that can only seal (the webhook function), a
// reader in another process that opens (trigger samples).
func TestWithEnvelopeEncryption(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	countKMS, calls := envelope.CountCalls()
	k := testenv.KMS(t, countKMS)
	keyID := testenv.SymmetricKey(t, k)
	tagKeyID := testenv.SymmetricKey(t, k)
	writer := audit.New(audit.Config{DB: db, Table: tbl, Sealer: envelope.New(k, keyID, envelope.Options{}),
		Tagger: envelope.NewTagger(k, tagKeyID, envelope.Options{})})
	reader := audit.New(audit.Config{DB: db, Table: tbl, Opener: envelope.New(k, keyID, envelope.Options{})})
	at := time.Now().UTC().Add(-time.Minute)
	calls.Reset()

	var ids []string
	for i := range 100 {
		id, isNew, err := writer.RecordIfNew(ctx(t), newLeadKey(int64(7000+i)), webhook(at, "r"), leadPayload)
		if err != nil || !isNew {
			t.Fatalf("RecordIfNew: %v, %v", isNew, err)
		}
		ids = append(ids, id)
	}
	// One data key and one tag key for all 100: no KMS call per record for sealing or tagging.
	if n, g := calls.Total(), calls.Count("GenerateDataKey"); n != 2 || g != 2 {
		t.Errorf("sealing and tagging 100 records made %d KMS calls (%v), want 2 GenerateDataKey", n, calls.Counts())
	}

	t.Run("the writer cannot open what it wrote", func(t *testing.T) {
		r, err := writer.Get(ctx(t), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.OpenPayload(ctx(t), r); !errors.Is(err, audit.ErrNotConfigured) {
			t.Errorf("err = %v, want ErrNotConfigured", err)
		}
	})
	t.Run("the reader opens the samples", func(t *testing.T) {
		recs, err := reader.RecentEvents(ctx(t), audit.TriggerNewLead, 5*time.Minute, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 100 {
			t.Fatalf("%d samples, want 100", len(recs))
		}
		for _, r := range recs[:3] {
			p, err := reader.OpenPayload(ctx(t), r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, leadPayload) {
				t.Fatalf("payload of %s came back as %q", r.ID, p)
			}
		}
	})
	t.Run("a ciphertext moved into another record does not open", func(t *testing.T) {
		a, err := reader.Get(ctx(t), ids[1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := reader.Get(ctx(t), ids[2])
		if err != nil {
			t.Fatal(err)
		}
		b.Sealed = a.Sealed
		_, err = reader.OpenPayload(ctx(t), b)
		if !errors.Is(err, envelope.ErrCannotDecrypt) {
			t.Fatalf("err = %v, want envelope.ErrCannotDecrypt", err)
		}
		for _, phi := range phiStrings {
			if strings.Contains(err.Error(), phi) {
				t.Errorf("the error holds %q", phi)
			}
		}
	})
	t.Run("the raw table holds no PHI", func(t *testing.T) {
		out, err := db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(tbl)})
		if err != nil {
			t.Fatal(err)
		}
		raw := fmt.Sprintf("%#v", out.Items)
		for _, item := range out.Items {
			for _, v := range item {
				if b, ok := v.(*types.AttributeValueMemberB); ok {
					raw += string(b.Value)
				}
			}
		}
		for _, phi := range phiStrings {
			if strings.Contains(raw, phi) {
				t.Errorf("the raw table holds %q", phi)
			}
		}
	})
}
