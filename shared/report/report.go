package report

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// Report is the compliance report of one UTC day, as stored and as GET /reports/{date} returns it
// (the contract's shape). It holds counts, sums and IDs only: no PHI.
type Report struct {
	Date         string       `json:"date"`
	GeneratedAt  string       `json:"generated_at"`
	Profiles     []Profile    `json:"profiles"`
	Audit        AuditSummary `json:"audit"`
	Integrity    Integrity    `json:"integrity"`
	WhatConverts WhatConverts `json:"whatconverts"`
}

// Profile is one WhatConverts profile's leads of the day.
type Profile struct {
	ProfileID       int64            `json:"profile_id"`
	LeadsTotal      int64            `json:"leads_total"`
	ByType          map[string]int64 `json:"by_type"`
	ByStatus        map[string]int64 `json:"by_status"`
	BySource        map[string]int64 `json:"by_source"`
	Quotable        map[string]int64 `json:"quotable"`
	QuoteValueTotal float64          `json:"quote_value_total"`
	SalesValueTotal float64          `json:"sales_value_total"`
	Spam            int64            `json:"spam"`
	Duplicates      int64            `json:"duplicates"`
	// Partial says the profile could not be read to the end: the counts cover the leads read before
	// it stopped, and PartialReason says why (one of the Reason… codes).
	Partial       bool   `json:"partial,omitempty"`
	PartialReason string `json:"partial_reason,omitempty"`
}

// Why a profile is partial: fixed codes, never an error text.
const (
	ReasonNoCredentials   = "no_credentials"   // no WhatConverts key reaches the profile
	ReasonBudgetExhausted = "budget_exhausted" // the report's share of the key's daily budget is spent
	ReasonRateLimited     = "rate_limited"     // WhatConverts kept answering 429 (its own quota)
	ReasonUpstreamTimeout = "upstream_timeout" // WhatConverts did not answer in the time the run had
	ReasonUpstreamError   = "upstream_error"   // WhatConverts answered with an error, or unreadably
	ReasonInternalError   = "internal_error"   // wcbridge could not go on (the budget counter unreadable)
)

// AuditSummary counts the day's audit records.
type AuditSummary struct {
	Webhooks Webhooks            `json:"webhooks"`
	Actions  map[string]Outcomes `json:"actions"`
	// PHIReads counts, per caller (IAM principal ARN), the successful requests that gave lead data
	// out of wcbridge (see the package documentation).
	PHIReads map[string]int64 `json:"phi_reads"`
}

// Webhooks counts the day's webhook deliveries.
type Webhooks struct {
	NewLead     int64 `json:"new-lead"`     // accepted New Lead events
	UpdatedLead int64 `json:"updated-lead"` // accepted Updated Lead events
	Duplicates  int64 `json:"duplicates"`   // redeliveries of an event already recorded
	Rejected    int64 `json:"rejected"`     // deliveries not accepted: refused, or not recorded (a failure)
}

// Outcomes counts one action's calls.
type Outcomes struct {
	OK     int64 `json:"ok"`
	Failed int64 `json:"failed"`
}

// Integrity is the day's tamper evidence: its 24 hourly digests (signed, chained, anchored) and
// whether the day's audit records still match them.
type Integrity struct {
	Records        int    `json:"records"`         // records checked against the day's digests
	Digest         string `json:"digest"`          // the day's last digest (its head); "" while none
	PreviousDigest string `json:"previous_digest"` // the digest the day's first one chains to; "" at the chain's start
	Verified       bool   `json:"verified"`        // all 24 periods digested and verified, no finding
	// PeriodsVerified counts the day's periods whose digest was checked (24 for a whole day);
	// PeriodsPending those not digested yet (not a finding); PeriodsBeforeChain those before the
	// chain's first digest.
	PeriodsVerified    int `json:"periods_verified"`
	PeriodsPending     int `json:"periods_pending,omitempty"`
	PeriodsBeforeChain int `json:"periods_before_chain,omitempty"`
	// UnverifiedReason says why Verified is false: IntegrityFindings, IntegrityPending or
	// IntegrityBeforeChain.
	UnverifiedReason string `json:"unverified_reason,omitempty"`
	// Findings counts what the verification found wrong, by kind (edited, deleted, missing-period, ...).
	Findings map[string]int `json:"findings,omitempty"`
}

// Why Integrity.Verified is false.
const (
	// IntegrityFindings: the verification found tampering (see Findings).
	IntegrityFindings = "findings"
	// IntegrityPending: a period of the day has no digest yet (a report of today, or run before
	// AuditDigestFunction digested the day's last hour); a later run of the date verifies it.
	IntegrityPending = "periods_pending"
	// IntegrityBeforeChain: part of the day precedes the hourly chain's first digest (the day the
	// chain started, or before it), so it has no digest to verify against.
	IntegrityBeforeChain = "before_chain"
)

// WhatConverts is what the run spent of WhatConverts.
type WhatConverts struct {
	Requests int64 `json:"requests"` // HTTP requests sent, retries included
}

// Action names as the audit records carry them (shared/actions and shared/webhook write them).
const (
	ActionGetLeads       = "get-leads"
	ActionGetLead        = "get-lead"
	ActionCreateLead     = "create-lead"
	ActionUpdateLead     = "update-lead"
	ActionTriggerSamples = "trigger-samples"
	// ActionDailyReport is the action of a report run's own audit record (kind report).
	ActionDailyReport = "daily-report"
	// ActionGetReport is the action of a report read's audit record (kind report).
	ActionGetReport = "get-report"
)

// countedActions are the actions the summary counts: the four WhatConverts actions, each of
// which answers with lead data when it succeeds.
var countedActions = []string{ActionGetLeads, ActionGetLead, ActionCreateLead, ActionUpdateLead}

// Labels of buckets that are not a value WhatConverts sent.
const (
	LabelNotSet   = "(not set)"  // the field was empty or absent
	LabelOther    = "(other)"    // an unknown enumeration value, or sources beyond the top N
	LabelRedacted = "(redacted)" // a source or medium that looked like it could hold PHI
)

// DefaultTopSources is how many "source / medium" pairs a profile lists by name; the rest are summed
// under "(other)". It bounds the report item (DynamoDB's 400 KB) however many sources there are.
const DefaultTopSources = 25

// maxTrackedSources bounds the distinct pairs counted by name while a profile is read (memory must
// not grow with the leads); pairs first seen beyond it count under "(other)".
const maxTrackedSources = 1000

// maxLabelRunes bounds a source or medium label.
const maxLabelRunes = 64

// tally aggregates one profile's leads as they stream by: it keeps counts, never a lead.
type tally struct {
	p          Profile
	sources    map[string]int64
	quoteCents int64
	salesCents int64
}

func newTally(profileID int64) *tally {
	return &tally{
		p: Profile{
			ProfileID: profileID,
			ByType:    map[string]int64{},
			ByStatus:  map[string]int64{},
			Quotable:  map[string]int64{"Yes": 0, "No": 0, "Pending": 0, "Not Set": 0},
		},
		sources: map[string]int64{},
	}
}

// add counts one lead. Only enumerations, flags, money values and attribution labels are read.
func (t *tally) add(l whatconverts.Lead) {
	p := &t.p
	p.LeadsTotal++
	p.ByType[leadTypeLabel(l.LeadType)]++
	p.ByStatus[statusLabel(l.LeadStatus)]++
	p.Quotable[quotableLabel(l.Quotable)]++
	if l.QuoteValue != nil {
		t.quoteCents += cents(*l.QuoteValue)
	}
	if l.SalesValue != nil {
		t.salesCents += cents(*l.SalesValue)
	}
	if l.Spam {
		p.Spam++
	}
	if l.Duplicate {
		p.Duplicates++
	}
	src := SourceLabel(l.LeadSource, l.LeadMedium)
	if _, seen := t.sources[src]; seen || len(t.sources) < maxTrackedSources {
		t.sources[src]++
	} else {
		t.sources[LabelOther]++
	}
}

// finish returns the profile with by_source bounded to the top n pairs (by count, then name) plus
// "(other)" for the rest.
func (t *tally) finish(n int) Profile {
	p := t.p
	p.QuoteValueTotal = float64(t.quoteCents) / 100
	p.SalesValueTotal = float64(t.salesCents) / 100
	p.BySource = topN(t.sources, n)
	return p
}

// topN keeps the n largest counts by name and sums the others (and any "(other)" already counted)
// under "(other)". Ties are broken by name so that the same leads give the same report.
func topN(counts map[string]int64, n int) map[string]int64 {
	type kv struct {
		k string
		v int64
	}
	all := make([]kv, 0, len(counts))
	var other int64
	for k, v := range counts {
		if k == LabelOther {
			other += v
			continue
		}
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return strings.Compare(a.k, b.k)
	})
	out := make(map[string]int64, min(len(all), n)+1)
	for i, e := range all {
		if i < n {
			out[e.k] = e.v
		} else {
			other += e.v
		}
	}
	if other > 0 {
		out[LabelOther] = other
	}
	return out
}

// cents turns a money value into whole cents, so that sums are exact (WhatConverts values have at
// most two decimals).
func cents(v float64) int64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return int64(math.Round(v * 100))
}

// leadTypeLabel is the WhatConverts display name of a known lead type; anything else is "(other)",
// so that only names from a fixed list reach the report.
func leadTypeLabel(s string) string {
	if strings.TrimSpace(s) == "" {
		return LabelNotSet
	}
	if t, ok := whatconverts.ParseLeadType(s); ok {
		return t.Display()
	}
	return LabelOther
}

func statusLabel(s string) string {
	if strings.TrimSpace(s) == "" {
		return LabelNotSet
	}
	if st, ok := whatconverts.ParseLeadStatus(s); ok {
		return st.Display()
	}
	return LabelOther
}

// quotableLabel is Yes, No, Pending or Not Set; WhatConverts' "not set" covers empty and unknown.
func quotableLabel(s string) string {
	if q, ok := whatconverts.ParseQuotable(s); ok {
		return q.Display()
	}
	return whatconverts.QuotableNotSet.Display()
}

// SourceLabel is the "source / medium" bucket of a lead, as analytics tools name traffic sources
// ("google / cpc", "(direct) / (none)"). Attribution values come from UTM parameters that anyone
// can put in a link, so a part that could carry PHI (an "@", a query string, a long run of digits,
// control characters) is replaced by "(redacted)", an empty one is "(not set)", and each part is cut
// to 64 characters.
func SourceLabel(source, medium string) string {
	return attributionLabel(source) + " / " + attributionLabel(medium)
}

func attributionLabel(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return LabelNotSet
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "@?=&") {
		return LabelRedacted
	}
	digits := 0
	for _, r := range s {
		if unicode.IsControl(r) {
			return LabelRedacted
		}
		if unicode.IsDigit(r) {
			digits++
		}
	}
	if digits >= 7 { // a phone number, a record number
		return LabelRedacted
	}
	if utf8.RuneCountInString(s) > maxLabelRunes {
		s = string([]rune(s)[:maxLabelRunes])
	}
	return s
}

// auditTally counts the day's audit records as they stream by.
type auditTally struct {
	s       AuditSummary
	records int
}

func newAuditTally() *auditTally {
	a := &auditTally{s: AuditSummary{Actions: map[string]Outcomes{}, PHIReads: map[string]int64{}}}
	for _, name := range countedActions {
		a.s.Actions[name] = Outcomes{}
	}
	return a
}

// add counts one record. What counts as what is the package documentation's "Audit summary".
func (a *auditTally) add(r audit.Record) {
	a.records++
	switch r.Kind {
	case audit.KindWebhook:
		switch r.Outcome {
		case audit.OutcomeOK:
			switch cmp.Or(r.Trigger, r.Action) {
			case audit.TriggerNewLead:
				a.s.Webhooks.NewLead++
			case audit.TriggerUpdatedLead:
				a.s.Webhooks.UpdatedLead++
			}
		case audit.OutcomeDuplicate:
			a.s.Webhooks.Duplicates++
		default:
			// A rejection count stands for Count refused deliveries (audit.Store.CountRejection).
			a.s.Webhooks.Rejected += max(1, r.Count)
		}
	case audit.KindAction:
		o, counted := a.s.Actions[r.Action]
		if !counted {
			return
		}
		if r.Outcome == audit.OutcomeOK {
			o.OK++
			a.s.PHIReads[r.Actor]++
		} else {
			o.Failed++
		}
		a.s.Actions[r.Action] = o
	case audit.KindPHIRead:
		if r.Outcome == audit.OutcomeOK {
			a.s.PHIReads[r.Actor]++
		}
	}
}
