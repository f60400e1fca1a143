package whatconverts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a small hand-written stand-in for WhatConverts, for unit tests that need to control each
// answer; the simulator tests (sim_test.go) check the client against the full simulator.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *http.Request, n int) // n counts requests from 1
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Form         url.Values
	ContentType  string
	User, Pass   string
}

func newFakeAPI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		user, pass, _ := r.BasicAuth()
		form := url.Values{}
		if r.Method == http.MethodPost {
			form = r.PostForm
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), form, r.Header.Get("Content-Type"), user, pass})
		n := len(f.reqs)
		f.mu.Unlock()
		f.handle(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) URL() string { return f.srv.URL + "/api/v1" }

func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeAPI) count() int { return len(f.requests()) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorBody(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error_message": msg})
}

// hang holds the request until the client gives up.
func hang(r *http.Request) { <-r.Context().Done() }

// leadJSON is a synthetic lead.
func leadJSON(id, profile int64) map[string]any {
	return map[string]any{
		"lead_id": id, "profile_id": profile, "account_id": 2001, "lead_type": "Web Form",
		"lead_status": "Unique", "quotable": "Not Set", "quote_value": nil, "sales_value": nil,
		"lead_analysis": []any{}, "additional_fields": map[string]any{"Name": "Pat Doe"},
		"email_address": fmt.Sprintf("patient%d@example.test", id), "spam": false, "duplicate": false,
	}
}

// pagedLeads answers GET /leads from total synthetic leads of profile 1001, newest (highest id) first.
func pagedLeads(total int) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		q := r.URL.Query()
		per, _ := strconv.Atoi(q.Get("leads_per_page"))
		if per == 0 {
			per = 25
		}
		page, _ := strconv.Atoi(q.Get("page_number"))
		if page == 0 {
			page = 1
		}
		pages := (total + per - 1) / per
		leads := []any{}
		for i := (page - 1) * per; i < min(page*per, total); i++ {
			leads = append(leads, leadJSON(int64(9000000+total-i), 1001))
		}
		writeJSON(w, 200, map[string]any{"page_number": page, "leads_per_page": per, "total_pages": pages,
			"total_leads": total, "leads": leads})
	}
}

// fastRetry keeps retry tests quick: the delays only need to exist, not to be realistic.
func fastRetry() RetryPolicy {
	return RetryPolicy{Retries: 3, Base: time.Millisecond, Cap: 4 * time.Millisecond, AttemptTimeout: 5 * time.Second}
}

func profileKey() KeyFor {
	return KeyFor{Key: Key{Token: testToken, Secret: testSecret}, ProfileID: 1001}
}

func masterKey(profile int64) KeyFor {
	return KeyFor{Key: Key{Token: masterTok, Secret: masterSec}, ProfileID: profile, Master: true}
}

func testClient(f *fakeAPI, opts ...Option) *Client {
	return New(f.URL(), append([]Option{WithRetry(fastRetry()), WithLimiter(NewLimiter(MaxInFlight))}, opts...)...)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
