package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// lead decodes a lead the way the client does, from WhatConverts JSON.
func lead(t testing.TB, fields string) whatconverts.Lead {
	t.Helper()
	var l whatconverts.Lead
	if err := json.Unmarshal([]byte(fields), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTallyCountsEachLeadIntoEveryBucket(t *testing.T) {
	tl := newTally(1001)
	for _, f := range []string{
		`{"lead_type":"Phone Call","lead_status":"Unique","quotable":"Yes","quote_value":100.1,"sales_value":"50.2","lead_source":"google","lead_medium":"cpc","spam":false,"duplicate":false}`,
		`{"lead_type":"Phone Call","lead_status":"Repeat","quotable":"No","quote_value":0.2,"sales_value":null,"lead_source":"google","lead_medium":"cpc","spam":true}`,
		`{"lead_type":"Web Form","lead_status":"Unique","quotable":"Pending","quote_value":"","lead_source":"(direct)","lead_medium":"(none)","duplicate":true}`,
		`{"lead_type":"Hologram","lead_status":"Weird","quotable":"Maybe","lead_source":null,"lead_medium":""}`,
		`{"lead_type":"","quotable":"Not Set"}`,
	} {
		tl.add(lead(t, f))
	}
	p := tl.finish(DefaultTopSources)
	want := Profile{
		ProfileID: 1001, LeadsTotal: 5,
		ByType:          map[string]int64{"Phone Call": 2, "Web Form": 1, LabelOther: 1, LabelNotSet: 1},
		ByStatus:        map[string]int64{"Unique": 2, "Repeat": 1, LabelOther: 1, LabelNotSet: 1},
		BySource:        map[string]int64{"google / cpc": 2, "(direct) / (none)": 1, "(not set) / (not set)": 2},
		Quotable:        map[string]int64{"Yes": 1, "No": 1, "Pending": 1, "Not Set": 2},
		QuoteValueTotal: 100.3, // summed in cents: 100.1 + 0.2 is not 100.30000000000001
		SalesValueTotal: 50.2,
		Spam:            1, Duplicates: 1,
	}
	if got, exp := mustJSON(t, p), mustJSON(t, want); got != exp {
		t.Fatalf("profile\n got %s\nwant %s", got, exp)
	}
}

func TestQuotableAlwaysHasTheFourStates(t *testing.T) {
	p := newTally(1).finish(DefaultTopSources)
	for _, k := range []string{"Yes", "No", "Pending", "Not Set"} {
		if v, ok := p.Quotable[k]; !ok || v != 0 {
			t.Errorf("quotable[%q] = %d, %t; want 0, present", k, v, ok)
		}
	}
	if p.BySource == nil || p.ByType == nil || p.ByStatus == nil {
		t.Fatal("an empty profile must encode {} maps, not null")
	}
}

func TestSourceLabelKeepsAttributionAndRedactsWhatCouldBePHI(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, tc := range []struct{ name, source, medium, want string }{
		{"a source and medium", "google", "cpc", "google / cpc"},
		{"analytics placeholders are values", "(direct)", "(none)", "(direct) / (none)"},
		{"empty parts are not set", " ", "", "(not set) / (not set)"},
		{"an email address", "patient0042@example.test", "email", "(redacted) / email"},
		{"a query string", "site.example/?name=x", "referral", "(redacted) / referral"},
		{"a phone number", "+15550100042", "sms", "(redacted) / sms"},
		{"a short number is fine", "partner 2024", "cpc", "partner 2024 / cpc"},
		{"control characters", "a\nb", "cpc", "(redacted) / cpc"},
		{"invalid UTF-8", "\xff", "cpc", "(redacted) / cpc"},
		{"a long label is cut", long, "cpc", strings.Repeat("x", maxLabelRunes) + " / cpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SourceLabel(tc.source, tc.medium); got != tc.want {
				t.Fatalf("SourceLabel(%q, %q) = %q, want %q", tc.source, tc.medium, got, tc.want)
			}
		})
	}
}

func TestBySourceNamesTheTopPairsAndSumsTheRest(t *testing.T) {
	tl := newTally(1)
	// source sN appears N times: s1 once ... s30 thirty times.
	for n := 1; n <= 30; n++ {
		for range n {
			tl.add(lead(t, fmt.Sprintf(`{"lead_source":"s%02d","lead_medium":"cpc"}`, n)))
		}
	}
	p := tl.finish(3)
	want := map[string]int64{"s30 / cpc": 30, "s29 / cpc": 29, "s28 / cpc": 28, LabelOther: 465 - 30 - 29 - 28}
	if got, exp := mustJSON(t, p.BySource), mustJSON(t, want); got != exp {
		t.Fatalf("by_source = %s, want %s", got, exp)
	}
	var sum int64
	for _, v := range p.BySource {
		sum += v
	}
	if sum != p.LeadsTotal {
		t.Fatalf("by_source sums to %d, leads_total is %d: nothing may be dropped", sum, p.LeadsTotal)
	}
}

func TestTopNBreaksTiesByName(t *testing.T) {
	got := topN(map[string]int64{"b / x": 2, "a / x": 2, "c / x": 2, LabelOther: 1}, 2)
	want := map[string]int64{"a / x": 2, "b / x": 2, LabelOther: 3}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Fatalf("topN = %v, want %v", got, want)
	}
}

func TestDistinctSourcesTrackedAreBounded(t *testing.T) {
	tl := newTally(1)
	for i := range maxTrackedSources + 500 {
		tl.add(lead(t, fmt.Sprintf(`{"lead_source":"src-%d","lead_medium":"m"}`, i)))
	}
	if len(tl.sources) > maxTrackedSources+1 {
		t.Fatalf("%d distinct sources held, at most %d (+ other)", len(tl.sources), maxTrackedSources)
	}
	if tl.sources[LabelOther] != 500 {
		t.Fatalf("(other) = %d, want the 500 pairs seen past the bound", tl.sources[LabelOther])
	}
}

func TestAuditTallyCountsByTheDocumentedRules(t *testing.T) {
	const crm, ops = "arn:aws:iam::123456789012:role/crm-sync", "arn:aws:iam::123456789012:role/ops"
	a := newAuditTally()
	for _, r := range []audit.Record{
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeOK, Trigger: audit.TriggerNewLead},
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeOK, Trigger: audit.TriggerNewLead},
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeOK, Action: audit.TriggerUpdatedLead},
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeDuplicate, Trigger: audit.TriggerNewLead},
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeRejected},
		{Kind: audit.KindWebhook, Outcome: audit.OutcomeFailed, Trigger: audit.TriggerUpdatedLead},
		{Kind: audit.KindAction, Action: ActionGetLead, Outcome: audit.OutcomeOK, Actor: crm},
		{Kind: audit.KindAction, Action: ActionGetLead, Outcome: audit.OutcomeFailed, Actor: crm},
		{Kind: audit.KindAction, Action: ActionGetLeads, Outcome: audit.OutcomeOK, Actor: ops},
		{Kind: audit.KindAction, Action: ActionUpdateLead, Outcome: audit.OutcomeRejected, Actor: ops},
		{Kind: audit.KindAction, Action: ActionCreateLead, Outcome: audit.OutcomeOK, Actor: crm},
		{Kind: audit.KindAction, Action: "something-new", Outcome: audit.OutcomeOK, Actor: crm},
		{Kind: audit.KindPHIRead, Action: ActionTriggerSamples, Outcome: audit.OutcomeOK, Actor: crm},
		{Kind: audit.KindPHIRead, Action: ActionTriggerSamples, Outcome: audit.OutcomeRejected, Actor: ops},
		{Kind: audit.KindReport, Action: ActionDailyReport, Outcome: audit.OutcomeOK, Actor: "arn:aws:scheduler:x"},
		{Kind: audit.KindReport, Action: ActionGetReport, Outcome: audit.OutcomeOK, Actor: ops},
	} {
		a.add(r)
	}
	want := AuditSummary{
		Webhooks: Webhooks{NewLead: 2, UpdatedLead: 1, Duplicates: 1, Rejected: 2},
		Actions: map[string]Outcomes{
			ActionGetLeads: {OK: 1}, ActionGetLead: {OK: 1, Failed: 1},
			ActionCreateLead: {OK: 1}, ActionUpdateLead: {Failed: 1},
		},
		PHIReads: map[string]int64{crm: 3, ops: 1},
	}
	if got, exp := mustJSON(t, a.s), mustJSON(t, want); got != exp {
		t.Fatalf("summary\n got %s\nwant %s", got, exp)
	}
	if a.records != 16 {
		t.Fatalf("records = %d, want every record counted (16)", a.records)
	}
}

func TestReportJSONHasTheContractShape(t *testing.T) {
	r := Report{
		Date: "2026-11-28", GeneratedAt: "2026-11-29T00:15:00Z",
		Profiles: []Profile{newTally(1001).finish(DefaultTopSources)},
		Audit:    newAuditTally().s,
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, r)), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"date", "generated_at", "profiles", "audit", "integrity", "whatconverts"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report has no %q", k)
		}
	}
	p := m["profiles"].([]any)[0].(map[string]any)
	for _, k := range []string{"profile_id", "leads_total", "by_type", "by_status", "by_source", "quotable",
		"quote_value_total", "sales_value_total", "spam", "duplicates"} {
		if _, ok := p[k]; !ok {
			t.Errorf("profile has no %q", k)
		}
	}
	if _, ok := p["partial"]; ok {
		t.Error("a complete profile carries no partial key")
	}
	wh := m["audit"].(map[string]any)["webhooks"].(map[string]any)
	for _, k := range []string{"new-lead", "updated-lead", "duplicates", "rejected"} {
		if _, ok := wh[k]; !ok {
			t.Errorf("webhooks has no %q", k)
		}
	}
	in := m["integrity"].(map[string]any)
	for _, k := range []string{"records", "digest", "previous_digest", "verified"} {
		if _, ok := in[k]; !ok {
			t.Errorf("integrity has no %q", k)
		}
	}
	if _, ok := m["whatconverts"].(map[string]any)["requests"]; !ok {
		t.Error("whatconverts has no requests")
	}
}

func TestEncodeShrinksSourcesToFitOneItem(t *testing.T) {
	bigProfiles := func(n int) Report {
		r := Report{Date: "2026-11-28"}
		for i := range n {
			tl := newTally(int64(1000 + i))
			for s := range 25 {
				tl.sources[fmt.Sprintf("%s-%02d / %s", strings.Repeat("s", 60), s, strings.Repeat("m", 60))] = int64(s + 1)
			}
			r.Profiles = append(r.Profiles, tl.finish(DefaultTopSources))
		}
		return r
	}
	t.Run("a report that fits is stored as it is", func(t *testing.T) {
		r := bigProfiles(3)
		body, err := encode(r)
		if err != nil || string(body) != mustJSON(t, r) {
			t.Fatalf("encode changed a small report (err %v)", err)
		}
	})
	t.Run("a large report names fewer sources and loses no count", func(t *testing.T) {
		r := bigProfiles(200)
		if len(mustJSON(t, r)) <= MaxBodyBytes {
			t.Fatal("the test report must start over the limit")
		}
		body, err := encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > MaxBodyBytes {
			t.Fatalf("%d bytes, over %d", len(body), MaxBodyBytes)
		}
		var back Report
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatal(err)
		}
		for _, p := range back.Profiles {
			var sum int64
			for _, v := range p.BySource {
				sum += v
			}
			if sum != 25*26/2 || len(p.BySource) > 11 {
				t.Fatalf("profile %d: by_source sums to %d over %d keys", p.ProfileID, sum, len(p.BySource))
			}
		}
	})
	t.Run("a report too large even without sources is refused", func(t *testing.T) {
		if _, err := encode(bigProfiles(2000)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}

func TestResolveInvocation(t *testing.T) {
	now := time.Date(2026, 11, 29, 0, 15, 3, 0, time.UTC)
	const sched = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/wcbridge-daily"
	for _, tc := range []struct {
		name, payload string
		want          Target
		field         string // the field the error names; "" when valid
	}{
		{"no payload: yesterday", ``, Target{Date: "2026-11-28"}, ""},
		{"null: yesterday", `null`, Target{Date: "2026-11-28"}, ""},
		{"empty object: yesterday", `{}`, Target{Date: "2026-11-28"}, ""},
		{"the schedule's payload: the day before the scheduled time",
			`{"schedule_arn":"` + sched + `","scheduled_time":"2026-11-27T00:15:00Z","execution_id":"x","attempt":"2"}`,
			Target{Date: "2026-11-26", Actor: sched}, ""},
		{"an EventBridge rule's scheduled event",
			`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","time":"2026-11-29T00:15:00Z","resources":["arn:aws:events:us-east-1:123456789012:rule/daily"],"detail":{}}`,
			Target{Date: "2026-11-28", Actor: "arn:aws:events:us-east-1:123456789012:rule/daily"}, ""},
		{"a date", `{"date":"2026-11-20"}`, Target{Date: "2026-11-20"}, ""},
		{"today is allowed", `{"date":"2026-11-29"}`, Target{Date: "2026-11-29"}, ""},
		{"a leap day", `{"date":"2024-02-29"}`, Target{Date: "2024-02-29"}, ""},
		{"a date wins over the schedule's time", `{"date":"2026-11-01","scheduled_time":"2026-11-27T00:15:00Z"}`, Target{Date: "2026-11-01"}, ""},
		{"a schedule ARN that is not an ARN is not the actor", `{"schedule_arn":"Synthetic Patient 0042"}`, Target{Date: "2026-11-28"}, ""},
		{"tomorrow", `{"date":"2026-11-30"}`, Target{}, "date"},
		{"not a calendar day", `{"date":"2026-02-30"}`, Target{}, "date"},
		{"not a leap year", `{"date":"2025-02-29"}`, Target{}, "date"},
		{"another format", `{"date":"28/11/2026"}`, Target{}, "date"},
		{"single digits", `{"date":"2026-1-2"}`, Target{}, "date"},
		{"a time", `{"date":"2026-11-28T00:00:00Z"}`, Target{}, "date"},
		{"empty", `{"date":""}`, Target{}, "date"},
		{"a number", `{"date":20261128}`, Target{}, "date"},
		{"null date", `{"date":null}`, Target{Date: "2026-11-28"}, ""},
		{"a bad scheduled time", `{"scheduled_time":"yesterday"}`, Target{}, "scheduled_time"},
		{"not an object", `"2026-11-28"`, Target{}, "payload"},
		{"not JSON", `{date: 2026-11-28}`, Target{}, "payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveInvocation([]byte(tc.payload), now)
			if tc.field == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			e := apierr.From(err)
			if e.Code != apierr.InvalidRequest || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Fatalf("err = %v, want invalid_request naming %q", err, tc.field)
			}
			if strings.Contains(err.Error(), "28/11") || strings.Contains(err.Error(), "20261128") {
				t.Fatalf("the error quotes the value: %v", err)
			}
		})
	}
}

func TestPartialReasonIsAFixedCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&whatconverts.NoCredentialsError{ProfileID: 7}, ReasonNoCredentials},
		{&whatconverts.Error{Kind: whatconverts.KindBudgetExhausted}, ReasonBudgetExhausted},
		{&whatconverts.Error{Kind: whatconverts.KindRateLimited}, ReasonRateLimited},
		{&whatconverts.Error{Kind: whatconverts.KindTimeout}, ReasonUpstreamTimeout},
		{&whatconverts.Error{Kind: whatconverts.KindCanceled}, ReasonUpstreamTimeout},
		{&whatconverts.Error{Kind: whatconverts.KindServer, Status: 503}, ReasonUpstreamError},
		{&whatconverts.Error{Kind: whatconverts.KindUnauthorized, Status: 401}, ReasonUpstreamError},
		{&whatconverts.Error{Kind: whatconverts.KindDecode}, ReasonUpstreamError},
		{errors.New("budget: spend: throttled"), ReasonInternalError},
	} {
		if got := partialReason(tc.err); got != tc.want {
			t.Errorf("partialReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The summary counts records by the names their writers give them: keep the two lists in step.
func TestActionNamesAreTheWritersNames(t *testing.T) {
	for _, tc := range []struct{ ours, writers string }{
		{ActionGetLeads, actions.ActionGetLeads},
		{ActionGetLead, actions.ActionGetLead},
		{ActionCreateLead, actions.ActionCreateLead},
		{ActionUpdateLead, actions.ActionUpdateLead},
		{ActionTriggerSamples, webhook.ActionTriggerSamples},
		{UnauthenticatedActor, actions.UnauthenticatedActor},
	} {
		if tc.ours != tc.writers {
			t.Errorf("report counts %q, the writer records %q", tc.ours, tc.writers)
		}
	}
}
