package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// replayEvents is how many events the replay figure replays (and the bare loop puts).
const replayEvents = 5000

// measureReplay seeds replayEvents accepted events in the local stack's audit table, replays them
// with POST /replays (ReplayRate at its maximum, so that the stack, not the configured rate, is what
// is measured) until the last chunk is done, and, as the baseline, puts the same events on the same
// local bus in PutEvents batches of 10 from a bare loop: the replay's throughput over the bus's own.
func measureReplay(ctx context.Context, b *bench) (result, error) {
	stderr := os.Stderr
	stack, restore, err := startQuietStack(ctx, b, map[string]string{"ReplayRate": "10000"})
	if err != nil {
		return result{}, err
	}
	defer restore() // after the run: the replay's chunks start instances of their own, which log too
	defer func() { _ = stack.Close(context.Background()) }()
	db, _, err := localDynamoDB()
	if err != nil {
		return result{}, err
	}

	fmt.Fprintf(stderr, "bench  R1: seeding %d events\n", replayEvents)
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour)
	store := audit.New(audit.Config{DB: db, Table: stack.Options.Table, Tagger: seedTagger{}})
	var recs []audit.Record
	var items []map[string]types.AttributeValue
	for i := range replayEvents {
		at := base.Add(time.Duration(i) * time.Second)
		key := audit.DedupeKey{ProfileID: 1001, LeadID: 30_000_000 + int64(i), Trigger: audit.TriggerNewLead, LastUpdated: at,
			BodyHash: fmt.Sprintf("%064x", i)}
		r := audit.Record{AccountID: 2001, LeadType: "Phone Call", Status: 200, RequestID: "bench", ReceivedAt: at}
		item, err := store.EventItem(key, r)
		if err != nil {
			return result{}, err
		}
		delete(item, table.OutboxPK)
		delete(item, table.OutboxSK)
		items = append(items, item)
		r.ID, r.Trigger, r.ProfileID, r.LeadIDs = audit.EventID(key), key.Trigger, key.ProfileID, []int64{key.LeadID}
		recs = append(recs, r)
	}
	for start := 0; start < len(items); start += 25 {
		var reqs []types.WriteRequest
		for _, it := range items[start:min(start+25, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		for len(reqs) > 0 {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{stack.Options.Table: reqs}})
			if err != nil {
				return result{}, err
			}
			reqs = out.UnprocessedItems[stack.Options.Table]
		}
	}

	fmt.Fprintf(stderr, "bench  R1: replaying them through the stack\n")
	body := fmt.Sprintf(`{"from": %q, "to": %q}`, base.Format(time.RFC3339), base.Add(replayEvents*time.Second).Format(time.RFC3339))
	before := len(stack.Bus.Events())
	start := time.Now()
	if err := signedPost(ctx, stack, "/replays", []byte(body)); err != nil {
		return result{}, err
	}
	stack.Functions.Wait()
	replayTime := time.Since(start)
	if got := len(stack.Bus.Events()) - before; got != replayEvents {
		return result{}, fmt.Errorf("the replay published %d events, want %d", got, replayEvents)
	}

	fmt.Fprintf(stderr, "bench  R1: the same events from a bare PutEvents loop\n")
	bus := eventbridge.NewFromConfig(awsConfig(), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(stack.EventBridgeURL) })
	start = time.Now()
	for i := 0; i < len(recs); i += 10 {
		var entries []ebtypes.PutEventsRequestEntry
		for _, r := range recs[i:min(i+10, len(recs))] {
			e, err := webhook.Entry(r, stack.EventBus(), "rpl_bench")
			if err != nil {
				return result{}, err
			}
			entries = append(entries, e)
		}
		if _, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}); err != nil {
			return result{}, err
		}
	}
	bareTime := time.Since(start)

	replayRate := float64(replayEvents) / replayTime.Seconds()
	bareRate := float64(replayEvents) / bareTime.Seconds()
	return result{
		Rows: []row{{ID: "R1", Name: "replay throughput, local stack", Value: fmt.Sprintf("%.0f events/s", replayRate),
			Baseline: fmt.Sprintf("bare PutEvents %.0f events/s", bareRate), Ratio: fmtRatio(replayRate / bareRate),
			Target: "reported", Verdict: "-"}},
		Details: []string{
			fmt.Sprintf("%d events seeded in the audit table, replayed by POST /replays (plan, audit, then Event invocations publishing in batches of 10) until the last chunk returned: %s", replayEvents, replayTime.Round(time.Millisecond)),
			fmt.Sprintf("the same %d events put on the same local bus by a bare loop of PutEvents batches of 10: %s", replayEvents, bareTime.Round(time.Millisecond)),
			"the difference is reading the window from dynalite twice (the plan's count, then the ordered walk) and the job's checkpoints; deployed, a replay is held to REPLAY_RATE (50 events/s by default), far below either",
		},
	}, nil
}

// signedPost posts body to the stack's API, SigV4-signed with its local key, and wants a 200.
func signedPost(ctx context.Context, stack *devstack.Stack, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stack.APIURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: stack.Options.AccessKeyID, SecretAccessKey: stack.Options.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s = %d %s", path, resp.StatusCode, b)
	}
	return nil
}

// seedTagger tags seeded records with a fixed stand-in: a replay never checks tags, and the seeded
// items only need the shape the webhook writes.
type seedTagger struct{}

func (seedTagger) Tag(_ context.Context, msg []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(msg)
	return []byte("seed-tag-key"), sum[:], nil
}
