package wcsim_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

func TestNewSeededIsDeterministic(t *testing.T) {
	opts := wcsim.Options{Now: func() time.Time { return testNow }, Seed: 42}
	a, b := serve(t, wcsim.NewSeeded(opts)), serve(t, wcsim.NewSeeded(opts))
	opts.Seed = 43
	c := serve(t, wcsim.NewSeeded(opts))

	query := "/api/v1/leads?leads_per_page=2500"
	la, lb, lc := get(t, a, wcsim.MasterKey2001, query), get(t, b, wcsim.MasterKey2001, query), get(t, c, wcsim.MasterKey2001, query)
	if la.status != http.StatusOK || string(la.body) != string(lb.body) {
		t.Error("the same options gave different leads")
	}
	if string(la.body) == string(lc.body) {
		t.Error("another seed gave the same leads")
	}
}

func TestNewSeededHoldsRealisticSyntheticLeads(t *testing.T) {
	s, srv := seeded(t)
	for _, k := range []wcsim.Key{wcsim.ProfileKey1001, wcsim.ProfileKey1002, wcsim.MasterKey2001} {
		if !regexp.MustCompile(`^\d+-[0-9a-f]{16}$`).MatchString(k.Token) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(k.Secret) {
			t.Errorf("key %s is not shaped like a WhatConverts key", k.Token)
		}
	}

	var (
		name    = regexp.MustCompile(`^Synthetic Patient \d{4}$`)
		email   = regexp.MustCompile(`^patient\d{4}@example\.test$`)
		phone   = regexp.MustCompile(`^\+1555010\d{4}$`)
		visitor = regexp.MustCompile(`^100[12]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		rec     = regexp.MustCompile(`^https://app\.whatconverts\.com/recording/[^/]+/(download|play)$`)
	)
	count := map[string]int{}
	for _, p := range []wcsim.Key{wcsim.ProfileKey1001, wcsim.ProfileKey1002} {
		leads := all(t, srv, p, "")
		if len(leads) < 50 {
			t.Errorf("%s sees %d leads, want at least 50", p.Token, len(leads))
		}
		days := map[string]bool{}
		for _, l := range leads {
			c := createdAt(t, l)
			if c.Before(testNow.Add(-wcsim.GeneratedWindow)) || !c.Before(testNow) {
				t.Errorf("lead %v created %v, outside the %v before Now", l["lead_id"], c, wcsim.GeneratedWindow)
			}
			if u, err := time.Parse(time.RFC3339, text(l, "last_updated")); err != nil || u.Before(c) {
				t.Errorf("lead %v: last_updated %v before date_created %v", l["lead_id"], l["last_updated"], c)
			}
			days[c.Format(time.DateOnly)] = true
			count["type "+text(l, "lead_type")]++
			count["status "+text(l, "lead_status")]++
			count["analysis "+kind(l["lead_analysis"])]++
			count["additional_fields "+kind(l["additional_fields"])]++
			count["quote_value "+kind(l["quote_value"])]++
			if l["contact_phone_number"] == "" || l["email_address"] == "" {
				count["empty strings"]++
			}
			if !name.MatchString(text(l, "contact_name")) {
				t.Errorf("contact_name %q is not obviously synthetic", l["contact_name"])
			}
			for _, f := range []string{"email_address", "contact_email_address"} {
				if v := text(l, f); v != "" && !email.MatchString(v) {
					t.Errorf("%s %q is not obviously synthetic", f, v)
				}
			}
			for _, f := range []string{"phone_number", "contact_phone_number", "caller_number"} {
				if v := text(l, f); v != "" && !phone.MatchString(v) {
					t.Errorf("%s %q is not a 555 number", f, v)
				}
			}
			if !visitor.MatchString(text(l, "user_id")) {
				t.Errorf("user_id %q is not <profile_id>-<uuid>", l["user_id"])
			}
			if l["lead_type"] == "Phone Call" && l["lead_state"] == "Completed" {
				count["completed calls"]++
				if name.MatchString(text(l, "caller_name")) {
					count["calls with caller_name"]++
				}
				if rec.MatchString(text(l, "recording")) && rec.MatchString(text(l, "play_recording")) {
					count["calls with recordings"]++
				}
			}
			if l["lead_type"] == "Web Form" && kind(l["additional_fields"]) == "object" && text(l, "form_name") != "" {
				count["forms with fields"]++
			}
		}
		if len(days) < 4 {
			t.Errorf("%s's leads span %d days, want the last 4", p.Token, len(days))
		}
	}
	for _, want := range []string{
		"type Phone Call", "type Web Form", "type Chat", "type Text Message", "type Email", "type Appointment",
		"type Transaction", "type Event", "type Other", "status Unique", "status Repeat",
		"analysis array", "analysis object", "additional_fields array", "additional_fields object",
		"quote_value null", "quote_value number", "empty strings",
		"calls with caller_name", "calls with recordings", "forms with fields",
	} {
		if count[want] == 0 {
			t.Errorf("no seeded lead has %s", want)
		}
	}
	if count["type Phone Call"] <= count["type Chat"] {
		t.Errorf("phone calls (%d) should outnumber chats (%d), as in real accounts", count["type Phone Call"], count["type Chat"])
	}
	if s.Requests() == 0 {
		t.Error("the server counted no requests")
	}
}

func TestNewIsEmpty(t *testing.T) {
	s := wcsim.New(wcsim.Options{})
	srv := serve(t, s)
	if r := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads"); r.status != http.StatusUnauthorized {
		t.Errorf("an empty sim accepted a seeded key: %d", r.status)
	}
	s.AddProfile(wcsim.Profile{ID: 5, AccountID: 6, Name: "Empty Clinic"})
	k := wcsim.Key{Token: "5-0000000000000005", Secret: "00000000000000000000000000000005"}
	s.AddProfileKey(5, k)
	e := get(t, srv, k, "/api/v1/leads").envelope(t)
	if *e.TotalLeads != 0 || len(e.Leads) != 0 {
		t.Errorf("a new profile has %d leads", *e.TotalLeads)
	}
	if ids := s.AddLeads(5, 12); len(ids) != 12 || len(s.LeadIDs(5)) != 12 {
		t.Errorf("AddLeads(5, 12) gave %d ids, the profile has %d leads", len(ids), len(s.LeadIDs(5)))
	}
}

func TestAddLeadStoresTheGivenFields(t *testing.T) {
	s, srv := seeded(t)
	id := s.AddLead(1002, map[string]any{
		"trigger":           "new",
		"lead_type":         "Phone Call",
		"lead_analysis":     []any{},
		"additional_fields": map[string]any{"Insurance": "Synthetic Mutual"},
		"contact_name":      "Synthetic Patient 0999",
		"quote_value":       125.5,
		"date_created":      time.Date(2026, 11, 25, 8, 0, 0, 0, time.FixedZone("EST", -5*3600)),
		"profile_id":        999, // the argument wins
	})
	l, ok := s.Lead(id)
	if !ok {
		t.Fatal("Lead does not find the added lead")
	}
	want := map[string]any{
		"lead_id": float64(id), "lead_type": "Phone Call", "contact_name": "Synthetic Patient 0999",
		"quote_value": 125.5, "sales_value": nil, "quotable": "Not Set", "lead_status": "Unique", "spam": false,
		"date_created": "2026-11-25T13:00:00Z", "last_updated": testNow.Format(time.RFC3339),
		"profile_id": 1002.0, "profile": "Synthetic Physical Therapy", "account_id": 2001.0, "account": "Synthetic Health Group",
		"lead_analysis": []any{}, "additional_fields": map[string]any{"Insurance": "Synthetic Mutual"},
	}
	for k, v := range want {
		if !equalJSON(l[k], v) {
			t.Errorf("%s = %#v, want %#v", k, l[k], v)
		}
	}
	if _, ok := l["trigger"]; ok {
		t.Error("the webhook trigger was stored as a lead field")
	}
	served := get(t, srv, wcsim.ProfileKey1002, "/api/v1/leads/"+itoa(id)).envelope(t)
	if !equalJSON(served.Leads[0], l) {
		t.Error("the API serves another lead than Lead returns")
	}

	kept := s.AddLead(1002, map[string]any{"lead_id": 153928, "lead_type": "Chat"})
	next := s.AddLead(1002, map[string]any{"lead_type": "Chat"})
	if kept != 153928 || next <= id {
		t.Errorf("a given free lead_id gave %d, the next lead %d", kept, next)
	}
}
