package validate

import (
	"bytes"
	"encoding/json"
	"time"
)

// Text parsers: for query-string and path parameters, or any text already in hand. Each checks the
// text as given (the caller decides whether the parameter was required; see Required), records the
// field's problem when the text is not acceptable, and then returns the zero value.

// ID is raw as a positive int64 (a lead, profile or account ID), or 0 with ProblemID.
func (p *Problems) ID(field, raw string) int64 { return text(p, field, raw, parseID) }

// Int is raw as an integer from lo to hi, or 0 with "must be an integer from LO to HI".
func (p *Problems) Int(field, raw string, lo, hi int64) int64 {
	v, problem := parseInt(raw, lo, hi)
	return check(p, field, v, problem)
}

// Email is raw if it is an email address (see the package doc), or "" with ProblemEmail.
func (p *Problems) Email(field, raw string) string { return text(p, field, raw, parseEmail) }

// Phone is raw if it is an E.164 phone number, or "" with ProblemPhone.
func (p *Problems) Phone(field, raw string) string { return text(p, field, raw, parsePhone) }

// Money is raw (JSON number text) as Money, or zero with ProblemMoney or ProblemMoneyTooLarge.
func (p *Problems) Money(field, raw string) Money { return text(p, field, raw, parseMoney) }

// URL is raw if it is an absolute http(s) URL, or "" with ProblemURL.
func (p *Problems) URL(field, raw string) string { return text(p, field, raw, parseURL) }

// DateTime is raw as an RFC 3339 date-time in UTC, or the zero time with ProblemDateTime.
func (p *Problems) DateTime(field, raw string) time.Time { return text(p, field, raw, parseDateTime) }

// Date is raw (YYYY-MM-DD) as that day's midnight UTC, or the zero time with ProblemDate.
func (p *Problems) Date(field, raw string) time.Time { return text(p, field, raw, parseDate) }

// OneOf is raw if it is exactly one of allowed, or "" with "must be one of: a, b, …".
func (p *Problems) OneOf(field, raw string, allowed ...string) string {
	for _, a := range allowed {
		if raw == a {
			return a
		}
	}
	p.Add(field, oneOfProblem(allowed))
	return ""
}

// LeadType is raw if it is one of WhatConverts' request lead types (appointment, chat, email,
// event, other, phone_call, text_message, transaction, web_form).
func (p *Problems) LeadType(field, raw string) string {
	v, problem := oneOf(raw, leadTypes, problemLead)
	return check(p, field, v, problem)
}

// Quotable is raw if it is one of yes, no, pending, not_set (what Create Lead accepts).
func (p *Problems) Quotable(field, raw string) string {
	v, problem := oneOf(raw, quotableAll, problemQuote)
	return check(p, field, v, problem)
}

// QuotableYesNo is raw if it is yes or no (what Update Lead accepts).
func (p *Problems) QuotableYesNo(field, raw string) string {
	v, problem := oneOf(raw, quotableYesNo, problemYesNo)
	return check(p, field, v, problem)
}

// Trigger is raw if it is a webhook trigger, new or update.
func (p *Problems) Trigger(field, raw string) string {
	v, problem := oneOf(raw, triggers, problemTrigger)
	return check(p, field, v, problem)
}

func text[T any](p *Problems, field, raw string, parse func(string) (T, string)) T {
	v, problem := parse(raw)
	return check(p, field, v, problem)
}

func check[T any](p *Problems, field string, v T, problem string) T {
	if problem != "" {
		p.Add(field, problem)
		var zero T
		return zero
	}
	return v
}

// Field readers: for the members of an Object. Each returns the value and whether it is present
// and valid. A field that is absent or JSON null is not present: the reader returns the zero value
// and false and records nothing (use Require for required fields). A field of the wrong JSON type,
// or whose value is not acceptable, records the field's problem and returns false.
//
// IDs, integers and money must be JSON numbers (not strings holding digits); emails, phones, URLs,
// dates and enumerations must be JSON strings. A JSON string that is empty is present, and so is
// checked (an empty email is not an email).

// StringField is the string at o[field]; ProblemString when it is not a string.
func (p *Problems) StringField(o Object, field string) (string, bool) {
	raw, ok := present(o, field)
	if !ok {
		return "", false
	}
	s, ok := jsonString(raw)
	if !ok {
		p.Add(field, ProblemString)
	}
	return s, ok
}

// NumberField is the number at o[field] as its JSON text; ProblemNumber when it is not a number.
func (p *Problems) NumberField(o Object, field string) (json.Number, bool) {
	raw, ok := present(o, field)
	if !ok {
		return "", false
	}
	if !isNumber(raw) {
		p.Add(field, ProblemNumber)
		return "", false
	}
	return json.Number(raw), true
}

// BoolField is the boolean at o[field]; ProblemBool when it is not true or false.
func (p *Problems) BoolField(o Object, field string) (bool, bool) {
	raw, ok := present(o, field)
	if !ok {
		return false, false
	}
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.Add(field, ProblemBool)
	return false, false
}

// ObjectField is the object at o[field]; ProblemObject when it is not an object. An empty array
// ([]) is read as an empty object, because WhatConverts serializes empty maps such as
// lead_analysis and additional_fields that way.
func (p *Problems) ObjectField(o Object, field string) (Object, bool) {
	raw, ok := present(o, field)
	if !ok {
		return nil, false
	}
	if len(raw) >= 2 && raw[0] == '[' && raw[len(raw)-1] == ']' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0 {
		return Object{}, true
	}
	if raw[0] == '{' {
		if v, err := DecodeObject(raw); err == nil {
			return v, true
		}
	}
	p.Add(field, ProblemObject)
	return nil, false
}

// IDField is the positive integer at o[field] (ProblemID).
func (p *Problems) IDField(o Object, field string) (int64, bool) {
	return numberField(p, o, field, ProblemID, parseID)
}

// IntField is the integer from lo to hi at o[field].
func (p *Problems) IntField(o Object, field string, lo, hi int64) (int64, bool) {
	return numberField(p, o, field, intProblem(lo, hi), func(s string) (int64, string) { return parseInt(s, lo, hi) })
}

// MoneyField is the money amount at o[field] (ProblemMoney, ProblemMoneyTooLarge).
func (p *Problems) MoneyField(o Object, field string) (Money, bool) {
	return numberField(p, o, field, ProblemMoney, parseMoney)
}

// EmailField is the email address at o[field] (ProblemEmail).
func (p *Problems) EmailField(o Object, field string) (string, bool) {
	return stringField(p, o, field, ProblemEmail, parseEmail)
}

// PhoneField is the E.164 phone number at o[field] (ProblemPhone).
func (p *Problems) PhoneField(o Object, field string) (string, bool) {
	return stringField(p, o, field, ProblemPhone, parsePhone)
}

// URLField is the absolute http(s) URL at o[field] (ProblemURL).
func (p *Problems) URLField(o Object, field string) (string, bool) {
	return stringField(p, o, field, ProblemURL, parseURL)
}

// DateTimeField is the RFC 3339 date-time at o[field], in UTC (ProblemDateTime).
func (p *Problems) DateTimeField(o Object, field string) (time.Time, bool) {
	return stringField(p, o, field, ProblemDateTime, parseDateTime)
}

// DateField is the YYYY-MM-DD date at o[field], as midnight UTC (ProblemDate).
func (p *Problems) DateField(o Object, field string) (time.Time, bool) {
	return stringField(p, o, field, ProblemDate, parseDate)
}

// OneOfField is the string at o[field] if it is exactly one of allowed.
func (p *Problems) OneOfField(o Object, field string, allowed ...string) (string, bool) {
	problem := oneOfProblem(allowed)
	return stringField(p, o, field, problem, func(s string) (string, string) {
		for _, a := range allowed {
			if s == a {
				return a, ""
			}
		}
		return "", problem
	})
}

// LeadTypeField is the request lead type at o[field].
func (p *Problems) LeadTypeField(o Object, field string) (string, bool) {
	return stringField(p, o, field, problemLead, func(s string) (string, string) { return oneOf(s, leadTypes, problemLead) })
}

// QuotableField is yes, no, pending or not_set at o[field].
func (p *Problems) QuotableField(o Object, field string) (string, bool) {
	return stringField(p, o, field, problemQuote, func(s string) (string, string) { return oneOf(s, quotableAll, problemQuote) })
}

// QuotableYesNoField is yes or no at o[field].
func (p *Problems) QuotableYesNoField(o Object, field string) (string, bool) {
	return stringField(p, o, field, problemYesNo, func(s string) (string, string) { return oneOf(s, quotableYesNo, problemYesNo) })
}

// TriggerField is new or update at o[field].
func (p *Problems) TriggerField(o Object, field string) (string, bool) {
	return stringField(p, o, field, problemTrigger, func(s string) (string, string) { return oneOf(s, triggers, problemTrigger) })
}

func present(o Object, field string) (json.RawMessage, bool) {
	raw, ok := o[field]
	if !ok || len(raw) == 0 || isNull(raw) {
		return nil, false
	}
	return raw, true
}

func isNumber(raw json.RawMessage) bool { return numberLen(raw) == len(raw) }

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if raw[len(raw)-1] == '"' && bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func numberField[T any](p *Problems, o Object, field, wrongType string, parse func(string) (T, string)) (T, bool) {
	var zero T
	raw, ok := present(o, field)
	if !ok {
		return zero, false
	}
	if !isNumber(raw) {
		p.Add(field, wrongType)
		return zero, false
	}
	v, problem := parse(string(raw))
	if problem != "" {
		p.Add(field, problem)
		return zero, false
	}
	return v, true
}

func stringField[T any](p *Problems, o Object, field, wrongType string, parse func(string) (T, string)) (T, bool) {
	var zero T
	raw, ok := present(o, field)
	if !ok {
		return zero, false
	}
	s, ok := jsonString(raw)
	if !ok {
		p.Add(field, wrongType)
		return zero, false
	}
	v, problem := parse(s)
	if problem != "" {
		p.Add(field, problem)
		return zero, false
	}
	return v, true
}
