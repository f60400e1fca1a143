package whatconverts

import "strings"

// WhatConverts answers with display values ("Phone Call", "Not Set") and takes request values
// ("phone_call", "not_set"). The types below are request values; Display gives the display value and the
// Parse functions accept either form, in any letter case.

// LeadType is a lead type as requests name it.
type LeadType string

// Lead types.
const (
	LeadTypeAppointment LeadType = "appointment"
	LeadTypeChat        LeadType = "chat"
	LeadTypeEmail       LeadType = "email"
	LeadTypeEvent       LeadType = "event"
	LeadTypeOther       LeadType = "other"
	LeadTypePhoneCall   LeadType = "phone_call"
	LeadTypeTextMessage LeadType = "text_message"
	LeadTypeTransaction LeadType = "transaction"
	LeadTypeWebForm     LeadType = "web_form"
)

var leadTypeDisplay = map[LeadType]string{
	LeadTypeAppointment: "Appointment",
	LeadTypeChat:        "Chat",
	LeadTypeEmail:       "Email",
	LeadTypeEvent:       "Event",
	LeadTypeOther:       "Other",
	LeadTypePhoneCall:   "Phone Call",
	LeadTypeTextMessage: "Text Message",
	LeadTypeTransaction: "Transaction",
	LeadTypeWebForm:     "Web Form",
}

// LeadTypes lists every lead type, in the order WhatConverts documents them.
func LeadTypes() []LeadType {
	return []LeadType{LeadTypeAppointment, LeadTypeChat, LeadTypeEmail, LeadTypeEvent, LeadTypeOther,
		LeadTypePhoneCall, LeadTypeTextMessage, LeadTypeTransaction, LeadTypeWebForm}
}

// Valid says t is one of the lead types.
func (t LeadType) Valid() bool { _, ok := leadTypeDisplay[t]; return ok }

// Display is the value WhatConverts shows in responses ("Phone Call"), or "" for an unknown type.
func (t LeadType) Display() string { return leadTypeDisplay[t] }

// ParseLeadType accepts a request value ("phone_call") or a display value ("Phone Call").
func ParseLeadType(s string) (LeadType, bool) {
	t := LeadType(requestForm(s))
	return t, t.Valid()
}

// Quotable is a lead's quotable state as requests name it.
type Quotable string

// Quotable states.
const (
	QuotableYes     Quotable = "yes"
	QuotableNo      Quotable = "no"
	QuotablePending Quotable = "pending"
	QuotableNotSet  Quotable = "not_set"
)

var quotableDisplay = map[Quotable]string{
	QuotableYes: "Yes", QuotableNo: "No", QuotablePending: "Pending", QuotableNotSet: "Not Set",
}

// Valid says q is one of the quotable states.
func (q Quotable) Valid() bool { _, ok := quotableDisplay[q]; return ok }

// Display is the value WhatConverts shows in responses ("Not Set"), or "" for an unknown state.
func (q Quotable) Display() string { return quotableDisplay[q] }

// ParseQuotable accepts a request value ("not_set") or a display value ("Not Set").
func ParseQuotable(s string) (Quotable, bool) {
	q := Quotable(requestForm(s))
	return q, q.Valid()
}

// LeadStatus says whether a lead is a first contact or a repeat one (not a sales pipeline state).
type LeadStatus string

// Lead statuses.
const (
	LeadStatusUnique LeadStatus = "unique"
	LeadStatusRepeat LeadStatus = "repeat"
)

var leadStatusDisplay = map[LeadStatus]string{LeadStatusUnique: "Unique", LeadStatusRepeat: "Repeat"}

// Valid says s is one of the lead statuses.
func (s LeadStatus) Valid() bool { _, ok := leadStatusDisplay[s]; return ok }

// Display is the value WhatConverts shows in responses ("Unique"), or "" for an unknown status.
func (s LeadStatus) Display() string { return leadStatusDisplay[s] }

// ParseLeadStatus accepts a request value ("unique") or a display value ("Unique").
func ParseLeadStatus(v string) (LeadStatus, bool) {
	s := LeadStatus(requestForm(v))
	return s, s.Valid()
}

// Order is the date-created order of a lead list.
type Order string

// Orders. WhatConverts' default is newest first.
const (
	OrderAsc  Order = "asc"
	OrderDesc Order = "desc"
)

// ValueFilter selects leads with or without a quote or sales value.
type ValueFilter string

// Value filters.
const (
	HasValue ValueFilter = "has_value"
	NoValue  ValueFilter = "no_value"
)

// requestForm turns a display value into request form: "Not Set" → "not_set".
func requestForm(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
}
