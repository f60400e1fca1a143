package whatconverts

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Lead is a WhatConverts lead. The typed fields are a read-only view decoded tolerantly from the JSON object
// WhatConverts sent; the object itself is kept, unknown fields included, and MarshalJSON writes it back
// unchanged. Changing a typed field does not change what MarshalJSON writes.
//
// Tolerance: a field of an unexpected JSON type is read as well as it can be (a number given as a string is a
// number, "" or null money is nil, [] is an empty map) or left zero, and never fails the decode: one odd lead
// must not fail a page of 2,500. Only a lead that is not a JSON object is an error.
type Lead struct {
	LeadID    int64
	AccountID int64
	Account   string
	ProfileID int64
	Profile   string
	UserID    string

	LeadType    string // display value, e.g. "Phone Call"; see ParseLeadType
	LeadStatus  string // "Unique" or "Repeat"
	LeadState   string // "Completed" or "In Progress"
	DateCreated string // ISO 8601 UTC as sent; see Created
	LastUpdated string

	Quotable   string   // "Yes", "No", "Pending", "Not Set"
	QuoteValue *float64 // nil when WhatConverts has none (null or "")
	SalesValue *float64
	LeadScore  int64
	Spam       bool
	Duplicate  bool

	LeadSource   string
	LeadMedium   string
	LeadCampaign string
	LeadContent  string
	LeadKeyword  string
	LeadURL      string
	LandingURL   string

	ContactName         string
	ContactCompanyName  string
	ContactEmailAddress string
	ContactPhoneNumber  string
	EmailAddress        string
	PhoneNumber         string

	SalesforceUserID string // a numeric string, or a number, depending on the sender

	LeadAnalysis     FlexMap
	AdditionalFields FlexMap
	CustomFields     FlexMap
	FieldMappings    FlexMap

	raw json.RawMessage
}

// Raw is the lead's JSON object as WhatConverts sent it (nil for a Lead not decoded from JSON).
func (l Lead) Raw() json.RawMessage { return l.raw }

// Field returns one field of the lead as sent, known or not (e.g. "call_duration_seconds").
func (l Lead) Field(name string) (json.RawMessage, bool) {
	if l.raw == nil {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(l.raw, &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// Created parses DateCreated; ok is false when it is missing or not ISO 8601.
func (l Lead) Created() (time.Time, bool) { return parseTime(l.DateCreated) }

// Updated parses LastUpdated; ok is false when it is missing or not ISO 8601.
func (l Lead) Updated() (time.Time, bool) { return parseTime(l.LastUpdated) }

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var errLeadNotObject = errors.New("whatconverts: a lead is not a JSON object")

// leadWire holds the known fields undecoded, so that each is read tolerantly (unknown fields are skipped
// here and kept in Lead.raw).
type leadWire struct {
	LeadID              json.RawMessage `json:"lead_id"`
	AccountID           json.RawMessage `json:"account_id"`
	Account             json.RawMessage `json:"account"`
	ProfileID           json.RawMessage `json:"profile_id"`
	Profile             json.RawMessage `json:"profile"`
	UserID              json.RawMessage `json:"user_id"`
	LeadType            json.RawMessage `json:"lead_type"`
	LeadStatus          json.RawMessage `json:"lead_status"`
	LeadState           json.RawMessage `json:"lead_state"`
	DateCreated         json.RawMessage `json:"date_created"`
	LastUpdated         json.RawMessage `json:"last_updated"`
	Quotable            json.RawMessage `json:"quotable"`
	QuoteValue          json.RawMessage `json:"quote_value"`
	SalesValue          json.RawMessage `json:"sales_value"`
	LeadScore           json.RawMessage `json:"lead_score"`
	Spam                json.RawMessage `json:"spam"`
	Duplicate           json.RawMessage `json:"duplicate"`
	LeadSource          json.RawMessage `json:"lead_source"`
	LeadMedium          json.RawMessage `json:"lead_medium"`
	LeadCampaign        json.RawMessage `json:"lead_campaign"`
	LeadContent         json.RawMessage `json:"lead_content"`
	LeadKeyword         json.RawMessage `json:"lead_keyword"`
	LeadURL             json.RawMessage `json:"lead_url"`
	LandingURL          json.RawMessage `json:"landing_url"`
	ContactName         json.RawMessage `json:"contact_name"`
	ContactCompanyName  json.RawMessage `json:"contact_company_name"`
	ContactEmailAddress json.RawMessage `json:"contact_email_address"`
	ContactPhoneNumber  json.RawMessage `json:"contact_phone_number"`
	EmailAddress        json.RawMessage `json:"email_address"`
	PhoneNumber         json.RawMessage `json:"phone_number"`
	SalesforceUserID    json.RawMessage `json:"salesforce_user_id"`
	LeadAnalysis        json.RawMessage `json:"lead_analysis"`
	AdditionalFields    json.RawMessage `json:"additional_fields"`
	CustomFields        json.RawMessage `json:"custom_fields"`
	FieldMappings       json.RawMessage `json:"field_mappings"`
}

// UnmarshalJSON decodes a lead tolerantly and keeps a copy of the object.
func (l *Lead) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*l = Lead{} // a null entry in a list; callers skip leads without Raw
		return nil
	}
	var w leadWire
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &w) != nil {
		return errLeadNotObject
	}
	*l = Lead{raw: append(json.RawMessage(nil), b...)}
	l.LeadID = asInt(w.LeadID)
	l.AccountID = asInt(w.AccountID)
	l.Account = asString(w.Account)
	l.ProfileID = asInt(w.ProfileID)
	l.Profile = asString(w.Profile)
	l.UserID = asString(w.UserID)
	l.LeadType = asString(w.LeadType)
	l.LeadStatus = asString(w.LeadStatus)
	l.LeadState = asString(w.LeadState)
	l.DateCreated = asString(w.DateCreated)
	l.LastUpdated = asString(w.LastUpdated)
	l.Quotable = asString(w.Quotable)
	l.QuoteValue = asMoney(w.QuoteValue)
	l.SalesValue = asMoney(w.SalesValue)
	l.LeadScore = asInt(w.LeadScore)
	l.Spam = asBool(w.Spam)
	l.Duplicate = asBool(w.Duplicate)
	l.LeadSource = asString(w.LeadSource)
	l.LeadMedium = asString(w.LeadMedium)
	l.LeadCampaign = asString(w.LeadCampaign)
	l.LeadContent = asString(w.LeadContent)
	l.LeadKeyword = asString(w.LeadKeyword)
	l.LeadURL = asString(w.LeadURL)
	l.LandingURL = asString(w.LandingURL)
	l.ContactName = asString(w.ContactName)
	l.ContactCompanyName = asString(w.ContactCompanyName)
	l.ContactEmailAddress = asString(w.ContactEmailAddress)
	l.ContactPhoneNumber = asString(w.ContactPhoneNumber)
	l.EmailAddress = asString(w.EmailAddress)
	l.PhoneNumber = asString(w.PhoneNumber)
	l.SalesforceUserID = asString(w.SalesforceUserID)
	l.LeadAnalysis = asFlexMap(w.LeadAnalysis)
	l.AdditionalFields = asFlexMap(w.AdditionalFields)
	l.CustomFields = asFlexMap(w.CustomFields)
	l.FieldMappings = asFlexMap(w.FieldMappings)
	return nil
}

// MarshalJSON writes the lead exactly as WhatConverts sent it. A Lead built in code (no JSON behind it) is
// written from its typed fields.
func (l Lead) MarshalJSON() ([]byte, error) {
	if l.raw != nil {
		return l.raw, nil
	}
	return json.Marshal(leadView{
		LeadID: l.LeadID, AccountID: l.AccountID, Account: l.Account, ProfileID: l.ProfileID, Profile: l.Profile,
		UserID: l.UserID, LeadType: l.LeadType, LeadStatus: l.LeadStatus, LeadState: l.LeadState,
		DateCreated: l.DateCreated, LastUpdated: l.LastUpdated, Quotable: l.Quotable,
		QuoteValue: l.QuoteValue, SalesValue: l.SalesValue, LeadScore: l.LeadScore, Spam: l.Spam,
		Duplicate: l.Duplicate, LeadSource: l.LeadSource, LeadMedium: l.LeadMedium, LeadCampaign: l.LeadCampaign,
		LeadContent: l.LeadContent, LeadKeyword: l.LeadKeyword, LeadURL: l.LeadURL, LandingURL: l.LandingURL,
		ContactName: l.ContactName, ContactCompanyName: l.ContactCompanyName,
		ContactEmailAddress: l.ContactEmailAddress, ContactPhoneNumber: l.ContactPhoneNumber,
		EmailAddress: l.EmailAddress, PhoneNumber: l.PhoneNumber, SalesforceUserID: l.SalesforceUserID,
		LeadAnalysis: l.LeadAnalysis, AdditionalFields: l.AdditionalFields, CustomFields: l.CustomFields,
		FieldMappings: l.FieldMappings,
	})
}

// leadView is the wire shape of a Lead built in code.
type leadView struct {
	LeadID              int64    `json:"lead_id"`
	AccountID           int64    `json:"account_id,omitempty"`
	Account             string   `json:"account,omitempty"`
	ProfileID           int64    `json:"profile_id,omitempty"`
	Profile             string   `json:"profile,omitempty"`
	UserID              string   `json:"user_id,omitempty"`
	LeadType            string   `json:"lead_type,omitempty"`
	LeadStatus          string   `json:"lead_status,omitempty"`
	LeadState           string   `json:"lead_state,omitempty"`
	DateCreated         string   `json:"date_created,omitempty"`
	LastUpdated         string   `json:"last_updated,omitempty"`
	Quotable            string   `json:"quotable,omitempty"`
	QuoteValue          *float64 `json:"quote_value"`
	SalesValue          *float64 `json:"sales_value"`
	LeadScore           int64    `json:"lead_score"`
	Spam                bool     `json:"spam"`
	Duplicate           bool     `json:"duplicate"`
	LeadSource          string   `json:"lead_source,omitempty"`
	LeadMedium          string   `json:"lead_medium,omitempty"`
	LeadCampaign        string   `json:"lead_campaign,omitempty"`
	LeadContent         string   `json:"lead_content,omitempty"`
	LeadKeyword         string   `json:"lead_keyword,omitempty"`
	LeadURL             string   `json:"lead_url,omitempty"`
	LandingURL          string   `json:"landing_url,omitempty"`
	ContactName         string   `json:"contact_name,omitempty"`
	ContactCompanyName  string   `json:"contact_company_name,omitempty"`
	ContactEmailAddress string   `json:"contact_email_address,omitempty"`
	ContactPhoneNumber  string   `json:"contact_phone_number,omitempty"`
	EmailAddress        string   `json:"email_address,omitempty"`
	PhoneNumber         string   `json:"phone_number,omitempty"`
	SalesforceUserID    string   `json:"salesforce_user_id,omitempty"`
	LeadAnalysis        FlexMap  `json:"lead_analysis,omitempty"`
	AdditionalFields    FlexMap  `json:"additional_fields,omitempty"`
	CustomFields        FlexMap  `json:"custom_fields,omitempty"`
	FieldMappings       FlexMap  `json:"field_mappings,omitempty"`
}

// FlexMap is a JSON object of named values that WhatConverts sends as [] when it is empty (lead_analysis,
// additional_fields). Values are kept as sent; String reads one as text.
type FlexMap map[string]json.RawMessage

// UnmarshalJSON accepts an object, [] (empty), null, or a non-empty array (kept under its indexes "0",
// "1", …, so nothing is lost).
func (m *FlexMap) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*m = nil
		return nil
	case b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make(FlexMap, len(items))
		for i, v := range items {
			out[strconv.Itoa(i)] = v
		}
		*m = out
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*m = obj
	return nil
}

// String returns a value as text: a string as it is, a number or bool as its JSON text, null as "".
// Objects and arrays are returned as their JSON text.
func (m FlexMap) String(name string) (string, bool) {
	v, ok := m[name]
	if !ok {
		return "", false
	}
	return asString(v), true
}

// The as* functions read one field tolerantly; anything unreadable is the zero value.

func asString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	// Numbers, booleans, objects and arrays: their JSON text (a numeric salesforce_user_id reads "123").
	return string(raw)
}

func asInt(raw json.RawMessage) int64 {
	s := strings.TrimSpace(unquote(raw))
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return 0
}

func asMoney(raw json.RawMessage) *float64 {
	s := strings.TrimSpace(unquote(raw))
	s = strings.ReplaceAll(strings.TrimPrefix(s, "$"), ",", "")
	if s == "" || s == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func asBool(raw json.RawMessage) bool {
	switch strings.ToLower(strings.TrimSpace(unquote(raw))) {
	case "true", "1", "yes":
		return true
	}
	return false
}

func asFlexMap(raw json.RawMessage) FlexMap {
	var m FlexMap
	if len(raw) == 0 || m.UnmarshalJSON(raw) != nil {
		return nil
	}
	return m
}

// unquote returns a JSON string's contents, or any other JSON value's text.
func unquote(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	return string(raw)
}
