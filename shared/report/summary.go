package report

import (
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// MaxRangeDays bounds GET /reports?from=…&to=…: about a quarter.
const MaxRangeDays = 93

// TrendDays is how many days the HTML page's trend covers, ending at the report's date.
const TrendDays = 30

// Summary is one stored report as GET /reports lists it: its headline figures over the profiles the
// caller may see. The account-wide figures are nil when withheld (see View).
type Summary struct {
	Date        string           `json:"date"`
	GeneratedAt string           `json:"generated_at"`
	Profiles    []ProfileSummary `json:"profiles"`
	LeadsTotal  int64            `json:"leads_total"`
	Webhooks    *Webhooks        `json:"webhooks,omitempty"`
	// Actions sums the four actions' calls by outcome.
	Actions *Outcomes `json:"actions,omitempty"`
	// PHIReads sums the day's PHI reads over every caller.
	PHIReads             *int64           `json:"phi_reads,omitempty"`
	WhatConvertsRequests *int64           `json:"whatconverts_requests,omitempty"`
	Integrity            IntegritySummary `json:"integrity"`
	Withheld             []string         `json:"withheld,omitempty"`
}

// ProfileSummary is one profile's line of a Summary.
type ProfileSummary struct {
	ProfileID  int64 `json:"profile_id"`
	LeadsTotal int64 `json:"leads_total"`
	Partial    bool  `json:"partial,omitempty"`
}

// IntegritySummary is whether the day's audit trail was intact when the report was built.
type IntegritySummary struct {
	Verified         bool   `json:"verified"`
	Records          int    `json:"records"`
	UnverifiedReason string `json:"unverified_reason,omitempty"`
}

// Summarize is the Summary of what a View shows.
func Summarize(v View) Summary {
	s := Summary{
		Date: v.Date, GeneratedAt: v.GeneratedAt, Profiles: make([]ProfileSummary, 0, len(v.Profiles)),
		Integrity: IntegritySummary{Verified: v.Integrity.Verified, Records: v.Integrity.Records, UnverifiedReason: v.Integrity.UnverifiedReason},
		Withheld:  v.Withheld,
	}
	for _, p := range v.Profiles {
		s.Profiles = append(s.Profiles, ProfileSummary{ProfileID: p.ProfileID, LeadsTotal: p.LeadsTotal, Partial: p.Partial})
		s.LeadsTotal += p.LeadsTotal
	}
	if v.Audit != nil {
		wh := v.Audit.Webhooks
		var actions Outcomes
		for _, o := range v.Audit.Actions {
			actions.OK += o.OK
			actions.Failed += o.Failed
		}
		var reads int64
		for _, n := range v.Audit.PHIReads {
			reads += n
		}
		s.Webhooks, s.Actions, s.PHIReads = &wh, &actions, &reads
	}
	if v.WhatConverts != nil {
		n := v.WhatConverts.Requests
		s.WhatConvertsRequests = &n
	}
	return s
}

// Range is a validated GET /reports range: from and to inclusive, at most MaxRangeDays days.
type Range struct {
	From, To time.Time
}

// Dates are the range's dates, oldest first.
func (r Range) Dates() []string {
	var out []string
	for d := r.From; !d.After(r.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(dateLayout))
	}
	return out
}

// ParseRange checks the from and to query parameters, naming each bad field: both required
// calendar dates, from not after to, at most MaxRangeDays days.
func ParseRange(from, to string) (Range, error) {
	var problems []apierr.FieldProblem
	parse := func(field, s string) time.Time {
		if s == "" {
			problems = append(problems, apierr.FieldProblem{Field: field, Problem: "is required (YYYY-MM-DD)"})
			return time.Time{}
		}
		t, err := time.Parse(dateLayout, s)
		if err != nil || len(s) != len(dateLayout) {
			problems = append(problems, apierr.FieldProblem{Field: field, Problem: "must be a calendar date, YYYY-MM-DD"})
			return time.Time{}
		}
		return t
	}
	r := Range{From: parse("from", from), To: parse("to", to)}
	if len(problems) > 0 {
		return Range{}, apierr.Invalid(problems...)
	}
	switch days := int(r.To.Sub(r.From).Hours()/24) + 1; {
	case days < 1:
		return Range{}, apierr.Invalid(apierr.FieldProblem{Field: "to", Problem: "must not be before from"})
	case days > MaxRangeDays:
		return Range{}, apierr.Invalid(apierr.FieldProblem{Field: "to", Problem: "must be at most 93 days after from, counting both"})
	}
	return r, nil
}

// TrendRange is the TrendDays days ending at date.
func TrendRange(date time.Time) Range {
	return Range{From: date.AddDate(0, 0, -(TrendDays - 1)), To: date}
}
