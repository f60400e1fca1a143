package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

func newLeadKey(leadID int64) audit.DedupeKey {
	return audit.DedupeKey{
		ProfileID: 51497, LeadID: leadID, Trigger: audit.TriggerNewLead,
		LastUpdated: time.Date(2025, 3, 14, 17, 18, 20, 0, time.UTC),
		BodyHash:    strings.Repeat("ef", 32),
	}
}

func webhook(at time.Time, requestID string) audit.Record {
	return audit.Record{AccountID: 27313, LeadType: "Phone Call", Status: 200, RequestID: requestID, ReceivedAt: at}
}

func TestAppendIsWriteOnce(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	first, err := e.store.Append(ctx(t), action(at, 7), []byte(`{"lead":"first"}`))
	if err != nil {
		t.Fatal(err)
	}
	again := action(at.Add(time.Second), 8)
	again.ID = first.ID
	if _, err := e.store.Append(ctx(t), again, []byte(`{"lead":"second"}`)); !errors.Is(err, audit.ErrExists) {
		t.Fatalf("second Append with the same ID: err = %v, want ErrExists", err)
	}
	got, err := e.store.Get(ctx(t), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != first.Hash || len(got.LeadIDs) != 1 || got.LeadIDs[0] != 7 {
		t.Fatalf("the first record was changed by the refused write: %+v", got)
	}
}

func TestAppendRefusesIncompleteRecords(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for name, mutate := range map[string]func(*audit.Record){
		"no kind":         func(r *audit.Record) { r.Kind = "" },
		"unknown kind":    func(r *audit.Record) { r.Kind = "login" },
		"no outcome":      func(r *audit.Record) { r.Outcome = "" },
		"no actor":        func(r *audit.Record) { r.Actor = "" },
		"ID with a space": func(r *audit.Record) { r.ID = "rec one" },
		"duplicate without its event": func(r *audit.Record) {
			r.Kind, r.Outcome, r.Actor = audit.KindWebhook, audit.OutcomeDuplicate, audit.WebhookActor
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := action(at, 1)
			mutate(&r)
			if _, err := e.store.Append(ctx(t), r, nil); !errors.Is(err, audit.ErrInvalidRecord) {
				t.Fatalf("err = %v, want ErrInvalidRecord", err)
			}
		})
	}
	if ops := e.reqs.take(); total(ops) != 0 {
		t.Fatalf("invalid records reached DynamoDB: %v", ops)
	}
}

func TestPayloadIsSealedToItsRecord(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	a, err := e.store.Append(ctx(t), action(at, 153928), leadPayload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.store.Append(ctx(t), action(at.Add(time.Second), 153929), []byte(`{"other":"lead"}`))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		got, err := e.store.Get(ctx(t), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := e.store.OpenPayload(ctx(t), got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, leadPayload) {
			t.Fatalf("payload came back as %q", plain)
		}
	})
	t.Run("a ciphertext copied into another record does not open", func(t *testing.T) {
		got, err := e.store.Get(ctx(t), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Sealed = a.Sealed
		if _, err := e.store.OpenPayload(ctx(t), got); err == nil {
			t.Fatal("record b opened record a's ciphertext")
		}
		// The same, done to the table itself.
		pk, sk := table.AuditKey(b.ID)
		if _, err := e.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
			TableName:                 aws.String(e.table),
			Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
			UpdateExpression:          aws.String("SET phi = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberB{Value: a.Sealed}},
		}); err != nil {
			t.Fatal(err)
		}
		moved, err := e.store.Get(ctx(t), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.OpenPayload(ctx(t), moved); err == nil {
			t.Fatal("a ciphertext moved into record b in the table opened")
		}
	})
	t.Run("a record without payload has none", func(t *testing.T) {
		r, err := e.store.Append(ctx(t), action(at.Add(2*time.Second), 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Sealed != nil {
			t.Fatal("a record without payload got a sealed part")
		}
		if p, err := e.store.OpenPayload(ctx(t), r); err != nil || p != nil {
			t.Fatalf("OpenPayload = %q, %v; want nil, nil", p, err)
		}
	})
}

func TestRawTableHoldsNoPHI(t *testing.T) {
	e := newEnv(t, true)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	if _, _, err := e.store.RecordIfNew(ctx(t), newLeadKey(153928), webhook(at, "req-1"), leadPayload); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(ctx(t), action(at.Add(time.Second), 153928), leadPayload); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.WriteLegacyDigest(ctx(t), e.mac, "2025-03-14"); err != nil {
		t.Fatal(err)
	}

	out, err := e.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) < 4 { // two records, a digest and its leaves
		t.Fatalf("scan found %d items, want at least 4", len(out.Items))
	}
	raw := fmt.Sprintf("%#v", out.Items) // every attribute, binary ones as bytes
	var blobs []byte
	for _, item := range out.Items {
		for _, v := range item {
			if b, ok := v.(*types.AttributeValueMemberB); ok {
				blobs = append(blobs, b.Value...)
			}
		}
	}
	for _, phi := range append(phiStrings, "203.0.113.77") {
		if strings.Contains(raw, phi) || bytes.Contains(blobs, []byte(phi)) {
			t.Errorf("the raw table holds %q in clear", phi)
		}
	}
}

func TestRecordIfNewDecidesOnce(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	key := newLeadKey(153928)

	const n = 50
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ids   = map[string]int{}
		news  int
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, isNew, err := e.store.RecordIfNew(ctx(t), key, webhook(at, fmt.Sprintf("req-%d", i)), leadPayload)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			ids[id]++
			if isNew {
				news++
			}
		}()
	}
	close(start)
	wg.Wait()
	if news != 1 {
		t.Errorf("%d of %d concurrent deliveries were new, want exactly 1", news, n)
	}
	if len(ids) != 1 || ids[audit.EventID(key)] != n {
		t.Errorf("event IDs answered: %v, want %s %d times", ids, audit.EventID(key), n)
	}
	got, err := e.store.Get(ctx(t), audit.EventID(key))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != audit.KindWebhook || got.Outcome != audit.OutcomeOK || got.EventID != got.ID ||
		got.Trigger != audit.TriggerNewLead || got.ProfileID != 51497 || got.LeadIDs[0] != 153928 ||
		got.Actor != audit.WebhookActor || !got.Pending {
		t.Errorf("event record = %+v", got)
	}
}

func TestRecordIfNewRequestCounts(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	key := newLeadKey(153928)
	e.reqs.take()

	t.Run("a new event is one write, publishing it one more", func(t *testing.T) {
		id, isNew, err := e.store.RecordIfNew(ctx(t), key, webhook(at, "req-1"), leadPayload)
		if err != nil || !isNew {
			t.Fatalf("RecordIfNew = %v, %v", isNew, err)
		}
		if ops := e.reqs.take(); total(ops) != 1 || ops["PutItem"] != 1 {
			t.Errorf("RecordIfNew of a new event sent %v, want 1 PutItem", ops)
		}
		if err := e.store.MarkPublished(ctx(t), id); err != nil {
			t.Fatal(err)
		}
		if ops := e.reqs.take(); total(ops) != 1 || ops["UpdateItem"] != 1 {
			t.Errorf("MarkPublished sent %v, want 1 UpdateItem", ops)
		}
	})
	t.Run("a redelivery is decided in one request", func(t *testing.T) {
		id, isNew, err := e.store.RecordIfNew(ctx(t), key, webhook(at.Add(time.Minute), "req-2"), leadPayload)
		if err != nil || isNew || id != audit.EventID(key) {
			t.Fatalf("RecordIfNew = %s, %v, %v", id, isNew, err)
		}
		if ops := e.reqs.take(); total(ops) != 1 || ops["PutItem"] != 1 {
			t.Errorf("RecordIfNew of a redelivery sent %v, want 1 PutItem", ops)
		}
		// The redelivery's own small record.
		dup, err := e.store.Append(ctx(t), audit.Record{
			Kind: audit.KindWebhook, Actor: audit.WebhookActor, Action: audit.TriggerNewLead,
			Outcome: audit.OutcomeDuplicate, Status: 200, EventID: id, Trigger: audit.TriggerNewLead,
			ProfileID: key.ProfileID, LeadIDs: []int64{key.LeadID}, RequestID: "req-2",
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ops := e.reqs.take(); total(ops) != 1 {
			t.Errorf("auditing the duplicate sent %v, want 1 request", ops)
		}
		if dup.EventID != id || dup.ID == id || dup.Sealed != nil || dup.Pending {
			t.Errorf("duplicate record = %+v", dup)
		}
	})
}

// fakeDB is a function-field DynamoDB for what dynalite cannot do.
type fakeDB struct {
	PutItemFn func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

func (f *fakeDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return f.PutItemFn(ctx, in, o...)
}

func (f *fakeDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("unexpected UpdateItem")
}

func (f *fakeDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, errors.New("unexpected GetItem")
}

func (f *fakeDB) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, errors.New("unexpected BatchGetItem")
}

func (f *fakeDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errors.New("unexpected Query")
}

var _ audit.DB = (*fakeDB)(nil)

// The SDK retries a write whose answer was lost; the retry finds the item its own first attempt
// wrote. The writer must learn that its record is stored, on dynalite as on DynamoDB, without reading
// it back; anyone else's write under a taken ID is still refused.
func TestAWriteWhoseAnswerWasLost(t *testing.T) {
	e := newEnv(t, false)
	lossy := &testenv.LostAnswers{Op: "PutItem"}
	cfg := e.cfg
	cfg.DB = testenv.DynamoDB(t, e.reqs.option, lossy.Option)
	store := audit.New(cfg)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	key := newLeadKey(4242)

	// loseOne runs write with the answer to its first PutItem lost, and checks that the SDK did
	// retry it: the situation under test did happen.
	loseOne := func(t *testing.T, write func()) {
		t.Helper()
		before := lossy.Count()
		e.reqs.take()
		lossy.LoseNext(1)
		write()
		if ops := e.reqs.take(); lossy.Count() != before+1 || ops["PutItem"] != 2 {
			t.Fatalf("the lost answer was not retried: %d lost, requests %v; want 1 lost and 2 PutItem", lossy.Count()-before, ops)
		}
	}

	t.Run("Append: the retry succeeds and the record is the one written", func(t *testing.T) {
		var r audit.Record
		var err error
		loseOne(t, func() { r, err = store.Append(ctx(t), action(at, 7), []byte(`{"lead":"x"}`)) })
		if err != nil {
			t.Fatalf("Append after a lost answer: %v, want success (the record is stored)", err)
		}
		got, err := e.store.Get(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != r.Hash || got.RequestID != r.RequestID {
			t.Fatalf("stored %s (%s), Append returned %s (%s)", got.Hash, got.RequestID, r.Hash, r.RequestID)
		}
	})

	var eventID string
	t.Run("RecordIfNew: the first delivery is still new to its request", func(t *testing.T) {
		var isNew bool
		var err error
		loseOne(t, func() { eventID, isNew, err = store.RecordIfNew(ctx(t), key, webhook(at, "req-first"), leadPayload) })
		if err != nil || !isNew || eventID != audit.EventID(key) {
			t.Fatalf("RecordIfNew after a lost answer = %s, %v, %v; want the event, new", eventID, isNew, err)
		}
		got, err := e.store.Get(ctx(t), eventID)
		if err != nil || got.RequestID != "req-first" || !got.Pending {
			t.Fatalf("stored %+v, %v; want the first delivery's record, on the outbox", got, err)
		}
	})

	t.Run("RecordIfNew: a redelivery is a duplicate, its lost answer too, and changes nothing", func(t *testing.T) {
		before, err := e.store.Get(ctx(t), eventID)
		if err != nil {
			t.Fatal(err)
		}
		for _, lose := range []bool{false, true} {
			var id string
			var isNew bool
			redeliver := func() {
				id, isNew, err = store.RecordIfNew(ctx(t), key, webhook(at.Add(time.Minute), "req-again"), leadPayload)
			}
			if lose {
				loseOne(t, redeliver)
			} else {
				redeliver()
			}
			if err != nil || isNew || id != eventID {
				t.Fatalf("redelivery (answer lost: %v) = %s, %v, %v; want the first event, a duplicate", lose, id, isNew, err)
			}
		}
		after, err := e.store.Get(ctx(t), eventID)
		if err != nil || after.Hash != before.Hash || after.RequestID != "req-first" {
			t.Fatalf("the redeliveries changed the event: %+v, %v", after, err)
		}
	})

	t.Run("Append: another record under a taken ID is refused, its lost answer too", func(t *testing.T) {
		first, err := store.Append(ctx(t), action(at, 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		other := action(at.Add(time.Second), 2)
		other.ID = first.ID
		loseOne(t, func() { _, err = store.Append(ctx(t), other, nil) })
		if !errors.Is(err, audit.ErrExists) {
			t.Fatalf("Append of another record under a taken ID: %v, want ErrExists", err)
		}
		got, err := e.store.Get(ctx(t), first.ID)
		if err != nil || got.Hash != first.Hash {
			t.Fatalf("the first record was changed: %+v, %v", got, err)
		}
	})

	// Only the SDK's retry of the very write is that write (above): the caller's second Append is
	// another write, with the writer's next number, refused under the taken ID; the writer's next
	// record declares that number skipped.
	t.Run("Append: the same record appended again is refused, and its number declared skipped", func(t *testing.T) {
		r := action(at.Add(2*time.Second), 3)
		r.ID = audit.NewRecordID()
		first, err := store.Append(ctx(t), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx(t), r, nil); !errors.Is(err, audit.ErrExists) {
			t.Fatalf("the identical record again: %v; want ErrExists", err)
		}
		next, err := store.Append(ctx(t), action(at.Add(3*time.Second), 4), nil)
		if want := []audit.SeqRange{{First: first.Seq + 1, Last: first.Seq + 1}}; err != nil || next.Seq != first.Seq+2 || !slices.Equal(next.Skipped, want) {
			t.Fatalf("the next record: seq %d, skipped %v, %v; want seq %d declaring %v", next.Seq, next.Skipped, err, first.Seq+2, want)
		}
	})
}

// The roles that write records may not read them back (the webhook's has dynamodb:PutItem alone): a
// write asks for nothing back, neither on success nor when its condition fails, and nothing but
// PutItem is called, also for a redelivery or a taken ID.
func TestWritesReadNothingBack(t *testing.T) {
	var stored map[string]types.AttributeValue
	db := &fakeDB{PutItemFn: func(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
		if in.ReturnValues != "" || in.ReturnValuesOnConditionCheckFailure != "" {
			t.Errorf("a write asks for the item back: ReturnValues %q, ReturnValuesOnConditionCheckFailure %q",
				in.ReturnValues, in.ReturnValuesOnConditionCheckFailure)
		}
		if stored != nil {
			return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
		}
		stored = in.Item
		return &dynamodb.PutItemOutput{}, nil
	}}
	store := audit.New(audit.Config{DB: db, Table: "t", Sealer: newGCMSealer(t), Tagger: hmacTagger{}})
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	k := newLeadKey(999)
	if _, isNew, err := store.RecordIfNew(ctx(t), k, webhook(at, "req-9"), leadPayload); err != nil || !isNew {
		t.Fatalf("first delivery: %v, %v", isNew, err)
	}
	if _, isNew, err := store.RecordIfNew(ctx(t), k, webhook(at, "req-10"), leadPayload); err != nil || isNew {
		t.Fatalf("redelivery: %v, %v; want a duplicate", isNew, err)
	}
	r := action(at, 1)
	r.ID = "rec_taken"
	if _, err := store.Append(ctx(t), r, nil); !errors.Is(err, audit.ErrExists) {
		t.Fatalf("Append under a taken ID: %v, want ErrExists", err)
	}
}

func TestDedupeKeyDecidesWhatIsTheSameEvent(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	base := newLeadKey(153928)
	if _, _, err := e.store.RecordIfNew(ctx(t), base, webhook(at, "req-0"), nil); err != nil {
		t.Fatal(err)
	}
	noLU := base
	noLU.LastUpdated, noLU.BodyHash = time.Time{}, strings.Repeat("ab", 32)
	if _, _, err := e.store.RecordIfNew(ctx(t), noLU, webhook(at, "req-0b"), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		key   func(k audit.DedupeKey) audit.DedupeKey
		isNew bool
	}{
		{"same key", func(k audit.DedupeKey) audit.DedupeKey { return k }, false},
		{"same instant in another zone", func(k audit.DedupeKey) audit.DedupeKey {
			k.LastUpdated = k.LastUpdated.In(time.FixedZone("X", 3600))
			return k
		}, false},
		{"same last_updated, another body (another state in the same second)", func(k audit.DedupeKey) audit.DedupeKey {
			k.BodyHash = strings.Repeat("01", 32)
			return k
		}, true},
		{"same body hash in upper case", func(k audit.DedupeKey) audit.DedupeKey {
			k.BodyHash = strings.ToUpper(k.BodyHash)
			return k
		}, false},
		{"later last_updated", func(k audit.DedupeKey) audit.DedupeKey { k.LastUpdated = k.LastUpdated.Add(time.Second); return k }, true},
		{"other trigger", func(k audit.DedupeKey) audit.DedupeKey { k.Trigger = audit.TriggerUpdatedLead; return k }, true},
		{"other lead", func(k audit.DedupeKey) audit.DedupeKey { k.LeadID++; return k }, true},
		{"other profile", func(k audit.DedupeKey) audit.DedupeKey { k.ProfileID++; return k }, true},
		{"no last_updated, same body", func(audit.DedupeKey) audit.DedupeKey { return noLU }, false},
		{"no last_updated, other body", func(audit.DedupeKey) audit.DedupeKey {
			k := noLU
			k.BodyHash = strings.Repeat("cd", 32)
			return k
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, isNew, err := e.store.RecordIfNew(ctx(t), tc.key(base), webhook(at, "req-"+tc.name), nil)
			if err != nil {
				t.Fatal(err)
			}
			if isNew != tc.isNew {
				t.Errorf("isNew = %v, want %v", isNew, tc.isNew)
			}
		})
	}
}

func TestOutbox(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	e.clock.Set(at.Add(10 * time.Minute))
	var ids []string
	for i := range 20 {
		id, _, err := e.store.RecordIfNew(ctx(t), newLeadKey(int64(1000+i)), webhook(at.Add(time.Duration(i)*time.Second), "r"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Records that are not accepted events never go on the outbox.
	if _, err := e.store.Append(ctx(t), action(at, 1), nil); err != nil {
		t.Fatal(err)
	}
	shards := map[int]bool{}
	for _, id := range ids {
		shards[table.ShardOf(id)] = true
	}
	if len(shards) < 2 {
		t.Fatalf("the events landed on %d outbox shard(s); the test needs several", len(shards))
	}

	pending := func(t *testing.T, olderThan time.Duration, limit int) []string {
		t.Helper()
		recs, err := e.store.PendingEvents(ctx(t), olderThan, limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			if !r.Pending || r.Kind != audit.KindWebhook {
				t.Errorf("pending record %s: %+v", r.ID, r)
			}
			got = append(got, r.ID)
		}
		return got
	}
	t.Run("new events are pending, oldest first, across shards", func(t *testing.T) {
		if got := pending(t, time.Minute, 100); fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("pending = %v\nwant      %v", got, ids)
		}
		if got := pending(t, time.Minute, 5); fmt.Sprint(got) != fmt.Sprint(ids[:5]) {
			t.Errorf("pending, limit 5 = %v, want %v", got, ids[:5])
		}
	})
	t.Run("events younger than olderThan are left to their inline publish", func(t *testing.T) {
		// The clock is 10 min after the first event; the last one is 19 s younger.
		if got := pending(t, 10*time.Minute-10*time.Second, 100); fmt.Sprint(got) != fmt.Sprint(ids[:10]) {
			t.Errorf("pending = %v, want %v", got, ids[:10])
		}
	})
	t.Run("MarkPublished takes an event off the outbox and leaves its record intact", func(t *testing.T) {
		before, err := e.store.Get(ctx(t), ids[3])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[:15] {
			if err := e.store.MarkPublished(ctx(t), id); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.store.MarkPublished(ctx(t), ids[3]); err != nil {
			t.Errorf("marking twice: %v", err)
		}
		if got := pending(t, time.Minute, 100); fmt.Sprint(got) != fmt.Sprint(ids[15:]) {
			t.Errorf("pending = %v, want %v", got, ids[15:])
		}
		after, err := e.store.Get(ctx(t), ids[3])
		if err != nil {
			t.Fatal(err)
		}
		if after.Pending || after.Hash != before.Hash {
			t.Errorf("published record: pending %v, hash %s (was %s)", after.Pending, after.Hash, before.Hash)
		}
	})
	t.Run("MarkPublished of an unknown event", func(t *testing.T) {
		if err := e.store.MarkPublished(ctx(t), "evt_unknown"); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		if _, err := e.store.Get(ctx(t), "evt_unknown"); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("MarkPublished created an item: Get err = %v", err)
		}
	})
}

// legacyEventID is the event ID the code before the body hash joined the de-duplication key gave a
// delivery with last_updated, written out here as that code computed it.
func legacyEventID(k audit.DedupeKey) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("wcbridge-dedupe/v1|%d|%d|%s|lu:%s",
		k.ProfileID, k.LeadID, k.Trigger, k.LastUpdated.UTC().Format(time.RFC3339Nano))))
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:26]
}

func TestRecordsUnderTheLegacyKeyKeepDeduplicating(t *testing.T) {
	e := newEnv(t, false)
	at := time.Date(2025, 3, 14, 17, 18, 21, 0, time.UTC)
	key := newLeadKey(153930)
	legacy := legacyEventID(key)
	// The event as the previous code recorded it: under the key without the body hash.
	old := webhook(at, "req-old")
	old.ID, old.EventID, old.Kind, old.Outcome, old.Actor, old.Action = legacy, legacy, audit.KindWebhook, audit.OutcomeOK, audit.WebhookActor, audit.TriggerNewLead
	old.Trigger, old.ProfileID, old.LeadIDs, old.LastUpdated = key.Trigger, key.ProfileID, []int64{key.LeadID}, key.LastUpdated
	stored, err := e.store.Append(ctx(t), old, []byte(`{"trigger":"new"}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.LegacyKeysBefore = key.LastUpdated.Add(time.Minute)
	store := audit.New(cfg)

	t.Run("a redelivery of that state is a duplicate of the old event", func(t *testing.T) {
		id, isNew, err := store.RecordIfNew(ctx(t), key, webhook(at.Add(time.Hour), "req-again"), nil)
		if err != nil || isNew || id != legacy {
			t.Fatalf("RecordIfNew = %q, new %t, %v; want the old event %q, duplicate", id, isNew, err, legacy)
		}
	})
	t.Run("so is another state of that second: the old key did not tell them apart", func(t *testing.T) {
		k := key
		k.BodyHash = strings.Repeat("77", 32)
		id, isNew, err := store.RecordIfNew(ctx(t), k, webhook(at.Add(time.Hour), "req-other"), nil)
		if err != nil || isNew || id != legacy {
			t.Fatalf("RecordIfNew = %q, new %t, %v; want the old event %q, duplicate", id, isNew, err, legacy)
		}
	})
	t.Run("the look-up changes nothing in the old record", func(t *testing.T) {
		got, err := store.Get(ctx(t), legacy)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != stored.Hash || got.Hash != mustHash(t, e, legacy) {
			t.Fatalf("the old record's hash is %s (recomputed %s), it was %s", got.Hash, mustHash(t, e, legacy), stored.Hash)
		}
	})
	t.Run("without an old record the event is new, and no item appears under the legacy key", func(t *testing.T) {
		k := newLeadKey(153931)
		e.reqs.take()
		_, isNew, err := store.RecordIfNew(ctx(t), k, webhook(at, "req-new"), nil)
		if err != nil || !isNew {
			t.Fatalf("RecordIfNew: new %t, %v", isNew, err)
		}
		if ops := e.reqs.take(); ops["UpdateItem"] != 1 || ops["PutItem"] != 1 || len(ops) != 2 {
			t.Fatalf("requests %v, want one look-up (UpdateItem) and one PutItem", ops)
		}
		if _, err := store.Get(ctx(t), legacyEventID(k)); !errors.Is(err, audit.ErrNotFound) {
			t.Fatalf("Get of the legacy ID: %v, want ErrNotFound", err)
		}
	})
	t.Run("a delivery after LegacyKeysBefore is not looked for: one request", func(t *testing.T) {
		k := key
		k.LastUpdated = cfg.LegacyKeysBefore
		e.reqs.take()
		_, isNew, err := store.RecordIfNew(ctx(t), k, webhook(at, "req-late"), nil)
		if err != nil || !isNew {
			t.Fatalf("RecordIfNew: new %t, %v", isNew, err)
		}
		if ops := e.reqs.take(); ops["PutItem"] != 1 || len(ops) != 1 {
			t.Fatalf("requests %v, want one PutItem", ops)
		}
	})
}

// mustHash recomputes the hash of the stored item of record id from its raw attributes.
func mustHash(t *testing.T, e *env, id string) string {
	t.Helper()
	pk, sk := table.AuditKey(id)
	out, err := e.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{table.PK: &types.AttributeValueMemberS{Value: pk}, table.SK: &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || out.Item == nil {
		t.Fatalf("read %s: %v", id, err)
	}
	h, err := audit.RecordHash(out.Item)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
