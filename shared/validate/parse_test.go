package validate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// huge is a 10 MB input: every parser must refuse it quickly and without echoing it.
var huge = strings.Repeat("9", 10<<20)

// textCase is one input of a text parser: accepted as want when problem is "", refused with
// problem otherwise.
type textCase[T any] struct {
	name    string
	in      string
	want    T
	problem string
}

// runText runs cases through parse (a text parser such as (*Problems).ID) under the field "f".
func runText[T any](t *testing.T, parse func(*Problems, string, string) T, cases []textCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Problems
			got := parse(&p, "f", c.in)
			err := p.Err()
			if c.problem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !equal(got, c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				return
			}
			want := []apierr.FieldProblem{{Field: "f", Problem: c.problem}}
			if got := p.Fields(); !reflect.DeepEqual(got, want) {
				t.Fatalf("problems %+v, want %+v", got, want)
			}
			var zero T
			if !equal(got, zero) {
				t.Fatalf("a refused input returned %v, want the zero value", got)
			}
			mustNotEcho(t, err, c.in)
		})
	}
}

func equal[T any](a, b T) bool {
	if ta, ok := any(a).(time.Time); ok {
		return ta.Equal(any(b).(time.Time)) && ta.Location() == time.UTC
	}
	return reflect.DeepEqual(a, b)
}

func TestID(t *testing.T) {
	runText(t, (*Problems).ID, []textCase[int64]{
		{name: "a small positive integer is accepted", in: "1", want: 1},
		{name: "a WhatConverts lead ID is accepted", in: "178849242", want: 178849242},
		{name: "MaxInt64 is accepted", in: "9223372036854775807", want: 9223372036854775807},
		{name: "one past MaxInt64 is refused", in: "9223372036854775808", problem: ProblemID},
		{name: "a 30-digit number is refused", in: "123456789012345678901234567890", problem: ProblemID},
		{name: "a 10 MB number is refused", in: huge, problem: ProblemID},
		{name: "zero is refused", in: "0", problem: ProblemID},
		{name: "a negative is refused", in: "-1", problem: ProblemID},
		{name: "a leading plus is refused", in: "+1001", problem: ProblemID},
		{name: "a leading zero is refused", in: "01001", problem: ProblemID},
		{name: "leading space is refused", in: " 1001", problem: ProblemID},
		{name: "trailing newline is refused", in: "1001\n", problem: ProblemID},
		{name: "a fraction is refused", in: "1.5", problem: ProblemID},
		{name: "a whole number written as a float is refused", in: "1.0", problem: ProblemID},
		{name: "an exponent is refused", in: "1e3", problem: ProblemID},
		{name: "1e400 is refused", in: "1e400", problem: ProblemID},
		{name: "hex is refused", in: "0x1F", problem: ProblemID},
		{name: "underscores are refused", in: "1_000", problem: ProblemID},
		{name: "non-ASCII digits are refused", in: "١٢٣", problem: ProblemID},
		{name: "a NUL byte is refused", in: "1001\x00", problem: ProblemID},
		{name: "invalid UTF-8 is refused", in: "1001\xff", problem: ProblemID},
		{name: "the empty string is refused", in: "", problem: ProblemID},
	})
}

func TestInt(t *testing.T) {
	maxItems := func(p *Problems, field, raw string) int64 { return p.Int(field, raw, 1, 10000) }
	const problem = "must be an integer from 1 to 10000"
	runText(t, maxItems, []textCase[int64]{
		{name: "the lower bound is accepted", in: "1", want: 1},
		{name: "the upper bound is accepted", in: "10000", want: 10000},
		{name: "below the lower bound is refused", in: "0", problem: problem},
		{name: "above the upper bound is refused", in: "10001", problem: problem},
		{name: "a negative is refused", in: "-5", problem: problem},
		{name: "a leading zero is refused", in: "0100", problem: problem},
		{name: "a fraction is refused", in: "100.0", problem: problem},
		{name: "an overflowing number is refused", in: "99999999999999999999", problem: problem},
		{name: "a 10 MB number is refused", in: huge, problem: problem},
	})
	t.Run("negative ranges work and -0 is not a way to write 0", func(t *testing.T) {
		var p Problems
		if got := p.Int("f", "-3", -5, 5); got != -3 || !p.OK() {
			t.Fatalf("got %d, %v", got, p.Err())
		}
		p.Int("f", "-0", -5, 5)
		if p.OK() {
			t.Fatal("-0 accepted")
		}
	})
}

func TestEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	runText(t, (*Problems).Email, []textCase[string]{
		{name: "a plain address is accepted as given", in: "hello@whatconverts.com", want: "hello@whatconverts.com"},
		{name: "case is kept", in: "Pat.Doe@Example.COM", want: "Pat.Doe@Example.COM"},
		{name: "plus addressing is accepted", in: "pat+leads@example.co.uk", want: "pat+leads@example.co.uk"},
		{name: "a hyphenated domain is accepted", in: "a@my-clinic.example", want: "a@my-clinic.example"},
		{name: "an internationalized address is accepted", in: "jörg@müller.de", want: "jörg@müller.de"},
		{name: "an address of exactly 254 bytes is accepted", in: long, want: long},
		{name: "an address of 255 bytes is refused", in: "a" + long, problem: ProblemEmail},
		{name: "a 10 MB string is refused", in: huge + "@example.com", problem: ProblemEmail},
		{name: "a local part over 64 bytes is refused", in: strings.Repeat("a", 65) + "@example.com", problem: ProblemEmail},
		{name: "a display name is refused", in: "Pat Doe <pat@example.com>", problem: ProblemEmail},
		{name: "angle brackets are refused", in: "<pat@example.com>", problem: ProblemEmail},
		{name: "a trailing comment is refused", in: "pat@example.com (Pat)", problem: ProblemEmail},
		{name: "a quoted local part is refused", in: `"pat doe"@example.com`, problem: ProblemEmail},
		{name: "a quoted @ is refused", in: `"a@b"@example.com`, problem: ProblemEmail},
		{name: "two @ are refused", in: "pat@doe@example.com", problem: ProblemEmail},
		{name: "no @ is refused", in: "pat.example.com", problem: ProblemEmail},
		{name: "a domain without a dot is refused", in: "pat@localhost", problem: ProblemEmail},
		{name: "an IP literal domain is refused", in: "pat@[192.0.2.1]", problem: ProblemEmail},
		{name: "a numeric top-level label is refused", in: "pat@192.0.2.1", problem: ProblemEmail},
		{name: "a label starting with a hyphen is refused", in: "pat@-example.com", problem: ProblemEmail},
		{name: "a trailing dot is refused", in: "pat@example.com.", problem: ProblemEmail},
		{name: "consecutive dots are refused", in: "pat..doe@example.com", problem: ProblemEmail},
		{name: "an empty local part is refused", in: "@example.com", problem: ProblemEmail},
		{name: "surrounding space is refused", in: " pat@example.com ", problem: ProblemEmail},
		{name: "a NUL byte is refused", in: "pat\x00@example.com", problem: ProblemEmail},
		{name: "a zero-width space is refused", in: "pat\u200b@example.com", problem: ProblemEmail},
		{name: "invalid UTF-8 is refused", in: "pat\xff@example.com", problem: ProblemEmail},
		{name: "a newline (header injection) is refused", in: "pat@example.com\nBcc: x@y.z", problem: ProblemEmail},
		{name: "the empty string is refused", in: "", problem: ProblemEmail},
	})
}

func TestPhone(t *testing.T) {
	runText(t, (*Problems).Phone, []textCase[string]{
		{name: "a US number is accepted", in: "+18887203034", want: "+18887203034"},
		{name: "8 digits (the shortest) are accepted", in: "+12345678", want: "+12345678"},
		{name: "15 digits (the longest) are accepted", in: "+123456789012345", want: "+123456789012345"},
		{name: "7 digits are refused", in: "+1234567", problem: ProblemPhone},
		{name: "16 digits are refused", in: "+1234567890123456", problem: ProblemPhone},
		{name: "a first digit 0 is refused", in: "+08887203034", problem: ProblemPhone},
		{name: "no plus is refused", in: "18887203034", problem: ProblemPhone},
		{name: "national formatting is refused", in: "(888) 720-3034", problem: ProblemPhone},
		{name: "spaces are refused", in: "+1 888 720 3034", problem: ProblemPhone},
		{name: "a double plus is refused", in: "++18887203034", problem: ProblemPhone},
		{name: "a NUL byte is refused", in: "+1888720303\x00", problem: ProblemPhone},
		{name: "invalid UTF-8 is refused", in: "+1888720303\xff", problem: ProblemPhone},
		{name: "a 10 MB string is refused", in: "+" + huge, problem: ProblemPhone},
		{name: "the empty string is refused", in: "", problem: ProblemPhone},
	})
}

func TestMoney(t *testing.T) {
	m := func(cents int64) Money { return Money{cents: cents} }
	runText(t, (*Problems).Money, []textCase[Money]{
		{name: "zero is accepted", in: "0", want: m(0)},
		{name: "zero with decimals is accepted", in: "0.00", want: m(0)},
		{name: "a whole number is accepted", in: "250", want: m(25000)},
		{name: "one decimal is accepted", in: "12.5", want: m(1250)},
		{name: "two decimals are accepted", in: "12.50", want: m(1250)},
		{name: "one cent is accepted", in: "0.01", want: m(1)},
		{name: "trailing zeros beyond two decimals are not decimals", in: "1.500", want: m(150)},
		{name: "an exponent is honoured exactly", in: "1e2", want: m(10000)},
		{name: "an upper-case exponent with a sign is honoured", in: "1.5E+1", want: m(1500)},
		{name: "a negative exponent giving cents is accepted", in: "125e-2", want: m(125)},
		{name: "zero with a huge exponent is zero", in: "0e999999999999", want: m(0)},
		{name: "the upper bound is accepted", in: "1000000000000", want: m(MaxMoneyCents)},
		{name: "the upper bound with decimals is accepted", in: "1000000000000.00", want: m(MaxMoneyCents)},
		{name: "one cent over the upper bound is refused", in: "1000000000000.01", problem: ProblemMoneyTooLarge},
		{name: "1e13 is refused as too large", in: "1e13", problem: ProblemMoneyTooLarge},
		{name: "1e400 is refused as too large", in: "1e400", problem: ProblemMoneyTooLarge},
		{name: "a 10 MB number is refused as too large", in: huge, problem: ProblemMoneyTooLarge},
		{name: "a third decimal is refused", in: "0.125", problem: ProblemMoney},
		{name: "a tiny exponent is refused", in: "1e-3", problem: ProblemMoney},
		{name: "1e-400 is refused", in: "1e-400", problem: ProblemMoney},
		{name: "a negative is refused", in: "-1", problem: ProblemMoney},
		{name: "negative zero is refused", in: "-0", problem: ProblemMoney},
		{name: "a leading plus is refused", in: "+1", problem: ProblemMoney},
		{name: "a leading zero is refused", in: "012", problem: ProblemMoney},
		{name: "a bare decimal point is refused", in: "12.", problem: ProblemMoney},
		{name: "a leading decimal point is refused", in: ".5", problem: ProblemMoney},
		{name: "a currency sign is refused", in: "$12.50", problem: ProblemMoney},
		{name: "grouping is refused", in: "1,000", problem: ProblemMoney},
		{name: "spaces are refused", in: " 12", problem: ProblemMoney},
		{name: "hex is refused", in: "0x10", problem: ProblemMoney},
		{name: "NaN is refused", in: "NaN", problem: ProblemMoney},
		{name: "Infinity is refused", in: "Infinity", problem: ProblemMoney},
		{name: "an exponent without digits is refused", in: "1e", problem: ProblemMoney},
		{name: "a NUL byte is refused", in: "12\x00", problem: ProblemMoney},
		{name: "invalid UTF-8 is refused", in: "12\xff", problem: ProblemMoney},
		{name: "the empty string is refused", in: "", problem: ProblemMoney},
	})
}

func TestMoneyString(t *testing.T) {
	for _, c := range []struct {
		cents int64
		want  string
	}{{0, "0.00"}, {1, "0.01"}, {10, "0.10"}, {1250, "12.50"}, {MaxMoneyCents, "1000000000000.00"}} {
		t.Run("renders "+c.want+" with two decimals", func(t *testing.T) {
			m := Money{cents: c.cents}
			if got := m.String(); got != c.want {
				t.Fatalf("String() = %q, want %q", got, c.want)
			}
			if b, _ := m.MarshalJSON(); string(b) != c.want {
				t.Fatalf("MarshalJSON() = %s, want %s", b, c.want)
			}
			if m.Cents() != c.cents {
				t.Fatalf("Cents() = %d", m.Cents())
			}
			if b, err := json.Marshal(struct{ V Money }{m}); err != nil || string(b) != `{"V":`+c.want+`}` {
				t.Fatalf("json.Marshal = %s, %v", b, err)
			}
		})
	}
}

func TestURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLLen-len("https://example.com/"))
	runText(t, (*Problems).URL, []textCase[string]{
		{name: "an https URL is accepted as given", in: "https://www.whatconverts.com/contact", want: "https://www.whatconverts.com/contact"},
		{name: "an http URL with a query is accepted", in: "http://www.test.com/?utm_source=google&utm_keyword=test+number",
			want: "http://www.test.com/?utm_source=google&utm_keyword=test+number"},
		{name: "a port and a fragment are accepted", in: "https://example.com:8443/a#b", want: "https://example.com:8443/a#b"},
		{name: "an upper-case scheme is accepted", in: "HTTPS://EXAMPLE.COM/", want: "HTTPS://EXAMPLE.COM/"},
		{name: "an IPv6 host is accepted", in: "http://[2001:db8::1]/", want: "http://[2001:db8::1]/"},
		{name: "exactly 2048 bytes are accepted", in: long, want: long},
		{name: "2049 bytes are refused", in: long + "a", problem: ProblemURL},
		{name: "a 10 MB URL is refused", in: "https://example.com/" + huge, problem: ProblemURL},
		{name: "javascript: is refused", in: "javascript:alert(1)", problem: ProblemURL},
		{name: "javascript: dressed as a hierarchical URL is refused", in: "javascript://example.com/%0aalert(1)", problem: ProblemURL},
		{name: "data: is refused", in: "data:text/html,<script>alert(1)</script>", problem: ProblemURL},
		{name: "ftp: is refused", in: "ftp://example.com/file", problem: ProblemURL},
		{name: "a relative URL is refused", in: "/contact?x=1", problem: ProblemURL},
		{name: "a scheme-relative URL is refused", in: "//example.com/contact", problem: ProblemURL},
		{name: "http: without slashes is refused", in: "http:example.com", problem: ProblemURL},
		{name: "a missing host is refused", in: "http:///path", problem: ProblemURL},
		{name: "a port without a host is refused", in: "http://:80/", problem: ProblemURL},
		{name: "userinfo is refused", in: "https://user:pass@example.com/", problem: ProblemURL},
		{name: "a port out of range is refused", in: "https://example.com:99999/", problem: ProblemURL},
		{name: "a space is refused", in: "https://example.com/a b", problem: ProblemURL},
		{name: "a backslash is refused", in: `https://example.com\@evil.example/`, problem: ProblemURL},
		{name: "a NUL byte is refused", in: "https://example.com/\x00", problem: ProblemURL},
		{name: "a newline is refused", in: "https://example.com/\nx", problem: ProblemURL},
		{name: "invalid UTF-8 is refused", in: "https://example.com/\xff", problem: ProblemURL},
		{name: "a bidi override is refused", in: "https://example.com/\u202egnp.exe", problem: ProblemURL},
		{name: "the empty string is refused", in: "", problem: ProblemURL},
	})
}

func TestDateTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	runText(t, (*Problems).DateTime, []textCase[time.Time]{
		{name: "a WhatConverts UTC timestamp is accepted", in: "2025-05-28T19:20:03Z", want: at("2025-05-28T19:20:03Z")},
		{name: "fractional seconds are accepted", in: "2025-05-28T19:20:03.123456789Z", want: at("2025-05-28T19:20:03.123456789Z")},
		{name: "an offset is accepted and converted to UTC", in: "2025-05-28T21:20:03+02:00", want: at("2025-05-28T19:20:03Z")},
		{name: "a leap day is accepted", in: "2024-02-29T00:00:00Z", want: at("2024-02-29T00:00:00Z")},
		{name: "a date alone is refused", in: "2025-05-28", problem: ProblemDateTime},
		{name: "no offset is refused", in: "2025-05-28T19:20:03", problem: ProblemDateTime},
		{name: "a space for T is refused", in: "2025-05-28 19:20:03Z", problem: ProblemDateTime},
		{name: "lower-case t and z are refused", in: "2025-05-28t19:20:03z", problem: ProblemDateTime},
		{name: "a non-leap February 29 is refused", in: "2025-02-29T00:00:00Z", problem: ProblemDateTime},
		{name: "hour 24 is refused", in: "2025-05-28T24:00:00Z", problem: ProblemDateTime},
		{name: "a leap second is refused", in: "2016-12-31T23:59:60Z", problem: ProblemDateTime},
		{name: "an offset of 24 hours is refused", in: "2025-05-28T19:20:03+24:00", problem: ProblemDateTime},
		{name: "an offset that carries the instant before year 0 is refused", in: "0000-01-01T00:00:00+00:01", problem: ProblemDateTime},
		{name: "an offset that carries the instant past year 9999 is refused", in: "9999-12-31T23:59:59-00:01", problem: ProblemDateTime},
		{name: "an empty fraction is refused", in: "2025-05-28T19:20:03.Z", problem: ProblemDateTime},
		{name: "ten fraction digits are refused", in: "2025-05-28T19:20:03.1234567890Z", problem: ProblemDateTime},
		{name: "a five-digit year is refused", in: "12025-05-28T19:20:03Z", problem: ProblemDateTime},
		{name: "a Unix timestamp is refused", in: "1748460003", problem: ProblemDateTime},
		{name: "a NUL byte is refused", in: "2025-05-28T19:20:03Z\x00", problem: ProblemDateTime},
		{name: "invalid UTF-8 is refused", in: "2025-05-28T19:20:03\xff", problem: ProblemDateTime},
		{name: "a 10 MB string is refused", in: huge, problem: ProblemDateTime},
		{name: "the empty string is refused", in: "", problem: ProblemDateTime},
	})
}

func TestDate(t *testing.T) {
	runText(t, (*Problems).Date, []textCase[time.Time]{
		{name: "a date is accepted as its midnight UTC", in: "2026-11-28", want: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
		{name: "a leap day is accepted", in: "2024-02-29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{name: "a non-leap February 29 is refused", in: "2025-02-29", problem: ProblemDate},
		{name: "month 13 is refused", in: "2025-13-01", problem: ProblemDate},
		{name: "single-digit month and day are refused", in: "2025-5-8", problem: ProblemDate},
		{name: "a date-time is refused", in: "2025-05-28T00:00:00Z", problem: ProblemDate},
		{name: "slashes are refused", in: "2025/05/28", problem: ProblemDate},
		{name: "a trailing space is refused", in: "2025-05-28 ", problem: ProblemDate},
		{name: "a signed year is refused", in: "+2025-05-28", problem: ProblemDate},
		{name: "a NUL byte is refused", in: "2025-05-2\x00", problem: ProblemDate},
		{name: "a 10 MB string is refused", in: huge, problem: ProblemDate},
		{name: "the empty string is refused", in: "", problem: ProblemDate},
	})
}

func TestEnumerations(t *testing.T) {
	t.Run("lead types", func(t *testing.T) {
		cases := []textCase[string]{}
		for _, v := range []string{"appointment", "chat", "email", "event", "other", "phone_call", "text_message", "transaction", "web_form"} {
			cases = append(cases, textCase[string]{name: v + " is accepted", in: v, want: v})
		}
		problem := "must be one of: appointment, chat, email, event, other, phone_call, text_message, transaction, web_form"
		cases = append(cases,
			textCase[string]{name: "a display name is refused", in: "Phone Call", problem: problem},
			textCase[string]{name: "upper case is refused", in: "WEB_FORM", problem: problem},
			textCase[string]{name: "an unknown type is refused", in: "fax", problem: problem},
			textCase[string]{name: "a NUL byte is refused", in: "chat\x00", problem: problem},
			textCase[string]{name: "the empty string is refused", in: "", problem: problem},
		)
		runText(t, (*Problems).LeadType, cases)
	})
	t.Run("quotable, as Create Lead accepts it", func(t *testing.T) {
		problem := "must be one of: yes, no, pending, not_set"
		runText(t, (*Problems).Quotable, []textCase[string]{
			{name: "yes is accepted", in: "yes", want: "yes"},
			{name: "no is accepted", in: "no", want: "no"},
			{name: "pending is accepted", in: "pending", want: "pending"},
			{name: "not_set is accepted", in: "not_set", want: "not_set"},
			{name: "the response form Not Set is refused", in: "Not Set", problem: problem},
			{name: "true is refused", in: "true", problem: problem},
		})
	})
	t.Run("quotable, as Update Lead accepts it", func(t *testing.T) {
		problem := "must be one of: yes, no"
		runText(t, (*Problems).QuotableYesNo, []textCase[string]{
			{name: "yes is accepted", in: "yes", want: "yes"},
			{name: "no is accepted", in: "no", want: "no"},
			{name: "pending is refused", in: "pending", problem: problem},
			{name: "not_set is refused", in: "not_set", problem: problem},
			{name: "Yes is refused", in: "Yes", problem: problem},
		})
	})
	t.Run("webhook trigger", func(t *testing.T) {
		problem := "must be one of: new, update"
		runText(t, (*Problems).Trigger, []textCase[string]{
			{name: "new is accepted", in: "new", want: "new"},
			{name: "update is accepted", in: "update", want: "update"},
			{name: "the route name new-lead is refused", in: "new-lead", problem: problem},
			{name: "upper case is refused", in: "NEW", problem: problem},
			{name: "a 10 MB string is refused", in: huge, problem: problem},
		})
	})
	t.Run("any list", func(t *testing.T) {
		order := func(p *Problems, field, raw string) string { return p.OneOf(field, raw, "asc", "desc") }
		runText(t, order, []textCase[string]{
			{name: "a listed value is accepted", in: "desc", want: "desc"},
			{name: "an unlisted value is refused", in: "random", problem: "must be one of: asc, desc"},
		})
	})
}
