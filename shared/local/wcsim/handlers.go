package wcsim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handleList serves GET /leads.
func (s *Sim) handleList(w http.ResponseWriter, r *http.Request, k *apiKey) {
	q, e := s.parseListQuery(r.URL.Query(), k)
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	skip := math.MaxInt
	if q.page-1 <= math.MaxInt/q.perPage {
		skip = (q.page - 1) * q.perPage
	}

	var page [][]byte
	total := 0
	s.mu.Lock()
	n := len(s.ordered)
	for i := range n {
		l := s.ordered[i]
		if q.descending {
			l = s.ordered[n-1-i]
		}
		if !s.inScopeLocked(&q, k, l) || !q.match(l) {
			continue
		}
		if total >= skip && len(page) < q.perPage {
			page = append(page, l.raw)
		}
		total++
	}
	s.mu.Unlock()

	if q.customerJourney {
		for i, raw := range page {
			page[i] = withCustomerJourney(raw)
		}
	}
	writeEnvelope(w, q.page, q.perPage, (total+q.perPage-1)/q.perPage, total, page)
}

// handleGet serves GET /leads/{id}: the list envelope with one lead.
func (s *Sim) handleGet(w http.ResponseWriter, r *http.Request, k *apiKey, id string) {
	l, e := s.lookup(k, id)
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	raw := l.raw
	switch r.URL.Query().Get("customer_journey") {
	case "", "false":
	case "true":
		raw = withCustomerJourney(raw)
	default:
		writeError(w, http.StatusBadRequest, "Invalid customer_journey value. Use true or false.")
		return
	}
	writeEnvelope(w, 1, 1, 1, 1, [][]byte{raw})
}

// withCustomerJourney adds the Elite plans' customer_journey array. Its element shape is not
// documented, so the simulator answers an empty one.
func withCustomerJourney(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+24)
	out = append(out, raw[:len(raw)-1]...)
	return append(out, `,"customer_journey":[]}`...)
}

// lookup finds a lead the key may see. Unknown, malformed and other profiles' ids are answered alike.
func (s *Sim) lookup(k *apiKey, id string) (*lead, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookupLocked(k, id)
}

func (s *Sim) lookupLocked(k *apiKey, id string) (*lead, *apiError) {
	n, err := strconv.ParseInt(id, 10, 64)
	l, ok := s.leads[n]
	if err != nil || n <= 0 || !ok || !s.canSeeLocked(k, l.profileID) {
		if s.unknownLead == http.StatusNotFound {
			return nil, &apiError{status: http.StatusNotFound, msg: msgLeadNotFound}
		}
		return nil, badRequest(msgInvalidLeadID)
	}
	return l, nil
}

// Create parameters stored verbatim as text.
var createTextParams = []string{
	"lead_source", "lead_medium", "lead_campaign", "lead_content", "lead_keyword",
	"ip_address", "email_address", "phone_number", "user_id", "gclid", "msclkid",
	"lead_url", "landing_url", "operating_system", "browser", "device_type", "device_make",
	"form_name", "phone_name", "tracking_number", "destination_number", "caller_number", "caller_name",
	"answer_status", "line_type", "call_transcription", "voicemail_transcription",
	"city", "zip", "state", "country", "message",
	"event_category", "event_action", "event_label", "transaction_id",
	"sender_name", "email_subject", "email_message",
}

// Create parameters stored under the lead field of another name.
var createRenamedParams = map[string]string{
	"fbclid": "facebook_click_id",
	"fbpid":  "facebook_browser_id",
}

// handleCreate serves POST /leads: it answers the bare created lead and sends the "new" webhook.
func (s *Sim) handleCreate(w http.ResponseWriter, r *http.Request, k *apiKey) {
	p, e := readParams(w, r)
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	c, e := s.validateCreate(p, k)
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}

	s.mu.Lock()
	l := s.createLocked(p, c)
	s.mu.Unlock()

	s.hooks.enqueue(l.id, "new", l.raw)
	writeRaw(w, http.StatusOK, l.raw)
}

// createRequest holds a create request's validated, typed parameters.
type createRequest struct {
	profileID          int64
	leadType           string // display value
	notify             bool
	created            time.Time
	quotable           string
	quote, sales       any // float64 or nil
	duration           int
	hasDuration        bool
	tax, shipping      any // float64 or nil
	hasTax, hasShipped bool
}

func (s *Sim) validateCreate(p *params, k *apiKey) (*createRequest, *apiError) {
	c := &createRequest{quotable: quotableNotSet}
	lt := p.get("lead_type")
	if lt == "" {
		return nil, badRequest("Lead type is required.")
	}
	var ok bool
	if c.leadType, ok = leadTypes[lt]; !ok {
		return nil, badRequest("Invalid lead type.")
	}

	if k.master {
		v := p.get("profile_id")
		if v == "" {
			return nil, badRequest("Profile ID is required.")
		}
		id, err := strconv.ParseInt(v, 10, 64)
		s.mu.Lock()
		ok := err == nil && s.canSeeLocked(k, id)
		s.mu.Unlock()
		if !ok {
			return nil, badRequest("Invalid profile ID.")
		}
		c.profileID = id
	} else {
		c.profileID = k.profileID // a profile key's profile_id parameter is ignored
	}

	switch p.get("send_notification") {
	case "", "false", "0":
	case "true", "1":
		c.notify = true
	default:
		return nil, badRequest("Invalid send_notification value. Use true or false.")
	}

	c.created = s.now().UTC()
	if v := p.get("date_created"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, badRequest("Invalid date created. Use YYYY-MM-DDTHH:MM:SSZ.")
		}
		c.created = t.UTC()
	}
	if v := p.get("quotable"); v != "" {
		if c.quotable, ok = quotables[v]; !ok {
			return nil, badRequest("Invalid quotable value.")
		}
	}
	var e *apiError
	if c.quote, e = money(p, "quote_value", "Invalid quote value."); e != nil {
		return nil, e
	}
	if c.sales, e = money(p, "sales_value", "Invalid sales value."); e != nil {
		return nil, e
	}
	if c.tax, e = money(p, "transaction_tax", "Invalid transaction tax."); e != nil {
		return nil, e
	}
	c.hasTax = p.has("transaction_tax")
	if c.shipping, e = money(p, "transaction_shipping", "Invalid transaction shipping."); e != nil {
		return nil, e
	}
	c.hasShipped = p.has("transaction_shipping")
	if v := p.get("call_duration_seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("Invalid call duration.")
		}
		c.duration, c.hasDuration = n, true
	}
	return c, nil
}

// money parses an amount parameter: "" or absent is null; otherwise a finite number ≥ 0.
func money(p *params, name, msg string) (any, *apiError) {
	v := p.get(name)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 {
		return nil, badRequest(msg)
	}
	return f, nil
}

func (s *Sim) createLocked(p *params, c *createRequest) *lead {
	prof := s.profiles[c.profileID]
	id := s.takeLeadIDLocked()
	now := s.now().UTC()
	text := func(name string) string { return p.get(name) }

	m := map[string]any{
		"account_id": prof.AccountID, "account": s.accountNameLocked(prof.AccountID),
		"profile_id": prof.ID, "profile": prof.Name,
		"lead_id": id, "lead_type": c.leadType,
		"lead_analysis": []any{},
		"date_created":  c.created.Format(time.RFC3339),
		"last_updated":  now.Format(time.RFC3339),
		"lead_state":    stateCompleted, "lead_score": 0,
		"quotable": c.quotable, "quote_value": c.quote, "sales_value": c.sales,
		"spotted_keywords": "", "spam": false, "duplicate": false, "notes": "",
		"contact_company_name": "",
		"additional_fields":    []any{},
	}
	for _, name := range []string{"lead_source", "lead_medium", "lead_campaign", "lead_content", "lead_keyword"} {
		m[name] = nil
	}
	for _, name := range createTextParams {
		if p.has(name) {
			m[name] = text(name)
		}
	}
	for from, to := range createRenamedParams {
		if p.has(from) {
			m[to] = text(from)
		}
	}
	for _, name := range []string{"lead_url", "landing_url", "operating_system", "browser", "device_type",
		"device_make", "ip_address", "email_address", "phone_number", "city", "state", "zip", "country"} {
		if _, ok := m[name]; !ok {
			m[name] = ""
		}
	}
	if str(m["user_id"]) == "" {
		m["user_id"] = visitorID(s, prof.ID)
	}
	m["contact_email_address"] = m["email_address"]
	m["contact_phone_number"] = m["phone_number"]
	m["contact_name"] = firstNonEmpty(text("caller_name"), text("sender_name"))
	if len(p.additional) > 0 {
		m["additional_fields"] = stringMap(p.additional)
	}
	if p.custom != nil {
		m["custom_fields"] = stringMap(p.custom)
	}

	switch c.leadType {
	case typePhoneCall:
		m["call_status"] = stateCompleted
		if _, ok := m["caller_number"]; !ok {
			m["caller_number"] = m["phone_number"]
		}
	case typeChat:
		m["chat_status"] = stateCompleted
	}
	if c.hasDuration {
		m["call_duration_seconds"] = c.duration
		m["call_duration"] = humanDuration(c.duration)
	}
	if c.hasTax {
		m["transaction_tax"] = c.tax
	}
	if c.hasShipped {
		m["transaction_shipping"] = c.shipping
	}

	m["lead_status"] = statusUnique
	if s.isRepeatLocked(prof.ID, str(m["phone_number"]), str(m["email_address"])) {
		m["lead_status"] = statusRepeat
	}
	if c.notify {
		s.notified[id] = true
	}
	return s.putLocked(m, false)
}

// isRepeatLocked reports whether the profile already has a lead from this phone or email: WhatConverts
// marks such a lead "Repeat".
func (s *Sim) isRepeatLocked(profileID int64, phone, email string) bool {
	email = strings.ToLower(email)
	for _, l := range s.ordered {
		if l.profileID != profileID {
			continue
		}
		if phone != "" && (l.idx.phones[0] == phone || l.idx.phones[1] == phone) ||
			email != "" && (l.idx.emails[0] == email || l.idx.emails[1] == email) {
			return true
		}
	}
	return false
}

// handleEdit serves POST /leads/{id}: only quotable, quote_value, sales_value, lead_url,
// additional_fields and custom_fields change; other parameters are ignored. It answers the bare
// updated lead and sends the "update" webhook.
func (s *Sim) handleEdit(w http.ResponseWriter, r *http.Request, k *apiKey, id string) {
	if _, e := s.lookup(k, id); e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	p, e := readParams(w, r)
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	var quotable string
	if v := p.get("quotable"); v != "" {
		var ok bool
		if quotable, ok = quotables[v]; !ok {
			writeError(w, http.StatusBadRequest, "Invalid quotable value.")
			return
		}
	}
	quote, e := money(p, "quote_value", "Invalid quote value.")
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}
	sales, e := money(p, "sales_value", "Invalid sales value.")
	if e != nil {
		writeError(w, e.status, e.msg)
		return
	}

	s.mu.Lock()
	l, e := s.lookupLocked(k, id) // it may have changed since the first look
	if e != nil {
		s.mu.Unlock()
		writeError(w, e.status, e.msg)
		return
	}
	m := decodeLead(l.raw)
	if quotable != "" {
		m["quotable"] = quotable
	}
	if p.has("quote_value") {
		m["quote_value"] = quote
	}
	if p.has("sales_value") {
		m["sales_value"] = sales
	}
	if p.has("lead_url") {
		m["lead_url"] = p.get("lead_url")
	}
	if p.additional != nil {
		m["additional_fields"] = mergeFields(m["additional_fields"], p.additional)
	}
	if p.custom != nil {
		m["custom_fields"] = mergeFields(m["custom_fields"], p.custom)
	}
	m["last_updated"] = s.now().UTC().Format(time.RFC3339)
	l = s.putLocked(m, false)
	s.mu.Unlock()

	s.hooks.enqueue(l.id, "update", l.raw)
	writeRaw(w, http.StatusOK, l.raw)
}

// mergeFields sets the given fields on an additional_fields/custom_fields value, which may be an
// object or the [] WhatConverts sends for none. An empty result stays [].
func mergeFields(old any, set map[string]string) any {
	m := map[string]any{}
	if o, ok := old.(map[string]any); ok {
		for k, v := range o {
			m[k] = v
		}
	}
	for k, v := range set {
		m[k] = v
	}
	if len(m) == 0 {
		return []any{}
	}
	return m
}

func stringMap(in map[string]string) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
