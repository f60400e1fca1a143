package whatconverts

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/budget"
)

// Kind classifies a failed WhatConverts call.
type Kind int

// Kinds of failure.
const (
	KindUnknown         Kind = iota
	KindBadRequest           // WhatConverts refused the request (4xx), or the client refused invalid parameters
	KindUnauthorized         // 401/403: the key was refused
	KindNotFound             // no such lead, or a lead of another profile
	KindRateLimited          // 429 after the retries
	KindServer               // 5xx after the retries
	KindTimeout              // no answer before the deadline
	KindNetwork              // WhatConverts could not be reached
	KindDecode               // a response that is not the expected JSON
	KindBudgetExhausted      // the key's daily budget is spent: WhatConverts was not called
	KindCanceled             // the caller's context was canceled
)

var kindNames = map[Kind]string{
	KindUnknown: "unknown error", KindBadRequest: "request refused", KindUnauthorized: "credentials refused",
	KindNotFound: "not found", KindRateLimited: "rate limited", KindServer: "server error",
	KindTimeout: "timed out", KindNetwork: "network error", KindDecode: "unreadable response",
	KindBudgetExhausted: "daily request budget exhausted", KindCanceled: "canceled",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Sentinels for errors.Is: errors.Is(err, whatconverts.ErrNotFound) holds for any *Error of that kind.
var (
	ErrBadRequest      = &Error{Kind: KindBadRequest}
	ErrUnauthorized    = &Error{Kind: KindUnauthorized}
	ErrNotFound        = &Error{Kind: KindNotFound}
	ErrRateLimited     = &Error{Kind: KindRateLimited}
	ErrServer          = &Error{Kind: KindServer}
	ErrTimeout         = &Error{Kind: KindTimeout}
	ErrNetwork         = &Error{Kind: KindNetwork}
	ErrDecode          = &Error{Kind: KindDecode}
	ErrBudgetExhausted = &Error{Kind: KindBudgetExhausted}
	ErrCanceled        = &Error{Kind: KindCanceled}
)

// Error is a failed WhatConverts call. Its text names the operation, the kind, the HTTP status and (for
// parameters the client refused) the field: never a URL, a query, a body or WhatConverts' own message,
// which can all hold PHI.
type Error struct {
	Kind     Kind
	Op       string // "list leads", "get lead", "create lead", "edit lead"
	Status   int    // HTTP status, 0 when there was no answer
	Attempts int    // requests made (0: WhatConverts was not called)
	// RetryAfter is how long until trying again makes sense: until 00:00 UTC for an exhausted budget,
	// WhatConverts' Retry-After (if it ever sends one) for a 429.
	RetryAfter time.Duration
	// Field and Problem name a parameter the client refused before calling (KindBadRequest, Status 0).
	Field   string
	Problem string

	written bool  // the request was completely written (a create may have been applied)
	final   bool  // not worth retrying whatever the kind (the caller's context is done)
	err     error // cause, for errors.Is/As; never holds a URL
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("whatconverts")
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s %s", e.Field, e.Problem)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	// Network causes are net package errors (addresses, not URLs: *url.Error is unwrapped before);
	// unknown ones are the budget store's errors or fixed texts.
	if (e.Kind == KindNetwork || e.Kind == KindUnknown) && e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Unwrap returns the cause (a context error, a net error, a *budget.ExhaustedError).
func (e *Error) Unwrap() error { return e.err }

// Is matches the sentinels by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Op == "" && t.Status == 0
}

// KindOf returns the kind of a *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// APIError turns an error of this package into the contract's error: NotFound for an unknown lead;
// UpstreamUnavailable with Retry-After for an exhausted budget or a persistent 429 (until the budget's
// reset, 00:00 UTC, unless WhatConverts said otherwise);
// UpstreamTimeout when WhatConverts did not answer in time; UpstreamError for anything else WhatConverts
// answered; InvalidRequest naming profile_id when no key reaches the profile. Any other error is
// apierr.From's internal error. Messages are fixed texts: WhatConverts' own messages are not passed on.
func APIError(err error) *apierr.Error {
	if err == nil {
		return nil
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, ErrNoCredentials) {
		e := apierr.Invalid(apierr.FieldProblem{Field: "profile_id", Problem: "has no WhatConverts credentials configured"})
		return e
	}
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, budget.ErrExhausted) {
			return exhausted(err)
		}
		return apierr.From(err)
	}
	switch e.Kind {
	case KindNotFound:
		return apierr.Wrap(err, apierr.NotFound, "lead not found")
	case KindBudgetExhausted:
		return exhausted(err)
	case KindRateLimited:
		w := apierr.Wrap(err, apierr.UpstreamUnavailable, "WhatConverts is limiting requests; try again later")
		w.RetryAfter = e.RetryAfter
		if w.RetryAfter <= 0 {
			// A 429 that outlived the retries, without a Retry-After (WhatConverts sends none): of the
			// documented limits only the daily quota lasts that long, and it resets with the budget.
			w.RetryAfter = budget.UntilReset(time.Now())
		}
		return w
	case KindTimeout:
		return apierr.Wrap(err, apierr.UpstreamTimeout, "WhatConverts did not answer in time")
	case KindUnauthorized:
		return apierr.Wrap(err, apierr.UpstreamError, "WhatConverts refused the credentials")
	case KindServer:
		return apierr.Wrap(err, apierr.UpstreamError, "WhatConverts answered with an error")
	case KindNetwork:
		return apierr.Wrap(err, apierr.UpstreamError, "WhatConverts could not be reached")
	case KindDecode:
		return apierr.Wrap(err, apierr.UpstreamError, "WhatConverts sent a response that could not be read")
	case KindBadRequest:
		if e.Field != "" && e.Status == 0 {
			return apierr.Invalid(apierr.FieldProblem{Field: e.Field, Problem: e.Problem})
		}
		return apierr.Wrap(err, apierr.UpstreamError, "WhatConverts refused the request")
	default:
		return apierr.From(err)
	}
}

func exhausted(err error) *apierr.Error {
	w := apierr.Wrap(err, apierr.UpstreamUnavailable, "the daily WhatConverts request budget is spent; it resets at 00:00 UTC")
	var ex *budget.ExhaustedError
	if errors.As(err, &ex) {
		w.RetryAfter = ex.RetryAfter
	}
	if w.RetryAfter <= 0 {
		w.RetryAfter = budget.UntilReset(time.Now())
	}
	return w
}
