package wcsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// receiver is a webhook endpoint that records what it receives.
type receiver struct {
	*httptest.Server
	status int

	mu  sync.Mutex
	got []received
}

type received struct {
	method, query string
	header        http.Header
	body          []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Method, r.URL.RawQuery, r.Header.Clone(), b})
		rc.mu.Unlock()
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %.200s", err, b)
	}
	return m
}

func TestWebhooksAreSentOnCreateAndEdit(t *testing.T) {
	s, srv := seeded(t)
	rc := newReceiver(t, http.StatusOK)
	s.SetWebhookURL(rc.URL + "/webhooks/whatconverts?token=synthetic-webhook-token")

	created := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"web_form"}, "form_name": {"Contact Us"}}).object(t)
	s.WaitWebhooks()
	edited := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+itoa(leadID(t, created)), url.Values{"quotable": {"yes"}, "sales_value": {"500"}}).object(t)
	s.WaitWebhooks()

	got := rc.deliveries()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2 (new, update)", len(got))
	}
	for i, want := range []struct {
		trigger string
		lead    map[string]any
	}{{"new", created}, {"update", edited}} {
		d := got[i]
		if d.method != http.MethodPost || d.header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery %d: %s with Content-Type %q, want a JSON POST", i, d.method, d.header.Get("Content-Type"))
		}
		if d.query != "token=synthetic-webhook-token" {
			t.Errorf("delivery %d went to ?%s; the URL's query is the receiver's credential and must be kept", i, d.query)
		}
		if !bytes.HasPrefix(d.body, []byte(`{"trigger":"`+want.trigger+`",`)) {
			t.Errorf("delivery %d does not start with trigger %q: %.60s", i, want.trigger, d.body)
		}
		payload := decode(t, d.body)
		if payload["trigger"] != want.trigger {
			t.Errorf("delivery %d: trigger %v, want %q", i, payload["trigger"], want.trigger)
		}
		delete(payload, "trigger")
		if !equalJSON(payload, want.lead) {
			t.Errorf("delivery %d is not the flat lead the API answered:\n%s", i, d.body)
		}
		for name := range d.header {
			if l := strings.ToLower(name); strings.HasPrefix(l, "x-") || strings.Contains(l, "signature") {
				t.Errorf("delivery %d carries a %s header; WhatConverts sends no custom headers", i, name)
			}
		}
	}
	if got := decode(t, got[1].body); got["quotable"] != "Yes" || got["sales_value"] != 500.0 {
		t.Errorf("update payload: quotable %v, sales_value %v; want the edited values", got["quotable"], got["sales_value"])
	}

	log := s.Webhooks()
	if len(log) != 2 || log[0].Trigger != "new" || log[1].Trigger != "update" || log[0].Status != 200 || log[1].LeadID != leadID(t, created) {
		t.Errorf("Webhooks() = %+v", log)
	}
}

func TestWebhooksAreDeliveredInOrderAndOnlyForAPIChanges(t *testing.T) {
	s, srv := seeded(t)
	rc := newReceiver(t, http.StatusNoContent)

	// No URL: nothing is sent and the API works as usual.
	postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"chat"}})
	s.WaitWebhooks()

	s.SetWebhookURL(rc.URL)
	s.AddLeads(1001, 3)
	s.AddLead(1001, map[string]any{"lead_type": "Chat"})
	var want []int64
	for range 10 {
		want = append(want, leadID(t, postForm(t, srv, wcsim.ProfileKey1002, "/api/v1/leads", url.Values{"lead_type": {"chat"}}).object(t)))
	}
	s.WaitWebhooks()

	var got []int64
	for _, d := range rc.deliveries() {
		got = append(got, leadID(t, decode(t, d.body)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivered leads %v, want the 10 created through the API in order %v", got, want)
	}
}

func TestFireWebhookDeliversAnExistingLeadSynchronously(t *testing.T) {
	s, _ := seeded(t)
	id := s.LeadIDs(1001)[0]

	if err := s.FireWebhook(id, "new"); err == nil {
		t.Error("FireWebhook without a URL did not fail")
	}
	rc := newReceiver(t, http.StatusOK)
	s.SetWebhookURL(rc.URL)
	for _, trigger := range []string{"new", "update"} {
		if err := s.FireWebhook(id, trigger); err != nil {
			t.Fatalf("FireWebhook(%s): %v", trigger, err)
		}
	}
	got := rc.deliveries() // no WaitWebhooks: FireWebhook has waited
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(got))
	}
	want, _ := s.Lead(id)
	for i, trigger := range []string{"new", "update"} {
		p := decode(t, got[i].body)
		if p["trigger"] != trigger {
			t.Errorf("delivery %d: trigger %v, want %s", i, p["trigger"], trigger)
		}
		delete(p, "trigger")
		if !equalJSON(p, want) {
			t.Errorf("delivery %d is not the lead", i)
		}
	}
	if payload, err := s.WebhookPayload(id, "new"); err != nil || !bytes.Equal(payload, got[0].body) {
		t.Errorf("WebhookPayload differs from what was sent (%v)", err)
	}

	for name, fire := range map[string]func() error{
		"unknown trigger": func() error { return s.FireWebhook(id, "created") },
		"unknown lead":    func() error { return s.FireWebhook(1, "new") },
	} {
		if err := fire(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	failing := newReceiver(t, http.StatusInternalServerError)
	s.SetWebhookURL(failing.URL)
	if err := s.FireWebhook(id, "new"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a receiver answering 500 gave error %v", err)
	}

	gone := newReceiver(t, http.StatusOK)
	gone.Close()
	s.SetWebhookURL(gone.URL + "/?token=synthetic-secret-token")
	err := s.FireWebhook(id, "new")
	if err == nil {
		t.Fatal("an unreachable receiver gave no error")
	}
	if strings.Contains(err.Error(), "synthetic-secret-token") {
		t.Errorf("the error leaks the webhook URL's token: %v", err)
	}
	if log := s.Webhooks(); log[len(log)-1].Status != 0 || log[len(log)-1].Err == nil {
		t.Errorf("the last delivery is recorded as %+v", log[len(log)-1])
	}
}

// fixtureKinds lists the fields of the published WhatConverts phone-call webhooks
// (webhook-new-phone-call.json and webhook-update-phone-call.json, in ../shared/fixtures beside the repository) with
// the JSON kind each has there. TestSimPayloadsCoverRealWebhookFields checks it against the files when
// they can be found, so this copy stays true; the fixtures themselves are not copied into the repo.
var fixtureKinds = map[string][]string{
	"trigger": {"string"}, "lead_id": {"number"}, "user_id": {"string"}, "lead_type": {"string"},
	"lead_status": {"string"}, "lead_analysis": {"object", "array"}, "last_updated": {"string"},
	"date_created": {"string"}, "quotable": {"string"}, "quote_value": {"null"}, "sales_value": {"null"},
	"spotted_keywords": {"string"}, "lead_score": {"number"}, "lead_state": {"string"}, "profile": {"string"},
	"profile_id": {"number"}, "account": {"string"}, "account_id": {"number"}, "lead_url": {"string"},
	"landing_url": {"string"}, "operating_system": {"string"}, "browser": {"string"}, "device_type": {"string"},
	"device_make": {"string"}, "lead_source": {"string"}, "lead_medium": {"string"}, "lead_campaign": {"string"},
	"lead_content": {"string"}, "lead_keyword": {"string"}, "ip_address": {"string"}, "notes": {"string"},
	"contact_name": {"string"}, "contact_company_name": {"string"}, "contact_email_address": {"string"},
	"contact_phone_number": {"string"}, "email_address": {"string"}, "phone_number": {"string"},
	"city": {"string"}, "state": {"string"}, "zip": {"string"}, "country": {"string"},
	"field_mappings": {"object"}, "gclid": {"string"}, "msclkid": {"string"}, "unbounce_page_id": {"string"},
	"unbounce_variant_id": {"string"}, "unbounce_visitor_id": {"string"}, "salesforce_user_id": {"string"},
	"roistat_visit_id": {"string"}, "hubspot_visitor_id": {"string"}, "facebook_browser_id": {"string"},
	"facebook_click_id": {"string"}, "google_analytics_client_id": {"string"}, "vwo_account_id": {"string"},
	"vwo_experiment_id": {"string"}, "vwo_variant_id": {"string"}, "vwo_user_id": {"string"},
	"duplicate": {"bool"}, "spam": {"bool"},
	"caller_number": {"string"}, "call_status": {"string"}, "phone_name": {"string"}, "call_duration": {"string"},
	"call_duration_seconds": {"number"}, "tracking_number": {"string"}, "destination_number": {"string"},
	"caller_name": {"string"}, "caller_city": {"string"}, "caller_state": {"string"}, "caller_country": {"string"},
	"answer_status": {"string"}, "line_type": {"string"}, "recording": {"string"}, "play_recording": {"string"},
	"call_transcription": {"string"}, "additional_fields": {"array"},
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "?"
}

func TestSimPayloadsCoverRealWebhookFields(t *testing.T) {
	{
		dir := testenv.FixturesDir(t)
		t.Run("the field list matches the fixture files", func(t *testing.T) {
			fromFiles := map[string]map[string]bool{}
			for _, name := range []string{"webhook-new-phone-call.json", "webhook-update-phone-call.json"} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range decode(t, b) {
					if fromFiles[k] == nil {
						fromFiles[k] = map[string]bool{}
					}
					fromFiles[k][kind(v)] = true
				}
			}
			for k, kinds := range fromFiles {
				for kd := range kinds {
					if !slices.Contains(fixtureKinds[k], kd) {
						t.Errorf("fixture field %s (%s) is missing from fixtureKinds", k, kd)
					}
				}
			}
			for k := range fixtureKinds {
				if fromFiles[k] == nil {
					t.Errorf("fixtureKinds has %s, which no fixture has", k)
				}
			}
		})
	}

	// Every field of the real payloads, with each kind it takes there, appears in some webhook the
	// simulator would send for its generated phone calls.
	s, _ := seeded(t)
	seen := map[string]map[string]bool{}
	calls := 0
	for _, p := range []int64{1001, 1002} {
		for _, id := range s.LeadIDs(p) {
			for _, trigger := range []string{"new", "update"} {
				b, err := s.WebhookPayload(id, trigger)
				if err != nil {
					t.Fatal(err)
				}
				payload := decode(t, b)
				if payload["lead_type"] != "Phone Call" {
					break
				}
				calls++
				for k, v := range payload {
					if seen[k] == nil {
						seen[k] = map[string]bool{}
					}
					seen[k][kind(v)] = true
				}
			}
		}
	}
	if calls == 0 {
		t.Fatal("no generated phone calls")
	}
	for k, kinds := range fixtureKinds {
		for _, kd := range kinds {
			if !seen[k][kd] {
				t.Errorf("real payloads have %s as %s; no generated phone-call payload does", k, kd)
			}
		}
	}
}
