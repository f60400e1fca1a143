package whatconverts

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/budget"
)

func TestRequestsCarryBasicAuthAndAskForJSON(t *testing.T) {
	var auth, accept string
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		auth, accept = r.Header.Get("Authorization"), r.Header.Get("Accept")
		emptyPage(w, r, 0)
	})
	if _, err := testClient(f).LeadsPage(context.Background(), profileKey(), ListParams{}); err != nil {
		t.Fatal(err)
	}
	req := f.requests()[0]
	if req.User != testToken || req.Pass != testSecret || !strings.HasPrefix(auth, "Basic ") {
		t.Fatalf("auth %q, want Basic token:secret", auth)
	}
	if accept != "application/json" || req.Path != "/api/v1/leads" {
		t.Fatalf("Accept %q, path %q", accept, req.Path)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		create    bool
		fail      func(w http.ResponseWriter, r *http.Request) // answer of the failing attempts
		failures  int                                          // how many attempts fail before success
		wantReqs  int
		wantKind  Kind // KindUnknown: success
		wantState int
	}{
		{"429 then success", false, func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 429, "Too many requests.") }, 2, 3, KindUnknown, 0},
		{"5xx then success", false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }, 3, 4, KindUnknown, 0},
		{"5xx past the retries", false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, 99, 4, KindServer, 503},
		{"429 past the retries", false, func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 429, "Too many requests.") }, 99, 4, KindRateLimited, 429},
		// The message's wording decides nothing: WhatConverts does not document its 429 texts.
		{"429 that says daily, past the retries", false, func(w http.ResponseWriter, _ *http.Request) {
			errorBody(w, 429, "Daily API request limit reached.")
		}, 99, 4, KindRateLimited, 429},
		{"401 is not retried", false, func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 401, "Authentication failed.") }, 99, 1, KindUnauthorized, 401},
		{"400 is not retried", false, func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 400, "Bad leads_per_page.") }, 99, 1, KindBadRequest, 400},
		{"an attempt cut by its own timeout is retried", false, func(_ http.ResponseWriter, r *http.Request) { hang(r) }, 1, 2, KindUnknown, 0},
		{"create is retried on 429", true, func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 429, "Too many requests.") }, 1, 2, KindUnknown, 0},
		{"create is not retried on 5xx", true, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, 1, 1, KindServer, 500},
		{"create is not retried after a timeout", true, func(_ http.ResponseWriter, r *http.Request) { hang(r) }, 1, 1, KindTimeout, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n <= tc.failures {
					tc.fail(w, r)
					return
				}
				writeJSON(w, 200, leadJSON(9000001, 1001))
			})
			policy := fastRetry()
			policy.AttemptTimeout = 100 * time.Millisecond
			c := testClient(f, WithRetry(policy))
			var err error
			if tc.create {
				_, err = c.CreateLead(context.Background(), profileKey(), CreateParams{LeadType: LeadTypeChat})
			} else {
				_, err = c.Lead(context.Background(), profileKey(), 9000001)
			}
			if got := f.count(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
			if c.Requests() != int64(tc.wantReqs) {
				t.Errorf("Requests() = %d, want %d", c.Requests(), tc.wantReqs)
			}
			if tc.wantKind == KindUnknown {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind || e.Status != tc.wantState || e.Attempts != tc.wantReqs {
				t.Fatalf("err = %#v, want kind %s, status %d, %d attempts", err, tc.wantKind, tc.wantState, tc.wantReqs)
			}
		})
	}
}

func TestCreateIsRetriedWhenTheRequestNeverLeft(t *testing.T) {
	// A port nobody listens on: the connection is refused before a byte is written.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := New("http://"+addr+"/api/v1", WithRetry(fastRetry()), WithLimiter(NewLimiter(MaxInFlight)))
	_, err = c.CreateLead(context.Background(), profileKey(), CreateParams{LeadType: LeadTypeChat})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNetwork || e.Attempts != 4 {
		t.Fatalf("err = %v, want a network error after 4 attempts", err)
	}
	if a := APIError(err); a.Code != apierr.UpstreamError {
		t.Fatalf("APIError code %s", a.Code)
	}
}

func TestTheContextDeadlineCutsAHangingRequest(t *testing.T) {
	f := newFakeAPI(t, func(_ http.ResponseWriter, r *http.Request, _ int) { hang(r) })
	ctx := ctxTimeout(t, 150*time.Millisecond)
	_, err := testClient(f).LeadsPage(ctx, profileKey(), ListParams{EmailAddress: "pat@example.test"})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if f.count() != 1 {
		t.Fatalf("%d requests: no retry fits after the caller's deadline", f.count())
	}
	if a := APIError(err); a.Code != apierr.UpstreamTimeout {
		t.Fatalf("APIError code %s, want upstream_timeout", a.Code)
	}
}

func TestRetryAfterLongerThanTheCapIsNotWaitedFor(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "120")
		errorBody(w, 429, "Rate limit reached.")
	})
	_, err := testClient(f).Lead(context.Background(), profileKey(), 1)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || e.RetryAfter != 120*time.Second || f.count() != 1 {
		t.Fatalf("err = %v after %d requests; want rate limited at once with RetryAfter 2m", err, f.count())
	}
	if a := APIError(err); a.Code != apierr.UpstreamUnavailable || a.RetryAfter != 120*time.Second {
		t.Fatalf("APIError = %+v", a)
	}
}

func TestGetLead(t *testing.T) {
	lead := leadJSON(9000001, 1001)
	for _, tc := range []struct {
		name     string
		answer   func(w http.ResponseWriter)
		wantKind Kind
	}{
		{"envelope with one lead", func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"page_number": 1, "leads_per_page": 1, "total_pages": 1, "total_leads": 1, "leads": []any{lead}})
		}, KindUnknown},
		{"bare lead", func(w http.ResponseWriter) { writeJSON(w, 200, lead) }, KindUnknown},
		{"empty envelope", func(w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"page_number": 1, "total_pages": 0, "total_leads": 0, "leads": []any{}})
		}, KindNotFound},
		{"400 Invalid lead ID.", func(w http.ResponseWriter) { errorBody(w, 400, "Invalid lead ID.") }, KindNotFound},
		{"404", func(w http.ResponseWriter) { errorBody(w, 404, "Lead not found.") }, KindNotFound},
		{"200 with an error message", func(w http.ResponseWriter) { errorBody(w, 200, "Invalid lead ID.") }, KindNotFound},
		{"a lead of another profile", func(w http.ResponseWriter) { writeJSON(w, 200, leadJSON(9000001, 1002)) }, KindNotFound},
		{"another 400", func(w http.ResponseWriter) { errorBody(w, 400, "Something else.") }, KindBadRequest},
		{"not JSON", func(w http.ResponseWriter) { w.Write([]byte("<html>")) }, KindDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) { tc.answer(w) })
			l, err := testClient(f).Lead(context.Background(), profileKey(), 9000001)
			if f.requests()[0].Path != "/api/v1/leads/9000001" {
				t.Fatalf("path %s", f.requests()[0].Path)
			}
			if tc.wantKind == KindUnknown {
				if err != nil || l.LeadID != 9000001 || l.ProfileID != 1001 {
					t.Fatalf("got %+v, %v", l, err)
				}
				return
			}
			if KindOf(err) != tc.wantKind {
				t.Fatalf("err = %v, want %s", err, tc.wantKind)
			}
			if tc.wantKind == KindNotFound && APIError(err).Code != apierr.NotFound {
				t.Fatalf("APIError code %s, want not_found", APIError(err).Code)
			}
		})
	}
}

func TestEditWithAMasterKeyChecksTheProfileFirst(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		writeJSON(w, 200, leadJSON(9000001, 1002))
	})
	qv := 10.0
	_, err := testClient(f).EditLead(context.Background(), masterKey(1001), 9000001, EditParams{QuoteValue: &qv})
	if KindOf(err) != KindNotFound {
		t.Fatalf("err = %v, want not found (the lead is profile 1002's)", err)
	}
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet {
		t.Fatalf("requests %+v: want only the GET, no edit", reqs)
	}

	_, err = testClient(f).EditLead(context.Background(), masterKey(1002), 9000001, EditParams{QuoteValue: &qv})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()[1:]
	// No independent client sends profile_id to edit, and it is not among the documented editable
	// fields: the GET before has checked the lead's profile.
	if len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[1].Method != http.MethodPost || reqs[1].Form.Has("profile_id") ||
		reqs[1].Form.Get("quote_value") != "10" {
		t.Fatalf("requests %+v: want GET then POST with quote_value and without profile_id", reqs)
	}
}

// fakeBudget is a function-field fake of the budget store.
type fakeBudget struct {
	SpendFn func(ctx context.Context, keyID string, limit int64) (int64, error)
}

func (b *fakeBudget) Spend(ctx context.Context, keyID string, limit int64) (int64, error) {
	return b.SpendFn(ctx, keyID, limit)
}

func TestEveryRequestSpendsTheKeysBudgetFirst(t *testing.T) {
	type spend struct {
		key   string
		limit int64
	}
	var mu sync.Mutex
	var spends []spend
	b := &fakeBudget{SpendFn: func(_ context.Context, keyID string, limit int64) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		spends = append(spends, spend{keyID, limit})
		return int64(len(spends)), nil
	}}
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		emptyPage(w, r, n)
	})
	if _, err := testClient(f, WithBudget(b)).LeadsPage(context.Background(), profileKey(), ListParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := testClient(f, WithBudget(b), WithDailyLimits(800, 8000)).LeadsPage(context.Background(), masterKey(1001), ListParams{}); err != nil {
		t.Fatal(err)
	}
	want := []spend{
		{budget.KeyID(testToken), ProfileKeyDailyLimit}, // the 503
		{budget.KeyID(testToken), ProfileKeyDailyLimit}, // its retry
		{budget.KeyID(masterTok), 8000},
	}
	if len(spends) != len(want) {
		t.Fatalf("spends %+v, want %+v: one per request", spends, want)
	}
	for i := range want {
		if spends[i] != want[i] {
			t.Errorf("spend %d = %+v, want %+v", i, spends[i], want[i])
		}
		if strings.Contains(spends[i].key, testToken) || strings.Contains(spends[i].key, masterTok) {
			t.Errorf("the budget was given a token")
		}
	}
}

func TestAnExhaustedBudgetStopsTheCallBeforeWhatConverts(t *testing.T) {
	b := &fakeBudget{SpendFn: func(context.Context, string, int64) (int64, error) {
		return 1000, &budget.ExhaustedError{Limit: 1000, RetryAfter: 3 * time.Hour}
	}}
	f := newFakeAPI(t, emptyPage)
	c := testClient(f, WithBudget(b))
	_, err := c.LeadsUpTo(context.Background(), profileKey(), ListParams{}, 10)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindBudgetExhausted || e.RetryAfter != 3*time.Hour || e.Attempts != 0 {
		t.Fatalf("err = %#v, want budget exhausted, RetryAfter 3h, no attempt", err)
	}
	if !errors.Is(err, budget.ErrExhausted) || !errors.Is(err, ErrBudgetExhausted) {
		t.Fatal("err does not match the budget sentinels")
	}
	if f.count() != 0 || c.Requests() != 0 {
		t.Fatalf("WhatConverts was called %d times", f.count())
	}
	a := APIError(err)
	if a.Code != apierr.UpstreamUnavailable || a.RetryAfter != 3*time.Hour {
		t.Fatalf("APIError = %+v, want upstream_unavailable with Retry-After 3h", a)
	}
}

func TestABrokenBudgetFailsClosed(t *testing.T) {
	b := &fakeBudget{SpendFn: func(context.Context, string, int64) (int64, error) {
		return 0, errors.New("ProvisionedThroughputExceededException")
	}}
	f := newFakeAPI(t, emptyPage)
	_, err := testClient(f, WithBudget(b)).LeadsPage(context.Background(), profileKey(), ListParams{})
	if err == nil || f.count() != 0 {
		t.Fatalf("err = %v after %d requests; want a failure without calling WhatConverts", err, f.count())
	}
	if APIError(err).Code != apierr.Internal {
		t.Fatalf("APIError code %s, want internal", APIError(err).Code)
	}
}

func TestAtMostTwentyRequestsPerKeyAreInFlight(t *testing.T) {
	var inFlight, peak atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		// Decrement before answering: once the client has the answer it may start the next request.
		inFlight.Add(-1)
		emptyPage(w, r, n)
	})
	c := testClient(f)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.LeadsPage(context.Background(), profileKey(), ListParams{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p > MaxInFlight || p < 2 {
		t.Fatalf("peak in flight %d, want 2..%d", p, MaxInFlight)
	}
}

func TestTheLimiterIsPerKeyAndHonoursTheContext(t *testing.T) {
	l := NewLimiter(2)
	r1, _ := l.Acquire(context.Background(), "a")
	r2, _ := l.Acquire(context.Background(), "a")
	if _, err := l.Acquire(context.Background(), "b"); err != nil {
		t.Fatalf("key b waited for key a: %v", err)
	}
	ctx := ctxTimeout(t, 20*time.Millisecond)
	if _, err := l.Acquire(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third slot of a: err = %v, want the deadline", err)
	}
	r1()
	r1() // a second release must not free a second slot
	if _, err := l.Acquire(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx = ctxTimeout(t, 20*time.Millisecond)
	if _, err := l.Acquire(ctx, "a"); err == nil {
		t.Fatal("a double release freed two slots")
	}
	r2()
}

func TestErrorsHoldNoPHI(t *testing.T) {
	const email, phone = "pat.doe@example.test", "+17045550100"
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"500 echoing the query": func(w http.ResponseWriter, r *http.Request) {
			errorBody(w, 500, "Server error for "+r.URL.RawQuery)
		},
		"400 echoing the email": func(w http.ResponseWriter, _ *http.Request) { errorBody(w, 400, "Invalid email "+email) },
		"timeout":               func(_ http.ResponseWriter, r *http.Request) { hang(r) },
		"dropped connection": func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) { answer(w, r) })
			policy := fastRetry()
			policy.AttemptTimeout = 50 * time.Millisecond
			_, err := testClient(f, WithRetry(policy)).LeadsPage(context.Background(), profileKey(),
				ListParams{EmailAddress: email, PhoneNumber: phone})
			if err == nil {
				t.Fatal("no error")
			}
			for _, text := range []string{err.Error(), APIError(err).Error(), APIError(err).Message} {
				for _, phi := range []string{email, "pat.doe", "17045550100", "email_address", "?", f.srv.URL} {
					if strings.Contains(text, phi) {
						t.Errorf("error text %q contains %q", text, phi)
					}
				}
			}
		})
	}
}

func TestAPIErrorMapsEveryKindToTheContract(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code apierr.Code
	}{
		{&Error{Kind: KindNotFound}, apierr.NotFound},
		{&Error{Kind: KindRateLimited, Status: 429}, apierr.UpstreamUnavailable},
		{&Error{Kind: KindBudgetExhausted, err: &budget.ExhaustedError{RetryAfter: time.Hour}}, apierr.UpstreamUnavailable},
		{&Error{Kind: KindServer, Status: 500}, apierr.UpstreamError},
		{&Error{Kind: KindUnauthorized, Status: 401}, apierr.UpstreamError},
		{&Error{Kind: KindBadRequest, Status: 400}, apierr.UpstreamError},
		{&Error{Kind: KindNetwork}, apierr.UpstreamError},
		{&Error{Kind: KindDecode, Status: 200}, apierr.UpstreamError},
		{&Error{Kind: KindTimeout}, apierr.UpstreamTimeout},
		{&Error{Kind: KindBadRequest, Field: "lead_type", Problem: "is required"}, apierr.InvalidRequest},
		{&Error{Kind: KindCanceled}, apierr.Internal},
		{errors.New("other"), apierr.Internal},
	} {
		a := APIError(tc.err)
		if a.Code != tc.code {
			t.Errorf("%v → %s, want %s", tc.err, a.Code, tc.code)
		}
		if a.Code == apierr.UpstreamUnavailable && a.RetryAfter <= 0 {
			t.Errorf("%v → no Retry-After", tc.err)
		}
	}
	if a := APIError(&Error{Kind: KindUnauthorized, Status: 401}); a.Message != "WhatConverts refused the credentials" {
		t.Errorf("401 message %q", a.Message)
	}
	if APIError(nil) != nil {
		t.Error("APIError(nil) != nil")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestACreateThroughAnOpaqueTransportIsAssumedSent(t *testing.T) {
	// A transport that reports nothing through httptrace: the client cannot know the request did not leave,
	// so it must not repeat a create; a read is repeated as usual.
	var calls atomic.Int64
	h := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, errors.New("connection reset")
	})}
	c := New("http://whatconverts.invalid/api/v1", WithHTTPClient(h), WithRetry(fastRetry()), WithLimiter(NewLimiter(MaxInFlight)))
	if _, err := c.CreateLead(context.Background(), profileKey(), CreateParams{LeadType: LeadTypeChat}); KindOf(err) != KindNetwork || calls.Load() != 1 {
		t.Fatalf("create: err = %v after %d calls, want a network error after 1", err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.Lead(context.Background(), profileKey(), 1); KindOf(err) != KindNetwork || calls.Load() != 4 {
		t.Fatalf("get: err = %v after %d calls, want a network error after 4", err, calls.Load())
	}
}

func TestBackoffIsFullJitterUnderACappedExponential(t *testing.T) {
	c := New("http://x", WithRetry(RetryPolicy{Retries: 100, Base: 200 * time.Millisecond, Cap: 2 * time.Second}))
	for _, tc := range []struct {
		retry int
		ceil  time.Duration
	}{{1, 200 * time.Millisecond}, {2, 400 * time.Millisecond}, {3, 800 * time.Millisecond}, {5, 2 * time.Second}, {90, 2 * time.Second}} {
		var maxSeen time.Duration
		for range 200 {
			d, ok := c.backoff(tc.retry, &Error{})
			if !ok || d < 0 || d > tc.ceil {
				t.Fatalf("retry %d: wait %s, want 0..%s", tc.retry, d, tc.ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < tc.ceil/4 {
			t.Errorf("retry %d: 200 waits all below %s: not spread over 0..%s", tc.retry, maxSeen, tc.ceil)
		}
	}
	if d, ok := c.backoff(1, &Error{RetryAfter: time.Second}); !ok || d < time.Second {
		t.Errorf("a Retry-After of 1s gave a wait of %s", d)
	}
}
