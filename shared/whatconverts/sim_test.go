package whatconverts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// The client against the WhatConverts simulator (shared/local/wcsim): the behaviour tests of the client.

// meter wraps the simulator to observe what the client does to it: the most requests in flight at once and
// the statuses answered. It buffers each answer and releases the request before passing it on, so that a
// client can only start its next request after the previous one has left the simulator.
type meter struct {
	h        http.Handler
	inFlight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	statuses map[int]int
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := m.inFlight.Add(1)
	for p := m.peak.Load(); cur > p && !m.peak.CompareAndSwap(p, cur); p = m.peak.Load() {
	}
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	m.inFlight.Add(-1)
	m.mu.Lock()
	m.statuses[rec.Code]++
	m.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (m *meter) count(status int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statuses[status]
}

type simEnv struct {
	sim   *wcsim.Sim
	meter *meter
	url   string
}

func newSim(t *testing.T) *simEnv {
	t.Helper()
	s := wcsim.NewSeeded(wcsim.Options{Seed: 7})
	m := &meter{h: s, statuses: map[int]int{}}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return &simEnv{sim: s, meter: m, url: srv.URL + "/api/v1"}
}

func (e *simEnv) client(opts ...Option) *Client {
	return New(e.url, append([]Option{WithRetry(fastRetry()), WithLimiter(NewLimiter(MaxInFlight))}, opts...)...)
}

func simKey(k wcsim.Key, profile int64, master bool) KeyFor {
	return KeyFor{Key: Key{Token: k.Token, Secret: k.Secret}, ProfileID: profile, Master: master}
}

var (
	sim1001   = simKey(wcsim.ProfileKey1001, 1001, false)
	simMaster = func(profile int64) KeyFor { return simKey(wcsim.MasterKey2001, profile, true) }
)

func collect(t *testing.T, c *Client, k KeyFor, p ListParams) []Lead {
	t.Helper()
	var out []Lead
	for l, err := range c.Leads(context.Background(), k, p) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func idsOf(leads []Lead) []int64 {
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.LeadID
	}
	return ids
}

func TestSimPaginationCoversEveryLeadOnce(t *testing.T) {
	env := newSim(t)
	c := env.client()
	leads := collect(t, c, sim1001, ListParams{LeadsPerPage: 25})
	want := env.sim.LeadIDs(1001)
	if len(want) < 51 {
		t.Fatalf("seeded profile has %d leads; the test needs more than 2 pages of 25", len(want))
	}
	got := idsOf(leads)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("paged leads %v, want every lead of profile 1001 once: %v", got, want)
	}
	pages := (len(want) + 24) / 25
	if n := env.sim.RequestsByToken(wcsim.ProfileKey1001.Token); n != pages || c.Requests() != int64(pages) {
		t.Fatalf("%d requests (client counted %d), want %d pages", n, c.Requests(), pages)
	}
}

// simLead is one lead as the simulator holds it.
type simLead map[string]any

func (l simLead) str(name string) string {
	if v, ok := l[name].(string); ok {
		return v
	}
	return ""
}

func (l simLead) id() int64 { return int64(l["lead_id"].(float64)) }

func TestSimEveryFilterSelectsTheMatchingLeads(t *testing.T) {
	env := newSim(t)
	env.sim.AddLead(1001, map[string]any{"lead_type": "Chat", "spam": true, "duplicate": true, "lead_source": "newsletter",
		"quote_value": 125.0, "sales_value": 99.5, "quotable": "Yes", "email_address": "spam.patient@example.test"})
	var all []simLead
	for _, id := range env.sim.LeadIDs(1001) {
		l, _ := env.sim.Lead(id)
		all = append(all, l)
	}
	// Filter values are taken from leads that have them (some leads have no phone or email).
	having := func(field string, from int) simLead {
		for _, l := range all[from:] {
			if l.str(field) != "" {
				return l
			}
		}
		t.Fatalf("no lead has %s", field)
		return nil
	}
	first := having("phone_number", 0)
	mid := having("email_address", len(all)/2)
	start, _ := time.Parse(time.RFC3339, all[10].str("date_created"))
	end, _ := time.Parse(time.RFC3339, all[40].str("date_created"))
	yes, no := true, false
	isNull := func(l simLead, f string) bool { return l[f] == nil }
	for _, tc := range []struct {
		name  string
		p     ListParams
		match func(simLead) bool
	}{
		{"lead_type", ListParams{LeadType: LeadTypePhoneCall}, func(l simLead) bool { return l.str("lead_type") == "Phone Call" }},
		{"lead_status", ListParams{LeadStatus: LeadStatusRepeat}, func(l simLead) bool { return l.str("lead_status") == "Repeat" }},
		{"start_date and end_date, whole UTC days", ListParams{StartDate: start, EndDate: end}, func(l simLead) bool {
			d, _ := time.Parse(time.RFC3339, l.str("date_created"))
			day := d.UTC().Format(time.DateOnly)
			return day >= start.UTC().Format(time.DateOnly) && day <= end.UTC().Format(time.DateOnly)
		}},
		{"quotable", ListParams{Quotable: QuotablePending}, func(l simLead) bool { return l.str("quotable") == "Pending" }},
		{"quote_value has_value", ListParams{QuoteValue: HasValue}, func(l simLead) bool { return !isNull(l, "quote_value") }},
		{"sales_value no_value", ListParams{SalesValue: NoValue}, func(l simLead) bool { return isNull(l, "sales_value") }},
		{"phone_number", ListParams{PhoneNumber: first.str("phone_number")}, func(l simLead) bool {
			p := first.str("phone_number")
			return l.str("phone_number") == p || l.str("contact_phone_number") == p
		}},
		{"email_address", ListParams{EmailAddress: mid.str("email_address")}, func(l simLead) bool {
			e := strings.ToLower(mid.str("email_address"))
			return strings.ToLower(l.str("email_address")) == e || strings.ToLower(l.str("contact_email_address")) == e
		}},
		{"user_id", ListParams{UserID: having("user_id", 5).str("user_id")}, func(l simLead) bool {
			return l.str("user_id") == having("user_id", 5).str("user_id")
		}},
		{"spam", ListParams{Spam: &yes}, func(l simLead) bool { return l["spam"] == true }},
		{"duplicate false", ListParams{Duplicate: &no}, func(l simLead) bool { return l["duplicate"] == false }},
		{"lead_source", ListParams{LeadSource: "google"}, func(l simLead) bool { return strings.EqualFold(l.str("lead_source"), "google") }},
		{"lead_medium", ListParams{LeadMedium: "cpc"}, func(l simLead) bool { return strings.EqualFold(l.str("lead_medium"), "cpc") }},
		{"lead_campaign", ListParams{LeadCampaign: "Generic"}, func(l simLead) bool { return strings.EqualFold(l.str("lead_campaign"), "Generic") }},
		{"lead_content", ListParams{LeadContent: "Ad B"}, func(l simLead) bool { return strings.EqualFold(l.str("lead_content"), "Ad B") }},
		{"lead_keyword", ListParams{LeadKeyword: "appointment today"}, func(l simLead) bool {
			return strings.EqualFold(l.str("lead_keyword"), "appointment today")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for _, l := range all {
				if tc.match(l) {
					want = append(want, l.id())
				}
			}
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("the filter would select %d of %d leads: pick a value that tells leads apart", len(want), len(all))
			}
			got := idsOf(collect(t, env.client(), sim1001, tc.p))
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got leads %v, want %v", got, want)
			}
		})
	}

	t.Run("order", func(t *testing.T) {
		asc := idsOf(collect(t, env.client(), sim1001, ListParams{Order: OrderAsc}))
		desc := idsOf(collect(t, env.client(), sim1001, ListParams{Order: OrderDesc}))
		slices.Reverse(desc)
		if !slices.Equal(asc, desc) || !slices.Equal(asc, env.sim.LeadIDs(1001)) {
			t.Fatalf("asc %v is not desc reversed, or not oldest first", asc)
		}
	})
	t.Run("customer_journey", func(t *testing.T) {
		page, err := env.client().LeadsPage(context.Background(), sim1001, ListParams{LeadsPerPage: 1, CustomerJourney: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := page.Leads[0].Field("customer_journey"); !ok {
			t.Fatal("customer_journey not included")
		}
	})
	t.Run("profile_id and account_id with the master key", func(t *testing.T) {
		got := idsOf(collect(t, env.client(), simMaster(1002), ListParams{AccountID: 2001}))
		slices.Sort(got)
		if want := env.sim.LeadIDs(1002); !slices.Equal(got, want) {
			t.Fatalf("master key for profile 1002 listed %v, want %v", got, want)
		}
	})
}

func TestSimWrongCredentialsAreUnauthorized(t *testing.T) {
	env := newSim(t)
	k := sim1001
	k.Key.Secret = "00000000000000000000000000000000"
	_, err := env.client().LeadsPage(context.Background(), k, ListParams{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnauthorized || e.Status != 401 {
		t.Fatalf("err = %v, want unauthorized 401", err)
	}
	if env.sim.Requests() != 1 {
		t.Fatalf("%d requests: a refused key is not retried", env.sim.Requests())
	}
	if a := APIError(err); a.Message != "WhatConverts refused the credentials" || strings.Contains(a.Error(), "Authentication failed") {
		t.Fatalf("APIError %q", a.Error())
	}
}

func TestSimRateLimitIsRetriedWithBackoff(t *testing.T) {
	env := newSim(t)
	env.sim.SetFaults(wcsim.Faults{Force429: 2})
	l, err := env.client().Lead(context.Background(), sim1001, env.sim.LeadIDs(1001)[0])
	if err != nil || l.LeadID == 0 {
		t.Fatalf("Lead = %+v, %v; want success after two 429s", l, err)
	}
	if n := env.sim.Requests(); n != 3 || env.meter.count(429) != 2 {
		t.Fatalf("%d requests, %d 429s; want 3 and 2", n, env.meter.count(429))
	}
}

func TestSimServerErrorsAreRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			env := newSim(t)
			env.sim.SetFaults(wcsim.Faults{Fail5xx: 2, FailStatus: status})
			if _, err := env.client().LeadsPage(context.Background(), sim1001, ListParams{}); err != nil {
				t.Fatalf("err = %v, want success after two %ds", err, status)
			}
			if env.sim.Requests() != 3 {
				t.Fatalf("%d requests, want 3", env.sim.Requests())
			}
		})
	}
	t.Run("persistent", func(t *testing.T) {
		env := newSim(t)
		env.sim.SetFaults(wcsim.Faults{Fail5xx: 100})
		_, err := env.client().LeadsPage(context.Background(), sim1001, ListParams{})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindServer || e.Attempts != 4 || env.sim.Requests() != 4 {
			t.Fatalf("err = %v after %d requests; want a server error after 4", err, env.sim.Requests())
		}
	})
}

func TestSimAHangIsCutByTheDeadline(t *testing.T) {
	env := newSim(t)
	env.sim.SetFaults(wcsim.Faults{Hang: true})
	ctx := ctxTimeout(t, 200*time.Millisecond)
	_, err := env.client().LeadsPage(ctx, sim1001, ListParams{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if ctx.Err() == nil {
		t.Fatal("returned before the deadline")
	}
}

func TestSimTwentyInFlightCapHoldsUnderAHundredCalls(t *testing.T) {
	env := newSim(t)
	env.sim.SetFaults(wcsim.Faults{Latency: 10 * time.Millisecond})
	// The default limiter: the process-wide one every client shares.
	c := New(env.url, WithRetry(fastRetry()))
	ids := env.sim.LeadIDs(1001)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Lead(context.Background(), sim1001, ids[i%len(ids)]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := env.meter.count(429); n != 0 {
		t.Fatalf("the simulator refused %d requests for concurrency", n)
	}
	if p := env.meter.peak.Load(); p > MaxInFlight || p < 2 {
		t.Fatalf("peak in flight %d, want 2..%d", p, MaxInFlight)
	}
	if n := env.sim.Requests(); n != 100 {
		t.Fatalf("%d requests, want 100 (none retried)", n)
	}
}

func TestSimAnExhaustedBudgetCallsNothing(t *testing.T) {
	env := newSim(t)
	b := &fakeBudget{SpendFn: func(context.Context, string, int64) (int64, error) {
		return 0, &budget.ExhaustedError{Limit: 1000, RetryAfter: time.Hour}
	}}
	before := env.sim.Requests()
	_, err := env.client(WithBudget(b)).LeadsUpTo(context.Background(), sim1001, ListParams{}, 1)
	if !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("err = %v, want budget exhausted", err)
	}
	if env.sim.Requests() != before {
		t.Fatalf("WhatConverts was called: %d requests", env.sim.Requests()-before)
	}
}

// equalJSON compares a client lead with the simulator's state of it, field by field.
func equalJSON(t *testing.T, l Lead, want map[string]any) {
	t.Helper()
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lead as served differs from the simulator's:\n got %v\nwant %v", got, want)
	}
}

func TestSimCreateGetEditRoundTrip(t *testing.T) {
	env := newSim(t)
	c := env.client()
	ctx := context.Background()
	created, err := c.CreateLead(ctx, sim1001, CreateParams{
		LeadType: LeadTypeWebForm,
		Fields: map[string]string{"email_address": "roundtrip.patient@example.test", "quotable": "yes",
			"quote_value": "250", "form_name": "Contact Us", "lead_source": "google"},
		AdditionalFields: map[string]string{"Preferred Time": "Morning"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.LeadType != "Web Form" || created.Quotable != "Yes" || created.QuoteValue == nil || *created.QuoteValue != 250 {
		t.Fatalf("created %+v: request values must come back as display values", created)
	}
	if lt, ok := ParseLeadType(created.LeadType); !ok || lt != LeadTypeWebForm {
		t.Fatalf("ParseLeadType(%q) = %q", created.LeadType, lt)
	}
	if v, _ := created.AdditionalFields.String("Preferred Time"); v != "Morning" || created.ProfileID != 1001 {
		t.Fatalf("additional field %q, profile %d", v, created.ProfileID)
	}
	state, ok := env.sim.Lead(created.LeadID)
	if !ok {
		t.Fatal("the simulator has no such lead")
	}
	equalJSON(t, created, state)

	got, err := c.Lead(ctx, sim1001, created.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	equalJSON(t, got, state)

	qv, sv := 300.0, 120.5
	edited, err := c.EditLead(ctx, sim1001, created.LeadID, EditParams{
		Quotable: QuotableNo, QuoteValue: &qv, SalesValue: &sv, LeadURL: "https://example.test/booked",
	})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Quotable != "No" || *edited.QuoteValue != 300 || *edited.SalesValue != 120.5 || edited.LeadURL != "https://example.test/booked" {
		t.Fatalf("edited %+v", edited)
	}
	state, _ = env.sim.Lead(created.LeadID)
	equalJSON(t, edited, state)
}

func TestSimMasterKeyCreatesInItsProfileAndSeesNoOther(t *testing.T) {
	env := newSim(t)
	c := env.client()
	ctx := context.Background()
	l, err := c.CreateLead(ctx, simMaster(1002), CreateParams{LeadType: LeadTypeChat})
	if err != nil {
		t.Fatal(err)
	}
	if l.ProfileID != 1002 {
		t.Fatalf("created in profile %d, want 1002", l.ProfileID)
	}
	if _, err := c.Lead(ctx, simMaster(1001), l.LeadID); KindOf(err) != KindNotFound {
		t.Fatalf("master key for 1001 reading a 1002 lead: err = %v, want not found", err)
	}
	before := env.sim.Requests()
	qv := 1.0
	if _, err := c.EditLead(ctx, simMaster(1001), l.LeadID, EditParams{QuoteValue: &qv}); KindOf(err) != KindNotFound {
		t.Fatalf("edit across profiles: err = %v, want not found", err)
	}
	if state, _ := env.sim.Lead(l.LeadID); state["quote_value"] != nil || env.sim.Requests() != before+1 {
		t.Fatal("a lead of another profile was edited")
	}
	// The master key of the lead's own profile edits it, without profile_id in the body.
	if _, err := c.EditLead(ctx, simMaster(1002), l.LeadID, EditParams{QuoteValue: &qv}); err != nil {
		t.Fatal(err)
	}
	log := env.sim.RequestLog()
	last := log[len(log)-1]
	if last.Method != http.MethodPost || last.Form == nil || last.Form.Has("profile_id") {
		t.Fatalf("the edit was sent as %s with form %v, want a POST without profile_id", last.Method, last.Form)
	}
	if state, _ := env.sim.Lead(l.LeadID); state["quote_value"] != 1.0 {
		t.Fatalf("quote_value = %v after the edit, want 1", state["quote_value"])
	}
}

func TestSimUnknownLeadsAreNotFound(t *testing.T) {
	for _, status := range []int{400, 404} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			env := newSim(t)
			env.sim.SetUnknownLeadStatus(status)
			c := env.client()
			if _, err := c.Lead(context.Background(), sim1001, 123); KindOf(err) != KindNotFound {
				t.Fatalf("get: err = %v, want not found", err)
			}
			other := env.sim.LeadIDs(1002)[0]
			if _, err := c.Lead(context.Background(), sim1001, other); KindOf(err) != KindNotFound {
				t.Fatalf("another profile's lead: err = %v, want not found", err)
			}
			qv := 1.0
			if _, err := c.EditLead(context.Background(), sim1001, 123, EditParams{QuoteValue: &qv}); KindOf(err) != KindNotFound {
				t.Fatalf("edit: err = %v, want not found", err)
			}
			if env.sim.Requests() != 3 {
				t.Fatalf("%d requests: not found is not retried", env.sim.Requests())
			}
		})
	}
}

func TestSimLeadsUpToCostsCeilNOver2500Requests(t *testing.T) {
	env := newSim(t)
	env.sim.AddLeads(1001, 5000)
	ids := env.sim.LeadIDs(1001)
	c := env.client()

	one, err := c.LeadsUpTo(context.Background(), sim1001, ListParams{Order: OrderDesc}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].LeadID != ids[len(ids)-1] || env.sim.Requests() != 1 {
		t.Fatalf("N=1: %v in %d requests, want the newest (%d) in 1", idsOf(one), env.sim.Requests(), ids[len(ids)-1])
	}

	env.sim.ResetCounters()
	many, err := c.LeadsUpTo(context.Background(), sim1001, ListParams{Order: OrderDesc}, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 5000 || env.sim.Requests() != 2 {
		t.Fatalf("N=5000: %d leads in %d requests, want 5000 in 2", len(many), env.sim.Requests())
	}
	want := slices.Clone(ids[len(ids)-5000:])
	slices.Reverse(want)
	if !slices.Equal(idsOf(many), want) {
		t.Fatal("N=5000 did not return the 5000 newest leads, newest first")
	}
}

func TestSimWhatConvertsOwnDailyQuotaIsRetriedThenUnavailableUntilTheBudgetResets(t *testing.T) {
	env := newSim(t)
	// The key was also used elsewhere today: WhatConverts' quota runs out before wcbridge's budget.
	env.sim.SetDailyQuota(wcsim.ProfileKey1001.Token, 1)
	c := env.client()
	if _, err := c.LeadsPage(context.Background(), sim1001, ListParams{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.LeadsPage(context.Background(), sim1001, ListParams{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited {
		t.Fatalf("err = %#v, want rate limited", err)
	}
	// Its 429 is retried like any other (the text is not read), with the policy's cap.
	if want := 2 + DefaultRetryPolicy().Retries; env.sim.Requests() != want {
		t.Fatalf("%d requests, want %d: the first call and the second's attempts", env.sim.Requests(), want)
	}
	latest := budget.UntilReset(time.Now())
	a := APIError(err)
	earliest := budget.UntilReset(time.Now())
	if a.Code != "upstream_unavailable" || a.RetryAfter < earliest || a.RetryAfter > latest {
		t.Fatalf("APIError = %+v with Retry-After %s, want upstream_unavailable with Retry-After %s (the budget's reset)", a, a.RetryAfter, latest)
	}
}
