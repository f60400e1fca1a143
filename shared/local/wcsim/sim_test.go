package wcsim_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

func TestAuthenticationFailuresAnswer401WithDocumentedBodies(t *testing.T) {
	_, srv := seeded(t)
	cases := []struct {
		name, authorization, want string
	}{
		{"no Authorization header", "", `{"error_message":"Authentication not provided."}`},
		{"another scheme than Basic", "Bearer " + wcsim.ProfileKey1001.Token, `{"error_message":"Authentication not provided."}`},
		{"wrong secret", basic(wcsim.ProfileKey1001.Token, wcsim.ProfileKey1002.Secret), `{"error_message":"Authentication failed."}`},
		{"unknown token", basic("1003-0123456789abcdef", wcsim.ProfileKey1001.Secret), `{"error_message":"Authentication failed."}`},
		{"secret as token", basic(wcsim.ProfileKey1001.Secret, wcsim.ProfileKey1001.Token), `{"error_message":"Authentication failed."}`},
		{"undecodable Basic credentials", "Basic !!!not-base64", `{"error_message":"Authentication failed."}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/leads", nil)
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized || string(b) != tc.want {
				t.Errorf("got %d %s, want 401 %s", resp.StatusCode, b, tc.want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
		})
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestProfileKeySeesOnlyItsProfileAndIgnoresScopeFilters(t *testing.T) {
	s, srv := seeded(t)
	own := all(t, srv, wcsim.ProfileKey1001, "")
	if len(own) != wcsim.SeededLeadsPerProfile {
		t.Fatalf("profile key 1001 sees %d leads, want %d", len(own), wcsim.SeededLeadsPerProfile)
	}
	for _, l := range own {
		if l["profile_id"] != float64(1001) {
			t.Fatalf("profile key 1001 sees a lead of profile %v", l["profile_id"])
		}
	}
	for _, q := range []string{"profile_id=1002", "account_id=9999", "profile_id=abc&account_id=2001"} {
		if got := all(t, srv, wcsim.ProfileKey1001, q); len(got) != len(own) {
			t.Errorf("with %s the profile key sees %d leads, want its own %d (the filter is ignored)", q, len(got), len(own))
		}
	}

	foreign := s.LeadIDs(1002)[0]
	unknown := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/99999999")
	other := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+itoa(foreign))
	if other.status != unknown.status || string(other.body) != string(unknown.body) {
		t.Errorf("another profile's lead answers %d %s, an unknown one %d %s: they must be indistinguishable",
			other.status, other.body, unknown.status, unknown.body)
	}
	edit := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+itoa(foreign), map[string][]string{"quotable": {"yes"}})
	if edit.status != unknown.status || string(edit.body) != string(unknown.body) {
		t.Errorf("editing another profile's lead answers %d %s, want %d %s", edit.status, edit.body, unknown.status, unknown.body)
	}
	if l, _ := s.Lead(foreign); l["quotable"] == "Yes" && l["last_updated"] == testNow.Format(time.RFC3339) {
		t.Error("a profile key edited another profile's lead")
	}
}

func TestMasterKeySeesEveryProfileOfItsAccounts(t *testing.T) {
	s, srv := seeded(t)
	if got := all(t, srv, wcsim.MasterKey2001, ""); len(got) != 2*wcsim.SeededLeadsPerProfile {
		t.Fatalf("master key sees %d leads, want both profiles' %d", len(got), 2*wcsim.SeededLeadsPerProfile)
	}
	for _, l := range all(t, srv, wcsim.MasterKey2001, "profile_id=1002") {
		if l["profile_id"] != float64(1002) {
			t.Fatalf("profile_id=1002 listed a lead of profile %v", l["profile_id"])
		}
	}
	if got := all(t, srv, wcsim.MasterKey2001, "account_id=2001"); len(got) != 2*wcsim.SeededLeadsPerProfile {
		t.Errorf("account_id=2001 lists %d leads, want %d", len(got), 2*wcsim.SeededLeadsPerProfile)
	}
	if r := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads/"+itoa(s.LeadIDs(1002)[3])); r.status != http.StatusOK {
		t.Errorf("master key cannot get a lead of its account's profile: %d", r.status)
	}

	// Another account, with its own master key: neither key sees the other's leads.
	s.SetAccountName(3001, "Other Synthetic Group")
	s.AddProfile(wcsim.Profile{ID: 3101, AccountID: 3001, Name: "Other Clinic"})
	other := wcsim.Key{Token: "3001-00112233445566aa", Secret: "00112233445566778899aabbccddeeff"}
	s.AddMasterKey(3001, other)
	otherLead := s.AddLeads(3101, 3)[0]

	if got := all(t, srv, other, ""); len(got) != 3 {
		t.Errorf("the other master key sees %d leads, want its 3", len(got))
	}
	for _, q := range []string{"profile_id=3101", "account_id=3001", "profile_id=424242"} {
		r := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads?"+q)
		if r.status != http.StatusBadRequest {
			t.Errorf("master key 2001 with %s: status %d, want 400", q, r.status)
			continue
		}
		r.errorMessage(t)
	}
	if a, b := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads?profile_id=3101"), get(t, srv, wcsim.MasterKey2001, "/api/v1/leads?profile_id=424242"); string(a.body) != string(b.body) {
		t.Errorf("a foreign profile (%s) and a missing one (%s) must be answered alike", a.body, b.body)
	}
	foreign := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads/"+itoa(otherLead))
	unknown := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads/99999999")
	if foreign.status != unknown.status || string(foreign.body) != string(unknown.body) {
		t.Errorf("another account's lead answers %d %s, an unknown one %d %s", foreign.status, foreign.body, unknown.status, unknown.body)
	}

	// A master key added for a second account sees both.
	s.AddMasterKey(3001, wcsim.MasterKey2001)
	if got := all(t, srv, wcsim.MasterKey2001, ""); len(got) != 2*wcsim.SeededLeadsPerProfile+3 {
		t.Errorf("master key of two accounts sees %d leads, want %d", len(got), 2*wcsim.SeededLeadsPerProfile+3)
	}
}

func TestUnknownPathsAnswerTheHTMLNotFoundPage(t *testing.T) {
	s, srv := seeded(t)
	lead := itoa(s.LeadIDs(1001)[0])
	cases := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/"},
		{http.MethodGet, "/api/v1/lead"},
		{http.MethodGet, "/api/v1/accounts"},
		{http.MethodGet, "/api/v1/accounts/2001/profiles"},
		{http.MethodGet, "/api/v1/tracking/numbers"},
		{http.MethodGet, "/api/v1/recording?lead_id=" + lead},
		{http.MethodGet, "/api/v1/leads/" + lead + "/notes"},
		{http.MethodDelete, "/api/v1/leads/" + lead},
		{http.MethodPut, "/api/v1/leads/" + lead},
		{http.MethodPatch, "/api/v1/leads/" + lead},
		{http.MethodGet, "/api/v2/leads"},
		{http.MethodGet, "/"},
	}
	for _, tc := range cases {
		for auth, k := range map[string]wcsim.Key{"with key": wcsim.ProfileKey1001, "without key": {}} {
			t.Run(tc.method+" "+tc.path+" "+auth, func(t *testing.T) {
				r := do(t, srv, k, tc.method, tc.path, nil, "")
				if r.status != http.StatusNotFound {
					t.Fatalf("status %d, want 404", r.status)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want text/html", ct)
				}
				if !strings.Contains(string(r.body), "couldn't be found") || !strings.Contains(string(r.body), "<html") {
					t.Errorf("body is not the HTML not-found page: %.200s", r.body)
				}
			})
		}
	}
	if _, ok := s.Lead(s.LeadIDs(1001)[0]); !ok {
		t.Error("DELETE removed a lead; the API has no delete")
	}
	if used := s.QuotaUsed(wcsim.ProfileKey1001.Token); used != 0 {
		t.Errorf("404 pages used %d of the quota, want 0", used)
	}
}

func TestDailyQuotaAnswers429UntilMidnightUTC(t *testing.T) {
	cases := []struct {
		name   string
		master bool
		quota  int
	}{
		{"profile key: 1,000 a day", false, wcsim.ProfileKeyDailyQuota},
		{"master key: 10,000 a day", true, wcsim.MasterKeyDailyQuota},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.quota != map[bool]int{false: 1000, true: 10000}[tc.master] {
				t.Fatalf("documented quota is %d", tc.quota)
			}
			c := &clock{t: time.Date(2026, 11, 28, 23, 59, 59, 0, time.UTC)}
			s := wcsim.New(wcsim.Options{Now: c.Now})
			s.AddProfile(wcsim.Profile{ID: 11, AccountID: 10, Name: "Quota Clinic"})
			k := wcsim.Key{Token: "11-0123456789abcdef", Secret: "0123456789abcdef0123456789abcdef"}
			if tc.master {
				s.AddMasterKey(10, k)
			} else {
				s.AddProfileKey(11, k)
			}
			srv := serve(t, s)
			// Spend the quota straight through the handler (ten thousand loopback round trips are slow
			// under the race detector), then see the next request refused over HTTP.
			req := httptest.NewRequest(http.MethodGet, "/api/v1/leads", nil)
			req.SetBasicAuth(k.Token, k.Secret)
			for i := range tc.quota {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					t.Fatalf("request %d of %d: status %d", i+1, tc.quota, w.Code)
				}
			}
			r := get(t, srv, k, "/api/v1/leads")
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("request %d: status %d, want 429", tc.quota+1, r.status)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, "limit") {
				t.Errorf("quota message %q does not say a limit was reached", msg)
			}
			if r.header.Get("Retry-After") != "" {
				t.Error("WhatConverts sends no Retry-After; the simulator must not either")
			}
			c.Set(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
			if r := get(t, srv, k, "/api/v1/leads"); r.status != http.StatusOK {
				t.Errorf("after midnight UTC: status %d, want 200", r.status)
			}
			if used := s.QuotaUsed(k.Token); used != 1 {
				t.Errorf("QuotaUsed after midnight = %d, want 1", used)
			}
		})
	}
}

func TestDailyQuotaCountsRequestsThatReachTheAPI(t *testing.T) {
	s, srv := seeded(t)
	k := wcsim.ProfileKey1001
	s.SetDailyQuota(k.Token, 3)

	get(t, srv, k, "/api/v1/leads?leads_per_page=9999")                  // 400: counts
	get(t, srv, k, "/api/v1/leads/1")                                    // unknown lead: counts
	get(t, srv, wcsim.Key{Token: k.Token, Secret: "x"}, "/api/v1/leads") // 401: does not count
	get(t, srv, k, "/api/v1/accounts")                                   // 404 page: does not count
	s.SetFaults(wcsim.Faults{Fail5xx: 1})
	get(t, srv, k, "/api/v1/leads") // injected 503: does not count
	if used := s.QuotaUsed(k.Token); used != 2 {
		t.Fatalf("QuotaUsed = %d, want 2", used)
	}
	if r := get(t, srv, k, "/api/v1/leads"); r.status != http.StatusOK {
		t.Fatalf("third counted request: status %d, want 200", r.status)
	}
	if r := get(t, srv, k, "/api/v1/leads"); r.status != http.StatusTooManyRequests {
		t.Fatalf("fourth counted request: status %d, want 429", r.status)
	}
	if r := get(t, srv, wcsim.ProfileKey1002, "/api/v1/leads"); r.status != http.StatusOK {
		t.Errorf("another key is limited by this key's quota: %d", r.status)
	}
	s.SetDailyQuota(k.Token, 0)
	if r := get(t, srv, k, "/api/v1/leads"); r.status != http.StatusOK {
		t.Errorf("after restoring the documented quota: status %d, want 200", r.status)
	}
}

func TestConcurrencyLimitRefusesThe21stRequestInFlight(t *testing.T) {
	s, srv := seeded(t)
	// Latency long enough that no request finishes before all 21 have arrived; SetFaults frees them.
	s.SetFaults(wcsim.Faults{Latency: time.Hour})

	statuses := make(chan int, 21)
	var wg sync.WaitGroup
	for range 21 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/leads", nil)
			req.SetBasicAuth(wcsim.ProfileKey1001.Token, wcsim.ProfileKey1001.Secret)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Only a refused request can answer while the others are held. (The timer only turns a broken
	// limit, where all 21 would be held, into a failure instead of a hang.)
	select {
	case first := <-statuses:
		if first != http.StatusTooManyRequests {
			t.Fatalf("first answer: %d, want 429", first)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no request was refused; %d in flight", s.InFlight(wcsim.ProfileKey1001.Token))
	}
	if n := s.InFlight(wcsim.ProfileKey1001.Token); n != wcsim.MaxConcurrentRequests {
		t.Errorf("InFlight = %d, want %d", n, wcsim.MaxConcurrentRequests)
	}

	// The limit is per key: another key is served meanwhile (it too waits out the latency).
	other := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/leads", nil)
		req.SetBasicAuth(wcsim.ProfileKey1002.Token, wcsim.ProfileKey1002.Secret)
		resp, err := srv.Client().Do(req)
		if err != nil {
			other <- 0
			return
		}
		resp.Body.Close()
		other <- resp.StatusCode
	}()
	waitFor(t, "key 1002's request to be in flight", func() bool { return s.InFlight(wcsim.ProfileKey1002.Token) == 1 })

	s.SetFaults(wcsim.Faults{})
	wg.Wait()
	close(statuses)
	ok := 0
	for st := range statuses {
		if st != http.StatusOK {
			t.Errorf("a held request answered %d, want 200", st)
		}
		ok++
	}
	if ok != 20 {
		t.Errorf("%d held requests answered, want 20", ok)
	}
	if st := <-other; st != http.StatusOK {
		t.Errorf("key 1002 answered %d, want 200", st)
	}
}

func TestFaultKnobs(t *testing.T) {
	k := wcsim.ProfileKey1001
	t.Run("Fail5xx answers the next N requests with 503, then recovers", func(t *testing.T) {
		s, srv := seeded(t)
		s.SetFaults(wcsim.Faults{Fail5xx: 2})
		for i := range 2 {
			r := get(t, srv, k, "/api/v1/leads")
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("request %d: %d, want 503", i+1, r.status)
			}
			if strings.Contains(string(r.body), "Synthetic Patient") {
				t.Error("a failed request leaked lead data")
			}
		}
		if r := get(t, srv, k, "/api/v1/leads"); r.status != http.StatusOK {
			t.Fatalf("third request: %d, want 200", r.status)
		}
		if f := s.Faults(); f.Fail5xx != 0 {
			t.Errorf("Faults().Fail5xx = %d after use, want 0", f.Fail5xx)
		}
	})
	t.Run("FailStatus chooses 500, 502 or 504", func(t *testing.T) {
		s, srv := seeded(t)
		for _, st := range []int{500, 502, 504} {
			s.SetFaults(wcsim.Faults{Fail5xx: 1, FailStatus: st})
			r := get(t, srv, k, "/api/v1/leads")
			if r.status != st {
				t.Errorf("got %d, want %d", r.status, st)
			}
			if st == 500 {
				r.errorMessage(t)
			}
		}
	})
	t.Run("Force429 answers the next N requests with 429 before Fail5xx", func(t *testing.T) {
		s, srv := seeded(t)
		s.SetFaults(wcsim.Faults{Force429: 2, Fail5xx: 1})
		want := []int{429, 429, 503, 200}
		for i, w := range want {
			r := get(t, srv, k, "/api/v1/leads")
			if r.status != w {
				t.Fatalf("request %d: %d, want %d", i+1, r.status, w)
			}
			if w == 429 {
				r.errorMessage(t)
			}
		}
		if used := s.QuotaUsed(k.Token); used != 1 {
			t.Errorf("injected faults used the quota: %d, want 1", used)
		}
	})
	t.Run("Latency outlasts a client that gives up sooner", func(t *testing.T) {
		s, srv := seeded(t)
		s.SetFaults(wcsim.Faults{Latency: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/leads", nil)
		req.SetBasicAuth(k.Token, k.Secret)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d despite an hour of latency", resp.StatusCode)
		}
		waitFor(t, "the abandoned request to end", func() bool { return s.InFlight(k.Token) == 0 })
	})
	t.Run("Hang holds the request until the client gives up", func(t *testing.T) {
		s, srv := seeded(t)
		s.SetFaults(wcsim.Faults{Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/leads", nil)
			req.SetBasicAuth(k.Token, k.Secret)
			resp, err := srv.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitFor(t, "the request to be held", func() bool { return s.InFlight(k.Token) == 1 })
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("client error %v, want context.Canceled", err)
		}
		waitFor(t, "the held request to end", func() bool { return s.InFlight(k.Token) == 0 })
	})
	t.Run("SetFaults frees held requests, which are then answered", func(t *testing.T) {
		s, srv := seeded(t)
		s.SetFaults(wcsim.Faults{Hang: true})
		done := make(chan response, 1)
		go func() { done <- get(t, srv, k, "/api/v1/leads") }()
		waitFor(t, "the request to be held", func() bool { return s.InFlight(k.Token) == 1 })
		s.SetFaults(wcsim.Faults{})
		if r := <-done; r.status != http.StatusOK {
			t.Errorf("freed request answered %d, want 200", r.status)
		}
	})
}

func TestRequestCountersCountEveryRequest(t *testing.T) {
	s, srv := seeded(t)
	k := wcsim.ProfileKey1001
	get(t, srv, k, "/api/v1/leads")                                          // 200
	get(t, srv, wcsim.Key{Token: k.Token, Secret: "wrong"}, "/api/v1/leads") // 401
	get(t, srv, k, "/api/v1/nothing")                                        // 404
	get(t, srv, wcsim.Key{}, "/api/v1/leads")                                // 401 without a token
	s.SetFaults(wcsim.Faults{Force429: 1})
	get(t, srv, k, "/api/v1/leads") // 429
	get(t, srv, wcsim.MasterKey2001, "/api/v1/leads")

	if n := s.Requests(); n != 6 {
		t.Errorf("Requests() = %d, want 6", n)
	}
	if n := s.RequestsByToken(k.Token); n != 4 {
		t.Errorf("RequestsByToken(profile key) = %d, want 4", n)
	}
	if n := s.RequestsByToken(wcsim.MasterKey2001.Token); n != 1 {
		t.Errorf("RequestsByToken(master key) = %d, want 1", n)
	}
	if n := s.RequestsByToken(wcsim.ProfileKey1002.Token); n != 0 {
		t.Errorf("RequestsByToken(unused key) = %d, want 0", n)
	}
	s.ResetCounters()
	if s.Requests() != 0 || s.RequestsByToken(k.Token) != 0 {
		t.Error("ResetCounters did not zero the counters")
	}
}
