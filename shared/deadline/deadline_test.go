package deadline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/deadline"
)

func TestEnd(t *testing.T) {
	ctx, dl := withDeadline(t, context.Background())
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		margin time.Duration
		limit  time.Time
		want   time.Time
		ok     bool
	}{
		{"the invocation's deadline less the margin", ctx, time.Second, time.Time{}, dl.Add(-time.Second), true},
		{"a limit before it wins", ctx, time.Second, dl.Add(-time.Minute), dl.Add(-time.Minute), true},
		{"a limit after it does not", ctx, time.Second, dl.Add(time.Minute), dl.Add(-time.Second), true},
		{"a limit inside the margin does not", ctx, time.Second, dl.Add(-time.Millisecond), dl.Add(-time.Second), true},
		{"no deadline: the limit", context.Background(), time.Second, dl, dl, true},
		{"neither: none", context.Background(), time.Second, time.Time{}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := deadline.End(tc.ctx, tc.margin, tc.limit)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("End = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBound(t *testing.T) {
	t.Run("ends margin before the invocation, and with it", func(t *testing.T) {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, dl := withDeadline(t, parent)
		bounded, cancel := deadline.Bound(ctx, 2*time.Second, time.Time{})
		defer cancel()
		if got, ok := bounded.Deadline(); !ok || !got.Equal(dl.Add(-2*time.Second)) {
			t.Fatalf("deadline %v, %v; want %v", got, ok, dl.Add(-2*time.Second))
		}
		cancelParent()
		if !errors.Is(bounded.Err(), context.Canceled) {
			t.Fatalf("after the invocation's context ended: %v, want canceled", bounded.Err())
		}
	})
	t.Run("a bound already past is done at once", func(t *testing.T) {
		ctx, _ := withDeadline(t, context.Background())
		bounded, cancel := deadline.Bound(ctx, 2*time.Hour, time.Time{})
		defer cancel()
		if !errors.Is(bounded.Err(), context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", bounded.Err())
		}
	})
	t.Run("without a deadline or a limit, none", func(t *testing.T) {
		bounded, cancel := deadline.Bound(context.Background(), time.Second, time.Time{})
		if _, ok := bounded.Deadline(); ok {
			t.Fatal("a deadline out of nowhere")
		}
		cancel()
		if bounded.Err() == nil {
			t.Fatal("cancel does not end it")
		}
	})
}

func TestDetached(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, dl := withDeadline(t, parent)
	limit := dl.Add(-time.Minute)
	detached, cancel := deadline.Detached(ctx, time.Second, limit)
	defer cancel()
	if got, ok := detached.Deadline(); !ok || !got.Equal(limit) {
		t.Fatalf("deadline %v, %v; want the limit %v", got, ok, limit)
	}
	detachedNoLimit, cancel2 := deadline.Detached(ctx, time.Second, time.Time{})
	defer cancel2()
	if got, ok := detachedNoLimit.Deadline(); !ok || !got.Equal(dl.Add(-time.Second)) {
		t.Fatalf("deadline %v, %v; want the invocation's less the margin %v", got, ok, dl.Add(-time.Second))
	}
	cancelParent()
	if detached.Err() != nil || detachedNoLimit.Err() != nil {
		t.Fatalf("ended with the caller's context: %v, %v", detached.Err(), detachedNoLimit.Err())
	}
}

// withDeadline is parent with the deadline an invocation's handler gets, far enough ahead that no
// test ever reaches it.
func withDeadline(t *testing.T, parent context.Context) (context.Context, time.Time) {
	t.Helper()
	dl := time.Now().Add(time.Hour).Round(0)
	ctx, cancel := context.WithDeadline(parent, dl)
	t.Cleanup(cancel)
	return ctx, dl
}

func TestDetach(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		within [2]time.Duration // the detached deadline, from now
	}{
		{"an invocation far from its end: deadline.DetachTimeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, [2]time.Duration{deadline.DetachTimeout - time.Second, deadline.DetachTimeout}},
		{"an invocation about to end: just before its deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, [2]time.Duration{time.Second / 2, time.Second - time.Millisecond}},
		{"no deadline: deadline.DetachTimeout", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, [2]time.Duration{deadline.DetachTimeout - time.Second, deadline.DetachTimeout}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			cancel() // the request's work is over, or its caller went away
			start := time.Now()
			d, dcancel := deadline.Detach(ctx)
			defer dcancel()
			stop := time.Now()
			if d.Err() != nil {
				t.Fatalf("the detached context is done with its parent: %v", d.Err())
			}
			end, ok := d.Deadline()
			if !ok || end.Before(start.Add(tc.within[0])) || end.After(stop.Add(tc.within[1])) {
				t.Fatalf("deadline %v from now, want within %v", end.Sub(start), tc.within)
			}
		})
	}
}
