package audit_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/table"
)

// Every index entry of a webhook event stays under one write unit and never holds the sealed body,
// however large the body: the indexes are not a second (third, fourth) copy of the PHI. The readers
// still get whole records: the day and the samples read them from the table, and the outbox's
// records carry every field of the bus detail.
func TestIndexesCarryOnlyWhatTheirReadersNeed(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	e.clock.Set(at.Add(time.Minute))
	payload := bytes.Repeat([]byte("synthetic lead body "), 600) // 12 KB sealed: 13 write units on the table
	r := webhook(at, "req-proj")
	r.Quotable, r.HasQuoteValue, r.HasSalesValue, r.ChangedFields = "Yes", true, true, []string{"quote_value"}
	id, isNew, err := e.store.RecordIfNew(ctx(t), newLeadKey(777), r, payload)
	if err != nil || !isNew {
		t.Fatalf("RecordIfNew: new %v, %v", isNew, err)
	}
	full, err := e.store.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}

	for _, ix := range []struct{ name, pk, value string }{
		{table.IndexByDay, table.DayPK, table.DayPartition(table.Day(at), table.ShardOf(id))},
		{table.IndexByTrigger, table.TriggerPK, table.TriggerPartition(audit.TriggerNewLead, table.Day(at), table.ShardOf(id))},
		{table.IndexOutbox, table.OutboxPK, table.OutboxPartition(table.ShardOf(id))},
	} {
		t.Run(ix.name+" entries are small and hold no sealed part", func(t *testing.T) {
			out, err := e.db.Query(ctx(t), &dynamodb.QueryInput{
				TableName: aws.String(e.table), IndexName: aws.String(ix.name),
				KeyConditionExpression:    aws.String("#p = :p"),
				ExpressionAttributeNames:  map[string]string{"#p": ix.pk},
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: ix.value}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Items) != 1 {
				t.Fatalf("%d entries, want the event's", len(out.Items))
			}
			entry := out.Items[0]
			if _, ok := entry["phi"]; ok {
				t.Errorf("the %s entry holds the sealed part", ix.name)
			}
			if size := table.ItemSize(entry); size > table.WriteUnitBytes {
				t.Errorf("the %s entry is %d bytes, over one write unit", ix.name, size)
			}
		})
	}

	t.Run("the day and the samples read whole records", func(t *testing.T) {
		var day []audit.Record
		if err := e.store.Day(ctx(t), table.Day(at), func(r audit.Record) error { day = append(day, r); return nil }); err != nil {
			t.Fatal(err)
		}
		recent, err := e.store.RecentEvents(ctx(t), audit.TriggerNewLead, 5*time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		for what, recs := range map[string][]audit.Record{"Day": day, "RecentEvents": recent} {
			if len(recs) != 1 || recs[0].Hash != full.Hash || !bytes.Equal(recs[0].Sealed, full.Sealed) {
				t.Errorf("%s: %d records, want the whole event record", what, len(recs))
			}
		}
	})

	t.Run("the outbox's records carry the bus detail", func(t *testing.T) {
		pending, err := e.store.PendingEvents(ctx(t), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 {
			t.Fatalf("%d pending, want 1", len(pending))
		}
		p := pending[0]
		want := full
		want.Sealed, want.Hash, want.Actor, want.Action, want.Outcome, want.Status, want.RequestID = nil, "", "", "", "", 0, ""
		if p.ID != want.ID || p.EventID != want.EventID || p.Trigger != want.Trigger || p.ProfileID != want.ProfileID ||
			p.AccountID != want.AccountID || p.LeadType != want.LeadType || !p.ReceivedAt.Equal(want.ReceivedAt) ||
			!p.LastUpdated.Equal(want.LastUpdated) || p.Quotable != want.Quotable || p.HasQuoteValue != want.HasQuoteValue ||
			p.HasSalesValue != want.HasSalesValue || len(p.ChangedFields) != 1 || len(p.LeadIDs) != 1 || p.LeadIDs[0] != 777 ||
			p.Kind != audit.KindWebhook || !p.Pending {
			t.Errorf("pending record %+v\nlacks the detail of %+v", p, want)
		}
	})
}
