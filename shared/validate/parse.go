package validate

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the parsers.
const (
	MaxEmailLen = 254  // RFC 5321's limit on a forward path, the practical limit of an address
	MaxURLLen   = 2048 // the contract's limit on lead_url, and what browsers and WhatConverts keep
)

// Each parser takes the text as given and returns the value, or the problem text when it is not
// acceptable ("" when it is). None looks at anything but the text, and none puts the text into a
// problem.

// parseID accepts a positive decimal integer that fits int64, written canonically: digits only,
// no sign, no leading zero, no spaces, no exponent or fraction.
func parseID(s string) (int64, string) {
	if len(s) == 0 || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, ProblemID
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ProblemID
		}
	}
	n, err := strconv.ParseInt(s, 10, 64) // only overflow can fail here
	if err != nil {
		return 0, ProblemID
	}
	return n, ""
}

// intProblem is the problem of an integer outside [lo, hi].
func intProblem(lo, hi int64) string {
	return fmt.Sprintf("must be an integer from %d to %d", lo, hi)
}

// parseInt accepts a decimal integer in [lo, hi], written canonically: an optional '-', then
// "0" or digits without a leading zero.
func parseInt(s string, lo, hi int64) (int64, string) {
	digits := strings.TrimPrefix(s, "-")
	ok := len(digits) > 0 && len(digits) <= 19 && (digits == "0" || digits[0] != '0')
	for i := 0; ok && i < len(digits); i++ {
		ok = '0' <= digits[i] && digits[i] <= '9'
	}
	if ok && s == "-0" {
		ok = false
	}
	var n int64
	if ok {
		var err error
		n, err = strconv.ParseInt(s, 10, 64)
		ok = err == nil && lo <= n && n <= hi
	}
	if !ok {
		return 0, intProblem(lo, hi)
	}
	return n, ""
}

// parseEmail accepts an addr-spec as net/mail parses it, and more strictly: the whole text is the
// address (no display name, angle brackets, comments, quoting or surrounding space), exactly one
// '@', a local part of at most 64 bytes, a domain of dot-separated labels of letters, digits and
// inner hyphens (non-ASCII letters allowed) whose last label is not numeric, no control, space or
// invisible format characters, valid UTF-8, at most MaxEmailLen bytes.
func parseEmail(s string) (string, string) {
	if len(s) < 3 || len(s) > MaxEmailLen || !utf8.ValidString(s) || strings.Count(s, "@") != 1 {
		return "", ProblemEmail
	}
	for _, r := range s {
		if !visible(r) {
			return "", ProblemEmail
		}
	}
	at := strings.IndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) == 0 || len(local) > 64 || !hostname(domain, true) {
		return "", ProblemEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ProblemEmail
	}
	return s, ""
}

// visible reports whether r may appear in an email address or URL: not a space, control or
// format character (zero-width joiners, bidi overrides), and not the replacement character.
func visible(r rune) bool {
	return r > ' ' && r != 0x7f && r != utf8.RuneError &&
		!unicode.IsSpace(r) && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r)
}

// hostname reports whether s is dot-separated labels of letters, digits and inner hyphens, each at
// most 63 bytes, with a last label that is not all digits. needDot requires two labels or more.
func hostname(s string, needDot bool) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if needDot && len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') ||
				(r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)))) {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.TrimLeft(last, "0123456789") != ""
}

// parsePhone accepts E.164: '+', a first digit 1-9, then 7 to 14 more digits (8 to 15 in all).
func parsePhone(s string) (string, string) {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return "", ProblemPhone
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", ProblemPhone
		}
	}
	return s, ""
}

// parseURL accepts an absolute URL with scheme http or https (any case), a host, no userinfo, a
// port (if any) from 1 to 65535, valid UTF-8 without spaces, control or format characters or
// backslashes, at most MaxURLLen bytes. The text is returned as given, not re-encoded.
func parseURL(s string) (string, string) {
	if len(s) == 0 || len(s) > MaxURLLen || !utf8.ValidString(s) {
		return "", ProblemURL
	}
	for _, r := range s {
		if !visible(r) || r == '\\' {
			return "", ProblemURL
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.User != nil ||
		u.Hostname() == "" || !strings.HasPrefix(strings.ToLower(s), u.Scheme+"://") {
		return "", ProblemURL
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", ProblemURL
		}
	}
	return s, ""
}

// parseDateTime accepts an RFC 3339 date-time as YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), with an
// upper-case T and Z, 1 to 9 fraction digits, an offset of at most 23:59 and a real calendar date
// and time (no leap second). It returns the instant in UTC.
func parseDateTime(s string) (time.Time, string) {
	if !dateTimeShape(s) {
		return time.Time{}, ProblemDateTime
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, ProblemDateTime
	}
	// An offset can carry an instant out of RFC 3339's four-digit years ("0000-01-01T00:00:00+00:01"
	// is year -1 in UTC): such a time could not be written back as it is read.
	if u := t.UTC(); u.Year() < 0 || u.Year() > 9999 {
		return time.Time{}, ProblemDateTime
	}
	return t.UTC(), ""
}

func dateTimeShape(s string) bool {
	const base = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(base)+1 || len(s) > len(base)+1+9+6 || !shape(s[:len(base)], base) {
		return false
	}
	rest := s[len(base):]
	if rest[0] == '.' {
		n := digits(rest, 1) - 1
		if n < 1 || n > 9 {
			return false
		}
		rest = rest[1+n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || (rest[0] != '+' && rest[0] != '-') || !shape(rest[1:], "dd:dd") {
		return false
	}
	return rest[1:3] <= "23" && rest[4:6] <= "59"
}

// shape reports whether s matches pattern, in which 'd' stands for an ASCII digit and any other
// byte for itself.
func shape(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := range len(pattern) {
		if pattern[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != pattern[i] {
			return false
		}
	}
	return true
}

// parseDate accepts a calendar date YYYY-MM-DD and returns its midnight UTC.
func parseDate(s string) (time.Time, string) {
	if !shape(s, "dddd-dd-dd") {
		return time.Time{}, ProblemDate
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, ProblemDate
	}
	return t, ""
}

// Money is an amount of money in cents, from 0 to MaxMoney. WhatConverts takes quote and sales
// values in the account's currency without saying which, so Money carries none. The zero value
// is 0.00.
type Money struct{ cents int64 }

// MaxMoneyCents is the largest Money, 1,000,000,000,000.00: far above any quote or sales value
// (it bounds input, not business), and exactly representable as a float64 in dollars and cents.
const MaxMoneyCents = 100_000_000_000_000

// Cents is m in cents.
func (m Money) Cents() int64 { return m.cents }

// String is m with exactly two decimals and no grouping, as WhatConverts' form posts take it:
// "12.50", "0.00", "1000000000000.00".
func (m Money) String() string {
	return strconv.FormatInt(m.cents/100, 10) + "." + string([]byte{byte('0' + m.cents%100/10), byte('0' + m.cents%10)})
}

// MarshalJSON renders m as a JSON number with two decimals (12.50).
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// parseMoney accepts the text of a JSON number (RFC 8259 grammar: no '+', no leading zeros, no
// spaces, no hex, "." needs digits on both sides) whose exact decimal value is from 0 to
// MaxMoneyCents/100 and a whole number of cents. Exponents are honoured exactly ("1e2" is 100.00,
// "1.5e1" is 15.00, "0.125" and "1e-3" are refused for their third decimal, "1e400" as too large);
// trailing zeros do not count as decimals ("1.500" is 1.50). A minus sign is refused, even on zero.
// Nothing is rounded: the value is computed from the digits, never through a float.
func parseMoney(s string) (Money, string) {
	if len(s) == 0 || s[0] == '-' || numberLen(s) != len(s) {
		return Money{}, ProblemMoney
	}
	// Split into the significant digits and a power of ten: value = digits × 10^exp.
	mant, expText, _ := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	exp := -int64(len(frac))
	if expText != "" {
		e, ok := boundedExponent(expText)
		if !ok {
			return Money{}, ProblemMoney
		}
		exp += e
	}
	ds := strings.TrimLeft(intPart+frac, "0")
	trimmed := strings.TrimRight(ds, "0")
	exp += int64(len(ds) - len(trimmed))
	ds = trimmed
	if ds == "" {
		return Money{}, "" // zero, however written
	}
	if exp < -2 {
		return Money{}, ProblemMoney // a third decimal that is not zero
	}
	// cents = ds × 10^(exp+2); it has len(ds)+exp+2 digits, at most 15 for MaxMoneyCents.
	if int64(len(ds))+exp+2 > 15 {
		return Money{}, ProblemMoneyTooLarge
	}
	cents, err := strconv.ParseInt(ds, 10, 64)
	if err != nil {
		return Money{}, ProblemMoneyTooLarge
	}
	for range exp + 2 {
		cents *= 10
	}
	if cents > MaxMoneyCents {
		return Money{}, ProblemMoneyTooLarge
	}
	return Money{cents: cents}, ""
}

// boundedExponent reads a signed decimal exponent, saturating its magnitude at 1e9: beyond that
// the answer (too large, too many decimals, or zero) no longer depends on it.
func boundedExponent(s string) (int64, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var e int64
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if e < 1e9 {
			e = e*10 + int64(s[i]-'0')
		}
	}
	e = min(e, 1e9)
	if neg {
		e = -e
	}
	return e, true
}

// The enumerations of the contract and of WhatConverts' request values.
var (
	leadTypes = []string{"appointment", "chat", "email", "event", "other", "phone_call", "text_message",
		"transaction", "web_form"}
	quotableAll    = []string{"yes", "no", "pending", "not_set"}
	quotableYesNo  = []string{"yes", "no"}
	triggers       = []string{"new", "update"}
	problemLead    = oneOfProblem(leadTypes)
	problemQuote   = oneOfProblem(quotableAll)
	problemYesNo   = oneOfProblem(quotableYesNo)
	problemTrigger = oneOfProblem(triggers)
)

func oneOfProblem(allowed []string) string { return "must be one of: " + strings.Join(allowed, ", ") }

// oneOf accepts exactly one of allowed (case-sensitive).
func oneOf(s string, allowed []string, problem string) (string, string) {
	for _, a := range allowed {
		if s == a {
			return a, ""
		}
	}
	return "", problem
}
