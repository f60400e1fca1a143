package devstack_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/replay"
	"github.com/wcbridge/wcbridge/shared/table"
)

// seedEvents writes accepted events straight into the audit table with BatchWriteItem, each item
// exactly as the webhook's RecordIfNew writes it (audit.Store.EventItem), already published (off the
// outbox). at(i) is when event i was received. It returns the events' IDs in the order received.
func seedEvents(t *testing.T, tableName string, n int, at func(i int) time.Time, profileOf func(i int) int64) []string {
	t.Helper()
	db := testenv.DynamoDB(t)
	store := audit.New(audit.Config{DB: db, Table: tableName, Tagger: seedTagger{}})
	items := make([]map[string]types.AttributeValue, n)
	ids := make([]string, n)
	for i := range n {
		trigger := audit.TriggerNewLead
		if i%4 == 3 {
			trigger = audit.TriggerUpdatedLead
		}
		key := audit.DedupeKey{ProfileID: profileOf(i), LeadID: 20_000_000 + int64(i), Trigger: trigger,
			LastUpdated: at(i).Truncate(time.Second), BodyHash: fmt.Sprintf("%064x", i)}
		item, err := store.EventItem(key, audit.Record{AccountID: 2001, LeadType: "Phone Call", Status: 200,
			RequestID: fmt.Sprintf("seed-%d", i), ReceivedAt: at(i), Quotable: "Not Set"})
		if err != nil {
			t.Fatal(err)
		}
		// Off the outbox (published), and off the by-day index, which a replay does not read: one
		// index write an item instead of two makes the seeding twice as fast on dynalite.
		for _, a := range []string{table.OutboxPK, table.OutboxSK, table.DayPK, table.DaySK} {
			delete(item, a)
		}
		items[i], ids[i] = item, audit.EventID(key)
	}
	batches := make(chan []map[string]types.AttributeValue)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for batch := range batches {
				reqs := make([]types.WriteRequest, len(batch))
				for i, it := range batch {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]types.WriteRequest{tableName: reqs},
					})
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						break
					}
					reqs = out.UnprocessedItems[tableName]
				}
			}
		})
	}
	for start := 0; start < n; start += 25 {
		batches <- items[start:min(start+25, n)]
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return ids
}

// 50,000 events of profile 1001 over two days and a midnight, among 500 of profile 1002, replayed
// through the local stack in chunks of five seconds each (ReplayChunkSeconds=5), every chunk a new
// Event invocation resuming where the last one stopped: the consumer gets every event of the window
// and the profile once, in the order received, and nothing else.
func TestAReplayOf50000EventsOutlivesOneInvocationAndKeepsTheirOrder(t *testing.T) {
	logs := &testenv.Logs{}
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"ReplayRate": "10000", "ReplayChunkSeconds": "5"},
		Logger:             logs.Logger(),
	})
	const n = 50_000
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour)
	at := func(i int) time.Time {
		return base.Add(time.Duration(i) * 3 * time.Second).Add(time.Duration(i%1000) * time.Microsecond)
	}
	profileOf := func(i int) int64 {
		if i%101 == 50 {
			return 1002
		}
		return 1001
	}
	const total = n + n/100 + 720 // 1002 has every 101st; 100 of 1001 before the window, the rest after
	t.Logf("seeding %d events", total)
	ids := seedEvents(t, st.Options.Table, total, at, profileOf)
	t.Logf("seeded")
	var want []string
	var from, to time.Time
	seen := 0 // events of 1001 so far
	for i, id := range ids {
		if profileOf(i) != 1001 {
			continue
		}
		seen++
		switch {
		case seen == 101:
			from = at(i)
			want = append(want, id)
		case seen > 101 && len(want) < n:
			want = append(want, id)
			if len(want) == n {
				to = at(i).Add(time.Microsecond)
			}
		}
	}
	if len(want) != n || to.IsZero() {
		t.Fatalf("seeded %d events of the window, want %d", len(want), n)
	}
	queue := subscribe(t, st)

	// The replay as POST /replays leaves it once planned, authorised and audited: its job stored, its
	// first chunk asked of Lambda's Invoke API as an Event invocation. (The API's own plan, a count of
	// the window, is tested at a smaller scale: dynalite counts a few thousand items a second, and 50,000
	// on this shared machine do not fit in API Gateway's 29 seconds.)
	id := replay.NewID()
	jobs := &replay.Jobs{DB: testenv.DynamoDB(t), Table: st.Options.Table}
	if err := jobs.Create(context.Background(), replay.Job{ID: id, Actor: "arn:aws:iam::123456789012:user/wcbridge-local",
		From: from, To: to, ProfileID: 1001, Events: n}, time.Now()); err != nil {
		t.Fatal(err)
	}
	invoker := &replay.SelfInvoker{FunctionName: "ReplayFunction", Lambda: lambda.NewFromConfig(testenv.AWSConfig(),
		func(o *lambda.Options) { o.BaseEndpoint = aws.String(st.LambdaURL) })}
	start := time.Now()
	if err := invoker.InvokeAsync(context.Background(), []byte(`{"replay_id": "`+id+`"}`)); err != nil {
		t.Fatal(err)
	}
	st.Functions.Wait() // the chain of chunk invocations
	elapsed := time.Since(start)
	ans := replayAnswer{ReplayID: id}
	if job, err := jobs.Get(context.Background(), id); err != nil || !job.Done || job.Published != n {
		t.Fatalf("the job after the chain: %+v, %v; want done with %d published", job, err, n)
	}
	got := queue.purge()
	t.Logf("%d events replayed in %s (%.0f events/s)", len(got), elapsed.Round(time.Millisecond), float64(len(got))/elapsed.Seconds())
	if len(got) != n {
		t.Fatalf("the consumer got %d events, want %d", len(got), n)
	}
	for i, e := range got {
		var d struct {
			EventID  string `json:"event_id"`
			ReplayID string `json:"replay_id"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.EventID != want[i] || d.ReplayID != ans.ReplayID {
			t.Fatalf("event %d is %s of replay %s, want %s of %s (in the order received)", i, d.EventID, d.ReplayID, want[i], ans.ReplayID)
		}
	}
	chunks := strings.Count(logs.String(), `"function":"ReplayFunction"`)
	if chunks < 2 {
		t.Fatalf("the replay ran in %d invocation(s), want several chunks", chunks)
	}
	t.Logf("%d chunk invocations", chunks)
}

// seedTagger tags seeded records with a fixed stand-in: a replay never checks tags, and the seeded
// items only need the shape the webhook writes.
type seedTagger struct{}

func (seedTagger) Tag(_ context.Context, msg []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(msg)
	return []byte("seed-tag-key"), sum[:], nil
}
