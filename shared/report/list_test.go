package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// listRequest is events/list-reports.json with the range and caller replaced.
func listRequest(t *testing.T, query map[string]string, caller string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("../../events/list-reports.json")
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.QueryStringParameters = query
	req.RequestContext.Identity.UserArn = caller
	return req
}

func list(t *testing.T, reports map[string]string, access Authorizer, query map[string]string) (httpapi.Response, *fakeAudit) {
	t.Helper()
	fa := &fakeAudit{}
	g := &Get{Reports: storedReports(reports), Audit: fa, Access: access}
	res, err := g.Handle(context.Background(), listRequest(t, query, officer))
	if err != nil {
		t.Fatal(err)
	}
	return res, fa
}

// november are reports of every day of November 2026 but the 8th and the 9th.
func november(t *testing.T) map[string]string {
	reports := map[string]string{}
	for day := 1; day <= 30; day++ {
		if day == 8 || day == 9 {
			continue
		}
		d := fmt.Sprintf("2026-11-%02d", day)
		reports[d] = encodeReport(t, sampleReport(d, int64(day*7%13)))
	}
	return reports
}

func TestListReportsRange(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		status         int
		fields         []string
	}{
		{"a month", "2026-11-01", "2026-11-30", 200, nil},
		{"one day", "2026-11-05", "2026-11-05", 200, nil},
		{"93 days, both counted", "2026-09-01", "2026-12-02", 200, nil},
		{"94 days", "2026-09-01", "2026-12-03", 400, []string{"to"}},
		{"to before from", "2026-11-05", "2026-11-04", 400, []string{"to"}},
		{"no from", "", "2026-11-04", 400, []string{"from"}},
		{"neither", "", "", 400, []string{"from", "to"}},
		{"not a date", "2026-02-30", "2026-11-04", 400, []string{"from"}},
		{"a time, not a date", "2026-11-01", "2026-11-04T00:00:00Z", 400, []string{"to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, fa := list(t, november(t), allowAll{}, map[string]string{"from": tc.from, "to": tc.to})
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tc.status, res.Body)
			}
			if rec := fa.records(); len(rec) != 1 || rec[0].Action != ActionListReports || rec[0].Status != tc.status {
				t.Fatalf("audit %+v", rec)
			}
			if tc.status != 400 {
				return
			}
			var e struct {
				Error struct {
					Code   string
					Fields []struct{ Field string }
				}
			}
			_ = json.Unmarshal([]byte(res.Body), &e)
			var named []string
			for _, f := range e.Error.Fields {
				named = append(named, f.Field)
			}
			if e.Error.Code != "invalid_request" || !reflect.DeepEqual(named, tc.fields) {
				t.Fatalf("body %s, want invalid_request naming %v", res.Body, tc.fields)
			}
		})
	}
}

// TestListedSummariesMatchEachReport: every summary's figures are its report's JSON figures, added
// up; days without a report are left out.
func TestListedSummariesMatchEachReport(t *testing.T) {
	reports := november(t)
	res, _ := list(t, reports, allowAll{}, map[string]string{"from": "2026-11-01", "to": "2026-11-30"})
	var got List
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, res.Body)
	}
	if got.From != "2026-11-01" || got.To != "2026-11-30" || len(got.Reports) != 28 {
		t.Fatalf("from %s to %s, %d reports; want November's 28", got.From, got.To, len(got.Reports))
	}
	for i, s := range got.Reports {
		if i > 0 && s.Date <= got.Reports[i-1].Date {
			t.Fatalf("not oldest first: %s after %s", s.Date, got.Reports[i-1].Date)
		}
		one, _, _ := getWith(t, reports, allowAll{}, s.Date, "application/json", nil)
		var r Report
		if err := json.Unmarshal([]byte(one.Body), &r); err != nil {
			t.Fatal(err)
		}
		var leads, ok, failed, reads int64
		for _, p := range r.Profiles {
			leads += p.LeadsTotal
		}
		for _, o := range r.Audit.Actions {
			ok, failed = ok+o.OK, failed+o.Failed
		}
		for _, n := range r.Audit.PHIReads {
			reads += n
		}
		if s.LeadsTotal != leads || *s.Webhooks != r.Audit.Webhooks || *s.Actions != (Outcomes{ok, failed}) || *s.PHIReads != reads ||
			*s.WhatConvertsRequests != r.WhatConverts.Requests || s.Integrity.Verified != r.Integrity.Verified ||
			s.Integrity.Records != r.Integrity.Records || len(s.Profiles) != len(r.Profiles) || s.GeneratedAt != r.GeneratedAt {
			t.Fatalf("summary of %s = %+v, does not match its report %+v", s.Date, s, r)
		}
	}
}

func TestListShowsOnlyWhatThePolicyAllows(t *testing.T) {
	reports := november(t)
	q := map[string]string{"from": "2026-11-01", "to": "2026-11-03"}
	t.Run("some profiles: their leads, no account-wide figures", func(t *testing.T) {
		res, _ := list(t, reports, &policy{allowed: map[string][]int64{officer: {1002}}}, q)
		var got List
		_ = json.Unmarshal([]byte(res.Body), &got)
		if len(got.Reports) != 3 {
			t.Fatalf("%s", res.Body)
		}
		for _, s := range got.Reports {
			if len(s.Profiles) != 1 || s.Profiles[0].ProfileID != 1002 || s.LeadsTotal != 7 || s.Webhooks != nil || s.PHIReads != nil ||
				!reflect.DeepEqual(s.Withheld, []string{SectionAudit, SectionWhatConverts}) {
				t.Fatalf("summary %+v", s)
			}
		}
	})
	t.Run("no profile: an empty list, nothing about the days", func(t *testing.T) {
		res, _ := list(t, reports, &policy{}, q)
		if res.StatusCode != 200 || !strings.Contains(res.Body, `"reports":[]`) {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
	t.Run("the policy fails: forbidden", func(t *testing.T) {
		res, fa := list(t, reports, &policy{err: errors.New("boom")}, q)
		if res.StatusCode != 403 || fa.records()[0].Outcome != audit.OutcomeRejected {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	})
	t.Run("the policy is asked once per profile, not once per day", func(t *testing.T) {
		p := &policy{allowed: map[string][]int64{officer: {1001, 1002}}}
		list(t, reports, p, map[string]string{"from": "2026-11-01", "to": "2026-11-30"})
		if p.calls != 2 {
			t.Fatalf("%d calls, want 2", p.calls)
		}
	})
}

var trendRowHTML = regexp.MustCompile(`<tr><td>(\d{4}-\d\d-\d\d)</td>(.*?)</tr>`)
var cell = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)

// TestThePageTrendIsTheListsFigures: the page's 30-day table shows, day by day, what GET /reports
// answers for the same days.
func TestThePageTrendIsTheListsFigures(t *testing.T) {
	reports := november(t)
	page, _, _ := getWith(t, reports, allowAll{}, "2026-11-30", "text/html", nil)
	res, _ := list(t, reports, allowAll{}, map[string]string{"from": "2026-11-01", "to": "2026-11-30"})
	var l List
	_ = json.Unmarshal([]byte(res.Body), &l)
	byDate := map[string]Summary{}
	for _, s := range l.Reports {
		byDate[s.Date] = s
	}
	section := page.Body[strings.Index(page.Body, `id="trend"`):]
	rows := trendRowHTML.FindAllStringSubmatch(section, -1)
	if len(rows) != TrendDays {
		t.Fatalf("%d trend rows, want %d", len(rows), TrendDays)
	}
	for _, row := range rows {
		var cells []string
		for _, c := range cell.FindAllStringSubmatch(row[2], -1) {
			cells = append(cells, strings.ReplaceAll(html.UnescapeString(c[1]), ",", ""))
		}
		s, stored := byDate[row[1]]
		if !stored {
			if len(cells) != 1 || cells[0] != "no report" {
				t.Fatalf("%s: %v, want no report", row[1], cells)
			}
			continue
		}
		want := []string{fmt.Sprint(s.LeadsTotal), fmt.Sprint(s.Webhooks.NewLead + s.Webhooks.UpdatedLead), fmt.Sprint(s.Webhooks.Duplicates),
			fmt.Sprint(s.Webhooks.Rejected), fmt.Sprint(*s.PHIReads), "yes"}
		if !reflect.DeepEqual(cells, want) {
			t.Fatalf("%s: the page shows %v, the list %v", row[1], cells, want)
		}
	}
}
