package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/webhook"
)

// p7Webhooks is how many webhooks (and as many bare PutItems) P7 times.
const p7Webhooks = 500

// measureP7 starts the whole local stack in process (shared/local/devstack: API Gateway, the functions,
// the bus, the simulator) on dynalite and local-kms, and sends it p7Webhooks New Lead webhooks one at
// a time over loopback HTTP, alternating each with a bare PutItem of an item of the same size on the
// same dynalite from the same process: the webhook's latency over what one write to that server costs.
func measureP7(ctx context.Context, b *bench) (result, error) {
	stack, restore, err := startQuietStack(ctx, b, nil)
	if err != nil {
		return result{}, err
	}
	restore() // the functions, built, keep their /dev/null
	defer func() { _ = stack.Close(context.Background()) }()

	db, _, err := localDynamoDB()
	if err != nil {
		return result{}, err
	}
	b.progress("  P7: adding %d leads to the simulator", p7Webhooks)
	ids := stack.Sim.AddLeads(1001, p7Webhooks)
	var bodies [][]byte
	for _, id := range ids {
		body, err := stack.Sim.WebhookPayload(id, "new")
		if err != nil {
			return result{}, err
		}
		bodies = append(bodies, body)
	}
	item := benchItem(bodies[0])
	client := &http.Client{Timeout: 30 * time.Second}

	// Warm both paths first: the first webhook fetches the data key, the first PutItem connects.
	if _, err := postWebhook(ctx, client, stack.WebhookURL, bodies[0]); err != nil {
		return result{}, err
	}
	if _, err := putItem(ctx, db, stack.Options.Table, item, 0); err != nil {
		return result{}, err
	}
	bus := eventbridge.NewFromConfig(awsConfig(), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(stack.EventBridgeURL) })
	var hooks, puts, updates, events, hops []time.Duration
	b.progress("  P7: %d webhooks through the stack, alternating with %d bare PutItems (and the parts of a webhook's path)", p7Webhooks-1, p7Webhooks-1)
	for i := 1; i < p7Webhooks; i++ {
		d, err := postWebhook(ctx, client, stack.WebhookURL, bodies[i])
		if err != nil {
			return result{}, fmt.Errorf("webhook %d: %w", i, err)
		}
		hooks = append(hooks, d)
		if d, err = putItem(ctx, db, stack.Options.Table, item, i); err != nil {
			return result{}, fmt.Errorf("PutItem %d: %w", i, err)
		}
		puts = append(puts, d)
		// The parts, to explain the ratio: the outbox marker's UpdateItem, the PutEvents, the HTTP
		// hop through the local API Gateway alone (a route it refuses without invoking anything).
		if d, err = updateItem(ctx, db, stack.Options.Table, i); err != nil {
			return result{}, fmt.Errorf("UpdateItem %d: %w", i, err)
		}
		updates = append(updates, d)
		if d, err = putEvent(ctx, bus, stack.Options.EventBus); err != nil {
			return result{}, fmt.Errorf("PutEvents %d: %w", i, err)
		}
		events = append(events, d)
		if d, err = gatewayHop(ctx, client, stack.APIURL); err != nil {
			return result{}, fmt.Errorf("gateway %d: %w", i, err)
		}
		hops = append(hops, d)
	}
	hp50, hp99 := percentile(nanos(hooks), 50), percentile(nanos(hooks), 99)
	pp50, pp99 := percentile(nanos(puts), 50), percentile(nanos(puts), 99)
	ep50, up50, gp50 := percentile(nanos(events), 50), percentile(nanos(updates), 50), percentile(nanos(hops), 50)
	ratio := hp50 / pp50
	v := verdict(ratio <= 2)
	if ratio > 2 {
		v = fmt.Sprintf("MISS (explained: after the durable write, PutEvents + the outbox UpdateItem, %s = %.0f%% of p50; see details)",
			fmtNanos(ep50+up50), 100*(ep50+up50)/hp50)
	}
	return result{
		Rows: []row{
			{ID: "P7", Name: "webhook latency p50, local stack", Value: fmtNanos(hp50), Baseline: "PutItem p50 " + fmtNanos(pp50),
				Ratio: fmtRatio(ratio), Target: "target ≤2x", Verdict: v},
			{ID: "P7", Name: "webhook latency p99, local stack", Value: fmtNanos(hp99), Baseline: "PutItem p99 " + fmtNanos(pp99),
				Ratio: fmtRatio(hp99 / pp99), Target: "reported", Verdict: "-"},
		},
		Details: []string{
			fmt.Sprintf("%d New Lead webhooks, one at a time, POST over loopback HTTP to the in-process stack (shared/local/devstack) on dynalite and local-kms,", len(hooks)),
			"each followed by a bare PutItem of a same-size item on the same dynalite from the same process (the bench's own SDK client)",
			"a webhook's path: gateway -> IngestWebhookFunction -> conditional PutItem (sealed record, the durable write) -> PutEvents (local bus) -> UpdateItem (outbox marker)",
			fmt.Sprintf("its parts, timed alone in the same loop (p50): PutItem %s + PutEvents %s + UpdateItem %s + gateway hop %s = %s; the rest is the handler's CPU (P1), "+
				"the invocation's JSON, and the index entries dynalite maintains (the bare PutItem has none)",
				fmtNanos(pp50), fmtNanos(ep50), fmtNanos(up50), fmtNanos(gp50), fmtNanos(pp50+ep50+up50+gp50)),
			"the two round trips after the durable write stay: the inline PutEvents is what puts an event on the bus at once (the sweep alone would take up to a " +
				"minute and its settle time), and the UpdateItem that takes it off the outbox is what keeps the sweep from publishing it again; " +
				"neither can start before the write that decides new or redelivery has answered",
		},
	}, nil
}

// postWebhook posts one webhook and times it until its 200 answer is read.
func postWebhook(ctx context.Context, client *http.Client, url string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	var r webhook.Response
	if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &r) != nil || r.Duplicate {
		return 0, fmt.Errorf("status %d, want 200 for a new event", resp.StatusCode)
	}
	return d, nil
}

// benchItem is an item the size of a webhook's audit record: the body as the sealed attribute.
func benchItem(body []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"phi":  &types.AttributeValueMemberB{Value: bytes.Repeat([]byte{0x5a}, len(body)+60)},
		"kind": &types.AttributeValueMemberS{Value: "bench"},
	}
}

// updateItem removes an attribute of a bench item, as MarkPublished removes the outbox marker.
func updateItem(ctx context.Context, db *dynamodb.Client, table string, i int) (time.Duration, error) {
	start := time.Now()
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "bench#" + strconv.Itoa(i)},
			"sk": &types.AttributeValueMemberS{Value: "bench"},
		},
		UpdateExpression:         aws.String("REMOVE #k"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#k": "kind"},
	})
	return time.Since(start), err
}

// putEvent puts one lead-sized event on the stack's bus.
func putEvent(ctx context.Context, bus *eventbridge.Client, name string) (time.Duration, error) {
	detail := `{"event_id":"bench","trigger":"new-lead","lead_id":1,"profile_id":1001,"received_at":"2026-01-01T00:00:00Z"}`
	start := time.Now()
	out, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("wcbridge.bench"), DetailType: aws.String("Bench"), Detail: aws.String(detail), EventBusName: aws.String(name),
	}}})
	if err == nil && out.FailedEntryCount > 0 {
		err = fmt.Errorf("%d entries failed", out.FailedEntryCount)
	}
	return time.Since(start), err
}

// gatewayHop is one HTTP round trip through the local API Gateway that invokes nothing: a route the
// template does not define (403 Missing Authentication Token, as API Gateway answers it).
func gatewayHop(ctx context.Context, client *http.Client, apiURL string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/no-such-route", bytes.NewReader([]byte("{}")))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		return 0, fmt.Errorf("an undefined route answered %d, want 403", resp.StatusCode)
	}
	return time.Since(start), nil
}

func putItem(ctx context.Context, db *dynamodb.Client, table string, item map[string]types.AttributeValue, i int) (time.Duration, error) {
	it := make(map[string]types.AttributeValue, len(item)+2)
	for k, v := range item {
		it[k] = v
	}
	it["pk"] = &types.AttributeValueMemberS{Value: "bench#" + strconv.Itoa(i)}
	it["sk"] = &types.AttributeValueMemberS{Value: "bench"}
	start := time.Now()
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it})
	return time.Since(start), err
}
