package wcsim

import (
	"fmt"
	"strings"
	"time"
)

// Generated leads are spread over the GeneratedWindow before Now, the newest at least
// generatedMinAge old (so that a lead "created now" by a test is always the newest).
const (
	GeneratedWindow  = 96 * time.Hour
	generatedMinAge  = 5 * time.Minute
	patientNumberMod = 10000 // synthetic patient numbers have four digits
)

// AddLeads generates n realistic leads in the profile, created over the GeneratedWindow before Now,
// and returns their ids, oldest first. It panics if the profile was not added.
func (s *Sim) AddLeads(profileID int64, n int) []int64 {
	now := s.now().UTC()
	return s.AddLeadsBetween(profileID, n, now.Add(-GeneratedWindow), now.Add(-generatedMinAge))
}

// AddLeadsBetween generates n realistic leads in the profile, created in [from, to) and spread evenly
// over it, and returns their ids, oldest first. No webhook is sent. It panics if the profile was not
// added.
//
// The mix: about 40% phone calls (caller name, recording URLs, transcriptions), 30% web forms
// (additional_fields), then chats, text messages, emails, appointments, transactions, events and
// other leads; every type appears once n ≥ 9. Contacts are obviously synthetic: "Synthetic Patient
// 0042", patient0042@example.test, +15550100042, addresses in made-up towns with 000xx zips,
// documentation IP ranges. Some contacts come back (lead_status "Repeat"). Real payloads' quirks are
// kept: lead_analysis and additional_fields are [] on some leads and objects on others, money values
// are often null, many strings are empty, some attribution fields are null.
func (s *Sim) AddLeadsBetween(profileID int64, n int, from, to time.Time) []int64 {
	if n <= 0 {
		return nil
	}
	from, to = from.UTC(), to.UTC()
	if to.Before(from) {
		from, to = to, from
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProfileLocked(profileID)
	now := s.now().UTC()
	r := s.rng

	types := make([]string, 0, n)
	if n >= len(typeWeights) {
		for _, tw := range typeWeights {
			types = append(types, tw.typ)
		}
	}
	for len(types) < n {
		types = append(types, pickType(r.IntN(100)))
	}
	r.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })

	slot := to.Sub(from) / time.Duration(n)
	ids := make([]int64, 0, n)
	for i := range n {
		created := from.Add(time.Duration(i) * slot)
		if slot > 0 {
			created = created.Add(time.Duration(r.Int64N(int64(slot))))
		}
		created = created.Truncate(time.Second)
		m := s.generateLocked(p, created, now, types[i])
		id := s.takeLeadIDLocked()
		m["lead_id"] = id
		s.putLocked(m, true)
		ids = append(ids, id)
	}
	s.sortLocked()
	return ids
}

var typeWeights = []struct {
	typ    string
	weight int
}{
	{typePhoneCall, 40}, {typeWebForm, 30}, {typeChat, 10}, {typeTextMessage, 7}, {typeEmail, 5},
	{typeAppointment, 3}, {typeTransaction, 2}, {typeEvent, 2}, {typeOther, 1},
}

func pickType(roll int) string {
	for _, tw := range typeWeights {
		if roll < tw.weight {
			return tw.typ
		}
		roll -= tw.weight
	}
	return typeOther
}

// attribution is a traffic source as WhatConverts records it; nil fields are served as null.
type attribution struct {
	source, medium             string
	campaign, content, keyword any
	click                      string // the click id it carries: gclid, msclkid, fbclid or ""
	phoneName                  string
}

var attributions = []attribution{
	{"google", "cpc", "Brand - Synthetic", "Ad A", "synthetic clinic near me", "gclid", "Google Ads"},
	{"google", "cpc", "Services", "Ad B", "same day appointment", "gclid", "Google Ads"},
	{"google", "organic", nil, nil, nil, "", "Website"},
	{"(direct)", "(none)", nil, nil, nil, "", "All Traffic"},
	{"facebook", "paid", "Spring Checkups", "Carousel", "", "fbclid", "Facebook"},
	{"bing", "cpc", "Generic", "Ad C", "appointment today", "msclkid", "Bing Ads"},
	{"referral.example", "referral", nil, nil, nil, "", "All Traffic"},
}

var devices = [][4]string{
	{"iOS 17", "Safari Mobile 17", "Smartphone", "Apple iPhone"},
	{"iOS 12", "Chrome Mobile 71", "Smartphone", "Apple iPhone"},
	{"Android 14", "Chrome Mobile 120", "Smartphone", "Samsung Galaxy S23"},
	{"Windows 11", "Chrome 136", "Desktop", "Unknown"},
	{"macOS 10.15 Catalina", "Chrome 136", "Desktop", "Apple Mac"},
	{"iPadOS 17", "Safari 17", "Tablet", "Apple iPad"},
}

var towns = [][2]string{
	{"Sampleton", "NC"}, {"Mockford", "CA"}, {"Exampleburg", "TX"}, {"Fakeville", "NY"}, {"Testhaven", "FL"},
}

var forms = []string{"Contact Us", "Book an Appointment", "Request a Callback", "New Patient Intake"}

// generateLocked builds one lead (without lead_id) of the given type created at created.
func (s *Sim) generateLocked(p *profile, created, now time.Time, typ string) map[string]any {
	r := s.rng
	chance := func(percent int) bool { return r.IntN(100) < percent }
	pick := func(n int) int { return r.IntN(n) }

	// The contact: now and then a returning patient of this profile.
	status := statusUnique
	var patient int
	if len(p.patients) > 0 && chance(15) {
		patient = p.patients[pick(len(p.patients))]
		status = statusRepeat
	} else {
		s.nextPatient++
		patient = s.nextPatient % patientNumberMod
		p.patients = append(p.patients, patient)
	}
	visitor, ok := p.visitors[patient]
	if !ok {
		visitor = visitorID(s, p.ID)
		p.visitors[patient] = visitor
	}
	name := fmt.Sprintf("Synthetic Patient %04d", patient)
	email := fmt.Sprintf("patient%04d@example.test", patient)
	phone := fmt.Sprintf("+1555010%04d", patient)
	phoneDisplay := fmt.Sprintf("(555) 010-%04d", patient)
	town := towns[pick(len(towns))]
	zip := fmt.Sprintf("000%02d", pick(100))
	site := fmt.Sprintf("https://www.profile%d.example", p.ID)
	att := attributions[pick(len(attributions))]
	dev := devices[pick(len(devices))]

	// Most leads are final within seconds; some were edited (quoted, sold) hours later.
	updated := created.Add(time.Duration(5+pick(60)) * time.Second)
	if chance(20) && now.Sub(created) > time.Hour {
		updated = created.Add(time.Duration(r.Int64N(int64(min(now.Sub(created), 24*time.Hour)))))
	}
	updated = updated.Truncate(time.Second)

	m := map[string]any{
		"account_id": p.AccountID, "account": s.accountNameLocked(p.AccountID),
		"profile_id": p.ID, "profile": p.Name,
		"user_id": visitor, "lead_type": typ, "lead_status": status,
		"date_created": created.Format(time.RFC3339), "last_updated": updated.Format(time.RFC3339),
		"lead_state": stateCompleted, "spam": chance(3), "duplicate": chance(4),
		"lead_source": att.source, "lead_medium": att.medium,
		"lead_campaign": att.campaign, "lead_content": att.content, "lead_keyword": att.keyword,
		"lead_url":         site + []string{"/contact", "/book-appointment", "/services", "/"}[pick(4)],
		"landing_url":      landingURL(site, att, r.Uint64()),
		"operating_system": dev[0], "browser": dev[1], "device_type": dev[2], "device_make": dev[3],
		"ip_address":            fmt.Sprintf("%s.%d", []string{"192.0.2", "198.51.100", "203.0.113"}[pick(3)], 1+pick(254)),
		"notes":                 "",
		"contact_name":          name,
		"contact_company_name":  "",
		"contact_email_address": email,
		"contact_phone_number":  phone,
		"email_address":         email,
		"phone_number":          phone,
		"city":                  town[0], "state": town[1], "zip": zip, "country": "US",
		"additional_fields": []any{},
	}
	if chance(10) {
		m["notes"] = fmt.Sprintf("Synthetic note %04d: follow up next week.", patient)
	}
	if chance(10) {
		m["contact_company_name"] = "Synthetic Employer LLC"
	}

	// AI lead analysis: an object on some leads, [] on the others (as real payloads have it).
	m["lead_analysis"], m["lead_score"], m["spotted_keywords"] = []any{}, 0, ""
	if chance(45) {
		m["lead_analysis"] = map[string]any{
			"Keyword Detection":   "appointment,insurance",
			"Lead Summary":        fmt.Sprintf("Synthetic summary %04d: the contact asked to book an appointment.", patient),
			"Intent Detection":    "The contact wanted to book an appointment.",
			"Sentiment Detection": []string{"Positive", "Neutral", "Negative"}[pick(3)],
			"Topic Detection":     "appointment,insurance,availability",
		}
		m["lead_score"] = []int{25, 50, 75, 100}[pick(4)]
		m["spotted_keywords"] = "appointment,insurance"
	}

	// Quotable and money values: mostly not set and null.
	m["quotable"], m["quote_value"], m["sales_value"] = quotableNotSet, nil, nil
	switch roll := pick(100); {
	case roll < 20:
		m["quotable"] = "Yes"
		if chance(70) {
			quote := float64(100 + 50*pick(40))
			m["quote_value"] = quote
			if chance(60) {
				m["sales_value"] = quote - float64(25*pick(3))
			}
		}
	case roll < 28:
		m["quotable"] = "No"
	case roll < 35:
		m["quotable"] = "Pending"
		if chance(50) {
			m["quote_value"] = float64(100 + 50*pick(40))
		}
	}

	// Integrations' visitor and click ids, on about half of the leads.
	if chance(50) {
		for _, k := range []string{"gclid", "msclkid", "unbounce_page_id", "unbounce_variant_id", "unbounce_visitor_id",
			"salesforce_user_id", "roistat_visit_id", "hubspot_visitor_id", "facebook_browser_id", "facebook_click_id",
			"google_analytics_client_id", "vwo_account_id", "vwo_experiment_id", "vwo_variant_id", "vwo_user_id"} {
			m[k] = ""
		}
		m["google_analytics_client_id"] = fmt.Sprintf("%d.%d", 1000000000+r.Int64N(999999999), created.Unix())
		m["hubspot_visitor_id"] = hex(r.Uint64()) + hex(r.Uint64())
		if chance(30) {
			m["unbounce_page_id"] = uuid(r.Uint64(), r.Uint64())
			m["unbounce_variant_id"] = []string{"a", "b"}[pick(2)]
			m["unbounce_visitor_id"] = fmt.Sprintf("%s%d", str(m["ip_address"]), created.UnixMicro())
		}
		if chance(20) {
			m["salesforce_user_id"] = fmt.Sprintf("%d", 10000000000+r.Int64N(8999999999))
			m["roistat_visit_id"] = hex(r.Uint64())[:12]
		}
		if chance(20) {
			m["vwo_account_id"] = "512835"
			m["vwo_experiment_id"] = fmt.Sprintf("%d", 1+pick(5))
			m["vwo_variant_id"] = fmt.Sprintf("%d", 1+pick(3))
			m["vwo_user_id"] = strings.ToUpper(hex(r.Uint64()) + hex(r.Uint64()))
		}
		m["facebook_browser_id"] = fmt.Sprintf("fb.1.%d.%d", created.UnixMilli(), r.Int64N(1000000000))
	}
	switch att.click {
	case "gclid":
		m["gclid"] = "Cj0KCQ" + hex(r.Uint64())
	case "msclkid":
		m["msclkid"] = hex(r.Uint64()) + hex(r.Uint64())
	case "fbclid":
		m["facebook_click_id"] = fmt.Sprintf("fb.1.%d.IwAR%s", created.UnixMilli(), hex(r.Uint64()))
	}
	if chance(40) {
		m["field_mappings"] = map[string]any{"Contact Person": name, "Email": email, "Phone Number": phoneDisplay}
	}
	if chance(15) {
		m["custom_fields"] = map[string]any{"Patient Type": []string{"New", "Returning"}[pick(2)]}
	}

	recent := now.Sub(created) < time.Hour
	switch typ {
	case typePhoneCall:
		s.phoneCall(m, p, att, patient, name, phone, town, recent)
	case typeTextMessage:
		m["phone_name"] = "Text Line"
		m["tracking_number"] = fmt.Sprintf("+1555019%04d", p.ID%patientNumberMod)
		m["caller_number"] = phone
		m["line_type"] = "Mobile"
		m["message"] = fmt.Sprintf("Synthetic text from patient %04d: can I move my appointment?", patient)
		m["contact_email_address"], m["email_address"] = "", ""
	case typeWebForm:
		m["form_name"] = forms[pick(len(forms))]
		if chance(80) {
			m["additional_fields"] = map[string]any{
				"Name": name, "Email": email, "Phone Number": phoneDisplay,
				"Message": fmt.Sprintf("Synthetic message %04d: I would like an appointment.", patient),
			}
		}
		if chance(30) {
			m["phone_number"], m["contact_phone_number"] = "", ""
		}
	case typeChat:
		m["chat_status"] = stateCompleted
		if recent && chance(50) {
			m["chat_status"], m["lead_state"] = stateProgress, stateProgress
		}
		m["phone_number"], m["contact_phone_number"] = "", ""
	case typeEmail:
		m["sender_name"] = name
		m["email_subject"] = "Appointment request"
		m["email_message"] = fmt.Sprintf("Synthetic email %04d: please call me back about an appointment.", patient)
		m["phone_number"], m["contact_phone_number"] = "", ""
	case typeAppointment:
		m["additional_fields"] = map[string]any{
			"Appointment Time": created.Add(48 * time.Hour).Format("2006-01-02 15:04"),
			"Service":          []string{"Checkup", "Cleaning", "Consultation"}[pick(3)],
		}
	case typeTransaction:
		amount := float64(50 + 5*pick(100))
		m["transaction_id"] = fmt.Sprintf("T%08d", r.Int64N(100000000))
		m["transaction_tax"] = float64(pick(1000)) / 100
		m["transaction_shipping"] = 0.0
		m["quotable"], m["sales_value"] = "Yes", amount
	case typeEvent:
		m["event_category"] = "Booking"
		m["event_action"] = "click"
		m["event_label"] = "book-now-button"
	}
	return m
}

func (s *Sim) phoneCall(m map[string]any, p *profile, att attribution, patient int, name, phone string,
	town [2]string, recent bool) {
	r := s.rng
	chance := func(percent int) bool { return r.IntN(100) < percent }
	answer := "Answered"
	switch roll := r.IntN(100); {
	case roll >= 95:
		answer = "Busy"
	case roll >= 75:
		answer = "No Answer"
	}
	m["call_status"] = stateCompleted
	m["phone_name"] = att.phoneName
	m["tracking_number"] = fmt.Sprintf("+1555019%04d", p.ID%patientNumberMod)
	m["destination_number"] = fmt.Sprintf("+1555018%04d", p.ID%patientNumberMod)
	m["caller_number"] = phone
	m["caller_name"] = name
	m["caller_city"], m["caller_state"], m["caller_country"] = town[0], town[1], "US"
	if chance(50) {
		m["caller_zip"] = m["zip"]
	}
	m["answer_status"] = answer
	m["line_type"] = []string{"Mobile", "Landline", "VoIP"}[r.IntN(3)]
	m["contact_email_address"], m["email_address"] = "", ""
	if chance(30) {
		email := fmt.Sprintf("patient%04d@example.test", patient)
		m["contact_email_address"], m["email_address"] = email, email
	}

	if recent && chance(50) {
		m["lead_state"], m["call_status"] = stateProgress, stateProgress
		m["call_duration"], m["call_duration_seconds"] = "0 seconds", 0
		return
	}
	seconds := r.IntN(30)
	if answer == "Answered" {
		seconds = 30 + r.IntN(870)
	}
	m["call_duration"], m["call_duration_seconds"] = humanDuration(seconds), seconds
	rec := fmt.Sprintf("https://app.whatconverts.com/recording/r-%s-%s", hex(r.Uint64())[:8], uuid(r.Uint64(), r.Uint64()))
	switch {
	case answer == "Answered":
		m["recording"], m["play_recording"] = rec+"/download", rec+"/play"
		m["call_transcription"] = fmt.Sprintf("Agent\nThank you for calling, how can I help?\nCaller\nThis is synthetic patient %04d, I need an appointment.", patient)
	case answer == "No Answer" && chance(50):
		m["voicemail"], m["play_voicemail"] = rec+"/download", rec+"/play"
		m["voicemail_transcription"] = fmt.Sprintf("Hi, this is synthetic patient %04d, please call me back.", patient)
	}
}

// landingURL is the visit's first page, with the click id or UTM parameters a real one carries.
func landingURL(site string, att attribution, n uint64) string {
	switch {
	case att.click == "gclid":
		return fmt.Sprintf("%s/?gclid=Cj0KCQ%s", site, hex(n))
	case att.medium == "(none)":
		return site + "/"
	}
	return fmt.Sprintf("%s/?utm_source=%s&utm_medium=%s", site, att.source, att.medium)
}

// visitorID is a WhatConverts user_id: "<profile_id>-<uuid>".
func visitorID(s *Sim, profileID int64) string {
	return fmt.Sprintf("%d-%s", profileID, uuid(s.rng.Uint64(), s.rng.Uint64()))
}

func uuid(a, b uint64) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func hex(n uint64) string { return fmt.Sprintf("%016x", n) }

// humanDuration writes seconds as WhatConverts' call_duration does: "13 seconds", "2 minutes 5 seconds".
func humanDuration(seconds int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	minutes, secs := seconds/60, seconds%60
	switch {
	case minutes == 0:
		return plural(secs, "second")
	case secs == 0:
		return plural(minutes, "minute")
	}
	return plural(minutes, "minute") + " " + plural(secs, "second")
}
