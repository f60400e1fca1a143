package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

//go:embed report.css
var pageCSS string

// ContentSecurityPolicy is the HTML page's policy: nothing may load or run but the page's own
// stylesheet (by its hash) and data: images. No script, font, frame, form or connection, and no
// other page may frame it.
var ContentSecurityPolicy = "default-src 'none'; style-src '" + styleHash() + "'; img-src data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func styleHash() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pageData is what the page shows (writePage writes it).
type pageData struct {
	CSS         string // the page's one style (pageCSS), trusted
	Date        string
	GeneratedAt string
	Profiles    []profileRow
	LeadsTotal  string
	Withheld    bool

	ByType, BySource     []counted
	ByTypeChart          barChart
	BySourceChart        barChart
	Webhooks             []counted
	WebhooksChart        barChart
	Actions              []actionRow
	ActionsChart         barChart
	PHIReads             []counted
	PHIReadsChart        barChart
	Budget               budgetRow
	BudgetChart          barChart
	Integrity            integrityWords
	Trend                []trendRow
	TrendChart           trendChart
	TrendFrom, TrendTo   string
	TrendUnavailable     bool
	ProfileKeyDailyLimit string
}

type profileRow struct {
	ID                      int64
	Leads, Spam, Duplicates string
	QuoteValue, SalesValue  string
	Partial                 bool
	PartialReason           string
}

type actionRow struct {
	Action     string
	OK, Failed int64
}

type budgetRow struct {
	Requests string
	Percent  string
}

type trendRow struct {
	Date                           string
	Stored                         bool
	Leads                          string
	Accepted, Duplicates, Rejected string
	PHIReads                       string
	Verified                       string
	Withheld                       bool
}

// integrityWords says, in sentences, what was verified and when.
type integrityWords struct {
	Status    string // ok, pending, bad: the section's colour
	Headline  string
	Sentences []string
	Findings  []counted
}

// renderHTML renders the page of v with its trend (nil when it could not be read).
func renderHTML(v View, trend []trendDay) ([]byte, error) {
	return writePage(buildPage(v, trend)), nil
}

// buildPage is what the page shows of v and its trend.
func buildPage(v View, trend []trendDay) pageData {
	d := pageData{
		CSS:  pageCSS,
		Date: v.Date, GeneratedAt: humanTime(v.GeneratedAt),
		Withheld:             !v.Full(),
		ProfileKeyDailyLimit: formatInt(whatconverts.ProfileKeyDailyLimit),
	}
	var total int64
	for _, p := range v.Profiles {
		total += p.LeadsTotal
		d.Profiles = append(d.Profiles, profileRow{
			ID: p.ProfileID, Leads: formatInt(p.LeadsTotal), Spam: formatInt(p.Spam), Duplicates: formatInt(p.Duplicates),
			QuoteValue: formatMoney(p.QuoteValueTotal), SalesValue: formatMoney(p.SalesValueTotal),
			Partial: p.Partial, PartialReason: p.PartialReason,
		})
	}
	d.LeadsTotal = formatInt(total)
	d.ByType = sortCounts(sumCounts(v.Profiles, func(p Profile) map[string]int64 { return p.ByType }))
	// Each profile names its top sources; summed over many profiles the page keeps the top ones too
	// (the CSV has every one).
	d.BySource = sortCounts(topN(sumCounts(v.Profiles, func(p Profile) map[string]int64 { return p.BySource }), DefaultTopSources))
	d.ByTypeChart, d.BySourceChart = countsChart(d.ByType), countsChart(d.BySource)

	if a := v.Audit; a != nil {
		d.Webhooks = []counted{
			{"New Lead accepted", a.Webhooks.NewLead}, {"Updated Lead accepted", a.Webhooks.UpdatedLead},
			{"Duplicates (redeliveries)", a.Webhooks.Duplicates}, {"Rejected", a.Webhooks.Rejected},
		}
		d.WebhooksChart = newBarChart(
			[]string{"accepted", "duplicate", "rejected"},
			series{Class: "ok", Values: []int64{a.Webhooks.NewLead + a.Webhooks.UpdatedLead, 0, 0}},
			series{Class: "dup", Values: []int64{0, a.Webhooks.Duplicates, 0}},
			series{Class: "bad", Values: []int64{0, 0, a.Webhooks.Rejected}},
		)
		var labels []string
		var ok, failed []int64
		for _, name := range countedActions {
			o := a.Actions[name]
			d.Actions = append(d.Actions, actionRow{Action: name, OK: o.OK, Failed: o.Failed})
			labels, ok, failed = append(labels, name), append(ok, o.OK), append(failed, o.Failed)
		}
		d.ActionsChart = newBarChart(labels, series{Class: "ok", Values: ok}, series{Class: "bad", Values: failed})
		d.PHIReads = sortCounts(a.PHIReads)
		d.PHIReadsChart = countsChart(d.PHIReads)
	}
	if wc := v.WhatConverts; wc != nil {
		d.Budget = budgetRow{
			Requests: formatInt(wc.Requests),
			Percent:  strconv.FormatFloat(100*float64(wc.Requests)/float64(whatconverts.ProfileKeyDailyLimit), 'f', 1, 64),
		}
		d.BudgetChart = newBarChart([]string{"used by the report", "one profile key's day"},
			series{Class: "s0", Values: []int64{wc.Requests, 0}},
			series{Class: "limit", Values: []int64{0, whatconverts.ProfileKeyDailyLimit}})
	}
	d.Integrity = describeIntegrity(v.Date, v.GeneratedAt, v.Integrity)

	if trend == nil {
		d.TrendUnavailable = true
	} else {
		d.TrendFrom, d.TrendTo = trend[0].Date, trend[len(trend)-1].Date
		d.TrendChart = newTrendChart(trend, v.Date)
		for _, t := range trend {
			row := trendRow{Date: t.Date, Stored: t.Summary != nil}
			if s := t.Summary; s != nil {
				row.Leads = formatInt(s.LeadsTotal)
				row.Verified = map[bool]string{true: "yes", false: "no"}[s.Integrity.Verified]
				if s.Webhooks != nil {
					row.Accepted = formatInt(s.Webhooks.NewLead + s.Webhooks.UpdatedLead)
					row.Duplicates, row.Rejected = formatInt(s.Webhooks.Duplicates), formatInt(s.Webhooks.Rejected)
					row.PHIReads = formatInt(*s.PHIReads)
				} else {
					row.Withheld = true
				}
			}
			d.Trend = append(d.Trend, row)
		}
	}
	return d
}

func describeIntegrity(date, generatedAt string, in Integrity) integrityWords {
	when := humanTime(generatedAt)
	w := integrityWords{}
	switch {
	case in.Verified:
		w.Status, w.Headline = "ok", "Intact"
		w.Sentences = append(w.Sentences,
			fmt.Sprintf("When this report was generated (%s), all 24 hourly periods of %s were verified: %s audit records read back from the table, each matching its period's signed digest, and every digest matching its write-once copy in the digest bucket.",
				when, date, formatInt(int64(in.Records))),
			fmt.Sprintf("The day's last digest is %s.", shortDigest(in.Digest)))
		if in.PreviousDigest != "" {
			w.Sentences = append(w.Sentences, fmt.Sprintf("The day's first digest is chained to %s, the hour before, so no earlier hour was replaced either.", shortDigest(in.PreviousDigest)))
		} else {
			w.Sentences = append(w.Sentences, "The day's first digest starts the chain: no earlier hour has one.")
		}
	case in.UnverifiedReason == IntegrityPending:
		w.Status, w.Headline = "pending", "Not yet verified"
		w.Sentences = append(w.Sentences,
			fmt.Sprintf("When this report was generated (%s), %d of the 24 hourly periods of %s had no digest yet (an hour is digested a quarter past the next), so the day was not verified whole; %s, with no finding.",
				when, in.PeriodsPending, date, periodsVerified(in.PeriodsVerified)),
			fmt.Sprintf("Run the report for %s again once they are digested: that run verifies the whole day.", date))
	case in.UnverifiedReason == IntegrityBeforeChain:
		w.Status, w.Headline = "pending", "Not verified"
		w.Sentences = append(w.Sentences,
			fmt.Sprintf("%d of the 24 hourly periods of %s came before the first signed digest (the chain started later), so they have no digest to verify against; %s, with no finding.",
				in.PeriodsBeforeChain, date, periodsVerified(in.PeriodsVerified)))
	default:
		w.Status, w.Headline = "bad", "Not intact"
		w.Sentences = append(w.Sentences,
			fmt.Sprintf("When this report was generated (%s), the audit trail of %s no longer matched its signed hourly digests.", when, date),
			fmt.Sprintf("Records or digests were changed, deleted or added. `make verify-audit DATE=%s` names each one.", date))
		findings := make(map[string]int64, len(in.Findings))
		for k, n := range in.Findings {
			findings[k] = int64(n)
		}
		w.Findings = sortCounts(findings)
	}
	w.Sentences = append(w.Sentences, "Verifying reads record hashes only: no PHI was decrypted to do it.")
	return w
}

// periodsVerified says how many periods were verified, in words.
func periodsVerified(n int) string {
	switch n {
	case 0:
		return "none was verified"
	case 1:
		return "the 1 digested period was verified"
	}
	return fmt.Sprintf("the %d digested periods were verified", n)
}

// shortDigest shows a digest's algorithm and first 16 hex digits: enough to compare by eye.
func shortDigest(d string) string {
	if d == "" {
		return "(none)"
	}
	return shorten(d, len("sha256:")+17)
}

// humanTime shows an RFC 3339 time as "2026-11-29 00:15 UTC".
func humanTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatInt writes n with thousands separators: 12,345.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatMoney writes a sum with two decimals and thousands separators.
func formatMoney(v float64) string {
	c := cents(v)
	return formatInt(c/100) + "." + fmt.Sprintf("%02d", abs(c%100))
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
