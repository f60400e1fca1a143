package report

import (
	"bytes"
	"strconv"
	"strings"
)

// The report page is written here in Go rather than executed from an html/template: a template's
// evaluation calls methods by name through reflection, which makes the linker keep every exported
// method of every type in the binary (about 4 MB of GetReportFunction, a third of it, with the SDK
// clients' every operation). Every value from the report goes through esc, which escapes as
// html/template does in the page's contexts (text, and attribute values, all quoted); the markup
// around them is the page's own, constant. The style is the one trusted string (pageCSS).

// htmlEscaper replaces what html/template replaces in text and quoted attribute values.
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// esc is s escaped for the page's text and quoted attribute values.
func esc(s string) string { return htmlEscaper.Replace(s) }

// pageWriter writes the page: w(…) writes markup and escaped values alike, each value through esc.
type pageWriter struct{ bytes.Buffer }

func (p *pageWriter) w(parts ...string) {
	for _, s := range parts {
		p.WriteString(s)
	}
}

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }
func plural(n int) string { // "s" unless n is 1
	if n == 1 {
		return ""
	}
	return "s"
}

// writePage writes the whole page of d.
func writePage(d pageData) []byte {
	p := &pageWriter{}
	p.w("\n\n<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
		"<meta name=\"referrer\" content=\"no-referrer\">\n<link rel=\"icon\" href=\"data:,\">\n",
		"<title>wcbridge compliance report ", esc(d.Date), "</title>\n<style>", string(d.CSS), "</style>\n</head>\n<body>\n<main>\n<header>\n",
		"<p class=\"meta\">wcbridge compliance report</p>\n<h1>", esc(d.Date), " (UTC)</h1>\n",
		"<p class=\"meta\">Generated ", esc(d.GeneratedAt), ". Counts, sums and IDs only: this page holds no patient data, runs no script and loads nothing else.</p>\n",
		"<div class=\"kpis\">\n<div><b>", esc(d.LeadsTotal), "</b>leads</div>\n",
		"<div><b>", itoa(len(d.Profiles)), "</b>profile", plural(len(d.Profiles)), "</div>\n",
		"<div><b><span class=\"status ", esc(d.Integrity.Status), "\">", esc(d.Integrity.Headline), "</span></b>audit trail</div>\n</div>\n")
	if d.Withheld {
		p.w("<p class=\"note\">You may read the report of only some of the profiles it covers, so the account-wide sections (webhooks, actions, PHI reads, WhatConverts usage) are left out.</p>")
	}
	p.w("\n</header>\n\n")

	p.w("<section aria-labelledby=\"integrity\">\n<h2 id=\"integrity\">Audit trail integrity: <span class=\"status ", esc(d.Integrity.Status), "\">",
		esc(d.Integrity.Headline), "</span></h2>\n")
	for _, s := range d.Integrity.Sentences {
		p.w("<p>", esc(s), "</p>\n")
	}
	if len(d.Integrity.Findings) > 0 {
		p.counts("What the verification found", "finding", d.Integrity.Findings, false)
	}
	p.w("\n</section>\n\n")

	p.w("<section aria-labelledby=\"profiles\">\n<h2 id=\"profiles\">Profiles</h2>\n",
		"<div class=\"scroll\"><table><caption>Leads WhatConverts recorded on the day, by profile</caption>\n",
		"<thead><tr><th scope=\"col\">profile</th><th scope=\"col\" class=\"n\">leads</th><th scope=\"col\" class=\"n\">spam</th><th scope=\"col\" class=\"n\">duplicates</th><th scope=\"col\" class=\"n\">quote value</th><th scope=\"col\" class=\"n\">sales value</th><th scope=\"col\">complete</th></tr></thead><tbody>\n")
	for _, r := range d.Profiles {
		p.w("<tr><td>", i64(r.ID), "</td><td class=\"n\">", esc(r.Leads), "</td><td class=\"n\">", esc(r.Spam), "</td><td class=\"n\">", esc(r.Duplicates),
			"</td><td class=\"n\">", esc(r.QuoteValue), "</td><td class=\"n\">", esc(r.SalesValue), "</td><td>")
		if r.Partial {
			p.w("partial: ", esc(r.PartialReason))
		} else {
			p.w("yes")
		}
		p.w("</td></tr>\n")
	}
	p.w("</tbody></table></div>\n</section>\n\n")

	p.w("<div class=\"grid two\">\n<section aria-labelledby=\"bytype\">\n<h2 id=\"bytype\">Leads by type</h2>\n")
	p.bars(d.ByTypeChart)
	p.w("\n")
	p.counts("Leads by type, all profiles shown", "type", d.ByType, false)
	p.w("\n</section>\n<section aria-labelledby=\"bysource\">\n<h2 id=\"bysource\">Leads by source</h2>\n")
	p.bars(d.BySourceChart)
	p.w("\n")
	p.counts("Leads by source / medium, all profiles shown", "source / medium", d.BySource, false)
	p.w("\n</section>\n</div>\n\n")

	if !d.Withheld {
		p.w("\n<div class=\"grid two\">\n<section aria-labelledby=\"webhooks\">\n<h2 id=\"webhooks\">Webhooks</h2>\n",
			"<p class=\"legend\"><span><i class=\"ok\"></i>accepted</span><span><i class=\"dup\"></i>duplicate</span><span><i class=\"bad\"></i>rejected</span></p>\n")
		p.bars(d.WebhooksChart)
		p.w("\n")
		p.counts("WhatConverts webhook deliveries", "delivery", d.Webhooks, false)
		p.w("\n</section>\n<section aria-labelledby=\"actions\">\n<h2 id=\"actions\">Actions by outcome</h2>\n",
			"<p class=\"legend\"><span><i class=\"ok\"></i>ok</span><span><i class=\"bad\"></i>failed</span></p>\n")
		p.bars(d.ActionsChart)
		p.w("\n<div class=\"scroll\"><table><caption>Calls of each action</caption><thead><tr><th scope=\"col\">action</th><th scope=\"col\" class=\"n\">ok</th><th scope=\"col\" class=\"n\">failed</th></tr></thead><tbody>\n")
		for _, a := range d.Actions {
			p.w("<tr><td>", esc(a.Action), "</td><td class=\"n\">", i64(a.OK), "</td><td class=\"n\">", i64(a.Failed), "</td></tr>\n")
		}
		p.w("</tbody></table></div>\n</section>\n</div>\n\n",
			"<div class=\"grid two\">\n<section aria-labelledby=\"phireads\">\n<h2 id=\"phireads\">PHI reads by principal</h2>\n",
			"<p class=\"meta\">Successful requests that gave lead data out of wcbridge, by IAM principal.</p>\n")
		p.bars(d.PHIReadsChart)
		p.w("\n")
		p.counts("PHI reads by IAM principal", "principal", d.PHIReads, true)
		p.w("\n</section>\n<section aria-labelledby=\"budget\">\n<h2 id=\"budget\">WhatConverts budget used</h2>\n",
			"<p>The report run sent ", esc(d.Budget.Requests), " request(s) to WhatConverts, retries included: ", esc(d.Budget.Percent),
			"% of one profile key's daily ", esc(d.ProfileKeyDailyLimit), ".</p>\n")
		p.bars(d.BudgetChart)
		p.w("\n<div class=\"scroll\"><table><caption>WhatConverts requests</caption><tbody>\n",
			"<tr><th scope=\"row\">requests sent by the report run</th><td class=\"n\">", esc(d.Budget.Requests), "</td></tr>\n",
			"<tr><th scope=\"row\">daily limit of one profile key</th><td class=\"n\">", esc(d.ProfileKeyDailyLimit), "</td></tr>\n",
			"</tbody></table></div>\n</section>\n</div>\n")
	}
	p.w("\n\n<section aria-labelledby=\"trend\">\n<h2 id=\"trend\">Leads per day, 30 days</h2>\n")
	if d.TrendUnavailable {
		p.w("<p class=\"note\">The stored reports of the last 30 days could not be read just now; reload the page to try again.</p>")
	} else {
		p.trend(d)
	}
	p.w("\n</section>\n\n<footer>wcbridge. The same figures as JSON or CSV: this URL with Accept: application/json or text/csv, or format=json or format=csv in its query. Verify the trail yourself: make verify-audit DATE=",
		esc(d.Date), ".</footer>\n</main>\n</body>\n</html>\n")
	return p.Bytes()
}

// trend writes the trend section's chart and table.
func (p *pageWriter) trend(d pageData) {
	c := d.TrendChart
	p.w("\n<p class=\"meta\">", esc(d.TrendFrom), " to ", esc(d.TrendTo), ", from the stored reports. A grey stub is a day without a report you may read.</p>\n",
		"<p class=\"legend\"><span><i class=\"s0\"></i>leads</span><span><i class=\"current\"></i>", esc(d.Date), "</span><span><i class=\"missing\"></i>no report</span></p>\n")
	if c.Columns != nil || c.Width != 0 { // a chart was laid out
		p.w("<svg viewBox=\"0 0 ", itoa(c.Width), " ", itoa(c.Height), "\" role=\"img\" aria-hidden=\"true\" focusable=\"false\">\n",
			"<text class=\"value\" x=\"0\" y=\"12\">max ", esc(c.Max), "</text><line class=\"axis\" x1=\"0\" y1=\"", itoa(c.Baseline), "\" x2=\"", itoa(c.Width),
			"\" y2=\"", itoa(c.Baseline), "\"></line>\n")
		for _, col := range c.Columns {
			p.w("<g><title>", esc(col.Date), ": ")
			class := "s0"
			switch {
			case col.Missing:
				p.w("no report")
				class = "missing"
			case col.Current:
				p.w(i64(col.Value), " leads")
				class = "current"
			default:
				p.w(i64(col.Value), " leads")
			}
			p.w("</title><rect class=\"", class, "\" x=\"", itoa(col.X), "\" y=\"", itoa(col.Y), "\" width=\"", itoa(col.Width), "\" height=\"", itoa(col.Height), "\"></rect>")
			if col.Label != "" {
				p.w("<text x=\"", itoa(col.LabelX), "\" y=\"", itoa(c.Baseline), "\" dy=\"16\" text-anchor=\"", esc(col.Anchor), "\">", esc(col.Label), "</text>")
			}
			p.w("</g>\n")
		}
		p.w("</svg>")
	}
	p.w("\n<div class=\"scroll\"><table><caption>The last 30 days, from the stored reports</caption>\n",
		"<thead><tr><th scope=\"col\">date</th><th scope=\"col\" class=\"n\">leads</th><th scope=\"col\" class=\"n\">webhooks accepted</th><th scope=\"col\" class=\"n\">duplicate</th><th scope=\"col\" class=\"n\">rejected</th><th scope=\"col\" class=\"n\">PHI reads</th><th scope=\"col\">trail verified</th></tr></thead><tbody>\n")
	for _, r := range d.Trend {
		p.w("<tr><td>", esc(r.Date), "</td>")
		switch {
		case !r.Stored:
			p.w("<td colspan=\"6\" class=\"empty\">no report</td>")
		case r.Withheld:
			p.w("<td class=\"n\">", esc(r.Leads), "</td><td class=\"n\" colspan=\"4\">left out</td><td>", esc(r.Verified), "</td>")
		default:
			p.w("<td class=\"n\">", esc(r.Leads), "</td><td class=\"n\">", esc(r.Accepted), "</td><td class=\"n\">", esc(r.Duplicates), "</td><td class=\"n\">",
				esc(r.Rejected), "</td><td class=\"n\">", esc(r.PHIReads), "</td><td>", esc(r.Verified), "</td>")
		}
		p.w("</tr>\n")
	}
	p.w("</tbody></table></div>\n")
}

// bars writes a horizontal bar chart (or says there is nothing to chart).
func (p *pageWriter) bars(c barChart) {
	if c.Empty {
		p.w("<p class=\"empty\">Nothing to chart: every figure is zero.</p>")
		return
	}
	p.w("<svg viewBox=\"0 0 ", itoa(c.Width), " ", itoa(c.Height), "\" role=\"img\" aria-hidden=\"true\" focusable=\"false\">\n")
	for _, b := range c.Bars {
		p.w("<g><title>", esc(b.Label), ": ", esc(b.Display), "</title><text x=\"", itoa(c.LabelWidth), "\" dx=\"-8\" y=\"", itoa(b.TextY),
			"\" text-anchor=\"end\">", esc(b.Short), "</text>\n")
		for _, s := range b.Segments {
			p.w("<rect class=\"", esc(s.Class), "\" x=\"", itoa(s.X), "\" y=\"", itoa(b.Y), "\" width=\"", itoa(s.Width), "\" height=\"18\" rx=\"2\"></rect>")
		}
		p.w("<text class=\"value\" x=\"", itoa(b.ValueX), "\" y=\"", itoa(b.TextY), "\">", esc(b.Display), "</text></g>\n")
	}
	p.w("</svg>")
}

// counts writes a table of labelled counts; arn marks the labels as ARNs (they wrap anywhere).
func (p *pageWriter) counts(caption, head string, rows []counted, arn bool) {
	p.w("<div class=\"scroll\"><table><caption>", esc(caption), "</caption><thead><tr><th scope=\"col\">", esc(head),
		"</th><th scope=\"col\" class=\"n\">count</th></tr></thead><tbody>\n")
	for _, r := range rows {
		p.w("<tr><td")
		if arn {
			p.w(" class=\"arn\"")
		}
		p.w(">", esc(r.Label), "</td><td class=\"n\">", i64(r.Value), "</td></tr>\n")
	}
	if len(rows) == 0 {
		p.w("<tr><td colspan=\"2\" class=\"empty\">none</td></tr>")
	}
	p.w("</tbody></table></div>")
}
