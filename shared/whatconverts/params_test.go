package whatconverts

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func emptyPage(w http.ResponseWriter, _ *http.Request, _ int) {
	writeJSON(w, 200, map[string]any{"page_number": 1, "leads_per_page": 25, "total_pages": 0, "total_leads": 0, "leads": []any{}})
}

func TestEveryListFilterIsSentUnderItsWhatConvertsName(t *testing.T) {
	yes, no := true, false
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 28, 23, 59, 59, 0, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		name  string
		p     ListParams
		key   KeyFor
		param string
		want  string
	}{
		{"leads per page", ListParams{LeadsPerPage: 2500}, profileKey(), "leads_per_page", "2500"},
		{"page number", ListParams{PageNumber: 3}, profileKey(), "page_number", "3"},
		{"account with a master key", ListParams{AccountID: 2001}, masterKey(1001), "account_id", "2001"},
		{"profile with a master key comes from the key", ListParams{}, masterKey(1002), "profile_id", "1002"},
		{"lead type", ListParams{LeadType: LeadTypePhoneCall}, profileKey(), "lead_type", "phone_call"},
		{"lead status", ListParams{LeadStatus: LeadStatusRepeat}, profileKey(), "lead_status", "repeat"},
		{"start date as its UTC date, as independent clients send it", ListParams{StartDate: start}, profileKey(), "start_date", "2026-11-01"},
		{"end date converted to UTC, date only", ListParams{EndDate: end}, profileKey(), "end_date", "2026-11-28"},
		{"order", ListParams{Order: OrderAsc}, profileKey(), "order", "asc"},
		{"quotable", ListParams{Quotable: QuotableNotSet}, profileKey(), "quotable", "not_set"},
		{"quote value", ListParams{QuoteValue: HasValue}, profileKey(), "quote_value", "has_value"},
		{"sales value", ListParams{SalesValue: NoValue}, profileKey(), "sales_value", "no_value"},
		{"phone number", ListParams{PhoneNumber: "+17045550100"}, profileKey(), "phone_number", "+17045550100"},
		{"email address", ListParams{EmailAddress: "pat@example.test"}, profileKey(), "email_address", "pat@example.test"},
		{"user id", ListParams{UserID: "1001-abc"}, profileKey(), "user_id", "1001-abc"},
		{"spam true", ListParams{Spam: &yes}, profileKey(), "spam", "true"},
		{"duplicate false", ListParams{Duplicate: &no}, profileKey(), "duplicate", "false"},
		{"lead source", ListParams{LeadSource: "google"}, profileKey(), "lead_source", "google"},
		{"lead medium", ListParams{LeadMedium: "cpc"}, profileKey(), "lead_medium", "cpc"},
		{"lead campaign", ListParams{LeadCampaign: "brand"}, profileKey(), "lead_campaign", "brand"},
		{"lead content", ListParams{LeadContent: "ad-1"}, profileKey(), "lead_content", "ad-1"},
		{"lead keyword", ListParams{LeadKeyword: "plumber"}, profileKey(), "lead_keyword", "plumber"},
		{"customer journey", ListParams{CustomerJourney: true}, profileKey(), "customer_journey", "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, emptyPage)
			if _, err := testClient(f).LeadsPage(context.Background(), tc.key, tc.p); err != nil {
				t.Fatal(err)
			}
			q := f.requests()[0].Query
			if got := q.Get(tc.param); got != tc.want {
				t.Fatalf("%s = %q, want %q (query %v)", tc.param, got, tc.want, q)
			}
		})
	}
}

func TestZeroFiltersAreNotSentAndProfileKeysSendNoScope(t *testing.T) {
	f := newFakeAPI(t, emptyPage)
	if _, err := testClient(f).LeadsPage(context.Background(), profileKey(), ListParams{AccountID: 2001, ProfileID: 1001}); err != nil {
		t.Fatal(err)
	}
	if q := f.requests()[0].Query; len(q) != 0 {
		t.Fatalf("query %v, want none: zero filters are not sent, a profile key is scoped already", q)
	}
}

func TestInvalidListParamsAreRefusedWithoutARequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     ListParams
		field string
	}{
		{"page too large", ListParams{LeadsPerPage: 2501}, "leads_per_page"},
		{"negative page", ListParams{PageNumber: -1}, "page_number"},
		{"unknown lead type", ListParams{LeadType: "Phone Call"}, "lead_type"},
		{"unknown status", ListParams{LeadStatus: "new"}, "lead_status"},
		{"unknown order", ListParams{Order: "newest"}, "order"},
		{"unknown quotable", ListParams{Quotable: "maybe"}, "quotable"},
		{"unknown value filter", ListParams{QuoteValue: "some"}, "quote_value"},
		{"end before start", ListParams{StartDate: time.Unix(1e9, 0), EndDate: time.Unix(1e9-1, 0)}, "end_date"},
		{"span over 400 days", ListParams{StartDate: time.Unix(0, 0), EndDate: time.Unix(0, 0).Add(401 * 24 * time.Hour)}, "end_date"},
		{"another profile", ListParams{ProfileID: 1002}, "profile_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, emptyPage)
			_, err := testClient(f).LeadsPage(context.Background(), profileKey(), tc.p)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindBadRequest || e.Field != tc.field {
				t.Fatalf("err = %v, want a bad request naming %s", err, tc.field)
			}
			if a := APIError(err); a.Code != "invalid_request" || a.Fields[0].Field != tc.field {
				t.Fatalf("APIError = %+v", a)
			}
			if f.count() != 0 {
				t.Fatal("an invalid request reached WhatConverts")
			}
		})
	}
}

func TestCreateIsFormEncodedWithBracketKeys(t *testing.T) {
	var got recorded
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		writeJSON(w, 200, leadJSON(9000123, 1002))
	})
	l, err := testClient(f).CreateLead(context.Background(), masterKey(1002), CreateParams{
		LeadType:         LeadTypeWebForm,
		Fields:           map[string]string{"email_address": "pat@example.test", "quote_value": "250", "quotable": "yes"},
		AdditionalFields: map[string]string{"Company Name": "Acme"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.LeadID != 9000123 {
		t.Fatalf("created lead id %d", l.LeadID)
	}
	got = f.requests()[0]
	if got.Method != http.MethodPost || got.Path != "/api/v1/leads" || got.ContentType != "application/x-www-form-urlencoded" {
		t.Fatalf("request %s %s (%s)", got.Method, got.Path, got.ContentType)
	}
	for k, want := range map[string]string{
		"lead_type": "web_form", "send_notification": "false", "profile_id": "1002",
		"email_address": "pat@example.test", "quote_value": "250", "quotable": "yes",
		"additional_fields[Company Name]": "Acme",
	} {
		if v := got.Form.Get(k); v != want {
			t.Errorf("form %s = %q, want %q", k, v, want)
		}
	}
	if got.User != masterTok || got.Pass != masterSec {
		t.Error("master key not sent as Basic auth")
	}
}

func TestInvalidCreateParamsAreRefusedWithoutARequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     CreateParams
		field string
	}{
		{"no lead type", CreateParams{}, "lead_type"},
		{"display lead type", CreateParams{LeadType: "Web Form"}, "lead_type"},
		{"not a create field", CreateParams{LeadType: LeadTypeChat, Fields: map[string]string{"first_name": "Pat"}}, "first_name"},
		{"lead type via fields", CreateParams{LeadType: LeadTypeChat, Fields: map[string]string{"lead_type": "chat"}}, "lead_type"},
		{"quote value not a number", CreateParams{LeadType: LeadTypeChat, Fields: map[string]string{"quote_value": "lots"}}, "quote_value"},
		{"quotable", CreateParams{LeadType: LeadTypeChat, Fields: map[string]string{"quotable": "Not Set"}}, "quotable"},
		{"date", CreateParams{LeadType: LeadTypeChat, Fields: map[string]string{"date_created": "yesterday"}}, "date_created"},
		{"bracket in a field name", CreateParams{LeadType: LeadTypeChat, AdditionalFields: map[string]string{"a]b": "x"}}, "additional_fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, emptyPage)
			_, err := testClient(f).CreateLead(context.Background(), profileKey(), tc.p)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindBadRequest || e.Field != tc.field {
				t.Fatalf("err = %v, want a bad request naming %s", err, tc.field)
			}
			if f.count() != 0 {
				t.Fatal("an invalid create reached WhatConverts")
			}
		})
	}
	if !IsCreateField("email_address") || IsCreateField("additional_fields") || IsCreateField("notes") {
		t.Error("IsCreateField disagrees with WhatConverts' create fields")
	}
}

func TestEditSendsOnlyTheEditableFields(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		writeJSON(w, 200, leadJSON(9000001, 1001))
	})
	qv, sv := 250.5, 0.0
	_, err := testClient(f).EditLead(context.Background(), profileKey(), 9000001, EditParams{
		Quotable: QuotableYes, QuoteValue: &qv, SalesValue: &sv, LeadURL: "https://example.test/contact",
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/api/v1/leads/9000001" {
		t.Fatalf("requests %+v, want one POST /leads/9000001", reqs)
	}
	want := map[string]string{"quotable": "yes", "quote_value": "250.5", "sales_value": "0", "lead_url": "https://example.test/contact"}
	if len(reqs[0].Form) != len(want) {
		t.Errorf("form %v, want exactly %v", reqs[0].Form, want)
	}
	for k, v := range want {
		if reqs[0].Form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, reqs[0].Form.Get(k), v)
		}
	}
	for _, bad := range []EditParams{{}, {Quotable: "Yes"}, {QuoteValue: new(-1.0)}} {
		if _, err := testClient(f).EditLead(context.Background(), profileKey(), 9000001, bad); KindOf(err) != KindBadRequest {
			t.Errorf("EditLead(%+v): err = %v, want a bad request", bad, err)
		}
	}
}
