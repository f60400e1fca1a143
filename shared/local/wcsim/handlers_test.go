package wcsim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

func TestCreateLeadAcceptsFormMultipartAndJSON(t *testing.T) {
	form := url.Values{
		"lead_type":                       {"phone_call"},
		"send_notification":               {"false"},
		"quotable":                        {"not_set"},
		"quote_value":                     {"250"},
		"caller_name":                     {"Synthetic Patient 0900"},
		"phone_number":                    {"+15550100900"},
		"email_address":                   {"patient0900@example.test"},
		"lead_source":                     {"google"},
		"lead_medium":                     {"cpc"},
		"call_duration_seconds":           {"125"},
		"fbclid":                          {"fb-click-0900"},
		"additional_fields[Insurance]":    {"Synthetic Mutual"},
		"additional_fields[Phone Number]": {"(555) 010-0900"},
		"custom_fields[Patient Type]":     {"New"},
		"wc_client_current":               {"cookie"},
		"first_name":                      {"ignored"},
	}
	jsonBody := map[string]any{
		"lead_type": "phone_call", "send_notification": false, "quotable": "not_set", "quote_value": 250,
		"caller_name": "Synthetic Patient 0900", "phone_number": "+15550100900", "email_address": "patient0900@example.test",
		"lead_source": "google", "lead_medium": "cpc", "call_duration_seconds": 125, "fbclid": "fb-click-0900",
		"additional_fields": map[string]any{"Insurance": "Synthetic Mutual", "Phone Number": "(555) 010-0900"},
		"custom_fields":     map[string]any{"Patient Type": "New"},
		"first_name":        "ignored",
	}
	encodings := map[string]func(t *testing.T, srv serverT) response{
		"form-urlencoded": func(t *testing.T, srv serverT) response {
			return postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", form)
		},
		"multipart": func(t *testing.T, srv serverT) response {
			return postMultipart(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", form)
		},
		"json": func(t *testing.T, srv serverT) response {
			return postJSON(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", jsonBody)
		},
	}
	for name, send := range encodings {
		t.Run(name, func(t *testing.T) {
			s, srv := seeded(t)
			before := len(s.LeadIDs(1001))
			r := send(t, srv)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			l := r.object(t)
			if _, wrapped := l["leads"]; wrapped {
				t.Fatal("create answered an envelope; it answers the bare lead")
			}
			want := map[string]any{
				"lead_type": "Phone Call", "quotable": "Not Set", "quote_value": 250.0, "sales_value": nil,
				"profile_id": 1001.0, "profile": "Synthetic Family Dental", "account_id": 2001.0, "account": "Synthetic Health Group",
				"date_created": testNow.Format(time.RFC3339), "last_updated": testNow.Format(time.RFC3339),
				"lead_status": "Unique", "lead_state": "Completed", "call_status": "Completed",
				"caller_name": "Synthetic Patient 0900", "contact_name": "Synthetic Patient 0900",
				"phone_number": "+15550100900", "contact_phone_number": "+15550100900", "caller_number": "+15550100900",
				"email_address": "patient0900@example.test", "contact_email_address": "patient0900@example.test",
				"lead_source": "google", "lead_medium": "cpc", "lead_campaign": nil,
				"call_duration_seconds": 125.0, "call_duration": "2 minutes 5 seconds",
				"facebook_click_id": "fb-click-0900", "spam": false, "duplicate": false,
				"additional_fields": map[string]any{"Insurance": "Synthetic Mutual", "Phone Number": "(555) 010-0900"},
				"custom_fields":     map[string]any{"Patient Type": "New"},
			}
			for k, v := range want {
				if !equalJSON(l[k], v) {
					t.Errorf("%s = %#v, want %#v", k, l[k], v)
				}
			}
			for _, k := range []string{"first_name", "wc_client_current", "fbclid", "send_notification"} {
				if _, ok := l[k]; ok {
					t.Errorf("the lead has a %s field; unknown create parameters are ignored", k)
				}
			}
			if u := text(l, "user_id"); !strings.HasPrefix(u, "1001-") || len(u) != len("1001-")+36 {
				t.Errorf("user_id %q is not <profile_id>-<uuid>", u)
			}
			id := leadID(t, l)
			if stored, ok := s.Lead(id); !ok || !equalJSON(stored, l) {
				t.Error("the answer differs from the stored lead")
			}
			if got := len(s.LeadIDs(1001)); got != before+1 {
				t.Errorf("profile 1001 has %d leads, want %d", got, before+1)
			}
			if s.NotificationSent(id) {
				t.Error("send_notification=false recorded a notification")
			}
		})
	}
}

// serverT lets the encodings table name the server type briefly.
type serverT = *httptest.Server

func TestCreateLeadMapsRequestValuesToDisplayValues(t *testing.T) {
	_, srv := seeded(t)
	types := map[string]string{
		"appointment": "Appointment", "chat": "Chat", "email": "Email", "event": "Event", "other": "Other",
		"phone_call": "Phone Call", "text_message": "Text Message", "transaction": "Transaction", "web_form": "Web Form",
	}
	for request, display := range types {
		t.Run("lead_type="+request, func(t *testing.T) {
			r := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {request}})
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			l := r.object(t)
			if l["lead_type"] != display {
				t.Errorf("lead_type %v, want %q", l["lead_type"], display)
			}
			// Real payloads' quirks for a lead created with almost nothing.
			if a, ok := l["additional_fields"].([]any); !ok || len(a) != 0 {
				t.Errorf("additional_fields %v, want []", l["additional_fields"])
			}
			if a, ok := l["lead_analysis"].([]any); !ok || len(a) != 0 {
				t.Errorf("lead_analysis %v, want []", l["lead_analysis"])
			}
			if l["quotable"] != "Not Set" || l["quote_value"] != nil || l["sales_value"] != nil || l["phone_number"] != "" {
				t.Errorf("defaults: quotable %v, quote %v, sales %v, phone %q", l["quotable"], l["quote_value"], l["sales_value"], l["phone_number"])
			}
		})
	}
	quotable := map[string]string{"yes": "Yes", "no": "No", "pending": "Pending", "not_set": "Not Set"}
	for request, display := range quotable {
		t.Run("quotable="+request, func(t *testing.T) {
			l := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"web_form"}, "quotable": {request}}).object(t)
			if l["quotable"] != display {
				t.Errorf("quotable %v, want %q", l["quotable"], display)
			}
		})
	}
}

func TestCreateLeadScopesAndValidation(t *testing.T) {
	t.Run("a profile key creates in its profile and ignores profile_id", func(t *testing.T) {
		_, srv := seeded(t)
		l := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"chat"}, "profile_id": {"1002"}}).object(t)
		if l["profile_id"] != 1001.0 {
			t.Errorf("profile_id %v, want 1001", l["profile_id"])
		}
	})
	t.Run("a master key creates in the profile it names", func(t *testing.T) {
		_, srv := seeded(t)
		l := postForm(t, srv, wcsim.MasterKey2001, "/api/v1/leads", url.Values{"lead_type": {"chat"}, "profile_id": {"1002"}}).object(t)
		if l["profile_id"] != 1002.0 || l["profile"] != "Synthetic Physical Therapy" {
			t.Errorf("profile %v %v, want 1002", l["profile_id"], l["profile"])
		}
	})
	t.Run("send_notification=true is recorded", func(t *testing.T) {
		s, srv := seeded(t)
		l := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"chat"}, "send_notification": {"true"}}).object(t)
		if !s.NotificationSent(leadID(t, l)) {
			t.Error("NotificationSent is false")
		}
	})
	t.Run("date_created is taken when given", func(t *testing.T) {
		_, srv := seeded(t)
		l := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"chat"}, "date_created": {"2026-11-20T08:30:00Z"}}).object(t)
		if l["date_created"] != "2026-11-20T08:30:00Z" || l["last_updated"] != testNow.Format(time.RFC3339) {
			t.Errorf("date_created %v, last_updated %v", l["date_created"], l["last_updated"])
		}
	})
	t.Run("a returning contact is a Repeat lead", func(t *testing.T) {
		s, srv := seeded(t)
		var known string
		for _, id := range s.LeadIDs(1001) {
			if l, _ := s.Lead(id); text(l, "phone_number") != "" {
				known = text(l, "phone_number")
				break
			}
		}
		repeat := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"phone_call"}, "phone_number": {known}}).object(t)
		fresh := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads", url.Values{"lead_type": {"phone_call"}, "phone_number": {"+15550109999"}}).object(t)
		elsewhere := postForm(t, srv, wcsim.ProfileKey1002, "/api/v1/leads", url.Values{"lead_type": {"phone_call"}, "phone_number": {"+15550109999"}}).object(t)
		if repeat["lead_status"] != "Repeat" || fresh["lead_status"] != "Unique" || elsewhere["lead_status"] != "Unique" {
			t.Errorf("lead_status: known phone %v, new phone %v, same phone in another profile %v; want Repeat, Unique, Unique",
				repeat["lead_status"], fresh["lead_status"], elsewhere["lead_status"])
		}
	})

	refused := []struct {
		name        string
		key         wcsim.Key
		body        string
		contentType string
	}{
		{"missing lead_type", wcsim.ProfileKey1001, "quotable=yes", "application/x-www-form-urlencoded"},
		{"display lead_type", wcsim.ProfileKey1001, "lead_type=Phone+Call", "application/x-www-form-urlencoded"},
		{"unknown lead_type", wcsim.ProfileKey1001, "lead_type=call", "application/x-www-form-urlencoded"},
		{"master key without profile_id", wcsim.MasterKey2001, "lead_type=chat", "application/x-www-form-urlencoded"},
		{"master key with a profile it cannot see", wcsim.MasterKey2001, "lead_type=chat&profile_id=4242", "application/x-www-form-urlencoded"},
		{"master key with a malformed profile_id", wcsim.MasterKey2001, "lead_type=chat&profile_id=x", "application/x-www-form-urlencoded"},
		{"display quotable", wcsim.ProfileKey1001, "lead_type=chat&quotable=Yes", "application/x-www-form-urlencoded"},
		{"non-numeric quote_value", wcsim.ProfileKey1001, "lead_type=chat&quote_value=lots", "application/x-www-form-urlencoded"},
		{"negative sales_value", wcsim.ProfileKey1001, "lead_type=chat&sales_value=-1", "application/x-www-form-urlencoded"},
		{"bad date_created", wcsim.ProfileKey1001, "lead_type=chat&date_created=2026-11-20+08:30:00", "application/x-www-form-urlencoded"},
		{"bad send_notification", wcsim.ProfileKey1001, "lead_type=chat&send_notification=yes", "application/x-www-form-urlencoded"},
		{"bad call_duration_seconds", wcsim.ProfileKey1001, "lead_type=phone_call&call_duration_seconds=1.5", "application/x-www-form-urlencoded"},
		{"malformed JSON", wcsim.ProfileKey1001, `{"lead_type":`, "application/json"},
		{"JSON that is not an object", wcsim.ProfileKey1001, `["lead_type"]`, "application/json"},
		{"JSON additional_fields that is not an object", wcsim.ProfileKey1001, `{"lead_type":"chat","additional_fields":"x"}`, "application/json"},
		{"another content type", wcsim.ProfileKey1001, "lead_type=chat", "text/plain"},
		{"a body without content type", wcsim.ProfileKey1001, "lead_type=chat", ""},
		{"lead_type only in the query string", wcsim.ProfileKey1001, "", ""},
		{"a body over 1 MiB", wcsim.ProfileKey1001, "lead_type=chat&notes=" + strings.Repeat("x", 1<<20), "application/x-www-form-urlencoded"},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			s, srv := seeded(t)
			before := len(s.LeadIDs(1001)) + len(s.LeadIDs(1002))
			path := "/api/v1/leads"
			if tc.name == "lead_type only in the query string" {
				path += "?lead_type=chat"
			}
			r := do(t, srv, tc.key, http.MethodPost, path, strings.NewReader(tc.body), tc.contentType)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			r.errorMessage(t)
			if after := len(s.LeadIDs(1001)) + len(s.LeadIDs(1002)); after != before {
				t.Errorf("a refused create stored a lead (%d → %d)", before, after)
			}
		})
	}
}

func TestEditLeadChangesOnlyTheEditableFields(t *testing.T) {
	c := &clock{t: testNow}
	s := wcsim.NewSeeded(wcsim.Options{Now: c.Now, Seed: 7})
	srv := serve(t, s)
	id := s.AddLead(1001, map[string]any{
		"lead_type": "Web Form", "lead_source": "google", "email_address": "patient0901@example.test",
		"date_created": "2026-11-27T10:00:00Z", "last_updated": "2026-11-27T10:00:05Z",
		"lead_url": "https://www.profile1001.example/contact", "additional_fields": []any{},
		"quote_value": 100.0,
	})
	path := "/api/v1/leads/" + itoa(id)
	before, _ := s.Lead(id)
	c.Set(testNow.Add(90 * time.Second))

	r := postForm(t, srv, wcsim.ProfileKey1001, path, url.Values{
		"quotable":                    {"yes"},
		"quote_value":                 {""}, // clears
		"sales_value":                 {"750.5"},
		"lead_url":                    {"https://www.profile1001.example/thank-you"},
		"additional_fields[Referral]": {"Synthetic Friend"},
		"custom_fields[Patient Type]": {"Returning"},
		// Not editable: ignored.
		"lead_type": {"chat"}, "lead_source": {"bing"}, "email_address": {"other@example.test"},
		"date_created": {"2020-01-01T00:00:00Z"}, "profile_id": {"1002"}, "lead_status": {"repeat"}, "spam": {"true"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	after := r.object(t)
	if _, wrapped := after["leads"]; wrapped {
		t.Fatal("edit answered an envelope; it answers the bare lead")
	}
	changed := map[string]any{
		"quotable": "Yes", "quote_value": nil, "sales_value": 750.5,
		"lead_url":          "https://www.profile1001.example/thank-you",
		"additional_fields": map[string]any{"Referral": "Synthetic Friend"},
		"custom_fields":     map[string]any{"Patient Type": "Returning"},
		"last_updated":      testNow.Add(90 * time.Second).Format(time.RFC3339),
	}
	for k, v := range changed {
		if !equalJSON(after[k], v) {
			t.Errorf("%s = %#v, want %#v", k, after[k], v)
		}
	}
	for k, v := range before {
		if _, editable := changed[k]; !editable && !equalJSON(after[k], v) {
			t.Errorf("%s changed from %#v to %#v; only the editable fields may change", k, v, after[k])
		}
	}
	if stored, _ := s.Lead(id); !equalJSON(stored, after) {
		t.Error("the answer differs from the stored lead")
	}

	t.Run("additional_fields are merged", func(t *testing.T) {
		l := postForm(t, srv, wcsim.ProfileKey1001, path, url.Values{"additional_fields[Preferred Time]": {"Morning"}}).object(t)
		want := map[string]any{"Referral": "Synthetic Friend", "Preferred Time": "Morning"}
		if !equalJSON(l["additional_fields"], want) {
			t.Errorf("additional_fields %v, want %v", l["additional_fields"], want)
		}
	})
	t.Run("JSON edits work like form edits", func(t *testing.T) {
		l := postJSON(t, srv, wcsim.MasterKey2001, path, map[string]any{"quotable": "pending", "quote_value": 99.99}).object(t)
		if l["quotable"] != "Pending" || l["quote_value"] != 99.99 {
			t.Errorf("quotable %v quote_value %v, want Pending 99.99", l["quotable"], l["quote_value"])
		}
	})
	for _, bad := range []url.Values{{"quotable": {"Yes"}}, {"quote_value": {"abc"}}, {"sales_value": {"-3"}}} {
		t.Run("refused: "+bad.Encode(), func(t *testing.T) {
			prev, _ := s.Lead(id)
			r := postForm(t, srv, wcsim.ProfileKey1001, path, bad)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			r.errorMessage(t)
			if now, _ := s.Lead(id); !equalJSON(now, prev) {
				t.Error("a refused edit changed the lead")
			}
		})
	}
	t.Run("an unknown lead is refused like on GET", func(t *testing.T) {
		r := postForm(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/99999999", url.Values{"quotable": {"yes"}})
		if r.status != http.StatusBadRequest || r.errorMessage(t) != "Invalid lead ID." {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}
