package wcsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lead is a stored lead: its JSON as served (immutable: an edit stores a new slice, so readers may
// keep it after unlocking) and the values the list filters read.
type lead struct {
	id        int64
	profileID int64
	created   time.Time
	raw       []byte
	idx       leadIndex
}

type leadIndex struct {
	leadType, leadStatus, quotable    string
	hasQuote, hasSales                bool
	phones, emails                    [2]string // lead and contact values; emails lower-cased
	userID                            string
	spam, duplicate                   bool
	source, medium, campaign, content string // lower-cased
	keyword                           string // lower-cased
}

func indexOf(m map[string]any) leadIndex {
	low := func(k string) string { return strings.ToLower(str(m[k])) }
	return leadIndex{
		leadType:   str(m["lead_type"]),
		leadStatus: str(m["lead_status"]),
		quotable:   str(m["quotable"]),
		hasQuote:   hasValue(m["quote_value"]),
		hasSales:   hasValue(m["sales_value"]),
		phones:     [2]string{str(m["phone_number"]), str(m["contact_phone_number"])},
		emails:     [2]string{low("email_address"), low("contact_email_address")},
		userID:     str(m["user_id"]),
		spam:       truthy(m["spam"]),
		duplicate:  truthy(m["duplicate"]),
		source:     low("lead_source"),
		medium:     low("lead_medium"),
		campaign:   low("lead_campaign"),
		content:    low("lead_content"),
		keyword:    low("lead_keyword"),
	}
}

// AddLead stores a lead with the given fields (display values, e.g. "lead_type": "Phone Call") in the
// profile and returns its id. The sim sets lead_id (it keeps a given lead_id that is free),
// profile_id, profile, account_id and account; it fills date_created and last_updated with Now
// (time.Time values are accepted for both) and, when absent, lead_status "Unique", lead_state
// "Completed", quotable "Not Set", quote_value and sales_value null, spam and duplicate false.
// A "trigger" field (as in a webhook fixture) is dropped. No webhook is sent.
// It panics if the profile was not added, a lead_id is taken, a date is not RFC 3339, or a value
// cannot be encoded as JSON: those are mistakes in the test that calls it.
func (s *Sim) AddLead(profileID int64, fields map[string]any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProfileLocked(profileID)
	m := make(map[string]any, len(fields)+8)
	for k, v := range fields {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339)
		}
		m[k] = v
	}
	delete(m, "trigger")

	id, ok := asInt64(m["lead_id"])
	switch {
	case ok && id > 0:
		if _, taken := s.leads[id]; taken {
			panic(fmt.Sprintf("wcsim: lead %d already exists", id))
		}
		s.nextLeadID = max(s.nextLeadID, id+1)
	default:
		id = s.takeLeadIDLocked()
	}
	now := s.now().UTC().Format(time.RFC3339)
	m["lead_id"] = id
	m["profile_id"] = p.ID
	m["profile"] = p.Name
	m["account_id"] = p.AccountID
	m["account"] = s.accountNameLocked(p.AccountID)
	for k, v := range map[string]any{
		"date_created": now, "last_updated": now,
		"lead_status": statusUnique, "lead_state": stateCompleted, "quotable": quotableNotSet,
		"quote_value": nil, "sales_value": nil, "spam": false, "duplicate": false,
	} {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	for _, k := range []string{"date_created", "last_updated"} {
		if _, err := time.Parse(time.RFC3339, str(m[k])); err != nil {
			panic(fmt.Sprintf("wcsim: %s of lead %d is not RFC 3339", k, id))
		}
	}
	if _, err := encodeLead(m); err != nil {
		panic(fmt.Sprintf("wcsim: lead %d: %v", id, err))
	}
	s.putLocked(m, false)
	return id
}

// Lead returns the current state of a lead as a client decodes it with encoding/json into
// map[string]any (numbers are float64), and whether it exists.
func (s *Sim) Lead(leadID int64) (map[string]any, bool) {
	s.mu.Lock()
	l, ok := s.leads[leadID]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(l.raw, &m); err != nil {
		panic("wcsim: stored lead is not JSON: " + err.Error())
	}
	return m, true
}

// LeadIDs returns the ids of a profile's leads, oldest first (by date_created, then id).
func (s *Sim) LeadIDs(profileID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, l := range s.ordered {
		if l.profileID == profileID {
			ids = append(ids, l.id)
		}
	}
	return ids
}

// NotificationSent reports whether the lead was created through the API with send_notification=true
// (WhatConverts would have emailed the profile's users).
func (s *Sim) NotificationSent(leadID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notified[leadID]
}

func (s *Sim) takeLeadIDLocked() int64 {
	id := s.nextLeadID
	s.nextLeadID++
	return id
}

// putLocked stores a new or edited lead. With batch, the caller sorts s.ordered afterwards (a batch of
// many leads would otherwise move the slice once per lead).
func (s *Sim) putLocked(m map[string]any, batch bool) *lead {
	raw, err := encodeLead(m)
	if err != nil {
		panic("wcsim: " + err.Error())
	}
	id, _ := asInt64(m["lead_id"])
	pid, _ := asInt64(m["profile_id"])
	created, _ := time.Parse(time.RFC3339, str(m["date_created"]))
	l := &lead{id: id, profileID: pid, created: created.UTC(), raw: raw, idx: indexOf(m)}

	if old, ok := s.leads[id]; ok {
		i := s.positionLocked(old)
		s.ordered = slices.Delete(s.ordered, i, i+1)
	}
	s.leads[id] = l
	if batch {
		s.ordered = append(s.ordered, l)
	} else {
		s.ordered = slices.Insert(s.ordered, s.positionLocked(l), l)
	}
	return l
}

func (s *Sim) sortLocked() {
	slices.SortFunc(s.ordered, compareLeads)
}

func compareLeads(a, b *lead) int {
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	switch {
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

// positionLocked is the index of l (or where it belongs) in s.ordered.
func (s *Sim) positionLocked(l *lead) int {
	i, _ := slices.BinarySearchFunc(s.ordered, l, compareLeads)
	return i
}

// decodeLead returns a stored lead's fields for editing, numbers kept exactly as stored.
func decodeLead(raw []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		panic("wcsim: stored lead is not JSON: " + err.Error())
	}
	return m
}

// encodeLead encodes a lead with its fields in fieldOrder, then the rest by name. It writes common
// values directly: generating a hundred thousand leads for a benchmark should take seconds, not minutes.
func encodeLead(m map[string]any) ([]byte, error) {
	type field struct {
		rank int
		key  string
	}
	fields := make([]field, 0, len(m))
	for k := range m {
		r, ok := fieldRank[k]
		if !ok {
			r = len(fieldOrder)
		}
		fields = append(fields, field{r, k})
	}
	slices.SortFunc(fields, func(a, b field) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.key, b.key)
	})
	b := make([]byte, 0, 64*len(fields))
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.key)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[f.key]); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.key, err)
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	}
	e, err := encodeValue(v)
	return append(b, e...), err
}

// appendString writes plain printable ASCII directly and leaves anything else to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			e, _ := encodeValue(s)
			return append(b, e...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// encodeValue encodes like json.Marshal without escaping <, > and & (URLs stay readable).
func encodeValue(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// str renders a scalar field as text; null and non-scalars are "".
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// hasValue is the quote_value/sales_value filter's notion of a value: anything but null and "".
func hasValue(v any) bool {
	if v == nil {
		return false
	}
	if s, ok := v.(string); ok {
		return s != ""
	}
	return true
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "1"
	}
	n, ok := asInt64(v)
	return ok && n != 0
}
