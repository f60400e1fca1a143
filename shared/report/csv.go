package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CSVHeader is the first row of a report's CSV: one figure a row.
var CSVHeader = []string{"section", "profile_id", "key", "value"}

// renderCSV writes every figure of v a row, in the JSON's order: report, then each profile's
// figures (profile, by_type, by_status, by_source, quotable), webhooks, actions ("<action>.ok",
// "<action>.failed"), phi_reads (by principal), integrity, whatconverts, and a withheld row for each
// section left out. Maps are written largest first, then by key. Every cell is made safe to open in a
// spreadsheet (see csvCell).
func renderCSV(v View) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	row := func(section string, profile int64, key, value string) {
		p := ""
		if profile != 0 {
			p = strconv.FormatInt(profile, 10)
		}
		_ = w.Write([]string{csvCell(section), csvCell(p), csvCell(key), csvCell(value)})
	}
	counts := func(section string, profile int64, m map[string]int64) {
		for _, c := range sortCounts(m) {
			row(section, profile, c.Label, strconv.FormatInt(c.Value, 10))
		}
	}
	_ = w.Write(CSVHeader)
	row("report", 0, "date", v.Date)
	row("report", 0, "generated_at", v.GeneratedAt)
	for _, p := range v.Profiles {
		id := p.ProfileID
		row("profile", id, "leads_total", strconv.FormatInt(p.LeadsTotal, 10))
		row("profile", id, "quote_value_total", money(p.QuoteValueTotal))
		row("profile", id, "sales_value_total", money(p.SalesValueTotal))
		row("profile", id, "spam", strconv.FormatInt(p.Spam, 10))
		row("profile", id, "duplicates", strconv.FormatInt(p.Duplicates, 10))
		row("profile", id, "partial", strconv.FormatBool(p.Partial))
		if p.Partial {
			row("profile", id, "partial_reason", p.PartialReason)
		}
		counts("by_type", id, p.ByType)
		counts("by_status", id, p.ByStatus)
		counts("by_source", id, p.BySource)
		counts("quotable", id, p.Quotable)
	}
	if a := v.Audit; a != nil {
		row("webhooks", 0, "new-lead", strconv.FormatInt(a.Webhooks.NewLead, 10))
		row("webhooks", 0, "updated-lead", strconv.FormatInt(a.Webhooks.UpdatedLead, 10))
		row("webhooks", 0, "duplicates", strconv.FormatInt(a.Webhooks.Duplicates, 10))
		row("webhooks", 0, "rejected", strconv.FormatInt(a.Webhooks.Rejected, 10))
		for _, name := range sortedKeys(a.Actions) {
			o := a.Actions[name]
			row("actions", 0, name+".ok", strconv.FormatInt(o.OK, 10))
			row("actions", 0, name+".failed", strconv.FormatInt(o.Failed, 10))
		}
		counts("phi_reads", 0, a.PHIReads)
	}
	in := v.Integrity
	row("integrity", 0, "records", strconv.Itoa(in.Records))
	row("integrity", 0, "digest", in.Digest)
	row("integrity", 0, "previous_digest", in.PreviousDigest)
	row("integrity", 0, "verified", strconv.FormatBool(in.Verified))
	row("integrity", 0, "periods_verified", strconv.Itoa(in.PeriodsVerified))
	if in.PeriodsPending > 0 {
		row("integrity", 0, "periods_pending", strconv.Itoa(in.PeriodsPending))
	}
	if in.PeriodsBeforeChain > 0 {
		row("integrity", 0, "periods_before_chain", strconv.Itoa(in.PeriodsBeforeChain))
	}
	if in.UnverifiedReason != "" {
		row("integrity", 0, "unverified_reason", in.UnverifiedReason)
	}
	for _, k := range sortedKeys(in.Findings) {
		row("integrity", 0, "findings."+k, strconv.Itoa(in.Findings[k]))
	}
	if wc := v.WhatConverts; wc != nil {
		row("whatconverts", 0, "requests", strconv.FormatInt(wc.Requests, 10))
	}
	for _, s := range v.Withheld {
		row("withheld", 0, s, "not permitted on every profile")
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("report: write the CSV: %w", err)
	}
	return b.Bytes(), nil
}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV injection): a cell that starts
// with = + - @, a tab or a carriage return is prefixed with an apostrophe, which spreadsheets show
// as text. Source and medium labels come from links anyone can make.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// money writes a sum with two decimals, no separators: a number to a spreadsheet.
func money(v float64) string { return strconv.FormatFloat(float64(cents(v))/100, 'f', 2, 64) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
