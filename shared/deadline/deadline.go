// Package deadline bounds a Lambda invocation's calls by the invocation's own deadline, so that the
// handler still has the time to answer.
//
// Lambda ends an invocation at its deadline (the function's Timeout) without an answer; API Gateway
// then answers its own 502 {"message": "Internal server error"}, which is not the contract's error,
// and the handler never logs why. The AWS SDK's retries can outlast a function's timeout on their own
// (against a throttled table each retry backs off up to seconds). A handler that makes its calls end
// a margin before the deadline is answered by its calls in time, and answers the contract's error.
//
// The invocation's deadline is the context's: the Lambda runtime (and the local stack's
// shared/local/apigateway) sets it on the context a handler receives.
package deadline

import (
	"context"
	"time"
)

// DefaultMargin is the time kept free before an invocation's deadline to answer, log and return
// once the bounded calls have ended: ample for a handler that has only its answer left to build.
const DefaultMargin = 1 * time.Second

// Bound returns ctx ending margin before ctx's own deadline (the invocation's), and no later than
// limit when limit is not zero. With neither a deadline on ctx nor a limit, it is ctx as it is
// (with a cancel). A bound already past gives a context that is already done: a call made with it
// fails at once, which is the point.
func Bound(ctx context.Context, margin time.Duration, limit time.Time) (context.Context, context.CancelFunc) {
	if end, ok := End(ctx, margin, limit); ok {
		return context.WithDeadline(ctx, end)
	}
	return context.WithCancel(ctx)
}

// Detached is Bound for work that must go on when ctx is cancelled (a caller that went away, work
// that follows an acknowledged write) but must still end before the invocation does: its context is
// not cancelled with ctx, and ends margin before ctx's deadline, and at limit when not zero.
func Detached(ctx context.Context, margin time.Duration, limit time.Time) (context.Context, context.CancelFunc) {
	end, ok := End(ctx, margin, limit)
	detached := context.WithoutCancel(ctx) // which also drops ctx's deadline: taken from ctx above
	if ok {
		return context.WithDeadline(detached, end)
	}
	return context.WithCancel(detached)
}

// DetachTimeout bounds a write made with Detach: one conditional write, with the SDK's retries.
const DetachTimeout = 5 * time.Second

// detachReserve is left after a detached write, before the invocation's deadline, to answer.
const detachReserve = 200 * time.Millisecond

// Detach is the context of a write that must be made even when the request's own work ran out of
// time or its caller went away: the audit record of a request's outcome (a failure or a timeout
// included) and what must be kept with it. It is not cancelled with ctx, and ends DetachTimeout from
// now or just before ctx's deadline, whichever comes first. Pass the invocation's context, not one
// already bounded for the request's own work, or a timed-out request's record is never written.
func Detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return Detached(ctx, detachReserve, time.Now().Add(DetachTimeout))
}

// End is the earlier of ctx's deadline less margin and limit (when not zero); ok is false when there
// is neither.
func End(ctx context.Context, margin time.Duration, limit time.Time) (end time.Time, ok bool) {
	if dl, has := ctx.Deadline(); has {
		end, ok = dl.Add(-margin), true
	}
	if !limit.IsZero() && (!ok || limit.Before(end)) {
		end, ok = limit, true
	}
	return end, ok
}
