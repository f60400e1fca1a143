package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

var (
	reportDay = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	runAt     = time.Date(2026, 11, 29, 0, 15, 0, 0, time.UTC)
)

const functionARN = "arn:aws:lambda:us-east-1:123456789012:function:wcbridge-DailyReportFunction-X"

func testCredentials() whatconverts.Credentials {
	return whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{
		1001: {Token: "t1001", Secret: "s"}, 1002: {Token: "t1002", Secret: "s"},
	}}
}

// pagesOf yields the given pages, then err if not nil.
func pagesOf(err error, pages ...[]whatconverts.Lead) iter.Seq2[*whatconverts.Page, error] {
	return func(yield func(*whatconverts.Page, error) bool) {
		for i, leads := range pages {
			if !yield(&whatconverts.Page{PageNumber: i + 1, TotalPages: len(pages), Leads: leads}, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

func leadsAt(t *testing.T, n int, at time.Time, typ string) []whatconverts.Lead {
	out := make([]whatconverts.Lead, n)
	for i := range out {
		out[i] = lead(t, fmt.Sprintf(`{"lead_id":%d,"lead_type":%q,"lead_status":"Unique","quotable":"Yes","quote_value":10.5,"date_created":%q,"lead_source":"google","lead_medium":"cpc"}`,
			9000000+i, typ, at.Format(time.RFC3339)))
	}
	return out
}

// memoryStore is a report store over a fake table that keeps the last item put.
func memoryStore(put *map[string]types.AttributeValue, fail error) *Store {
	return NewStore(&fakeDB{PutItemFn: func(_ context.Context, in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		if fail != nil {
			return nil, fail
		}
		*put = in.Item
		return &dynamodb.PutItemOutput{}, nil
	}}, "t")
}

func storedReport(t testing.TB, item map[string]types.AttributeValue) Report {
	t.Helper()
	body, ok := item[attrBody].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatal("no report was stored")
	}
	var r Report
	if err := json.Unmarshal([]byte(body.Value), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAProfileThatFailsMidwayIsPartialAndTheOthersGoOn(t *testing.T) {
	upstream := &whatconverts.Error{Kind: whatconverts.KindServer, Op: "list leads", Status: 503, Attempts: 4}
	var seen []whatconverts.ListParams
	wc := &fakeLeads{PagesFn: func(_ context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
		seen = append(seen, p)
		if k.ProfileID == 1001 {
			return pagesOf(upstream, leadsAt(t, 3, reportDay.Add(time.Hour), "Phone Call"))
		}
		return pagesOf(nil, leadsAt(t, 2, reportDay.Add(2*time.Hour), "Web Form"), leadsAt(t, 1, reportDay.Add(23*time.Hour+59*time.Minute+59*time.Second), "Chat"))
	}}
	var item map[string]types.AttributeValue
	var logs testenv.Logs
	d := &Daily{Audit: &fakeAudit{}, Reports: memoryStore(&item, nil), WhatConverts: wc, Credentials: testCredentials(),
		Profiles: []int64{1001, 1002, 1001}, Now: func() time.Time { return runAt }, Log: logs.Logger()}
	res, err := d.Run(context.Background(), "2026-11-28", Caller{Actor: functionARN})
	if err != nil {
		t.Fatal(err)
	}
	r := storedReport(t, item)
	if len(r.Profiles) != 2 {
		t.Fatalf("%d profiles, want 2 (a profile listed twice is read once)", len(r.Profiles))
	}
	p1, p2 := r.Profiles[0], r.Profiles[1]
	if !p1.Partial || p1.PartialReason != ReasonUpstreamError || p1.LeadsTotal != 3 {
		t.Fatalf("profile 1001 = %+v, want partial upstream_error with the 3 leads read", p1)
	}
	if p2.Partial || p2.LeadsTotal != 3 || p2.ByType["Web Form"] != 2 || p2.ByType["Chat"] != 1 {
		t.Fatalf("profile 1002 = %+v, want complete with 3 leads", p2)
	}
	if r.WhatConverts.Requests != 4 || res.WhatConvertsRequests != 4 {
		t.Fatalf("requests = %d (result %d), want 4 (2 + 2 pages)", r.WhatConverts.Requests, res.WhatConvertsRequests)
	}
	if len(res.PartialProfiles) != 1 || res.PartialProfiles[0] != 1001 {
		t.Fatalf("result partial profiles %v", res.PartialProfiles)
	}
	// The day with a day's margin on each side (sent as dates only).
	want := whatconverts.ListParams{LeadsPerPage: 2500, StartDate: reportDay.Add(-24 * time.Hour),
		EndDate: reportDay.Add(24 * time.Hour), Order: whatconverts.OrderAsc}
	for _, p := range seen {
		if p != want {
			t.Fatalf("list params %+v, want %+v", p, want)
		}
	}
	if !strings.Contains(logs.String(), `"partial_reason":"upstream_error"`) {
		t.Fatalf("the partial profile is not logged with its reason: %s", logs.String())
	}
}

func TestLeadsOutsideTheDayAreNotCounted(t *testing.T) {
	wc := &fakeLeads{PagesFn: func(context.Context, whatconverts.KeyFor, whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
		page := append(leadsAt(t, 2, reportDay, "Phone Call"), leadsAt(t, 1, reportDay.Add(24*time.Hour), "Phone Call")...)
		page = append(page, leadsAt(t, 1, reportDay.Add(-time.Second), "Phone Call")...)
		return pagesOf(nil, page)
	}}
	var item map[string]types.AttributeValue
	d := &Daily{Audit: &fakeAudit{}, Reports: memoryStore(&item, nil), WhatConverts: wc, Credentials: testCredentials(),
		Profiles: []int64{1001}, Now: func() time.Time { return runAt }}
	if _, err := d.Run(context.Background(), "2026-11-28", Caller{}); err != nil {
		t.Fatal(err)
	}
	if p := storedReport(t, item).Profiles[0]; p.LeadsTotal != 2 || p.QuoteValueTotal != 21 {
		t.Fatalf("profile %+v, want the 2 leads of the day", p)
	}
}

func TestAProfileWithoutCredentialsIsPartialWithoutARequest(t *testing.T) {
	wc := &fakeLeads{PagesFn: func(context.Context, whatconverts.KeyFor, whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
		return pagesOf(nil, leadsAt(t, 1, reportDay, "Email"))
	}}
	var item map[string]types.AttributeValue
	d := &Daily{Audit: &fakeAudit{}, Reports: memoryStore(&item, nil), WhatConverts: wc, Credentials: testCredentials(),
		Profiles: []int64{4242, 1001}, Now: func() time.Time { return runAt }}
	if _, err := d.Run(context.Background(), "2026-11-28", Caller{}); err != nil {
		t.Fatal(err)
	}
	r := storedReport(t, item)
	if p := r.Profiles[0]; !p.Partial || p.PartialReason != ReasonNoCredentials || p.LeadsTotal != 0 {
		t.Fatalf("profile 4242 = %+v", p)
	}
	if r.Profiles[1].Partial || r.WhatConverts.Requests != 1 {
		t.Fatalf("profile 1001 = %+v, requests %d", r.Profiles[1], r.WhatConverts.Requests)
	}
}

func TestWhatConvertsGetsTheRunsTimeMinusTheReserve(t *testing.T) {
	var got time.Time
	wc := &fakeLeads{PagesFn: func(ctx context.Context, _ whatconverts.KeyFor, _ whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
		got, _ = ctx.Deadline()
		return pagesOf(nil)
	}}
	var item map[string]types.AttributeValue
	d := &Daily{Audit: &fakeAudit{}, Reports: memoryStore(&item, nil), WhatConverts: wc, Credentials: testCredentials(),
		Profiles: []int64{1001}, UpstreamReserve: time.Minute, Now: func() time.Time { return runAt }}
	deadline := time.Now().Add(10 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := d.Run(ctx, "2026-11-28", Caller{}); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(deadline.Add(-time.Minute)) {
		t.Fatalf("WhatConverts deadline %v, want the run's deadline minus a minute (%v)", got, deadline.Add(-time.Minute))
	}
}

func TestIntegrity(t *testing.T) {
	day := func(p int) audit.RangeReport {
		return audit.RangeReport{Periods: 24, Digested: p, Head: "2026-11-28T23"}
	}
	for _, tc := range []struct {
		name     string
		verify   audit.RangeReport
		findings []audit.Finding
		want     Integrity
	}{
		{
			name:   "24 digested periods without findings are verified",
			verify: audit.RangeReport{Periods: 24, Digested: 24, Records: 7, HeadDigest: "sha256:aa", ChainedFrom: "sha256:bb"},
			want:   Integrity{Records: 7, Digest: "sha256:aa", PreviousDigest: "sha256:bb", Verified: true, PeriodsVerified: 24},
		},
		{
			name:   "the chain's first day is verified from its genesis",
			verify: audit.RangeReport{Periods: 24, Digested: 24, HeadDigest: "sha256:aa"},
			want:   Integrity{Digest: "sha256:aa", Verified: true, PeriodsVerified: 24},
		},
		{
			name:   "a period not digested yet is said so, not failed",
			verify: audit.RangeReport{Periods: 24, Digested: 23, Pending: 1, Records: 3, HeadDigest: "sha256:aa"},
			want:   Integrity{Records: 3, Digest: "sha256:aa", PeriodsVerified: 23, PeriodsPending: 1, UnverifiedReason: IntegrityPending},
		},
		{
			name:   "hours before the chain started are not verified",
			verify: audit.RangeReport{Periods: 24, Digested: 10, BeforeChain: 14, HeadDigest: "sha256:aa"},
			want:   Integrity{Digest: "sha256:aa", PeriodsVerified: 10, PeriodsBeforeChain: 14, UnverifiedReason: IntegrityBeforeChain},
		},
		{
			name: "findings are counted by kind",
			verify: func() audit.RangeReport {
				r := day(24)
				r.Findings, r.Records, r.HeadDigest = 4, 3, "sha256:aa"
				return r
			}(),
			findings: []audit.Finding{
				{Kind: audit.FindingEdited, RecordID: "rec_a"}, {Kind: audit.FindingEdited, RecordID: "rec_b"},
				{Kind: audit.FindingDeleted, RecordID: "rec_c"}, {Kind: audit.FindingMissing, Period: "2026-11-28T05"},
			},
			want: Integrity{Records: 3, Digest: "sha256:aa", PeriodsVerified: 24, UnverifiedReason: IntegrityFindings,
				Findings: map[string]int{"edited": 2, "deleted": 1, "missing-period": 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ranges []string
			fa := &fakeAudit{
				VerifyFn: func(_ context.Context, first, last string, onFinding func(audit.Finding)) (audit.RangeReport, error) {
					ranges = append(ranges, first+".."+last)
					for _, f := range tc.findings {
						onFinding(f)
					}
					return tc.verify, nil
				},
			}
			var item map[string]types.AttributeValue
			d := &Daily{Audit: fa, Reports: memoryStore(&item, nil), Now: func() time.Time { return runAt }, DigestWait: -1}
			res, err := d.Run(context.Background(), "2026-11-28", Caller{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ranges) != 1 || ranges[0] != "2026-11-28T00..2026-11-28T23" {
				t.Fatalf("verified %v, want the day's 24 periods once", ranges)
			}
			if got, want := mustJSON(t, storedReport(t, item).Integrity), mustJSON(t, tc.want); got != want {
				t.Fatalf("integrity %s, want %s", got, want)
			}
			if res.Verified != tc.want.Verified || res.UnverifiedReason != tc.want.UnverifiedReason {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestTheReportWaitsForTheDaysLastDigest(t *testing.T) {
	defer func(p time.Duration) { digestPoll = p }(digestPoll)
	digestPoll = time.Millisecond
	lastHour := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	scheduled := time.Date(2026, 11, 29, 0, 15, 0, 0, time.UTC) // the schedule's run for 2026-11-28
	for _, tc := range []struct {
		name       string
		runAt      time.Time // the clock when the run starts; it then moves with real time
		digestedAt int       // the look at the last period that finds it digested; 0: never
		wait       time.Duration
		looks      int
		want       string
	}{
		{"digested while it waits", scheduled, 3, time.Minute, 3, ""},
		{"not digested within the wait: pending, not failed", scheduled, 0, 50 * time.Millisecond, -1, IntegrityPending},
		{"no wait: pending at once", scheduled, 0, -1, 0, IntegrityPending},
		{"before the hour is due: no look", time.Date(2026, 11, 29, 0, 5, 0, 0, time.UTC), 0, time.Minute, 0, IntegrityPending},
		// A missing digest past its deadline is the verification's finding; waiting cannot change it.
		{"an older day: no look", time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC), 0, time.Minute, 0, IntegrityPending},
		{"the wait ends at the digest's deadline", audit.DigestDeadline(lastHour).Add(-30 * time.Millisecond), 0, time.Minute, -1, IntegrityPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			looks := 0
			digested := func() bool { return tc.digestedAt > 0 && looks >= tc.digestedAt }
			fa := &fakeAudit{
				DigestedFn: func(_ context.Context, period string) (bool, error) {
					if period != "2026-11-28T23" {
						t.Errorf("waited for the digest of %s, want the day's last period", period)
					}
					looks++
					return digested(), nil
				},
				VerifyFn: func(_ context.Context, first, last string, _ func(audit.Finding)) (audit.RangeReport, error) {
					if digested() {
						return audit.RangeReport{Periods: 24, Digested: 24}, nil
					}
					return audit.RangeReport{Periods: 24, Digested: 23, Pending: 1}, nil
				},
			}
			var item map[string]types.AttributeValue
			started := time.Now()
			now := func() time.Time { return tc.runAt.Add(time.Since(started)) }
			d := &Daily{Audit: fa, Reports: memoryStore(&item, nil), Now: now, DigestWait: tc.wait}
			if _, err := d.Run(context.Background(), "2026-11-28", Caller{}); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(started); waited > 5*time.Second {
				t.Errorf("the run took %v: it waited past its bound", waited)
			}
			if tc.looks >= 0 && looks != tc.looks {
				t.Errorf("looked for the last digest %d times, want %d", looks, tc.looks)
			}
			if tc.looks < 0 && looks < 2 {
				t.Errorf("looked for the last digest %d times, want it to keep looking until the wait is over", looks)
			}
			if in := storedReport(t, item).Integrity; in.UnverifiedReason != tc.want || in.Verified != (tc.want == "") {
				t.Errorf("integrity %+v, want unverified_reason %q", in, tc.want)
			}
		})
	}
}

func TestAFailedRunIsAnErrorAndIsAudited(t *testing.T) {
	for _, tc := range []struct {
		name  string
		audit *fakeAudit
		store error
	}{
		{"the audit records cannot be read", &fakeAudit{DayFn: func(context.Context, string, func(audit.Record) error) error {
			return errors.New("audit: query by-day index: throttled")
		}}, nil},
		{"the digests cannot be verified", &fakeAudit{VerifyFn: func(context.Context, string, string, func(audit.Finding)) (audit.RangeReport, error) {
			return audit.RangeReport{}, errors.New("anchor: list versions: AccessDenied")
		}}, nil},
		{"the report cannot be stored", &fakeAudit{}, errors.New("dynamodb: ValidationException")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var item map[string]types.AttributeValue
			d := &Daily{Audit: tc.audit, Reports: memoryStore(&item, tc.store), Now: func() time.Time { return runAt }}
			if _, err := d.Run(context.Background(), "2026-11-28", Caller{Actor: functionARN, RequestID: "req-1"}); err == nil {
				t.Fatal("a failed run answered no error: the retries and the dead-letter queue would not apply")
			}
			recs := tc.audit.records()
			if len(recs) != 1 || recs[0].Kind != audit.KindReport || recs[0].Action != ActionDailyReport ||
				recs[0].Outcome != audit.OutcomeFailed || recs[0].Actor != functionARN || recs[0].RequestID != "req-1" {
				t.Fatalf("audit records %+v, want the failed run", recs)
			}
		})
	}
}

func TestARunThatCannotBeAuditedFails(t *testing.T) {
	fa := &fakeAudit{AppendFn: func(context.Context, audit.Record, []byte) (audit.Record, error) {
		return audit.Record{}, errors.New("audit: write record: throttled")
	}}
	var item map[string]types.AttributeValue
	d := &Daily{Audit: fa, Reports: memoryStore(&item, nil), Now: func() time.Time { return runAt }}
	if _, err := d.Run(context.Background(), "2026-11-28", Caller{}); err == nil {
		t.Fatal("an unaudited run succeeded")
	}
}

func TestHandle(t *testing.T) {
	event := func(name string) json.RawMessage {
		b, err := os.ReadFile("../../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lc := &lambdacontext.LambdaContext{AwsRequestID: "req-lambda-1", InvokedFunctionArn: functionARN}
	for _, tc := range []struct {
		name    string
		payload json.RawMessage
		date    string
		actor   string
	}{
		{"the schedule builds the day before its time, as the schedule", event("daily-report-scheduled.json"), "2026-11-28",
			"arn:aws:scheduler:us-east-1:123456789012:schedule/default/wcbridge-DailyReportFunctionDaily-1A2B3C4D5E6F"},
		{"a date is rebuilt, as the function", event("daily-report-date.json"), "2026-11-28", functionARN},
		{"an empty payload builds yesterday", json.RawMessage(`{}`), "2026-11-29", functionARN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAudit{}
			var item map[string]types.AttributeValue
			d := &Daily{Audit: fa, Reports: memoryStore(&item, nil), Now: func() time.Time { return runAt.Add(24 * time.Hour) }}
			res, err := d.Handle(lambdacontext.NewContext(context.Background(), lc), tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if res.Date != tc.date || storedReport(t, item).Date != tc.date {
				t.Fatalf("built %s, want %s", res.Date, tc.date)
			}
			recs := fa.records()
			if len(recs) != 1 || recs[0].Actor != tc.actor || recs[0].RequestID != "req-lambda-1" || recs[0].Outcome != audit.OutcomeOK ||
				res.AuditRecord != recs[0].ID {
				t.Fatalf("audit records %+v, result %+v", recs, res)
			}
		})
	}
	t.Run("a bad date fails naming the field, builds nothing and is audited as rejected", func(t *testing.T) {
		fa := &fakeAudit{}
		var item map[string]types.AttributeValue
		var logs testenv.Logs
		d := &Daily{Audit: fa, Reports: memoryStore(&item, nil), Now: func() time.Time { return runAt }, Log: logs.Logger()}
		_, err := d.Handle(lambdacontext.NewContext(context.Background(), lc), json.RawMessage(`{"date":"Synthetic Patient 0042"}`))
		e := apierr.From(err)
		if e.Code != apierr.InvalidRequest || len(e.Fields) != 1 || e.Fields[0].Field != "date" {
			t.Fatalf("err = %v, want invalid_request naming date", err)
		}
		if item != nil {
			t.Fatal("a report was stored for a bad date")
		}
		if strings.Contains(err.Error(), "Synthetic") || strings.Contains(logs.String(), "Synthetic") {
			t.Fatalf("the value reached the error or the log: %v / %s", err, logs.String())
		}
		if recs := fa.records(); len(recs) != 1 || recs[0].Outcome != audit.OutcomeRejected || recs[0].Action != ActionDailyReport {
			t.Fatalf("audit records %+v, want the rejected run", recs)
		}
	})
}
