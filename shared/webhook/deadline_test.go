package webhook

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
)

// stuckDB is a table that does not answer in time, as one does whose every request is throttled
// and retried by the SDK: each request waits for its context to end and fails with the context's
// error. It records the deadline each request was given. A put of an event record (evt_…) is refused
// at once when refuseEvents is set: the delivery is then a redelivery.
type stuckDB struct {
	refuseEvents bool
	mu           sync.Mutex
	deadlines    []time.Time // zero for a request without a deadline
}

func (d *stuckDB) wait(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (d *stuckDB) seen() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.deadlines...)
}

func (d *stuckDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if pk, ok := in.Item["pk"].(*types.AttributeValueMemberS); ok && d.refuseEvents && strings.HasPrefix(pk.Value, "audit#evt_") {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	return nil, d.wait(ctx)
}

func (d *stuckDB) UpdateItem(ctx context.Context, _ *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, d.wait(ctx)
}

func (d *stuckDB) GetItem(ctx context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, d.wait(ctx)
}

func (d *stuckDB) BatchGetItem(ctx context.Context, _ *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, d.wait(ctx)
}

func (d *stuckDB) Query(ctx context.Context, _ *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, d.wait(ctx)
}

var _ audit.DB = (*stuckDB)(nil)

// invocationMargin leaves the bounded writes 200 ms of an invocation whose deadline is a minute away:
// the test is quick, and the handler has a whole minute to answer before the deadline (no timing
// assertion is tight).
const invocationMargin = time.Minute - 200*time.Millisecond

// invocation is the context the Lambda runtime gives a handler: it ends at the function's deadline.
func invocation(t *testing.T) (context.Context, time.Time) {
	t.Helper()
	dl := time.Now().Add(time.Minute).Round(0)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	t.Cleanup(cancel)
	return ctx, dl
}

// ingestOver is the webhook handler over the real audit store and envelope encryptor, with db as
// the table.
func ingestOver(t *testing.T, db audit.DB, bus Bus) *Ingest {
	t.Helper()
	h := unitIngest(t, fakeRecorder{}, bus)
	h.Store = audit.New(audit.Config{DB: db, Table: "t", Sealer: envelope.New(newFakeKMS(), "test-key", envelope.Options{}),
		Tagger: envelope.NewTagger(newFakeKMS(), "tag-key", envelope.Options{})})
	h.DeadlineMargin = invocationMargin
	return h
}

// A table that does not answer fails the delivery with the contract's 500 while the function still
// has time to answer: every write is given the invocation's deadline less the margin, so the SDK's
// retries end there, and nothing is acknowledged. Unbounded, they outlast the function's timeout and
// API Gateway answers its own 502.
func TestATableThatDoesNotAnswerIsA500InTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		redelive bool
		token    string
		failure  bool // the failure is audited after the request's writes, detached from their deadline
	}{
		{"a new delivery: its event record, then its failure record", false, tokenCurrent, true},
		{"a redelivery: its duplicate record", true, tokenCurrent, false},
		{"a refused delivery: its rejection record", false, "wrong", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &stuckDB{refuseEvents: tc.redelive}
			h := ingestOver(t, db, busThatMustNotBeCalled(t))
			ctx, dl := invocation(t)
			resp, err := h.Handle(ctx, post(fixture(t, fixtureNew, nil), tc.token))
			if ctx.Err() != nil {
				t.Fatal("the handler answered after the invocation's deadline")
			}
			if err != nil || resp.StatusCode != 500 || decodeError(t, resp).Error.Code != "internal" {
				t.Fatalf("got %d %s %v, want 500 internal", resp.StatusCode, resp.Body, err)
			}
			if strings.Contains(resp.Body, "event_id") {
				t.Fatalf("a delivery that was not recorded is acknowledged: %s", resp.Body)
			}
			seen := db.seen()
			if len(seen) == 0 {
				t.Fatal("no write reached the table")
			}
			if tc.failure {
				// A timeout is audited too: the failure record's write outlives the request's
				// bound, and still ends before the invocation does.
				last := seen[len(seen)-1]
				if !last.After(dl.Add(-invocationMargin)) || !last.Before(dl) {
					t.Errorf("the failure record's write was given the deadline %v, want one after the request's (%v) and before the invocation's (%v)",
						last, dl.Add(-invocationMargin), dl)
				}
				seen = seen[:len(seen)-1]
			}
			for i, got := range seen {
				if want := dl.Add(-invocationMargin); !got.Equal(want) {
					t.Errorf("write %d was given the deadline %v, want the invocation's less the margin, %v", i+1, got, want)
				}
			}
		})
	}
}

// The inline publish after the durable write is detached from the request's cancellation, but not
// from the invocation's deadline: a bus that does not answer leaves the event on the outbox in time
// for the 200.
func TestTheInlinePublishEndsBeforeTheInvocation(t *testing.T) {
	var mu sync.Mutex
	var busDeadline time.Time
	stuckBus := fakeBus{PutEventsFn: func(ctx context.Context, _ *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		dl, _ := ctx.Deadline()
		mu.Lock()
		busDeadline = dl
		mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	h := ingestOver(t, fakeDB{}, stuckBus)
	h.PublishTimeout = time.Hour
	ctx, dl := invocation(t)
	resp, err := h.Handle(ctx, post(fixture(t, fixtureNew, nil), tokenCurrent))
	if ctx.Err() != nil {
		t.Fatal("the handler answered after the invocation's deadline")
	}
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeOK(t, resp); r.EventID == "" || r.Duplicate {
		t.Fatalf("got %+v, want the new event acknowledged", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := dl.Add(-invocationMargin); !busDeadline.Equal(want) {
		t.Fatalf("the publish was given the deadline %v, want the invocation's less the margin, %v", busDeadline, want)
	}
}
