package webhook

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/audit"
)

func TestEveryAcknowledgedEventIsPublishedOnceTheBusRecovers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// The bus is down: deliveries are still acknowledged (the records are durable) and wait on the outbox.
	e.bus.setMode(busDown)
	var acked []string
	for i := range 3 {
		acked = append(acked, decodeOK(t, e.deliver(withLead(t, fixtureNew, int64(9001+i), nil), tokenCurrent)).EventID)
	}
	if n := len(e.pending()); n != 3 {
		t.Fatalf("%d events on the outbox, want 3", n)
	}
	// An hour later by the publisher's clock, the oldest has waited an hour (the dashboard's outbox age).
	e.outbox.Now = func() time.Time { return time.Now().Add(time.Hour) }
	res, err := e.outbox.Handle(ctx, nil)
	if !errors.Is(err, ErrSweepIncomplete) || res.Published != 0 || res.Failed != 3 || !res.More {
		t.Fatalf("sweep with the bus down: %+v, %v", res, err)
	}
	if res.OldestAgeSeconds < 3600 || res.OldestAgeSeconds > 3600+60 {
		t.Fatalf("oldest pending event waited %d s, want about 3600", res.OldestAgeSeconds)
	}
	e.outbox.Now = nil

	// The bus takes calls but fails one entry of each (FailedEntryCount 1).
	e.bus.setMode(busFailsFirst)
	acked = append(acked, decodeOK(t, e.deliver(withLead(t, fixtureUpdate, 9004, nil), tokenCurrent)).EventID)
	if n := len(e.pending()); n != 4 {
		t.Fatalf("%d events on the outbox, want 4 (the inline publish of the fourth failed)", n)
	}
	res, err = e.outbox.Handle(ctx, nil)
	if !errors.Is(err, ErrSweepIncomplete) || res.Published != 3 || res.Failed != 1 {
		t.Fatalf("sweep with partial failures: %+v, %v", res, err)
	}
	if n := len(e.pending()); n != 1 {
		t.Fatalf("%d events on the outbox, want the 1 that failed", n)
	}

	// The call succeeds but reports every entry failed: still nothing lost.
	e.bus.setMode(busFailsAllOut)
	if res, err := e.outbox.Handle(ctx, nil); err == nil || res.Published != 0 {
		t.Fatalf("sweep with every entry failed: %+v, %v", res, err)
	}

	// The bus recovers: the last one goes out, and a further sweep finds nothing.
	e.bus.setMode(busUp)
	if res, err := e.outbox.Handle(ctx, nil); err != nil || res.Published != 1 || res.More {
		t.Fatalf("sweep after recovery: %+v, %v", res, err)
	}
	if res, err := e.outbox.Handle(ctx, nil); err != nil || res.Published != 0 || res.OldestAgeSeconds != 0 {
		t.Fatalf("idle sweep: %+v, %v", res, err)
	}
	if n := len(e.pending()); n != 0 {
		t.Fatalf("%d events still on the outbox", n)
	}
	got := e.bus.countByEvent(t)
	for _, id := range acked {
		if got[id] != 1 {
			t.Fatalf("event %s published %d times, want exactly once; all: %v", id, got[id], got)
		}
	}
	if len(got) != len(acked) {
		t.Fatalf("bus events %v, want exactly the %d acknowledged", got, len(acked))
	}
}

func TestTheSweepLeavesYoungEventsToTheirInlinePublish(t *testing.T) {
	e := newEnv(t)
	e.bus.setMode(busDown)
	decodeOK(t, e.deliver(withLead(t, fixtureNew, 9101, nil), tokenCurrent))
	e.bus.setMode(busUp)
	e.outbox.Settle = time.Hour
	if res, err := e.outbox.Handle(context.Background(), nil); err != nil || res.Published != 0 {
		t.Fatalf("the sweep took an event younger than its settle time: %+v, %v", res, err)
	}
	if n := len(e.pending()); n != 1 {
		t.Fatalf("%d pending", n)
	}
}

// markerStuck is the audit store with MarkPublished failing, as when the table refuses the update
// after the bus took the event.
type markerStuck struct{ *audit.Store }

func (markerStuck) MarkPublished(context.Context, string) error {
	return errors.New("update refused (test)")
}

func TestAnEventPublishedTwiceCarriesTheSameIdentity(t *testing.T) {
	e := newEnv(t)
	e.ingest.Store = markerStuck{e.writer}
	ok := decodeOK(t, e.deliver(withLead(t, fixtureNew, 9201, nil), tokenCurrent))
	if n := len(e.pending()); n != 1 {
		t.Fatalf("%d pending, want the published event still marked", n)
	}
	if _, err := e.outbox.Handle(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	entries := e.bus.entries()
	if len(entries) != 2 {
		t.Fatalf("%d bus events, want the inline one and the sweep's", len(entries))
	}
	// At least once: the second copy is the same event, byte for byte, so consumers drop it on event_id.
	if aws.ToString(entries[0].Detail) != aws.ToString(entries[1].Detail) || !entries[0].Time.Equal(*entries[1].Time) {
		t.Fatalf("copies differ:\n%s\n%s", aws.ToString(entries[0].Detail), aws.ToString(entries[1].Detail))
	}
	if d := e.bus.details(t); d[0].EventID != ok.EventID {
		t.Fatalf("event_id %q, want %q", d[0].EventID, ok.EventID)
	}
	if n := len(e.pending()); n != 0 {
		t.Fatalf("%d pending after the sweep", n)
	}
}
