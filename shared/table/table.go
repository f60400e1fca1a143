// Package table is the one place that knows the key schema of wcbridge's single DynamoDB table.
//
// Every item kind lives in the same on-demand table, told apart by its partition key prefix:
//
//	kind              pk                                 sk        TTL (expires_at)
//	audit record      audit#<record_id>                  audit     2,192 days (6 years)
//	request budget    budget#<key_id>#<YYYY-MM-DD>       budget    3 days
//	idempotency key   idem#<action>#<caller>#<key>       idem      24 hours
//	report            report#<YYYY-MM-DD>                report    2,192 days
//	digest            digest#<YYYY-MM-DD>                digest|leaves#NNNN  2,192 days
//	replay job        replay#<replay_id>                 replay    30 days
//	period digest     digest#<YYYY-MM-DDTHH>             digest|leaves#NNNN  2,192 days
//
// Audit records are keyed by their own ID so that a write-once conditional put on that key can decide
// "new or duplicate" in one request (webhook event IDs are derived from the de-duplication key).
// Three global secondary indexes serve the queries the functions make, each sharded so that 1,000
// writes a second never land on one partition:
//
//	by-day      day_pk  = day#<YYYY-MM-DD>#<shard>                      day_sk  = <received_at>#<record_id>
//	            every audit record: the daily report and the verifier read a whole UTC day.
//	            Keys only: its readers read the records themselves (BatchGetItem).
//	by-trigger  trig_pk = trigger#<trigger>#<YYYY-MM-DD>#<shard>       trig_sk = <received_at>#<record_id>
//	            accepted webhook events only (sparse): the trigger samples of the last 5 minutes.
//	            Keys only: the samples read the records themselves, sealed part included.
//	outbox      outbox_pk = outbox#<shard>                             outbox_sk = <received_at>#<record_id>
//	            events not yet on the bus (sparse): removed once published, swept by the publisher.
//	            Keys and OutboxAttributes: the bus event's detail, all the publisher sends.
//
// Each index entry is written with every record it indexes and costs write units by its own size, so
// an index that projected everything would write each webhook's sealed body once more: projecting
// only what its reader needs keeps an entry under 1 KB, one write unit.
//
// The other attributes of the audit items (package audit's doc.go defines their encoding and hash):
//
//	audit record   kind, actor, action, outcome, request_id, trigger, event_id, lead_type,
//	               received_at, last_updated (S); profile_id, account_id, status (N); lead_ids (L of N);
//	               quotable (S), has_quote_value, has_sales_value (BOOL), changed_fields (L of S): the
//	               non-PHI bus detail of webhook events, so the outbox republishes without decrypting;
//	               phi (B, the sealed PHI part); hash (S, sha256 of the record's canonical content)
//	digest         day, root, previous_digest, digest, mac_key_id, mac_algorithm (S); records,
//	               leaf_chunks (N); mac (B, KMS HMAC_SHA_256)
//	digest leaves  first (N); leaves (S, "<record_id> <hex hash>" lines)
package table

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names shared by every item kind.
const (
	PK        = "pk"
	SK        = "sk"
	ExpiresAt = "expires_at" // the table's TTL attribute, epoch seconds

	DayPK     = "day_pk"
	DaySK     = "day_sk"
	TriggerPK = "trig_pk"
	TriggerSK = "trig_sk"
	OutboxPK  = "outbox_pk"
	OutboxSK  = "outbox_sk"
)

// Index names.
const (
	IndexByDay     = "by-day"
	IndexByTrigger = "by-trigger"
	IndexOutbox    = "outbox"
)

// OutboxAttributes are the audit attributes the outbox index carries besides the keys: the record's
// kind and what an event's bus detail is made of (package audit writes them, package webhook's
// DetailOf reads them), so that the publisher sends an event from the index alone, never reading
// its sealed part.
var OutboxAttributes = []string{
	"kind", "event_id", "trigger", "profile_id", "account_id", "lead_type", "lead_ids", "received_at",
	"last_updated", "quotable", "has_quote_value", "has_sales_value", "changed_fields",
}

// TriggerAttributes are what the by-trigger index carries besides the keys: an event's bus detail
// and who recorded it, so that a replay walks and counts a window (filtered by profile) from the
// index alone, never reading the sealed part. Trigger samples read the records themselves.
var TriggerAttributes = append([]string{"actor", "action", "outcome"}, OutboxAttributes...)

// Shards is how many partitions a day's (or a trigger's, or the outbox's) index entries spread over.
// At 1,000 writes/s that is ~63 writes/s per partition, far below DynamoDB's 1,000 WCU per partition.
const Shards = 16

// Retention of each item kind. Audit records, reports and digests are HIPAA documentation
// (45 CFR 164.316(b)(2)): at least six years.
const (
	AuditRetention       = 2192 * 24 * time.Hour
	BudgetRetention      = 3 * 24 * time.Hour
	IdempotencyRetention = 24 * time.Hour
	// ReplayJobRetention keeps a replay's progress long enough to resume it; the replay itself is
	// in the audit trail.
	ReplayJobRetention = 30 * 24 * time.Hour
)

// TimeLayout is the fixed-width UTC timestamp used in sort keys, so that string order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Day is the UTC calendar day of t as YYYY-MM-DD.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// SortTime formats t for a sort key, as t.UTC().Format(TimeLayout) would: written out digit by
// digit because a webhook formats its time four times (received_at and three index sort keys), and
// time.Format's layout interpretation was a measurable share of the handler's CPU (P1).
func SortTime(t time.Time) string {
	t = t.UTC()
	year := t.Year()
	if year < 0 || year > 9999 {
		return t.Format(TimeLayout)
	}
	var b [len(TimeLayout)]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	b[4] = '-'
	put(5, 2, int(t.Month()))
	b[7] = '-'
	put(8, 2, t.Day())
	b[10] = 'T'
	put(11, 2, t.Hour())
	b[13] = ':'
	put(14, 2, t.Minute())
	b[16] = ':'
	put(17, 2, t.Second())
	b[19] = '.'
	put(20, 9, t.Nanosecond())
	b[29] = 'Z'
	return string(b[:])
}

// ShardOf spreads record IDs evenly over Shards.
func ShardOf(recordID string) int {
	h := fnv.New32a()
	h.Write([]byte(recordID))
	return int(h.Sum32() % Shards)
}

// AuditKey is the primary key of an audit record.
func AuditKey(recordID string) (pk, sk string) { return "audit#" + recordID, "audit" }

// DayPartition is the by-day index partition of a record written on day (YYYY-MM-DD).
func DayPartition(day string, shard int) string { return fmt.Sprintf("day#%s#%02d", day, shard) }

// TriggerPartition is the by-trigger index partition of an accepted webhook event.
func TriggerPartition(trigger, day string, shard int) string {
	return fmt.Sprintf("trigger#%s#%s#%02d", trigger, day, shard)
}

// OutboxPartition is the outbox index partition of an unpublished event.
func OutboxPartition(shard int) string { return fmt.Sprintf("outbox#%02d", shard) }

// IndexSortKey is the sort key shared by the three indexes: time first, then the record ID.
func IndexSortKey(at time.Time, recordID string) string { return SortTime(at) + "#" + recordID }

// BudgetKey is the key of a WhatConverts API key's request counter for one UTC day.
// keyID identifies the API key without revealing it (a hash of the token, never the secret).
func BudgetKey(keyID, day string) (pk, sk string) { return "budget#" + keyID + "#" + day, "budget" }

// IdempotencyKey is the key of an Idempotency-Key record, scoped to the action and the caller.
func IdempotencyKey(action, caller, key string) (pk, sk string) {
	return "idem#" + action + "#" + caller + "#" + key, "idem"
}

// ReportKey is the key of the compliance report of a UTC day.
func ReportKey(day string) (pk, sk string) { return "report#" + day, "report" }

// DigestKey is the key of the audit digest of a UTC day; its leaf chunks share the partition.
func DigestKey(day string) (pk, sk string) { return "digest#" + day, "digest" }

// ReplayKey is the key of a replay's progress (its job): window, filters, position and lease.
func ReplayKey(replayID string) (pk, sk string) { return "replay#" + replayID, "replay" }

// DigestLeavesPrefix begins the sort key of every leaf chunk of a digest.
const DigestLeavesPrefix = "leaves#"

// DigestLeavesKey is the key of chunk n of a day's digest leaves.
func DigestLeavesKey(day string, n int) (pk, sk string) {
	return "digest#" + day, fmt.Sprintf(DigestLeavesPrefix+"%04d", n)
}

// ExpiryAfter is the TTL attribute value for an item that may be deleted d after now.
func ExpiryAfter(now time.Time, d time.Duration) int64 { return now.Add(d).Unix() }

// Definition is the table as template.yaml declares it, for the local stack and tests.
// Keep the two in step: TestTemplateMatchesDefinition compares them.
func Definition(name string) *dynamodb.CreateTableInput {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, pk, sk string, include ...string) types.GlobalSecondaryIndex {
		p := &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
		if len(include) > 0 {
			p = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: include}
		}
		return types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: key(pk, sk), Projection: p}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			s(PK), s(SK), s(DayPK), s(DaySK), s(TriggerPK), s(TriggerSK), s(OutboxPK), s(OutboxSK),
		},
		KeySchema: key(PK, SK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(IndexByDay, DayPK, DaySK),
			gsi(IndexByTrigger, TriggerPK, TriggerSK, TriggerAttributes...),
			gsi(IndexOutbox, OutboxPK, OutboxSK, OutboxAttributes...),
		},
	}
}

// Create creates the table (as Definition says) and waits until it is active. An existing table
// with that name is left as it is.
func Create(ctx context.Context, db *dynamodb.Client, name string) error {
	_, err := db.CreateTable(ctx, Definition(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 500 * time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	return nil
}
