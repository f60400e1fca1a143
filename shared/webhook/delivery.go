package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// delivery is what the webhook keeps in clear from a WhatConverts body: IDs, timestamps, enumerations
// and field names, never a value that could be PHI. The body itself is stored sealed, as received.
type delivery struct {
	trigger     string // audit.TriggerNewLead or audit.TriggerUpdatedLead
	leadID      int64
	profileID   int64
	accountID   int64     // 0 when absent or not a positive integer (tolerated: not required)
	lastUpdated time.Time // zero when absent
	bodyHash    string    // hex SHA-256 of the canonical body

	leadType      string // a known WhatConverts display value, else ""
	quotable      string // Yes, No, Pending or Not Set, else ""
	hasQuoteValue bool
	hasSalesValue bool
	changedFields []string // update only: see WatchedFields
}

// Webhook trigger values in the body, and the trigger names they become.
var triggerNames = map[string]string{"new": audit.TriggerNewLead, "update": audit.TriggerUpdatedLead}

// dateFields are the lead's date-time fields: when present with a value they must be RFC 3339.
var dateFields = []string{"date_created", "last_updated"}

// leadTypes are WhatConverts' lead type display values. Only these reach the audit metadata and the
// bus: a value outside the list is left out rather than passed on, because metadata is never allowed
// to carry free text.
var leadTypes = validate.NewFieldSet("Phone Call", "Web Form", "Chat", "Text Message", "Transaction",
	"Email", "Appointment", "Event", "Other")

// quotableValues are WhatConverts' quotable display values.
var quotableValues = validate.NewFieldSet("Yes", "No", "Pending", "Not Set")

// WatchedFields are the workflow fields whose names an Updated Lead event lists in changed_fields when
// the update carries them with a value (not null, not "", not [] or {}). WhatConverts does not say
// which fields an update changed (it "sends the updated fields along with common lead variables"),
// so this is the honest reading: which of the fields a workflow routes on the update brought. Names
// only, never values.
var WatchedFields = []string{"duplicate", "lead_score", "lead_state", "lead_status", "lead_url",
	"quotable", "quote_value", "sales_value", "spam"}

// parseDelivery validates a webhook body. Every problem is reported at once, naming the field and
// never its value. Unknown fields, [] for {} and null or empty values are accepted as WhatConverts
// sends them; only trigger, lead_id, profile_id and present date fields are checked.
func parseDelivery(body []byte) (delivery, error) {
	obj, err := validate.DecodeObject(body)
	if err != nil {
		return delivery{}, err
	}
	var p validate.Problems
	// Field by field, so that the answer names the fields in the body's logical order.
	p.Require(obj, "trigger")
	trig, _ := p.TriggerField(obj, "trigger")
	d := delivery{trigger: triggerNames[trig]}
	p.Require(obj, "lead_id")
	d.leadID, _ = p.IDField(obj, "lead_id")
	p.Require(obj, "profile_id")
	d.profileID, _ = p.IDField(obj, "profile_id")
	for _, f := range dateFields {
		if raw := obj[f]; string(raw) == `""` {
			continue // WhatConverts sends "" for values it does not know: absent, not malformed
		}
		t, _ := p.DateTimeField(obj, f)
		if f == "last_updated" {
			d.lastUpdated = t
		}
	}
	if err := p.Err(); err != nil {
		return d, err
	}

	// Tolerated fields: read without failing the delivery, so their problems are discarded.
	var lenient validate.Problems
	d.accountID, _ = lenient.IDField(obj, "account_id")
	if s, ok := lenient.StringField(obj, "lead_type"); ok && leadTypes.Has(s) {
		d.leadType = s
	}
	if s, ok := lenient.StringField(obj, "quotable"); ok && quotableValues.Has(s) {
		d.quotable = s
	}
	d.hasQuoteValue = positiveNumber(obj["quote_value"])
	d.hasSalesValue = positiveNumber(obj["sales_value"])
	if d.trigger == audit.TriggerUpdatedLead {
		for _, f := range WatchedFields {
			if hasValue(obj[f]) {
				d.changedFields = append(d.changedFields, f)
			}
		}
	}
	d.bodyHash, err = canonicalHash(obj, len(body))
	if err != nil {
		return d, err
	}
	return d, nil
}

// positiveNumber reports whether raw is a JSON number greater than zero: a quote or sales value that
// is null, "", 0 or not a number is no value.
func positiveNumber(raw json.RawMessage) bool {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return err == nil && f > 0
}

// hasValue reports whether raw is present with a value: not absent, null, "", [] or {}.
func hasValue(raw json.RawMessage) bool {
	switch string(bytes.Join(bytes.Fields(raw), nil)) {
	case "", "null", `""`, "[]", "{}":
		return false
	}
	return true
}

// canonicalHash is the hex SHA-256 of the body in a canonical form: object keys sorted at every
// depth, no insignificant whitespace, strings escaped one way (encoding/json's, without HTML
// escaping), numbers as written. Two deliveries of the same lead state that differ only in key order
// or spacing hash alike; any other difference is another state. Every field counts: neither
// WhatConverts' documented payloads nor its published examples carry anything that changes between
// deliveries of one state (no delivery ID, send time, attempt count or signature; the recording URLs
// name the recording, not the request).
//
// The form is exactly what encoding/json gives for the body decoded with UseNumber (keys without
// last_updated have been hashed so since before the body hash joined every key, and their event IDs
// must not change), but it is written from the already validated top level: the scalars that make up
// most of a lead are copied as they are, only nested values and strings with escapes go through
// encoding/json.
//
// size is the body's length: the canonical form is about as long (no longer but for escapes), so its
// buffer never grows.
func canonicalHash(obj validate.Object, size int) (string, error) {
	buf, err := appendObject(make([]byte, 0, size+size/8+64), obj)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), nil
}

// appendObject appends a validated object in canonical form.
func appendObject(buf []byte, obj validate.Object) ([]byte, error) {
	buf = append(buf, '{')
	for i, k := range obj.Keys() {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendString(buf, k); err != nil {
			return nil, err
		}
		buf = append(buf, ':')
		if buf, err = appendCanonical(buf, obj[k]); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendCanonical appends a validated JSON value in canonical form.
func appendCanonical(buf []byte, raw json.RawMessage) ([]byte, error) {
	switch raw[0] {
	case '"':
		if !bytes.ContainsRune(raw, '\\') && !hasJSONLineSeparator(raw) {
			return append(buf, raw...), nil // encoding/json would write it unchanged
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return appendString(buf, s)
	case '{': // lead_analysis, additional_fields: objects of scalars
		obj, err := validate.DecodeObject(raw)
		if err != nil {
			return nil, err
		}
		return appendObject(buf, obj)
	case '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return appendJSON(buf, v)
	default: // a number as written, true, false, null
		return append(buf, raw...), nil
	}
}

// appendString appends s as encoding/json writes it without HTML escaping.
func appendString(buf []byte, s string) ([]byte, error) {
	if plainJSONString(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"'), nil
	}
	return appendJSON(buf, s)
}

// plainJSONString reports, in one pass, whether encoding/json writes s between quotes as it is: valid
// UTF-8 without a quote, a backslash, a control character, U+2028 or U+2029 (which it escapes).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += n
	}
	return true
}

func appendJSON(buf []byte, v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // map keys sorted
		return nil, err
	}
	return append(buf, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}

// hasJSONLineSeparator reports whether raw holds U+2028 or U+2029, which encoding/json escapes. Both
// start with the byte 0xE2, which most values (ASCII) do not hold: one fast scan rules them out.
func hasJSONLineSeparator(raw []byte) bool {
	if bytes.IndexByte(raw, 0xE2) < 0 {
		return false
	}
	return bytes.Contains(raw, []byte("\u2028")) || bytes.Contains(raw, []byte("\u2029"))
}

// key is the delivery's de-duplication key (contract: profile_id, lead_id, trigger, last_updated and
// the canonical body).
func (d delivery) key() audit.DedupeKey {
	return audit.DedupeKey{ProfileID: d.profileID, LeadID: d.leadID, Trigger: d.trigger,
		LastUpdated: d.lastUpdated, BodyHash: d.bodyHash}
}
