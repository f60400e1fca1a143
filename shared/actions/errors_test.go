package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

func TestErrorOfMapsEveryFailureToTheContract(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		code       apierr.Code
		retryAfter bool
	}{
		{"an unknown lead", &whatconverts.Error{Kind: whatconverts.KindNotFound, Status: 400}, apierr.NotFound, false},
		{"a 429 after the retries", &whatconverts.Error{Kind: whatconverts.KindRateLimited, Status: 429}, apierr.UpstreamUnavailable, true},
		{"an exhausted daily budget", &whatconverts.Error{Kind: whatconverts.KindBudgetExhausted, RetryAfter: time.Hour}, apierr.UpstreamUnavailable, true},
		{"a bare budget refusal", fmt.Errorf("spend: %w", &budget.ExhaustedError{Limit: 1000, RetryAfter: time.Hour}), apierr.UpstreamUnavailable, true},
		{"a 5xx after the retries", &whatconverts.Error{Kind: whatconverts.KindServer, Status: 503}, apierr.UpstreamError, false},
		{"WhatConverts unreachable", &whatconverts.Error{Kind: whatconverts.KindNetwork}, apierr.UpstreamError, false},
		{"an unreadable answer", &whatconverts.Error{Kind: whatconverts.KindDecode, Status: 200}, apierr.UpstreamError, false},
		{"refused credentials", &whatconverts.Error{Kind: whatconverts.KindUnauthorized, Status: 401}, apierr.UpstreamError, false},
		{"no answer in time", &whatconverts.Error{Kind: whatconverts.KindTimeout}, apierr.UpstreamTimeout, false},
		{"a deadline outside the client", fmt.Errorf("read: %w", context.DeadlineExceeded), apierr.UpstreamTimeout, false},
		{"a profile without credentials", &whatconverts.NoCredentialsError{ProfileID: 9}, apierr.InvalidRequest, false},
		{"a key in flight", idempotency.ErrInProgress, apierr.Conflict, false},
		{"a key reused with another body", idempotency.ErrMismatch, apierr.Conflict, false},
		{"a contract error as it is", apierr.New(apierr.Forbidden, "no identity"), apierr.Forbidden, false},
		{"anything else", errors.New("dynamodb: boom"), apierr.Internal, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := errorOf(c.err)
			if e.Code != c.code {
				t.Fatalf("code = %s, want %s", e.Code, c.code)
			}
			if (e.RetryAfter > 0) != c.retryAfter {
				t.Fatalf("RetryAfter = %s, want set: %v", e.RetryAfter, c.retryAfter)
			}
			if c.code == apierr.Internal && e.Message != "internal error" {
				t.Fatalf("internal message = %q, it must say nothing about internals", e.Message)
			}
		})
	}
}

func TestNotFoundIsOneAnswer(t *testing.T) {
	unknown := failure(errorOf(&whatconverts.Error{Kind: whatconverts.KindNotFound, Status: 400}))
	other := failure(errorOf(errLeadNotFound()))
	if unknown.Status != http.StatusNotFound || string(unknown.Body) != string(other.Body) {
		t.Fatalf("unknown lead answers %d %s, another profile's %d %s: they must be identical",
			unknown.Status, unknown.Body, other.Status, other.Body)
	}
}
