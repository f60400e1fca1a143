package replay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// Bus is the part of the EventBridge API a replay publishes with.
type Bus interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ Bus = (*eventbridge.Client)(nil)

// BatchSize is how many entries one PutEvents call takes (EventBridge's maximum).
const BatchSize = 10

// putAttempts is how often a batch's failed entries are sent (the first time included) before the
// chunk stops; the next invocation (Lambda's retry) resumes from the last event the bus took.
const putAttempts = 5

// errNotPublished is returned when entries still failed after putAttempts.
var errNotPublished = errors.New("replay: the bus refused events after retries")

// pacer spaces batches so that events go out at no more than rate a second.
type pacer struct {
	rate float64
	next time.Time
}

func (p *pacer) wait(ctx context.Context, events int) error {
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	if d := time.Until(p.next); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	p.next = p.next.Add(time.Duration(float64(events) / p.rate * float64(time.Second)))
	return nil
}

// putBatch publishes up to BatchSize events with replayID, sending again only the entries that
// failed (throttling, internal errors), with backoff and jitter. It returns how many of recs, from the
// start, are certainly on the bus: the events after the first one that failed for good are sent
// again on resume (consumers de-duplicate them by event_id), so nothing is skipped.
func putBatch(ctx context.Context, bus Bus, busName, replayID string, recs []audit.Record) (int, error) {
	entries := make([]types.PutEventsRequestEntry, len(recs))
	for i, r := range recs {
		e, err := webhook.Entry(r, busName, replayID)
		if err != nil {
			return 0, err
		}
		entries[i] = e
	}
	pending := make([]int, len(recs)) // indexes of recs not yet on the bus
	for i := range pending {
		pending[i] = i
	}
	var lastErr error
	for attempt := range putAttempts {
		if attempt > 0 {
			backoff := time.Duration(50<<attempt) * time.Millisecond
			t := time.NewTimer(backoff/2 + rand.N(backoff/2))
			select {
			case <-ctx.Done():
				t.Stop()
				return firstPending(pending, len(recs)), ctx.Err()
			case <-t.C:
			}
		}
		batch := make([]types.PutEventsRequestEntry, len(pending))
		for i, idx := range pending {
			batch[i] = entries[idx]
		}
		out, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			lastErr = err
			continue
		}
		var still []int
		for i, idx := range pending {
			// Results are index-aligned with the entries; a missing result counts as a failure.
			if i >= len(out.Entries) || aws.ToString(out.Entries[i].ErrorCode) != "" {
				still = append(still, idx)
			}
		}
		pending = still
		if len(pending) == 0 {
			return len(recs), nil
		}
		lastErr = fmt.Errorf("%d of %d entries failed", len(pending), len(batch))
	}
	return firstPending(pending, len(recs)), fmt.Errorf("%w: %w", errNotPublished, lastErr)
}

func firstPending(pending []int, all int) int {
	if len(pending) == 0 {
		return all
	}
	return pending[0]
}
