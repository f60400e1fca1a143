package actions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// phiMarkers are substrings of the simulator's synthetic PHI (names, emails, phones, IPs, recordings)
// and of the synthetic PHI the tests send. None may appear in a log line or in the table in clear.
var phiMarkers = []string{"synthetic patient", "example.test", "+1555", "203.0.113.", "198.51.100.", "192.0.2.",
	"/recording/", "zed toothache", "synthetic-zed"}

func findPHI(s string) (string, bool) {
	low := strings.ToLower(s)
	for _, m := range phiMarkers {
		if strings.Contains(low, m) {
			return m, true
		}
	}
	return "", false
}

// createBody is a create request full of synthetic PHI, unique per call.
func createBody(email string) string {
	return `{"profile_id": 1001, "lead_type": "web_form", "send_notification": false,
		"email_address": "` + email + `", "phone_number": "+15550199001", "form_name": "Book a visit",
		"message": "Zed toothache since Tuesday", "lead_url": "https://clinic.example.test/book?patient=synthetic-zed",
		"quote_value": 120.5, "quotable": "pending", "date_created": "2026-11-27T10:00:00Z", "ip_address": "203.0.113.77"}`
}

func uniqueEmail() string { return "synthetic-zed." + randomHex(4) + "@example.test" }

func TestContractErrors(t *testing.T) {
	s := newStack(t, profileKeys)
	json415 := map[string]string{"Content-Type": "text/plain"}
	long := "https://clinic.example.org/" + strings.Repeat("a", 2048)
	cases := []struct {
		name   string
		req    req
		status int
		code   string
		fields []string
	}{
		// Get Leads
		{"get leads without profile_id", req{method: "GET"}, 400, "invalid_request", []string{"profile_id"}},
		{"get leads with a profile_id that is not a number", req{method: "GET", query: map[string]string{"profile_id": "abc"}}, 400, "invalid_request", []string{"profile_id"}},
		{"get leads with profile_id 0", req{method: "GET", query: map[string]string{"profile_id": "0"}}, 400, "invalid_request", []string{"profile_id"}},
		{"get leads with a negative profile_id", req{method: "GET", query: map[string]string{"profile_id": "-1001"}}, 400, "invalid_request", []string{"profile_id"}},
		{"get leads for a profile without credentials", req{method: "GET", query: map[string]string{"profile_id": "9999"}}, 400, "invalid_request", []string{"profile_id"}},
		{"max_items 0", req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "0"}}, 400, "invalid_request", []string{"max_items"}},
		{"max_items 10001", req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "10001"}}, 400, "invalid_request", []string{"max_items"}},
		{"max_items with a fraction", req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "1.5"}}, 400, "invalid_request", []string{"max_items"}},
		{"a bad email filter", req{method: "GET", query: map[string]string{"profile_id": "1001", "email": "synthetic-zed-at-example.test"}}, 400, "invalid_request", []string{"email"}},
		{"an empty email filter", req{method: "GET", query: map[string]string{"profile_id": "1001", "email": ""}}, 400, "invalid_request", []string{"email"}},
		{"an unknown query parameter", req{method: "GET", query: map[string]string{"profile_id": "1001", "page": "2"}}, 400, "invalid_request", []string{"page"}},
		// Get Lead
		{"get lead with a lead_id that is not a number", req{method: "GET", leadID: "abc", query: map[string]string{"profile_id": "1001"}}, 400, "invalid_request", []string{"lead_id"}},
		{"get lead without profile_id", req{method: "GET", leadID: "9000001"}, 400, "invalid_request", []string{"profile_id"}},
		// Create Lead
		{"malformed JSON", req{method: "POST", body: `{"profile_id": 1001,`}, 400, "invalid_request", nil},
		{"a JSON array", req{method: "POST", body: `[{"profile_id": 1001}]`}, 400, "invalid_request", nil},
		{"custom, additional and unknown create fields, each named",
			req{method: "POST", body: `{"profile_id": 1001, "lead_type": "web_form", "send_notification": false,
				"additional_fields": {"Name": "Synthetic Patient 1"}, "custom_fields": {}, "first_name": "Zed", "notes": "x"}`},
			400, "invalid_request", []string{"additional_fields", "custom_fields", "first_name", "notes"}},
		{"create without lead_type and send_notification", req{method: "POST", body: `{"profile_id": 1001}`}, 400, "invalid_request", []string{"lead_type", "send_notification"}},
		{"a display lead_type", req{method: "POST", body: `{"profile_id": 1001, "lead_type": "Phone Call", "send_notification": false}`}, 400, "invalid_request", []string{"lead_type"}},
		{"send_notification as a string", req{method: "POST", body: `{"profile_id": 1001, "lead_type": "chat", "send_notification": "false"}`}, 400, "invalid_request", []string{"send_notification"}},
		{"profile_id as a string", req{method: "POST", body: `{"profile_id": "1001", "lead_type": "chat", "send_notification": false}`}, 400, "invalid_request", []string{"profile_id"}},
		{"typed create fields, each named",
			req{method: "POST", body: `{"profile_id": 1001, "lead_type": "phone_call", "send_notification": false,
				"email_address": "zed@", "phone_number": "555-0199", "quote_value": -1, "sales_value": 1.005,
				"lead_url": "javascript:alert(1)", "date_created": "yesterday", "quotable": "maybe",
				"ip_address": "not-an-ip", "answer_status": "answered", "call_duration_seconds": -3}`},
			400, "invalid_request", []string{"answer_status", "call_duration_seconds", "date_created", "email_address",
				"ip_address", "lead_url", "phone_number", "quotable", "quote_value", "sales_value"}},
		// Update Lead
		{"fields that cannot be updated, each named",
			req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": 1, "lead_type": "chat", "email_address": "zed@example.test"}`},
			400, "invalid_request", []string{"email_address", "lead_type"}},
		{"a negative quote_value", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": -0.01}`}, 400, "invalid_request", []string{"quote_value"}},
		{"a sales_value with three decimals", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "sales_value": 10.125}`}, 400, "invalid_request", []string{"sales_value"}},
		{"a quote_value given as a string", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": "12"}`}, 400, "invalid_request", []string{"quote_value"}},
		{"quotable other than yes or no", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quotable": "pending"}`}, 400, "invalid_request", []string{"quotable"}},
		{"a javascript: lead_url", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "lead_url": "javascript:alert(1)"}`}, 400, "invalid_request", []string{"lead_url"}},
		{"a relative lead_url", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "lead_url": "/book"}`}, 400, "invalid_request", []string{"lead_url"}},
		{"a lead_url over 2048 characters", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "lead_url": "` + long + `"}`}, 400, "invalid_request", []string{"lead_url"}},
		{"an empty update", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001}`}, 400, "invalid_request", []string{"body"}},
		{"an update of nulls only", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": null}`}, 400, "invalid_request", []string{"body"}},
		{"update without profile_id", req{method: "PATCH", leadID: "9000001", body: `{"quote_value": 1}`}, 400, "invalid_request", []string{"profile_id"}},
		{"update of a lead_id that is not a number", req{method: "PATCH", leadID: "12ab", body: `{"profile_id": 1001, "quote_value": 1}`}, 400, "invalid_request", []string{"lead_id"}},
		// Identity, media type, size, Idempotency-Key
		{"no caller identity on get leads", req{method: "GET", anon: true, query: map[string]string{"profile_id": "1001"}}, 403, "forbidden", nil},
		{"no caller identity on create", req{method: "POST", anon: true, body: createBody(uniqueEmail())}, 403, "forbidden", nil},
		{"no caller identity on update", req{method: "PATCH", anon: true, leadID: "9000001", body: `{"profile_id": 1001, "quote_value": 1}`}, 403, "forbidden", nil},
		{"a text/plain create body", req{method: "POST", body: createBody(uniqueEmail()), headers: json415}, 415, "unsupported_media_type", nil},
		{"a form-encoded update body", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": 1}`,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", nil},
		{"an update body without a Content-Type", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": 1}`,
			headers: map[string]string{"Content-Type": ""}}, 415, "unsupported_media_type", nil},
		{"a body over 256 KiB", req{method: "POST", body: `{"message": "` + strings.Repeat("x", 256<<10) + `"}`}, 413, "payload_too_large", nil},
		{"an Idempotency-Key over 255 characters", req{method: "POST", body: createBody(uniqueEmail()),
			headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "invalid_request", []string{"Idempotency-Key"}},
		{"an empty Idempotency-Key", req{method: "PATCH", leadID: "9000001", body: `{"profile_id": 1001, "quote_value": 1}`,
			headers: map[string]string{"idempotency-key": ""}}, 400, "invalid_request", []string{"Idempotency-Key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.sim.Requests()
			a := s.do(c.req)
			if a.status != c.status || a.Error.Code != c.code {
				t.Fatalf("answered %d %s, want %d %s: %s", a.status, a.Error.Code, c.status, c.code, a.raw)
			}
			got := a.fields()
			slices.Sort(got)
			if !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
			if m, ok := findPHI(a.raw); ok {
				t.Fatalf("the answer repeats a value (%q): %s", m, a.raw)
			}
			if n := s.sim.Requests() - before; n != 0 {
				t.Fatalf("%d WhatConverts requests for a refused call", n)
			}
			rec, payload := s.record(a.requestID)
			if rec.Outcome != audit.OutcomeFailed || rec.Status != c.status || rec.Kind != audit.KindAction {
				t.Fatalf("audit record: kind %s, outcome %s, status %d", rec.Kind, rec.Outcome, rec.Status)
			}
			wantActor := testCaller
			if c.req.anon {
				wantActor = "unauthenticated"
			}
			if rec.Actor != wantActor {
				t.Fatalf("audit actor %q, want %q", rec.Actor, wantActor)
			}
			if c.req.body != "" && c.status != 413 && !strings.Contains(string(payload), `"request"`) {
				t.Fatalf("the sealed part lacks the request: %.200s", payload)
			}
		})
	}
}

func TestGetLeads(t *testing.T) {
	s := newStack(t, profileKeys)
	ids := s.sim.LeadIDs(1001) // oldest first
	newest := ids[len(ids)-1]

	t.Run("max_items=1 answers exactly the newest lead with one WhatConverts request", func(t *testing.T) {
		before := s.sim.Requests()
		a := s.do(req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "1"}})
		if a.status != 200 || a.Count != 1 || len(a.Leads) != 1 || a.ProfileID != 1001 {
			t.Fatalf("answered %d count %d: %.300s", a.status, a.Count, a.raw)
		}
		if got := int64(a.Leads[0]["lead_id"].(float64)); got != newest {
			t.Fatalf("lead %d, want the newest, %d", got, newest)
		}
		if n := s.sim.Requests() - before; n != 1 {
			t.Fatalf("%d WhatConverts requests, want 1", n)
		}
	})

	t.Run("by default up to 100 of the profile's leads, newest first, in one request", func(t *testing.T) {
		before := s.sim.Requests()
		a := s.do(req{method: "GET", query: map[string]string{"profile_id": "1001"}})
		if a.status != 200 || a.Count != len(ids) || len(a.Leads) != len(ids) {
			t.Fatalf("answered %d with %d leads, want all %d", a.status, a.Count, len(ids))
		}
		var prev string
		for i, l := range a.Leads {
			if l["profile_id"].(float64) != 1001 {
				t.Fatalf("lead %d is of profile %v", i, l["profile_id"])
			}
			created := l["date_created"].(string)
			if i > 0 && created > prev {
				t.Fatalf("lead %d (%s) is newer than the one before (%s)", i, created, prev)
			}
			prev = created
		}
		if n := s.sim.Requests() - before; n != 1 {
			t.Fatalf("%d WhatConverts requests, want 1", n)
		}
		rec, _ := s.record(a.requestID)
		if len(rec.LeadIDs) != len(ids) || rec.Outcome != audit.OutcomeOK || rec.Action != "get-leads" || rec.ProfileID != 1001 {
			t.Fatalf("audit record: %d leads, outcome %s, action %s, profile %d", len(rec.LeadIDs), rec.Outcome, rec.Action, rec.ProfileID)
		}
	})

	t.Run("the email filter finds exactly a lead just created", func(t *testing.T) {
		email := uniqueEmail()
		created := s.do(req{method: "POST", body: createBody(email)})
		if created.status != 201 {
			t.Fatalf("create answered %d: %s", created.status, created.raw)
		}
		a := s.do(req{method: "GET", query: map[string]string{"profile_id": "1001", "email": email}})
		if a.status != 200 || a.Count != 1 || a.Leads[0]["lead_id"] != created.Lead["lead_id"] {
			t.Fatalf("answered %d with %d leads: %.300s", a.status, a.Count, a.raw)
		}
		rec, payload := s.record(a.requestID)
		if !strings.Contains(string(payload), email) || len(rec.LeadIDs) != 1 {
			t.Fatal("the sealed part of the record lacks the email filter, or the record the lead")
		}
	})
}

func TestGetLead(t *testing.T) {
	for _, creds := range []struct{ name, json string }{{"profile keys", profileKeys}, {"the master key", masterKeyOnly}} {
		t.Run("with "+creds.name, func(t *testing.T) {
			s := newStack(t, creds.json)
			own := s.sim.LeadIDs(1001)[0]
			other := s.sim.LeadIDs(1002)[0]

			a := s.do(req{method: "GET", leadID: strconv.FormatInt(own, 10), query: map[string]string{"profile_id": "1001"}})
			if a.status != 200 || int64(a.Lead["lead_id"].(float64)) != own {
				t.Fatalf("own lead: %d %.200s", a.status, a.raw)
			}
			rec, payload := s.record(a.requestID)
			if !slices.Equal(rec.LeadIDs, []int64{own}) || rec.Outcome != audit.OutcomeOK || rec.Status != 200 ||
				rec.Actor != testCaller || rec.Action != "get-lead" || !strings.Contains(string(payload), `"response"`) {
				t.Fatalf("audit record %+v", rec)
			}

			foreign := s.do(req{method: "GET", leadID: strconv.FormatInt(other, 10), query: map[string]string{"profile_id": "1001"}})
			unknown := s.do(req{method: "GET", leadID: "8999999", query: map[string]string{"profile_id": "1001"}})
			if foreign.status != 404 || foreign.Error.Code != "not_found" {
				t.Fatalf("another profile's lead: %d %s", foreign.status, foreign.raw)
			}
			if unknown.status != 404 || unknown.raw != foreign.raw {
				t.Fatalf("an unknown lead answers %d %s, another profile's %s: they must be indistinguishable",
					unknown.status, unknown.raw, foreign.raw)
			}
			if rec, _ := s.record(foreign.requestID); rec.Outcome != audit.OutcomeFailed || rec.Status != 404 {
				t.Fatalf("audit record of the 404: %s %d", rec.Outcome, rec.Status)
			}
		})
	}
}

func TestCreateLead(t *testing.T) {
	s := newStack(t, profileKeys)
	email := uniqueEmail()
	before := s.sim.Requests()
	a := s.do(req{method: "POST", body: strings.Replace(createBody(email), `"send_notification": false`, `"send_notification": true`, 1)})
	if a.status != 201 {
		t.Fatalf("answered %d: %s", a.status, a.raw)
	}
	id := int64(a.Lead["lead_id"].(float64))
	stored, ok := s.sim.Lead(id)
	if !ok || stored["email_address"] != email || stored["lead_type"] != "Web Form" || stored["profile_id"].(float64) != 1001 ||
		stored["quote_value"].(float64) != 120.5 || stored["quotable"] != "Pending" || !s.sim.NotificationSent(id) {
		t.Fatalf("WhatConverts holds %v", stored)
	}
	if a.Lead["email_address"] != email {
		t.Fatalf("answered lead %v", a.Lead)
	}
	if n := s.sim.Requests() - before; n != 1 {
		t.Fatalf("%d WhatConverts requests, want 1", n)
	}
	rec, payload := s.record(a.requestID)
	if !slices.Equal(rec.LeadIDs, []int64{id}) || rec.Status != 201 || rec.Outcome != audit.OutcomeOK || rec.Action != "create-lead" {
		t.Fatalf("audit record %+v", rec)
	}
	var sealed struct{ Request, Response json.RawMessage }
	if err := json.Unmarshal(payload, &sealed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sealed.Request), email) || !strings.Contains(string(sealed.Response), email) {
		t.Fatal("the sealed part should hold the request and the response, the email in each")
	}
}

func TestUpdateLead(t *testing.T) {
	for _, c := range []struct {
		name     string
		creds    string
		requests int // WhatConverts requests per update
	}{
		{"with the profile's key the key's scope is the check: one request", profileKeys, 1},
		{"with the master key the lead is checked first: two requests", masterKeyOnly, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t, c.creds)
			own := s.sim.LeadIDs(1001)[3]
			before := s.sim.Requests()
			a := s.do(req{method: "PATCH", leadID: strconv.FormatInt(own, 10),
				body: `{"profile_id": 1001, "quote_value": 250, "sales_value": 99.99, "quotable": "yes", "lead_url": "https://clinic.example.org/booked"}`})
			if a.status != 200 || a.Lead["quote_value"].(float64) != 250 || a.Lead["sales_value"].(float64) != 99.99 ||
				a.Lead["quotable"] != "Yes" || a.Lead["lead_url"] != "https://clinic.example.org/booked" {
				t.Fatalf("answered %d: %.400s", a.status, a.raw)
			}
			stored, _ := s.sim.Lead(own)
			if stored["quote_value"].(float64) != 250 || stored["quotable"] != "Yes" {
				t.Fatalf("WhatConverts holds quote %v, quotable %v", stored["quote_value"], stored["quotable"])
			}
			if n := s.sim.Requests() - before; n != c.requests {
				t.Fatalf("%d WhatConverts requests, want %d", n, c.requests)
			}
			rec, _ := s.record(a.requestID)
			if !slices.Equal(rec.LeadIDs, []int64{own}) || rec.Status != 200 || rec.Action != "update-lead" {
				t.Fatalf("audit record %+v", rec)
			}

			other := s.sim.LeadIDs(1002)[3]
			was, _ := s.sim.Lead(other)
			a = s.do(req{method: "PATCH", leadID: strconv.FormatInt(other, 10), body: `{"profile_id": 1001, "quote_value": 1}`})
			if a.status != 404 || a.Error.Code != "not_found" {
				t.Fatalf("another profile's lead: %d %s", a.status, a.raw)
			}
			if now, _ := s.sim.Lead(other); fmt.Sprint(now) != fmt.Sprint(was) {
				t.Fatal("another profile's lead was changed")
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := newStack(t, profileKeys)
	key := func() map[string]string { return map[string]string{"Idempotency-Key": "k-" + randomHex(8)} }

	t.Run("the same key and body replay the answer without calling WhatConverts", func(t *testing.T) {
		h := key()
		body := createBody(uniqueEmail())
		first := s.do(req{method: "POST", body: body, headers: h})
		before, leads := s.sim.Requests(), len(s.sim.LeadIDs(1001))
		// The same JSON with other spacing is the same request.
		second := s.do(req{method: "POST", body: strings.Join(strings.Fields(body), " "), headers: h})
		if first.status != 201 || second.status != 201 || first.raw != second.raw {
			t.Fatalf("first %d %s, second %d %s", first.status, first.raw, second.status, second.raw)
		}
		if second.headers["Idempotent-Replayed"] != "true" || first.headers["Idempotent-Replayed"] != "" {
			t.Fatal("only the replay says Idempotent-Replayed")
		}
		if s.sim.Requests() != before || len(s.sim.LeadIDs(1001)) != leads {
			t.Fatal("the replay called WhatConverts")
		}
		rec, _ := s.record(second.requestID)
		if rec.Status != 201 || rec.Outcome != audit.OutcomeOK || len(rec.LeadIDs) != 1 {
			t.Fatalf("the replay's audit record %+v", rec)
		}
	})

	t.Run("the same key with another body is a conflict", func(t *testing.T) {
		h := key()
		if a := s.do(req{method: "POST", body: createBody(uniqueEmail()), headers: h}); a.status != 201 {
			t.Fatalf("first: %d %s", a.status, a.raw)
		}
		before := s.sim.Requests()
		a := s.do(req{method: "POST", body: createBody(uniqueEmail()), headers: h})
		if a.status != 409 || a.Error.Code != "conflict" || s.sim.Requests() != before {
			t.Fatalf("answered %d %s after %d requests", a.status, a.raw, s.sim.Requests()-before)
		}
	})

	t.Run("a request while the first with its key is in flight is a conflict", func(t *testing.T) {
		h := key()
		body := createBody(uniqueEmail())
		// The first request waits at WhatConverts until the faults are lifted: it holds the key meanwhile.
		s.sim.SetFaults(wcsim.Faults{Latency: time.Minute})
		defer s.sim.SetFaults(wcsim.Faults{})
		first := make(chan answer, 1)
		go func() { first <- s.do(req{method: "POST", body: body, headers: h}) }()
		for deadline := time.Now().Add(20 * time.Second); s.sim.InFlight(wcsim.ProfileKey1001.Token) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the first request never reached WhatConverts")
			}
			time.Sleep(5 * time.Millisecond)
		}
		second := s.do(req{method: "POST", body: body, headers: h})
		s.sim.SetFaults(wcsim.Faults{})
		if second.status != 409 || second.Error.Code != "conflict" {
			t.Fatalf("the concurrent request answered %d %s", second.status, second.raw)
		}
		if a := <-first; a.status != 201 {
			t.Fatalf("the first answered %d %s", a.status, a.raw)
		}
		if third := s.do(req{method: "POST", body: body, headers: h}); third.status != 201 || third.headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("after the first finished: %d", third.status)
		}
	})

	t.Run("concurrent requests with one key create one lead", func(t *testing.T) {
		h := key()
		body := createBody(uniqueEmail())
		s.sim.SetFaults(wcsim.Faults{Latency: 300 * time.Millisecond})
		defer s.sim.SetFaults(wcsim.Faults{})
		leads := len(s.sim.LeadIDs(1001))
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Add(1)
			go func() { defer wg.Done(); statuses[i] = s.do(req{method: "POST", body: body, headers: h}).status }()
		}
		wg.Wait()
		if created := len(s.sim.LeadIDs(1001)) - leads; created != 1 {
			t.Fatalf("%d leads created (statuses %v), want 1", created, statuses)
		}
		for _, st := range statuses {
			if st != 201 && st != 409 {
				t.Fatalf("statuses %v, want 201 or 409 each", statuses)
			}
		}
	})

	t.Run("keys are per caller", func(t *testing.T) {
		h := key()
		body := createBody(uniqueEmail())
		a := s.do(req{method: "POST", body: body, headers: h})
		b := s.do(req{method: "POST", body: body, headers: h, callerID: "arn:aws:iam::123456789012:role/other"})
		if a.status != 201 || b.status != 201 || b.headers["Idempotent-Replayed"] == "true" || a.Lead["lead_id"] == b.Lead["lead_id"] {
			t.Fatalf("another caller's request with the same key was replayed: %d %d", a.status, b.status)
		}
	})

	t.Run("a first attempt that failed upstream releases the key for the retry", func(t *testing.T) {
		h := key()
		body := createBody(uniqueEmail())
		s.sim.SetFaults(wcsim.Faults{Fail5xx: 1, FailStatus: 500})
		a := s.do(req{method: "POST", body: body, headers: h})
		s.sim.SetFaults(wcsim.Faults{})
		if a.status != 502 {
			t.Fatalf("first attempt: %d %s", a.status, a.raw)
		}
		if b := s.do(req{method: "POST", body: body, headers: h}); b.status != 201 || b.headers["Idempotent-Replayed"] == "true" {
			t.Fatalf("retry: %d %s", b.status, b.raw)
		}
	})

	t.Run("a 404 is stored and replayed like a success", func(t *testing.T) {
		h := key()
		body := `{"profile_id": 1001, "quote_value": 5}`
		other := strconv.FormatInt(s.sim.LeadIDs(1002)[0], 10)
		a := s.do(req{method: "PATCH", leadID: other, body: body, headers: h})
		before := s.sim.Requests()
		b := s.do(req{method: "PATCH", leadID: other, body: body, headers: h})
		if a.status != 404 || b.status != 404 || b.headers["Idempotent-Replayed"] != "true" || s.sim.Requests() != before {
			t.Fatalf("first %d, replay %d (replayed %q), %d requests", a.status, b.status, b.headers["Idempotent-Replayed"], s.sim.Requests()-before)
		}
	})

	t.Run("updates replay too, and the path is part of the request", func(t *testing.T) {
		h := key()
		body := `{"profile_id": 1001, "quotable": "no"}`
		ids := s.sim.LeadIDs(1001)
		first := s.do(req{method: "PATCH", leadID: strconv.FormatInt(ids[5], 10), body: body, headers: h})
		before := s.sim.Requests()
		again := s.do(req{method: "PATCH", leadID: strconv.FormatInt(ids[5], 10), body: body, headers: h})
		other := s.do(req{method: "PATCH", leadID: strconv.FormatInt(ids[6], 10), body: body, headers: h})
		if first.status != 200 || again.raw != first.raw || s.sim.Requests() != before || other.status != 409 {
			t.Fatalf("first %d, again %d, another lead with the key %d; %d requests",
				first.status, again.status, other.status, s.sim.Requests()-before)
		}
	})
}

func TestUpstreamLimitsAndFailures(t *testing.T) {
	s := newStack(t, profileKeys)
	list := req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "5"}}

	t.Run("an exhausted daily budget answers 503 with Retry-After to midnight, without calling WhatConverts", func(t *testing.T) {
		s2 := newStack(t, profileKeys)
		s2.exhaustBudget(wcsim.ProfileKey1001.Token, 1000)
		before := s2.sim.Requests()
		a := s2.do(list)
		want := int(math.Ceil(budget.UntilReset(time.Now()).Seconds()))
		got, _ := strconv.Atoi(a.headers["Retry-After"])
		if a.status != 503 || a.Error.Code != "upstream_unavailable" || got < want-60 || got > want+1 {
			t.Fatalf("answered %d %s, Retry-After %q (want about %d)", a.status, a.Error.Code, a.headers["Retry-After"], want)
		}
		if s2.sim.Requests() != before {
			t.Fatal("WhatConverts was called with the budget spent")
		}
		// Profile 1002 has its own key and budget.
		if b := s2.do(req{method: "GET", query: map[string]string{"profile_id": "1002", "max_items": "1"}}); b.status != 200 {
			t.Fatalf("another key's budget: %d", b.status)
		}
	})

	cases := []struct {
		name   string
		faults wcsim.Faults
		status int
		code   string
	}{
		{"a 429 storm answers 503 with Retry-After", wcsim.Faults{Force429: 100}, 503, "upstream_unavailable"},
		{"5xx after the retries answer 502", wcsim.Faults{Fail5xx: 100, FailStatus: 503}, 502, "upstream_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.sim.SetFaults(c.faults)
			defer s.sim.SetFaults(wcsim.Faults{})
			before := s.sim.Requests()
			a := s.do(list)
			if a.status != c.status || a.Error.Code != c.code {
				t.Fatalf("answered %d %s", a.status, a.raw)
			}
			if c.status == 503 && a.headers["Retry-After"] == "" {
				t.Fatal("no Retry-After")
			}
			if n := s.sim.Requests() - before; n < 2 || n > 4 {
				t.Fatalf("%d WhatConverts requests, want the first and up to 3 retries", n)
			}
			if rec, _ := s.record(a.requestID); rec.Status != c.status || rec.Outcome != audit.OutcomeFailed {
				t.Fatalf("audit record: %d %s", rec.Status, rec.Outcome)
			}
		})
	}

	t.Run("no answer before the invocation's deadline answers 504 in time", func(t *testing.T) {
		s.sim.SetFaults(wcsim.Faults{Hang: true})
		defer s.sim.SetFaults(wcsim.Faults{})
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		a := s.doCtx(ctx, list)
		if a.status != 504 || a.Error.Code != "upstream_timeout" {
			t.Fatalf("answered %d %s", a.status, a.raw)
		}
		if rec, _ := s.record(a.requestID); rec.Status != 504 {
			t.Fatalf("audit status %d", rec.Status)
		}
	})
}

// WhatConverts may apply a create after the caller's deadline, and it has no idempotency of its own:
// a create that timed out keeps its key, so retrying it cannot make the lead twice.
func TestATimedOutCreateIsReplayedNotRetried(t *testing.T) {
	s := newStack(t, profileKeys)
	before := len(s.sim.LeadIDs(1001))
	h := map[string]string{"Idempotency-Key": "slow-" + randomHex(4)}
	body := createBody(uniqueEmail())

	s.sim.SetFaults(wcsim.Faults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	first := s.doCtx(ctx, req{method: "POST", body: body, headers: h})
	cancel()
	s.sim.SetFaults(wcsim.Faults{}) // the held create is now answered, and applied, by WhatConverts
	if first.status != 504 || first.Error.Code != "upstream_timeout" {
		t.Fatalf("first attempt answered %d %s", first.status, first.raw)
	}

	requests := s.sim.Requests()
	retry := s.do(req{method: "POST", body: body, headers: h})
	if retry.status != 504 || retry.headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry with the same key answered %d (replayed %q), want the stored 504", retry.status, retry.headers["Idempotent-Replayed"])
	}
	if n := s.sim.Requests() - requests; n != 0 {
		t.Fatalf("the retry made %d WhatConverts requests, want none", n)
	}
	if created := len(s.sim.LeadIDs(1001)) - before; created > 1 {
		t.Fatalf("%d leads created, want at most the one the timed-out request may have made", created)
	}
}

func TestNoPHIInTheTable(t *testing.T) {
	s := newStack(t, profileKeys)
	email := uniqueEmail()
	created := s.do(req{method: "POST", body: createBody(email), headers: map[string]string{"Idempotency-Key": "phi-" + randomHex(4)}})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := strconv.FormatInt(int64(created.Lead["lead_id"].(float64)), 10)
	calls := []req{
		{method: "GET", query: map[string]string{"profile_id": "1001", "email": email}},
		{method: "GET", query: map[string]string{"profile_id": "1001"}},
		{method: "GET", leadID: id, query: map[string]string{"profile_id": "1001"}},
		{method: "PATCH", leadID: id, body: `{"profile_id": 1001, "lead_url": "https://clinic.example.test/visit?patient=synthetic-zed"}`,
			headers: map[string]string{"Idempotency-Key": "phi-" + randomHex(4)}},
		{method: "POST", body: `{"profile_id": 1001, "lead_type": "email", "send_notification": false, "email_address": "bad@", "sender_name": "Synthetic Patient Zed"}`},
	}
	for _, c := range calls {
		if a := s.do(c); a.status >= 500 {
			t.Fatalf("%s: %d %s", c.method, a.status, a.raw)
		}
	}
	raw, items := s.rawTable()
	if items < len(calls)+3 {
		t.Fatalf("only %d items in the table", items)
	}
	if m, ok := findPHI(raw); ok {
		t.Fatalf("a raw scan of the table finds synthetic PHI (%q)", m)
	}
	if strings.Contains(raw, email) {
		t.Fatal("a raw scan of the table finds the email")
	}
	// The PHI is there, sealed: the create's record opens to it.
	if _, payload := s.record(created.requestID); !strings.Contains(string(payload), email) {
		t.Fatal("the create's sealed part lacks the email")
	}
}

// TestGetLeadsRequestCount is performance figure P5 as a specification: Get Leads with max_items N
// costs ⌈N/2500⌉ WhatConverts requests (the benchmark prints the same figure).
func TestGetLeadsRequestCount(t *testing.T) {
	b := newBenchStack(t, -1)
	for _, n := range []int{1, 100, 2500, 2501, 10000} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			requests, count := b.getLeads(t, n)
			if want := (n + 2499) / 2500; requests != want || count != n {
				t.Fatalf("%d requests for %d leads, want %d requests for %d", requests, count, want, n)
			}
		})
	}
}

func TestGetLeadsFitsOneLambdaResponse(t *testing.T) {
	b := newBenchStack(t, 0) // Lambda's 6 MB bound
	full := newBenchStack(t, -1)
	requests, body, encoded := b.getLeadsBody(t, 10000)
	if encoded > 6<<20 {
		t.Fatalf("the response encodes to %d bytes: Lambda refuses over %d", encoded, 6<<20)
	}
	if !body.Truncated || body.Count < 2500 || body.Count != len(body.Leads) {
		t.Fatalf("truncated %v with %d leads; want a truncated answer of at least a page", body.Truncated, body.Count)
	}
	if want := (body.Count + 2499) / 2500; requests != want {
		t.Fatalf("%d requests for the %d leads answered, want %d: no page beyond what fits", requests, body.Count, want)
	}
	_, all, _ := full.getLeadsBody(t, body.Count)
	for i := range body.Leads {
		if body.Leads[i].LeadID != all.Leads[i].LeadID {
			t.Fatalf("lead %d is %d, want %d: a truncated answer is the newest leads", i, body.Leads[i].LeadID, all.Leads[i].LeadID)
		}
	}
	if _, small, _ := b.getLeadsBody(t, 100); small.Truncated || small.Count != 100 {
		t.Fatal("an answer that fits is not truncated")
	}
}

// The events/ samples (for sam local invoke -e) are requests the actions answer as documented.
func TestEventSamples(t *testing.T) {
	s := newStack(t, profileKeys)
	cases := []struct {
		file    string
		handler *actions.Handler
		status  int
	}{
		{"get-leads.json", s.getLeads, 200},
		{"get-leads-by-email.json", s.getLeads, 200},
		{"get-lead.json", s.getLead, 200},
		{"create-lead.json", s.create, 201},
		{"update-lead.json", s.update, 200},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "events", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.RequestContext.Identity.UserArn == "" {
				t.Fatal("the sample has no requestContext.identity.userArn")
			}
			// The file as sam local invoke -e sends it, through the functions' entry point.
			out, err := c.handler.Handle(context.Background(), raw)
			var resp events.APIGatewayProxyResponse
			if err == nil {
				err = json.Unmarshal(out, &resp)
			}
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("answered %d %.300s, want %d", resp.StatusCode, resp.Body, c.status)
			}
		})
	}
}

func TestLogLines(t *testing.T) {
	s := newStack(t, profileKeys)
	ok := s.do(req{method: "GET", query: map[string]string{"profile_id": "1001", "max_items": "3"}})
	// A body key is a name the caller chose: the answer names it (the contract asks for each refused
	// field), the log does not (it could be PHI). The stack's cleanup scans the logs for it.
	bad := s.do(req{method: "POST", body: `{"profile_id": 1001, "lead_type": "chat", "send_notification": false, "Synthetic Patient Zed": 1}`})
	if ok.status != 200 || bad.status != 400 || !slices.Equal(bad.fields(), []string{"Synthetic Patient Zed"}) {
		t.Fatalf("answers %d and %d %v", ok.status, bad.status, bad.fields())
	}
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", l)
		}
		if id, _ := m["request_id"].(string); id != "" {
			lines[id] = m
		}
	}
	got := lines[ok.requestID]
	if got["action"] != "get-leads" || got["status"] != 200.0 || got["outcome"] != "ok" || got["leads"] != 3.0 ||
		got["actor"] != testCaller || got["audit_record"] == nil {
		t.Fatalf("log line of a success: %v", got)
	}
	got = lines[bad.requestID]
	if got["code"] != "invalid_request" || fmt.Sprint(got["fields"]) != "[(other)]" || got["level"] != "INFO" {
		t.Fatalf("log line of a refusal: %v", got)
	}
}
