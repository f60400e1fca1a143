package wcsim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

func text(l map[string]any, k string) string {
	s, _ := l[k].(string)
	return s
}

func TestListFiltersSelectExactlyTheMatchingLeads(t *testing.T) {
	s, srv := seeded(t)
	// Leads whose contact fields differ from the lead fields, and two on a date-time boundary.
	contactOnly := s.AddLead(1001, map[string]any{
		"lead_type": "Web Form", "date_created": "2026-11-26T06:00:00Z",
		"email_address": "", "contact_email_address": "Contact.Only0777@Example.test",
		"phone_number": "", "contact_phone_number": "+15550100777",
	})
	s.AddLead(1002, map[string]any{"lead_type": "Chat", "date_created": "2026-11-27T18:30:00Z"})
	s.AddLead(1002, map[string]any{"lead_type": "Chat", "date_created": "2026-11-27T18:30:01Z"})

	base := all(t, srv, wcsim.MasterKey2001, "")
	var phone, email, user string
	for _, l := range base {
		if phone == "" && text(l, "phone_number") != "" {
			phone = text(l, "phone_number")
		}
		if email == "" && text(l, "email_address") != "" {
			email = text(l, "email_address")
		}
		if user == "" && text(l, "lead_status") == "Repeat" {
			user = text(l, "user_id")
		}
	}
	created := func(l map[string]any) time.Time { return createdAt(t, l) }
	at := func(v string) time.Time { ts, _ := time.Parse(time.RFC3339, v); return ts }
	eq := func(k, v string) func(map[string]any) bool {
		return func(l map[string]any) bool { return text(l, k) == v }
	}
	eqFold := func(k, v string) func(map[string]any) bool {
		return func(l map[string]any) bool { return strings.EqualFold(text(l, k), v) }
	}
	is := func(k string, v any) func(map[string]any) bool {
		return func(l map[string]any) bool { return l[k] == v }
	}

	cases := []struct {
		query string
		want  func(map[string]any) bool
	}{
		{"lead_status=unique", eq("lead_status", "Unique")},
		{"lead_status=repeat", eq("lead_status", "Repeat")},
		{"quotable=yes", eq("quotable", "Yes")},
		{"quotable=no", eq("quotable", "No")},
		{"quotable=pending", eq("quotable", "Pending")},
		{"quotable=not_set", eq("quotable", "Not Set")},
		{"quote_value=has_value", func(l map[string]any) bool { return l["quote_value"] != nil }},
		{"quote_value=no_value", is("quote_value", nil)},
		{"sales_value=has_value", func(l map[string]any) bool { return l["sales_value"] != nil }},
		{"sales_value=no_value", is("sales_value", nil)},
		{"phone_number=" + url.QueryEscape(phone), func(l map[string]any) bool {
			return text(l, "phone_number") == phone || text(l, "contact_phone_number") == phone
		}},
		{"phone_number=%2B15550100777", func(l map[string]any) bool { return leadID(t, l) == contactOnly }},
		{"email_address=" + url.QueryEscape(strings.ToUpper(email)), func(l map[string]any) bool {
			return strings.EqualFold(text(l, "email_address"), email) || strings.EqualFold(text(l, "contact_email_address"), email)
		}},
		{"email_address=contact.only0777%40example.test", func(l map[string]any) bool { return leadID(t, l) == contactOnly }},
		{"user_id=" + user, eq("user_id", user)},
		{"spam=true", is("spam", true)},
		{"spam=false", is("spam", false)},
		{"duplicate=true", is("duplicate", true)},
		{"duplicate=false", is("duplicate", false)},
		{"lead_source=GOOGLE", eqFold("lead_source", "google")},
		{"lead_medium=cpc", eqFold("lead_medium", "cpc")},
		{"lead_source=%28direct%29&lead_medium=%28none%29", func(l map[string]any) bool {
			return text(l, "lead_source") == "(direct)" && text(l, "lead_medium") == "(none)"
		}},
		{"lead_campaign=brand+-+synthetic", eqFold("lead_campaign", "Brand - Synthetic")},
		{"lead_content=Ad+A", eqFold("lead_content", "Ad A")},
		{"lead_keyword=synthetic+clinic+near+me", eqFold("lead_keyword", "synthetic clinic near me")},
		{"start_date=2026-11-27", func(l map[string]any) bool { return !created(l).Before(at("2026-11-27T00:00:00Z")) }},
		{"end_date=2026-11-26", func(l map[string]any) bool { return created(l).Before(at("2026-11-27T00:00:00Z")) }},
		{"start_date=2026-11-26&end_date=2026-11-26", func(l map[string]any) bool {
			return created(l).Format(time.DateOnly) == "2026-11-26"
		}},
		{"start_date=2026-11-26T06:00:00Z&end_date=2026-11-27T18:30:00Z", func(l map[string]any) bool {
			c := created(l)
			return !c.Before(at("2026-11-26T06:00:00Z")) && !c.After(at("2026-11-27T18:30:00Z"))
		}},
		{"start_date=2026-11-26T07:00:00%2B01:00", func(l map[string]any) bool { return !created(l).Before(at("2026-11-26T06:00:00Z")) }},
		{"profile_id=1001", is("profile_id", float64(1001))},
		{"lead_type=phone_call&quotable=yes&order=asc", func(l map[string]any) bool {
			return text(l, "lead_type") == "Phone Call" && text(l, "quotable") == "Yes"
		}},
	}
	for request, display := range map[string]string{
		"appointment": "Appointment", "chat": "Chat", "email": "Email", "event": "Event", "other": "Other",
		"phone_call": "Phone Call", "text_message": "Text Message", "transaction": "Transaction", "web_form": "Web Form",
	} {
		cases = append(cases, struct {
			query string
			want  func(map[string]any) bool
		}{"lead_type=" + request, eq("lead_type", display)})
	}

	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var want []int64
			for _, l := range base {
				if tc.want(l) {
					want = append(want, leadID(t, l))
				}
			}
			if len(want) == 0 || len(want) == len(base) {
				t.Fatalf("the seeded data gives this filter nothing to tell apart (%d of %d leads match)", len(want), len(base))
			}
			got := ids(t, all(t, srv, wcsim.MasterKey2001, tc.query))
			if strings.Contains(tc.query, "order=asc") {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d leads %v\nwant %d leads %v", len(got), got, len(want), want)
			}
		})
	}
}

func TestListIsOrderedByDateCreated(t *testing.T) {
	s, srv := seeded(t)
	// Two leads of the same second: ties go by lead_id, in the same direction.
	a := s.AddLead(1001, map[string]any{"lead_type": "Chat", "date_created": "2026-11-27T09:00:00Z"})
	b := s.AddLead(1001, map[string]any{"lead_type": "Chat", "date_created": "2026-11-27T09:00:00Z"})

	desc := all(t, srv, wcsim.ProfileKey1001, "")
	for i := 1; i < len(desc); i++ {
		if createdAt(t, desc[i]).After(createdAt(t, desc[i-1])) {
			t.Fatalf("default order is not newest first at %d: %v after %v", i, desc[i]["date_created"], desc[i-1]["date_created"])
		}
	}
	if explicit := ids(t, all(t, srv, wcsim.ProfileKey1001, "order=desc")); !slices.Equal(explicit, ids(t, desc)) {
		t.Error("order=desc differs from the default order")
	}
	asc := ids(t, all(t, srv, wcsim.ProfileKey1001, "order=asc"))
	want := ids(t, desc)
	slices.Reverse(want)
	if !slices.Equal(asc, want) {
		t.Errorf("order=asc is not the reverse of desc:\n%v\n%v", asc, want)
	}
	ia, ib := slices.Index(asc, a), slices.Index(asc, b)
	if ia < 0 || ib != ia+1 {
		t.Errorf("same-second leads %d and %d are at %d and %d ascending, want adjacent by id", a, b, ia, ib)
	}
}

func TestListPaginationEnvelopeAcrossPages(t *testing.T) {
	_, srv := seeded(t)
	k := wcsim.ProfileKey1001

	def := get(t, srv, k, "/api/v1/leads").envelope(t)
	if *def.PageNumber != 1 || *def.LeadsPerPage != 25 || *def.TotalPages != 3 || *def.TotalLeads != 60 || len(def.Leads) != 25 {
		t.Errorf("default page: page %d, per page %d, pages %d, total %d, %d leads; want 1, 25, 3, 60, 25",
			*def.PageNumber, *def.LeadsPerPage, *def.TotalPages, *def.TotalLeads, len(def.Leads))
	}

	everything := ids(t, all(t, srv, k, ""))
	var walked []int64
	for page := 1; ; page++ {
		e := get(t, srv, k, "/api/v1/leads?leads_per_page=7&page_number="+itoa(int64(page))).envelope(t)
		if *e.PageNumber != page || *e.LeadsPerPage != 7 || *e.TotalPages != 9 || *e.TotalLeads != 60 {
			t.Fatalf("page %d envelope: page %d, per page %d, pages %d, total %d; want %d, 7, 9, 60",
				page, *e.PageNumber, *e.LeadsPerPage, *e.TotalPages, *e.TotalLeads, page)
		}
		wantLen := 7
		if page == 9 {
			wantLen = 4
		}
		if len(e.Leads) != wantLen {
			t.Fatalf("page %d has %d leads, want %d", page, len(e.Leads), wantLen)
		}
		walked = append(walked, ids(t, e.Leads)...)
		if *e.PageNumber >= *e.TotalPages { // the documented client loop
			break
		}
	}
	if !slices.Equal(walked, everything) {
		t.Errorf("walking the pages gave %v\nwant %v", walked, everything)
	}

	past := get(t, srv, k, "/api/v1/leads?leads_per_page=7&page_number=10").envelope(t)
	if *past.PageNumber != 10 || *past.TotalLeads != 60 || len(past.Leads) != 0 {
		t.Errorf("a page past the last: page %d, total %d, %d leads; want 10, 60, 0", *past.PageNumber, *past.TotalLeads, len(past.Leads))
	}
	none := get(t, srv, k, "/api/v1/leads?lead_type=event&start_date=2020-01-01&end_date=2020-01-02").envelope(t)
	if *none.TotalLeads != 0 || *none.TotalPages != 0 || len(none.Leads) != 0 {
		t.Errorf("no match: total %d, pages %d, %d leads; want 0, 0, 0", *none.TotalLeads, *none.TotalPages, len(none.Leads))
	}
}

func TestLeadsPerPageLimits(t *testing.T) {
	s, srv := seeded(t)
	s.AddLeads(1001, 2600-wcsim.SeededLeadsPerProfile)
	k := wcsim.ProfileKey1001

	max := get(t, srv, k, "/api/v1/leads?leads_per_page=2500").envelope(t)
	if *max.LeadsPerPage != 2500 || len(max.Leads) != 2500 || *max.TotalLeads != 2600 || *max.TotalPages != 2 {
		t.Errorf("leads_per_page=2500: per page %d, %d leads, total %d, pages %d; want 2500, 2500, 2600, 2",
			*max.LeadsPerPage, len(max.Leads), *max.TotalLeads, *max.TotalPages)
	}
	if one := get(t, srv, k, "/api/v1/leads?leads_per_page=1").envelope(t); len(one.Leads) != 1 || *one.TotalPages != 2600 {
		t.Errorf("leads_per_page=1: %d leads, %d pages; want 1, 2600", len(one.Leads), *one.TotalPages)
	}
	for _, v := range []string{"2501", "10000", "0", "-1", "abc", "1.5"} {
		t.Run("leads_per_page="+v, func(t *testing.T) {
			r := get(t, srv, k, "/api/v1/leads?leads_per_page="+v)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, "2500") {
				t.Errorf("message %q does not give the limit", msg)
			}
		})
	}
}

func TestListRejectsInvalidParametersWith400(t *testing.T) {
	_, srv := seeded(t)
	for _, q := range []string{
		"page_number=0", "page_number=x",
		"lead_type=Phone+Call", "lead_type=phone", "lead_status=new", "lead_status=Unique",
		"order=newest", "quotable=maybe", "quotable=Not+Set", "quote_value=yes", "sales_value=1",
		"spam=yes", "duplicate=1", "customer_journey=maybe",
		"start_date=28%2F11%2F2026", "end_date=2026-13-01", "start_date=2026-11-28+10:00:00",
		"start_date=2026-11-28&end_date=2026-11-27",
		"start_date=2025-01-01&end_date=2026-02-06", // 401 days
		"profile_id=abc", "account_id=abc",
	} {
		t.Run(q, func(t *testing.T) {
			r := get(t, srv, wcsim.MasterKey2001, "/api/v1/leads?"+q)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			msg := r.errorMessage(t)
			for _, vals := range must(url.ParseQuery(q)) {
				if v := vals[0]; len(v) > 3 && strings.Contains(msg, v) {
					t.Errorf("message %q echoes the value %q", msg, v)
				}
			}
		})
	}
	t.Run("a span of exactly 400 days is accepted", func(t *testing.T) {
		get(t, srv, wcsim.MasterKey2001, "/api/v1/leads?start_date=2025-01-01&end_date=2026-02-05").envelope(t)
	})
}

func TestListIgnoresUnknownAndEmptyParameters(t *testing.T) {
	_, srv := seeded(t)
	plain := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads")
	for _, q := range []string{
		"page=3&per_page=1&from_date=2020-01-01&to_date=2020-01-02&search=x&lead_id=1&updated_since=2026-01-01",
		"lead_type=&spam=&start_date=&order=",
	} {
		if r := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads?"+q); r.status != http.StatusOK || string(r.body) != string(plain.body) {
			t.Errorf("%s changed the answer (%d)", q, r.status)
		}
	}
	if a, b := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads?lead_type=chat&lead_type=web_form"), get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads?lead_type=chat"); string(a.body) != string(b.body) {
		t.Error("a repeated parameter does not count by its first value")
	}
}

func TestGetLeadAnswersTheEnvelopeWithOneLead(t *testing.T) {
	s, srv := seeded(t)
	id := s.LeadIDs(1001)[10]
	e := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+itoa(id)).envelope(t)
	if *e.PageNumber != 1 || *e.LeadsPerPage != 1 || *e.TotalPages != 1 || *e.TotalLeads != 1 || len(e.Leads) != 1 {
		t.Fatalf("envelope %d/%d/%d/%d with %d leads, want 1/1/1/1 with 1", *e.PageNumber, *e.LeadsPerPage, *e.TotalPages, *e.TotalLeads, len(e.Leads))
	}
	want, _ := s.Lead(id)
	if !equalJSON(e.Leads[0], want) {
		t.Errorf("GET /leads/%d differs from Lead(%d)", id, id)
	}
	if _, ok := e.Leads[0]["customer_journey"]; ok {
		t.Error("customer_journey present without customer_journey=true")
	}
	cj := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+itoa(id)+"/?customer_journey=true").envelope(t)
	if j, ok := cj.Leads[0]["customer_journey"].([]any); !ok || len(j) != 0 {
		t.Errorf("customer_journey=true: customer_journey is %v, want []", cj.Leads[0]["customer_journey"])
	}

	t.Run("unknown, malformed and foreign ids are answered alike", func(t *testing.T) {
		foreign := itoa(s.LeadIDs(1002)[0])
		for _, status := range []int{http.StatusBadRequest, http.StatusNotFound} {
			s.SetUnknownLeadStatus(status)
			var first response
			for i, path := range []string{"99999999", "0", "-5", "abc", foreign} {
				r := get(t, srv, wcsim.ProfileKey1001, "/api/v1/leads/"+path)
				if r.status != status {
					t.Errorf("lead %s: status %d, want %d", path, r.status, status)
				}
				r.errorMessage(t)
				if i == 0 {
					first = r
				} else if string(r.body) != string(first.body) {
					t.Errorf("lead %s answers %s, lead 99999999 %s", path, r.body, first.body)
				}
			}
			want := map[int]string{400: `{"error_message":"Invalid lead ID."}`, 404: `{"error_message":"Lead not found."}`}[status]
			if string(first.body) != want {
				t.Errorf("unknown lead body %s, want %s", first.body, want)
			}
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
