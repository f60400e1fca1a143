package report

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// sampleReport is a report of two profiles with every section filled; n varies the figures.
func sampleReport(date string, n int64) Report {
	return Report{
		Date: date, GeneratedAt: date + "T23:59:00Z",
		Profiles: []Profile{
			{ProfileID: 1001, LeadsTotal: 50 + n, ByType: map[string]int64{"Phone Call": 30 + n, "Web Form": 20},
				ByStatus: map[string]int64{"Unique": 45 + n, "Repeat": 5}, BySource: map[string]int64{"google / cpc": 40 + n, "(direct) / (none)": 10},
				Quotable: map[string]int64{"Yes": 10, "No": 3, "Pending": 0, "Not Set": 37 + n}, QuoteValueTotal: 12500.5, SalesValueTotal: 8000, Spam: 1, Duplicates: 2},
			{ProfileID: 1002, LeadsTotal: 7, ByType: map[string]int64{"Chat": 7}, ByStatus: map[string]int64{"Unique": 7},
				BySource: map[string]int64{"bing / organic": 7}, Quotable: map[string]int64{"Yes": 0, "No": 0, "Pending": 0, "Not Set": 7},
				Partial: true, PartialReason: ReasonBudgetExhausted},
		},
		Audit: AuditSummary{
			Webhooks: Webhooks{NewLead: 57 + n, UpdatedLead: 12, Duplicates: 3, Rejected: 1},
			Actions: map[string]Outcomes{ActionGetLeads: {OK: 4}, ActionGetLead: {OK: 9, Failed: 1},
				ActionCreateLead: {}, ActionUpdateLead: {OK: 2}},
			PHIReads: map[string]int64{"arn:aws:iam::123456789012:role/crm-sync": 11 + n, officer: 4},
		},
		Integrity:    Integrity{Records: 99, Digest: "sha256:" + strings.Repeat("ab", 32), PreviousDigest: "sha256:" + strings.Repeat("cd", 32), Verified: true, PeriodsVerified: 24},
		WhatConverts: WhatConverts{Requests: 3},
	}
}

func encodeReport(t *testing.T, r Report) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// policy is an access policy by table: the profiles each principal may read; err fails every call.
type policy struct {
	allowed map[string][]int64
	err     error
	calls   int
}

func (p *policy) Authorize(_ context.Context, principal, action string, profile int64) (bool, string, error) {
	p.calls++
	if p.err != nil {
		return false, "", p.err
	}
	if action != ActionGetReport {
		return false, "v1", fmt.Errorf("unexpected action %q", action)
	}
	for _, id := range p.allowed[principal] {
		if id == profile {
			return true, "v1", nil
		}
	}
	return false, "v1", nil
}

// getWith answers GET /reports/{date} with an Accept header and query, from reports.
func getWith(t *testing.T, reports map[string]string, access Authorizer, date, accept string, query map[string]string) (httpapi.Response, *fakeAudit, *testenv.Logs) {
	t.Helper()
	fa, logs := &fakeAudit{}, &testenv.Logs{}
	g := &Get{Reports: storedReports(reports), Audit: fa, Access: access, Log: logs.Logger()}
	req := getRequest(t, date, officer)
	if accept != "" {
		req.Headers["Accept"] = accept
	}
	req.QueryStringParameters = query
	res, err := g.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res, fa, logs
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   Format
	}{
		{"", FormatJSON},
		{"*/*", FormatJSON},
		{"application/json", FormatJSON},
		{"text/html", FormatHTML},
		{"text/csv", FormatCSV},
		{"TEXT/CSV; charset=utf-8", FormatCSV},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", FormatHTML}, // Chromium
		{"text/html;q=0.5, text/csv;q=0.9", FormatCSV},
		{"text/*;q=0.9, application/json;q=0.8", FormatHTML}, // a tie between HTML and CSV goes to the earlier offer
		{"text/*, text/html;q=0", FormatCSV},                 // the most specific range decides
		{"application/json;q=0, text/csv;q=0.1", FormatCSV},
		{"image/png", FormatJSON},                       // nothing acceptable: JSON rather than 406
		{"text/html;q=abc, text/csv", FormatCSV},        // a malformed quality drops its range
		{"text/html;q=2, application/json", FormatJSON}, // out of range likewise
		{"garbage, ,;;", FormatJSON},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			if got := Negotiate(tc.accept); got != tc.want {
				t.Fatalf("Negotiate(%q) = %s, want %s", tc.accept, got, tc.want)
			}
		})
	}
}

func TestTheFormatQueryParameterOverridesAccept(t *testing.T) {
	reports := map[string]string{"2026-11-28": encodeReport(t, sampleReport("2026-11-28", 0))}
	for _, tc := range []struct {
		format, accept, wantType string
		status                   int
	}{
		{"csv", "text/html", "text/csv; charset=utf-8; header=present", 200},
		{"html", "", "text/html; charset=utf-8", 200},
		{"json", "text/csv", "application/json", 200},
		{"pdf", "", "application/json", 400},
	} {
		t.Run(tc.format, func(t *testing.T) {
			res, _, _ := getWith(t, reports, allowAll{}, "2026-11-28", tc.accept, map[string]string{"format": tc.format})
			if res.StatusCode != tc.status || res.Headers["Content-Type"] != tc.wantType {
				t.Fatalf("format=%s: %d %s, want %d %s", tc.format, res.StatusCode, res.Headers["Content-Type"], tc.status, tc.wantType)
			}
			if tc.status == 400 && !strings.Contains(res.Body, `"field":"format"`) {
				t.Fatalf("body %s does not name the format field", res.Body)
			}
		})
	}
}

func TestTheAccessPolicyDecidesWhichProfilesACallerSees(t *testing.T) {
	r := sampleReport("2026-11-28", 0)
	stored := encodeReport(t, r)
	reports := map[string]string{"2026-11-28": stored}
	for _, tc := range []struct {
		name         string
		access       Authorizer
		status       int
		wantProfiles []int64
		wantAudit    bool
	}{
		{"every profile: the whole report, as stored", &policy{allowed: map[string][]int64{officer: {1001, 1002}}}, 200, []int64{1001, 1002}, true},
		{"some profiles: those, without the account-wide sections", &policy{allowed: map[string][]int64{officer: {1002}}}, 200, []int64{1002}, false},
		{"no profile: forbidden", &policy{allowed: map[string][]int64{"arn:aws:iam::123456789012:role/other": {1001, 1002}}}, 403, nil, false},
		{"the policy fails: forbidden, never open", &policy{err: errors.New("cedar: policy store unreachable")}, 403, nil, false},
		{"no policy at all: forbidden", nil, 403, nil, false},
	} {
		for _, accept := range []string{"application/json", "text/html", "text/csv"} {
			t.Run(tc.name+"/"+accept, func(t *testing.T) {
				res, fa, logs := getWith(t, reports, tc.access, "2026-11-28", accept, nil)
				if res.StatusCode != tc.status {
					t.Fatalf("status %d, want %d (%s)", res.StatusCode, tc.status, res.Body)
				}
				if rec := fa.records(); len(rec) != 1 || (tc.status == 403 && rec[0].Outcome != audit.OutcomeRejected) {
					t.Fatalf("audit %+v", rec)
				}
				if tc.status == 403 {
					if !strings.Contains(res.Body, `"code":"forbidden"`) || strings.Contains(res.Body, "1001") || strings.Contains(res.Body, "cedar") {
						t.Fatalf("refusal %s: want forbidden, naming no profile and no internal error", res.Body)
					}
					if p, ok := tc.access.(*policy); ok && p.err != nil && !strings.Contains(logs.String(), "access policy failed") {
						t.Fatalf("the policy's failure was not logged: %s", logs.String())
					}
					return
				}
				shown := shownProfiles(t, accept, res.Body)
				if !reflect.DeepEqual(shown, tc.wantProfiles) {
					t.Fatalf("profiles shown %v, want %v", shown, tc.wantProfiles)
				}
				hasAudit := strings.Contains(res.Body, "crm-sync")
				if hasAudit != tc.wantAudit {
					t.Fatalf("account-wide sections shown = %t, want %t:\n%s", hasAudit, tc.wantAudit, res.Body)
				}
				if accept == "application/json" && tc.wantAudit && res.Body != stored {
					t.Fatalf("the whole report was not answered as stored: %s", res.Body)
				}
				if accept == "application/json" && !tc.wantAudit && !strings.Contains(res.Body, `"withheld":["audit","whatconverts"]`) {
					t.Fatalf("a partial view does not say what it left out: %s", res.Body)
				}
			})
		}
	}
}

var profileCell = regexp.MustCompile(`<tr><td>(\d+)</td><td class="n">`)

// shownProfiles are the profile IDs an answer shows, in its order.
func shownProfiles(t *testing.T, accept, body string) []int64 {
	t.Helper()
	var ids []int64
	switch accept {
	case "application/json":
		var v struct{ Profiles []Profile }
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		for _, p := range v.Profiles {
			ids = append(ids, p.ProfileID)
		}
	case "text/html":
		section := body[strings.Index(body, `id="profiles"`):]
		section = section[:strings.Index(section, "</table>")]
		for _, m := range profileCell.FindAllStringSubmatch(section, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
	case "text/csv":
		for _, row := range readCSV(t, body) {
			if row[0] == "profile" && row[2] == "leads_total" {
				id, _ := strconv.ParseInt(row[1], 10, 64)
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	if !reflect.DeepEqual(rows[0], CSVHeader) {
		t.Fatalf("header %v", rows[0])
	}
	return rows[1:]
}

// TestCSVHasTheJSONFigures rebuilds the report from the CSV's rows and compares it with the JSON.
func TestCSVHasTheJSONFigures(t *testing.T) {
	r := sampleReport("2026-11-28", 5)
	r.Integrity = Integrity{Records: 12, Digest: "sha256:01", Verified: false, UnverifiedReason: IntegrityFindings, Findings: map[string]int{"edited": 2, "deleted": 1}}
	reports := map[string]string{"2026-11-28": encodeReport(t, r)}
	jsonRes, _, _ := getWith(t, reports, allowAll{}, "2026-11-28", "application/json", nil)
	var want Report
	if err := json.Unmarshal([]byte(jsonRes.Body), &want); err != nil {
		t.Fatal(err)
	}
	csvRes, _, _ := getWith(t, reports, allowAll{}, "2026-11-28", "text/csv", nil)
	if !strings.HasPrefix(csvRes.Headers["Content-Disposition"], "attachment;") {
		t.Fatalf("Content-Disposition %q", csvRes.Headers["Content-Disposition"])
	}

	got := Report{Audit: AuditSummary{Actions: map[string]Outcomes{}, PHIReads: map[string]int64{}}}
	profiles := map[int64]*Profile{}
	profile := func(id string) *Profile {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("profile_id %q", id)
		}
		if profiles[n] == nil {
			profiles[n] = &Profile{ProfileID: n, ByType: map[string]int64{}, ByStatus: map[string]int64{}, BySource: map[string]int64{}, Quotable: map[string]int64{}}
			got.Profiles = append(got.Profiles, Profile{ProfileID: n})
		}
		return profiles[n]
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("value %q is not a whole number", s)
		}
		return n
	}
	amount := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("value %q is not a number", s)
		}
		return f
	}
	for _, row := range readCSV(t, csvRes.Body) {
		section, id, key, value := row[0], row[1], row[2], row[3]
		switch section {
		case "report":
			map[string]*string{"date": &got.Date, "generated_at": &got.GeneratedAt}[key] = nil
			if key == "date" {
				got.Date = value
			} else {
				got.GeneratedAt = value
			}
		case "profile":
			p := profile(id)
			switch key {
			case "leads_total":
				p.LeadsTotal = num(value)
			case "quote_value_total":
				p.QuoteValueTotal = amount(value)
			case "sales_value_total":
				p.SalesValueTotal = amount(value)
			case "spam":
				p.Spam = num(value)
			case "duplicates":
				p.Duplicates = num(value)
			case "partial":
				p.Partial = value == "true"
			case "partial_reason":
				p.PartialReason = value
			}
		case "by_type":
			profile(id).ByType[key] = num(value)
		case "by_status":
			profile(id).ByStatus[key] = num(value)
		case "by_source":
			profile(id).BySource[key] = num(value)
		case "quotable":
			profile(id).Quotable[key] = num(value)
		case "webhooks":
			*map[string]*int64{"new-lead": &got.Audit.Webhooks.NewLead, "updated-lead": &got.Audit.Webhooks.UpdatedLead,
				"duplicates": &got.Audit.Webhooks.Duplicates, "rejected": &got.Audit.Webhooks.Rejected}[key] = num(value)
		case "actions":
			name, outcome, _ := strings.Cut(key, ".")
			o := got.Audit.Actions[name]
			if outcome == "ok" {
				o.OK = num(value)
			} else {
				o.Failed = num(value)
			}
			got.Audit.Actions[name] = o
		case "phi_reads":
			got.Audit.PHIReads[key] = num(value)
		case "integrity":
			switch key {
			case "records":
				got.Integrity.Records = int(num(value))
			case "digest":
				got.Integrity.Digest = value
			case "previous_digest":
				got.Integrity.PreviousDigest = value
			case "verified":
				got.Integrity.Verified = value == "true"
			case "unverified_reason":
				got.Integrity.UnverifiedReason = value
			case "periods_verified":
				got.Integrity.PeriodsVerified = int(num(value))
			case "periods_pending":
				got.Integrity.PeriodsPending = int(num(value))
			case "periods_before_chain":
				got.Integrity.PeriodsBeforeChain = int(num(value))
			default:
				if got.Integrity.Findings == nil {
					got.Integrity.Findings = map[string]int{}
				}
				got.Integrity.Findings[strings.TrimPrefix(key, "findings.")] = int(num(value))
			}
		case "whatconverts":
			got.WhatConverts.Requests = num(value)
		default:
			t.Fatalf("unexpected section %q", section)
		}
	}
	for i, p := range got.Profiles {
		got.Profiles[i] = *profiles[p.ProfileID]
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the CSV's figures differ from the JSON's:\n csv %+v\njson %+v", got, want)
	}
}

func TestCSVCellsCannotBeFormulas(t *testing.T) {
	r := sampleReport("2026-11-28", 0)
	r.Profiles[0].BySource = map[string]int64{
		"=HYPERLINK(\"http://x.example\") / cpc": 1, "+cmd / x": 2, "-2+3 / y": 3, "@SUM(A1) / z": 4, "\tTAB / t": 5, "plain / ok": 6,
	}
	res, _, _ := getWith(t, map[string]string{"2026-11-28": encodeReport(t, r)}, allowAll{}, "2026-11-28", "text/csv", nil)
	seen := 0
	for _, row := range readCSV(t, res.Body) {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("cell %q starts like a formula", cell)
			}
		}
		if row[0] == "by_source" && row[1] == "1001" {
			seen++
			if row[2] != "plain / ok" && !strings.HasPrefix(row[2], "'") {
				t.Fatalf("dangerous label %q was not escaped", row[2])
			}
		}
	}
	if seen != 6 {
		t.Fatalf("%d by_source rows, want 6", seen)
	}
}

func TestTheHTMLPageIsSelfContainedAndLocked(t *testing.T) {
	r := sampleReport("2026-11-28", 0)
	r.Profiles[0].BySource["<script>alert(1)</script> / <img src=x>"] = 2
	reports := map[string]string{
		"2026-11-28": encodeReport(t, r),
		"2026-11-20": encodeReport(t, sampleReport("2026-11-20", 9)),
	}
	res, fa, _ := getWith(t, reports, allowAll{}, "2026-11-28", "text/html,application/xhtml+xml,*/*;q=0.8", nil)
	if res.StatusCode != 200 || res.Headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Fatalf("%d %v", res.StatusCode, res.Headers)
	}
	body := res.Body
	csp := res.Headers["Content-Security-Policy"]
	for _, directive := range []string{"default-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("CSP %q lacks %q", csp, directive)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows scripts or unsafe sources", csp)
	}
	t.Run("the CSP's style hash is the page's one style element", func(t *testing.T) {
		styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
		if len(styles) != 1 {
			t.Fatalf("%d style elements, want 1", len(styles))
		}
		sum := sha256.Sum256([]byte(styles[0][1]))
		if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Fatalf("CSP %q does not allow the page's style (%s)", csp, want)
		}
		if strings.Contains(body, " style=") {
			t.Fatal("a style attribute: the CSP's hash does not allow it")
		}
	})
	t.Run("nothing runs and nothing is fetched", func(t *testing.T) {
		lower := strings.ToLower(body)
		for _, banned := range []string{"<script", "javascript:", "<iframe", "<object", "<embed", "@import", "url(", "<form"} {
			if strings.Contains(lower, banned) {
				t.Errorf("the page contains %q", banned)
			}
		}
		for _, m := range regexp.MustCompile(`(?i)\s(src|href|xlink:href|action)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(m[2], "data:") {
				t.Errorf("%s=%q: the page refers to something it does not hold", m[1], m[2])
			}
		}
	})
	t.Run("a label is text, never markup", func(t *testing.T) {
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(body, "<img src=x>") {
			t.Fatal("the source label was not escaped")
		}
	})
	t.Run("every chart is drawn and has its table", func(t *testing.T) {
		for _, id := range []string{"integrity", "profiles", "bytype", "bysource", "webhooks", "actions", "phireads", "budget", "trend"} {
			if !strings.Contains(body, `id="`+id+`"`) {
				t.Errorf("section %s missing", id)
			}
		}
		if n := strings.Count(body, "<svg"); n != 7 {
			t.Errorf("%d charts, want 7 (type, source, webhooks, actions, PHI reads, budget, trend)", n)
		}
		if n := strings.Count(body, "<table"); n < 8 {
			t.Errorf("%d tables, want one beside every chart and the profiles'", n)
		}
		for _, words := range []string{"all 24 hourly periods of 2026-11-28 were verified: 99 audit records", "last digest is sha256:abababab", "chained to sha256:cdcdcdcd"} {
			if !strings.Contains(html.UnescapeString(body), words) {
				t.Errorf("the integrity section does not say %q", words)
			}
		}
	})
	t.Run("the page is for phones and for A4", func(t *testing.T) {
		for _, s := range []string{`name="viewport" content="width=device-width`, "@media print", "size:A4"} {
			if !strings.Contains(body, s) {
				t.Errorf("the page lacks %q", s)
			}
		}
	})
	if rec := fa.records(); len(rec) != 1 || rec[0].Outcome != audit.OutcomeOK {
		t.Fatalf("audit %+v", rec)
	}
}

func TestTheIntegritySectionSaysWhatWasVerified(t *testing.T) {
	for _, tc := range []struct {
		name      string
		integrity Integrity
		status    string
		says      []string
	}{
		{"intact", Integrity{Records: 1234, Digest: "sha256:" + strings.Repeat("0f", 32), Verified: true, PeriodsVerified: 24}, "ok",
			[]string{"Intact", "all 24 hourly periods of 2026-11-28", "1,234 audit records", "2026-11-29 00:15 UTC", "starts the chain"}},
		{"chained", Integrity{Records: 3, Digest: "sha256:aa", PreviousDigest: "sha256:bb", Verified: true, PeriodsVerified: 24}, "ok",
			[]string{"Intact", "chained to sha256:bb"}},
		{"too early", Integrity{Records: 5, PeriodsVerified: 23, PeriodsPending: 1, UnverifiedReason: IntegrityPending}, "pending",
			[]string{"Not yet verified", "1 of the 24 hourly periods", "the 23 digested periods were verified", "Run the report for 2026-11-28 again"}},
		{"before the chain", Integrity{PeriodsVerified: 10, PeriodsBeforeChain: 14, UnverifiedReason: IntegrityBeforeChain}, "pending",
			[]string{"Not verified", "14 of the 24 hourly periods", "before the first signed digest", "the 10 digested periods were verified"}},
		{"tampered", Integrity{Records: 7, Digest: "sha256:aa", UnverifiedReason: IntegrityFindings, Findings: map[string]int{"edited": 2, "deleted": 1}}, "bad",
			[]string{"Not intact", "no longer matched", "make verify-audit DATE=2026-11-28", "<td>edited</td><td class=\"n\">2</td>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleReport("2026-11-28", 0)
			r.GeneratedAt, r.Integrity = "2026-11-29T00:15:07Z", tc.integrity
			res, _, _ := getWith(t, map[string]string{"2026-11-28": encodeReport(t, r)}, allowAll{}, "2026-11-28", "text/html", nil)
			section := res.Body[strings.Index(res.Body, `id="integrity"`):]
			section = section[:strings.Index(section, "</section>")]
			if !strings.Contains(section, `class="status `+tc.status+`"`) {
				t.Errorf("status class is not %s", tc.status)
			}
			for _, s := range tc.says {
				if !strings.Contains(section, s) {
					t.Errorf("the section does not say %q:\n%s", s, section)
				}
			}
		})
	}
}

// Every value the page shows is escaped as html/template escapes text and quoted attribute values:
// read back by a browser it is the value itself (NUL aside, which becomes U+FFFD), and nothing in it
// can open or close markup or an attribute.
func TestPageValuesAreEscaped(t *testing.T) {
	for _, s := range []string{"", "plain / text", `<script>alert("x")</script>`, `" onload="x`, "' onmouseover='x", "a&b&amp;", "a+b", "tab\tnew\nline", "é✓😀", "nul\x00"} {
		got := esc(s)
		if strings.ContainsAny(got, `<>"'+`+"\x00") {
			t.Errorf("esc(%q) = %q: markup characters left", s, got)
		}
		if back := html.UnescapeString(got); back != strings.ReplaceAll(s, "\x00", "\uFFFD") {
			t.Errorf("esc(%q) reads back as %q", s, back)
		}
	}
}
