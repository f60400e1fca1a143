package whatconverts

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxLeadsPerPage is WhatConverts' largest page of leads.
const MaxLeadsPerPage = 2500

// MaxDateRange is the longest start_date..end_date span WhatConverts accepts.
const MaxDateRange = 400 * 24 * time.Hour

// ListParams are the filters of GET /leads. Zero values are not sent.
//
// AccountID and ProfileID are for master keys only: with a master key the client sends the KeyFor's profile
// (ProfileID may be left 0, and must otherwise match it); with a profile key neither is sent.
type ListParams struct {
	LeadsPerPage int // 1..2500; 0 is WhatConverts' default (25) for a single page, 2500 when iterating
	PageNumber   int // from 1

	AccountID int64
	ProfileID int64

	LeadType   LeadType
	LeadStatus LeadStatus
	StartDate  time.Time // sent as its UTC date, YYYY-MM-DD (see doc.go, Dates); at most 400 days before EndDate
	EndDate    time.Time // sent as its UTC date: the whole day is in the range
	Order      Order     // OrderDesc (newest first) is WhatConverts' default

	Quotable   Quotable
	QuoteValue ValueFilter
	SalesValue ValueFilter

	PhoneNumber  string // E.164
	EmailAddress string
	UserID       string

	Spam      *bool // true: only spam leads; false: sent as false
	Duplicate *bool

	LeadSource   string
	LeadMedium   string
	LeadCampaign string
	LeadContent  string
	LeadKeyword  string

	CustomerJourney bool // include customer_journey (Elite plans)
}

// dateOnly is how start_date and end_date are sent (see doc.go, Dates).
const dateOnly = "2006-01-02"

// query validates p and encodes it for key k. Problems are reported by WhatConverts' parameter name.
func (p ListParams) query(k KeyFor) (url.Values, *Error) {
	q := url.Values{}
	bad := func(field, problem string) (url.Values, *Error) {
		return nil, &Error{Kind: KindBadRequest, Field: field, Problem: problem}
	}
	switch {
	case p.LeadsPerPage < 0 || p.LeadsPerPage > MaxLeadsPerPage:
		return bad("leads_per_page", "must be between 1 and 2500")
	case p.PageNumber < 0:
		return bad("page_number", "must be 1 or more")
	case p.LeadType != "" && !p.LeadType.Valid():
		return bad("lead_type", "is not a WhatConverts lead type")
	case p.LeadStatus != "" && !p.LeadStatus.Valid():
		return bad("lead_status", "must be unique or repeat")
	case p.Order != "" && p.Order != OrderAsc && p.Order != OrderDesc:
		return bad("order", "must be asc or desc")
	case p.Quotable != "" && !p.Quotable.Valid():
		return bad("quotable", "must be yes, no, pending or not_set")
	case p.QuoteValue != "" && p.QuoteValue != HasValue && p.QuoteValue != NoValue:
		return bad("quote_value", "must be has_value or no_value")
	case p.SalesValue != "" && p.SalesValue != HasValue && p.SalesValue != NoValue:
		return bad("sales_value", "must be has_value or no_value")
	case !p.StartDate.IsZero() && !p.EndDate.IsZero() && p.EndDate.Before(p.StartDate):
		return bad("end_date", "must not be before start_date")
	case !p.StartDate.IsZero() && !p.EndDate.IsZero() && p.EndDate.Sub(p.StartDate) > MaxDateRange:
		return bad("end_date", "must be at most 400 days after start_date")
	case p.AccountID < 0:
		return bad("account_id", "must be a positive integer")
	case p.ProfileID < 0 || (p.ProfileID != 0 && k.ProfileID != 0 && p.ProfileID != k.ProfileID):
		return bad("profile_id", "must be the profile of the key")
	}
	setInt := func(name string, v int64) {
		if v != 0 {
			q.Set(name, strconv.FormatInt(v, 10))
		}
	}
	setStr := func(name, v string) {
		if v != "" {
			q.Set(name, v)
		}
	}
	setBool := func(name string, v *bool) {
		if v != nil {
			q.Set(name, strconv.FormatBool(*v))
		}
	}
	setInt("leads_per_page", int64(p.LeadsPerPage))
	setInt("page_number", int64(p.PageNumber))
	if k.Master {
		setInt("account_id", p.AccountID)
		setInt("profile_id", k.ProfileID)
	}
	setStr("lead_type", string(p.LeadType))
	setStr("lead_status", string(p.LeadStatus))
	if !p.StartDate.IsZero() {
		q.Set("start_date", p.StartDate.UTC().Format(dateOnly))
	}
	if !p.EndDate.IsZero() {
		q.Set("end_date", p.EndDate.UTC().Format(dateOnly))
	}
	setStr("order", string(p.Order))
	setStr("quotable", string(p.Quotable))
	setStr("quote_value", string(p.QuoteValue))
	setStr("sales_value", string(p.SalesValue))
	setStr("phone_number", p.PhoneNumber)
	setStr("email_address", p.EmailAddress)
	setStr("user_id", p.UserID)
	setBool("spam", p.Spam)
	setBool("duplicate", p.Duplicate)
	setStr("lead_source", p.LeadSource)
	setStr("lead_medium", p.LeadMedium)
	setStr("lead_campaign", p.LeadCampaign)
	setStr("lead_content", p.LeadContent)
	setStr("lead_keyword", p.LeadKeyword)
	if p.CustomerJourney {
		q.Set("customer_journey", "true")
	}
	return q, nil
}

// createFields are WhatConverts' default create parameters other than the ones
// CreateParams types: lead_type, send_notification and profile_id (set from the key), additional_fields and
// custom_fields (maps of their own).
var createFields = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`date_created quotable quote_value sales_value wc_client_current
		lead_source lead_medium lead_campaign lead_content lead_keyword
		ip_address email_address phone_number user_id gclid msclkid fbclid fbpid
		lead_url landing_url operating_system browser device_type device_make form_name
		phone_name tracking_number destination_number caller_number caller_name call_duration_seconds
		answer_status line_type call_transcription voicemail_transcription
		city zip state country message event_category event_action event_label
		transaction_id transaction_tax transaction_shipping sender_name email_subject email_message`) {
		createFields[f] = true
	}
}

// CreateFields lists the names CreateParams.Fields accepts, sorted.
func CreateFields() []string {
	out := make([]string, 0, len(createFields))
	for f := range createFields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// IsCreateField says name is a default create parameter CreateParams.Fields accepts.
func IsCreateField(name string) bool { return createFields[name] }

// numericCreateFields must hold numbers.
var numericCreateFields = map[string]bool{
	"quote_value": true, "sales_value": true, "call_duration_seconds": true,
	"transaction_tax": true, "transaction_shipping": true,
}

// CreateParams are the parameters of POST /leads. The body is sent form-encoded, maps as bracket keys
// (additional_fields[Name]=value).
type CreateParams struct {
	LeadType         LeadType // required
	SendNotification bool     // email WhatConverts' new-lead notification
	// Fields holds other default create parameters by WhatConverts name (see CreateFields), as text:
	// e.g. "email_address", "quote_value": "250", "quotable": "yes", "date_created": "2026-11-28T10:00:00Z".
	Fields           map[string]string
	AdditionalFields map[string]string
	CustomFields     map[string]string
}

func (p CreateParams) form(k KeyFor) (url.Values, *Error) {
	bad := func(field, problem string) (url.Values, *Error) {
		return nil, &Error{Kind: KindBadRequest, Field: field, Problem: problem}
	}
	if !p.LeadType.Valid() {
		return bad("lead_type", "is required and must be a WhatConverts lead type")
	}
	f := url.Values{}
	f.Set("lead_type", string(p.LeadType))
	f.Set("send_notification", strconv.FormatBool(p.SendNotification))
	if k.Master {
		f.Set("profile_id", strconv.FormatInt(k.ProfileID, 10))
	}
	names := make([]string, 0, len(p.Fields))
	for name := range p.Fields {
		names = append(names, name)
	}
	sort.Strings(names) // report the same field first every time
	for _, name := range names {
		v := p.Fields[name]
		switch {
		case !createFields[name]:
			return bad(name, "is not a WhatConverts create field")
		case name == "quotable":
			if !Quotable(v).Valid() {
				return bad(name, "must be yes, no, pending or not_set")
			}
		case numericCreateFields[name]:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return bad(name, "must be a number")
			}
		case name == "date_created":
			if _, ok := parseTime(v); !ok {
				return bad(name, "must be an ISO 8601 UTC date-time")
			}
		}
		if v != "" {
			f.Set(name, v)
		}
	}
	if err := setMap(f, "additional_fields", p.AdditionalFields); err != nil {
		return nil, err
	}
	if err := setMap(f, "custom_fields", p.CustomFields); err != nil {
		return nil, err
	}
	return f, nil
}

// EditParams are the parameters of POST /leads/{id}: the few fields WhatConverts lets the API change.
// At least one must be set.
type EditParams struct {
	Quotable         Quotable
	QuoteValue       *float64
	SalesValue       *float64
	LeadURL          string
	AdditionalFields map[string]string
	CustomFields     map[string]string
}

func (p EditParams) form() (url.Values, *Error) {
	bad := func(field, problem string) (url.Values, *Error) {
		return nil, &Error{Kind: KindBadRequest, Field: field, Problem: problem}
	}
	f := url.Values{}
	if p.Quotable != "" {
		if !p.Quotable.Valid() {
			return bad("quotable", "must be yes, no, pending or not_set")
		}
		f.Set("quotable", string(p.Quotable))
	}
	for _, m := range []struct {
		name string
		v    *float64
	}{{"quote_value", p.QuoteValue}, {"sales_value", p.SalesValue}} {
		if m.v == nil {
			continue
		}
		if *m.v < 0 || *m.v != *m.v || *m.v > 1e15 {
			return bad(m.name, "must be a non-negative number")
		}
		f.Set(m.name, strconv.FormatFloat(*m.v, 'f', -1, 64))
	}
	if p.LeadURL != "" {
		f.Set("lead_url", p.LeadURL)
	}
	if err := setMap(f, "additional_fields", p.AdditionalFields); err != nil {
		return nil, err
	}
	if err := setMap(f, "custom_fields", p.CustomFields); err != nil {
		return nil, err
	}
	if len(f) == 0 {
		return bad("lead", "needs at least one field to change")
	}
	return f, nil
}

func setMap(f url.Values, name string, m map[string]string) *Error {
	for k, v := range m {
		if k == "" || strings.ContainsAny(k, "[]") {
			return &Error{Kind: KindBadRequest, Field: name, Problem: "has a name that is empty or holds brackets"}
		}
		f.Set(name+"["+k+"]", v)
	}
	return nil
}
