package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Outbox is the part of the audit store the publisher uses: the events still waiting for the bus,
// and the marker it clears. It reads metadata only, never a sealed payload.
type Outbox interface {
	PendingEvents(ctx context.Context, olderThan time.Duration, limit int) ([]audit.Record, error)
	MarkPublished(ctx context.Context, eventID string) error
}

var _ Outbox = (*audit.Store)(nil)

// Defaults of the sweep.
const (
	// DefaultSettle leaves alone the events young enough for their inline publish to be in flight
	// (it is bounded by DefaultPublishTimeout, far below this).
	DefaultSettle = 30 * time.Second
	// DefaultPageSize is how many pending events one sweep step reads.
	DefaultPageSize = 100
	// DefaultMaxPages bounds one run: at one run a minute it drains 6,000 events a minute.
	DefaultMaxPages = 60
)

// Publisher is the outbox sweep (PublishOutboxFunction, every minute): it publishes the accepted
// events whose inline publish failed or never happened, and takes each off the outbox once the bus
// has it. Together with the inline publish this gives at-least-once publication of every
// acknowledged event; Detail.event_id lets consumers drop the rare second copy.
type Publisher struct {
	Store    Outbox
	Bus      Bus
	EventBus string
	Log      *slog.Logger

	Settle   time.Duration    // default DefaultSettle
	PageSize int              // default DefaultPageSize
	MaxPages int              // default DefaultMaxPages
	Now      func() time.Time // default time.Now; measures OldestAgeSeconds
}

// SweepResult is what one run did (the function's response, and its log line).
type SweepResult struct {
	Published int  `json:"published"`
	Failed    int  `json:"failed"`
	More      bool `json:"more"` // the run stopped with events still pending (a page limit or failures)
	// OldestAgeSeconds is how long the oldest pending event the run found has waited for the bus
	// (0 when none was pending): the stack's outbox-age metric is read from this log field.
	OldestAgeSeconds int64 `json:"oldest_age_seconds"`
}

// ErrSweepIncomplete is returned when some events could not be published: they stay on the outbox for
// the next run, and the error makes the run count in the function's Errors metric.
var ErrSweepIncomplete = errors.New("webhook: some outbox events could not be published; they stay pending")

// Handle runs one sweep. The scheduler's event carries nothing the sweep needs.
func (p *Publisher) Handle(ctx context.Context, _ json.RawMessage) (SweepResult, error) {
	res, err := p.Sweep(ctx)
	attrs := []any{"published", res.Published, "failed", res.Failed, "more", res.More, "oldest_age_seconds", res.OldestAgeSeconds}
	if err != nil {
		p.logger().ErrorContext(ctx, "outbox sweep incomplete", append(attrs, "error", err.Error())...)
		return res, err
	}
	p.logger().InfoContext(ctx, "outbox sweep", attrs...)
	return res, nil
}

// Sweep publishes pending events page by page, oldest first, until none is left, a page has a
// failure (the rest waits for the next run), the page limit is reached or ctx ends.
func (p *Publisher) Sweep(ctx context.Context) (SweepResult, error) {
	settle, size, pages := p.Settle, p.PageSize, p.MaxPages
	if settle <= 0 {
		settle = DefaultSettle
	}
	if size <= 0 {
		size = DefaultPageSize
	}
	if pages <= 0 {
		pages = DefaultMaxPages
	}
	var res SweepResult
	for range pages {
		if ctx.Err() != nil {
			res.More = true
			return res, nil
		}
		recs, err := p.Store.PendingEvents(ctx, settle, size)
		if err != nil {
			res.More = true
			return res, fmt.Errorf("%w: read the outbox: %w", ErrSweepIncomplete, err)
		}
		if len(recs) > 0 && res.OldestAgeSeconds == 0 { // pages come oldest first
			res.OldestAgeSeconds = max(1, int64(p.now().Sub(recs[0].ReceivedAt)/time.Second))
		}
		published, failed, err := p.publishPage(ctx, recs)
		res.Published += published
		res.Failed += failed
		if failed > 0 || err != nil {
			// The bus refused some, or markers could not be cleared: stop rather than read the same
			// events again in this run. They stay pending for the next one.
			res.More = true
			return res, errors.Join(ErrSweepIncomplete, err)
		}
		if len(recs) < size {
			return res, nil
		}
	}
	res.More = true
	return res, nil
}

// publishPage publishes recs in PutEvents batches and clears the marker of each event the bus took.
// Markers are cleared concurrently within a batch.
func (p *Publisher) publishPage(ctx context.Context, recs []audit.Record) (published, failed int, err error) {
	var errs []error
	for start := 0; start < len(recs); start += maxEntries {
		batch := recs[start:min(start+maxEntries, len(recs))]
		ok, bad, perr := publish(ctx, p.Bus, p.EventBus, batch)
		failed += len(bad)
		if perr != nil {
			errs = append(errs, perr)
		}
		for _, r := range bad {
			p.logger().WarnContext(ctx, "outbox event not published", "event_id", r.ID)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, r := range ok {
			wg.Go(func() {
				merr := p.Store.MarkPublished(ctx, r.ID)
				mu.Lock()
				defer mu.Unlock()
				published++ // on the bus either way; an uncleared marker means one more copy later
				if merr != nil {
					errs = append(errs, merr)
					p.logger().WarnContext(ctx, "outbox marker not cleared", "event_id", r.ID, "error", merr.Error())
				}
			})
		}
		wg.Wait()
	}
	return published, failed, errors.Join(errs...)
}

func (p *Publisher) logger() *slog.Logger { return loggerOr(p.Log) }

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}
