package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets check invariants of every parser: it never panics, what it accepts satisfies
// the rules (checked independently, with the standard library where it can serve as an oracle),
// what it refuses gets the fixed problem and the zero value, and no error echoes the input.
// `make fuzz` runs each; seeds below hold good, boundary and bad examples.

var badSeeds = []string{
	"", " ", "0", "-1", "+1", "1.5", "1e400", "0.125", "\x00", "\xff\xfe", "javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>", "9223372036854775808", "NaN", "null", "\u202e",
}

func addSeeds(f *testing.F, good ...string) {
	for _, s := range append(slices.Clone(good), badSeeds...) {
		f.Add(s)
	}
}

// refused checks what every refusal must be: exactly the field's problem and the zero value.
func refused[T comparable](t *testing.T, p *Problems, got T, problems ...string) {
	t.Helper()
	var zero T
	if got != zero {
		t.Fatalf("refused input returned %v", got)
	}
	fs := p.Fields()
	if len(fs) != 1 || fs[0].Field != "f" || !slices.Contains(problems, fs[0].Problem) {
		t.Fatalf("problems %+v, want one of %q", fs, problems)
	}
}

var idPattern = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

func FuzzID(f *testing.F) {
	addSeeds(f, "1", "1001", "178849242", "9223372036854775807", "01", "0x1F", " 1", "1_000")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		id := p.ID("f", s)
		_, parseErr := strconv.ParseInt(s, 10, 64)
		shouldAccept := idPattern.MatchString(s) && parseErr == nil
		if p.OK() != shouldAccept {
			t.Fatalf("accepted=%v, want %v", p.OK(), shouldAccept)
		}
		if p.OK() {
			if id <= 0 || strconv.FormatInt(id, 10) != s {
				t.Fatalf("accepted as %d", id)
			}
		} else {
			refused(t, &p, id, ProblemID)
		}
		mustNotEcho(t, p.Err(), s)

		// From a JSON body the same text as a number reads the same.
		if o, err := DecodeObject([]byte(`{"id":` + s + `}`)); err == nil && numberLen(s) == len(s) {
			var q Problems
			got, ok := q.IDField(o, "id")
			if got != id || ok != p.OK() {
				t.Fatalf("IDField = (%d, %v), ID = (%d, %v)", got, ok, id, p.OK())
			}
		}
	})
}

func FuzzEmail(f *testing.F) {
	addSeeds(f, "hello@whatconverts.com", "pat+x@example.co.uk", "jörg@müller.de", "Pat <p@example.com>",
		`"a@b"@example.com`, "a@b@c.d", "a@localhost", "a@[192.0.2.1]", "a@192.0.2.1", "a@-x.com",
		strings.Repeat("a", 64)+"@"+strings.Repeat("b", 185)+".com")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		got := p.Email("f", s)
		if !p.OK() {
			refused(t, &p, got, ProblemEmail)
			mustNotEcho(t, p.Err(), s)
			return
		}
		if got != s || len(s) > MaxEmailLen || !utf8.ValidString(s) || strings.Count(s, "@") != 1 {
			t.Fatalf("accepted %q as %q", s, got)
		}
		local, domain, _ := strings.Cut(s, "@")
		if local == "" || len(local) > 64 || !strings.Contains(domain, ".") || strings.ContainsAny(s, " \t\r\n\x00<>()[]\",;\\") {
			t.Fatalf("accepted %q", s)
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			t.Fatalf("accepted %q, which net/mail reads as %+v, %v", s, a, err)
		}
	})
}

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func FuzzPhone(f *testing.F) {
	addSeeds(f, "+18887203034", "+12345678", "+123456789012345", "+1234567", "+1234567890123456",
		"+08887203034", "18887203034", "(888) 720-3034", "+1 888 720 3034")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		got := p.Phone("f", s)
		if want := phonePattern.MatchString(s); p.OK() != want {
			t.Fatalf("accepted=%v, want %v", p.OK(), want)
		}
		if p.OK() {
			if got != s {
				t.Fatalf("accepted as %q", got)
			}
			return
		}
		refused(t, &p, got, ProblemPhone)
		mustNotEcho(t, p.Err(), s)
	})
}

func FuzzMoney(f *testing.F) {
	addSeeds(f, "0.00", "12.5", "12.50", "1.500", "1e2", "1.5E+1", "125e-2", "0e999999999999",
		"1000000000000", "1000000000000.01", "1e13", "1e-3", "-0", "012", "12.", ".5", "1,000")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		m := p.Money("f", s)
		if !p.OK() {
			refused(t, &p, m, ProblemMoney, ProblemMoneyTooLarge)
			mustNotEcho(t, p.Err(), s)
		} else {
			if m.Cents() < 0 || m.Cents() > MaxMoneyCents {
				t.Fatalf("accepted out of bounds: %d cents", m.Cents())
			}
			// String round-trips, and is itself a JSON number.
			var q Problems
			if back := q.Money("f", m.String()); back != m || !json.Valid([]byte(m.String())) {
				t.Fatalf("%q → %s → %v", s, m, back)
			}
		}

		// Oracle: the exact rational value of a JSON number, for exponents small enough to compute.
		if numberLen(s) != len(s) || len(s) == 0 {
			if p.OK() {
				t.Fatalf("accepted %q, which is not a JSON number", s)
			}
			return
		}
		if i := strings.IndexAny(s, "eE"); i >= 0 && len(strings.TrimLeft(s[i+1:], "+-")) > 4 {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat cannot read the JSON number %q", s)
		}
		cents := new(big.Rat).Mul(r, big.NewRat(100, 1))
		want := !strings.HasPrefix(s, "-") && cents.IsInt() && cents.Num().Cmp(big.NewInt(MaxMoneyCents)) <= 0
		if p.OK() != want {
			t.Fatalf("%q: accepted=%v, want %v", s, p.OK(), want)
		}
		if want && cents.Num().Int64() != m.Cents() {
			t.Fatalf("%q read as %d cents, want %s", s, m.Cents(), cents.Num())
		}
	})
}

func FuzzURL(f *testing.F) {
	addSeeds(f, "https://www.whatconverts.com/contact", "http://www.test.com/?utm_source=google&x=a+b",
		"https://example.com:8443/a#b", "HTTPS://EXAMPLE.COM/", "http://[2001:db8::1]/", "ftp://example.com/",
		"//example.com/", "http:example.com", "http:///x", "https://u:p@example.com/", "https://example.com:99999/",
		`https://example.com\@evil.example/`, "JaVaScRiPt:alert(1)", "https://example.com/\x00")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		got := p.URL("f", s)
		if !p.OK() {
			refused(t, &p, got, ProblemURL)
			mustNotEcho(t, p.Err(), s)
			return
		}
		if got != s || len(s) > MaxURLLen || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n\x00\\") {
			t.Fatalf("accepted %q as %q", s, got)
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q, which net/url reads as %+v, %v", s, u, err)
		}
	})
}

func FuzzDateTime(f *testing.F) {
	addSeeds(f, "2025-05-28T19:20:03Z", "2025-05-28T19:20:03.123456789Z", "2025-05-28T21:20:03+02:00",
		"2024-02-29T00:00:00Z", "2025-02-29T00:00:00Z", "2025-05-28T24:00:00Z", "2016-12-31T23:59:60Z",
		"2025-05-28T19:20:03+24:00", "2025-05-28t19:20:03z", "2025-05-28", "0000-01-01T00:00:00-23:59")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		got := p.DateTime("f", s)
		if !p.OK() {
			refused(t, &p, got, ProblemDateTime)
			mustNotEcho(t, p.Err(), s)
			return
		}
		want, err := time.Parse(time.RFC3339, s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC || s[10] != 'T' {
			t.Fatalf("accepted %q as %v (time.Parse: %v, %v)", s, got, want, err)
		}
		// Rendered back as RFC 3339 it reads as the same instant.
		var q Problems
		if back := q.DateTime("f", got.Format(time.RFC3339Nano)); !back.Equal(got) {
			t.Fatalf("%q → %v → %v", s, got, back)
		}
	})
}

func FuzzDate(f *testing.F) {
	addSeeds(f, "2026-11-28", "2024-02-29", "2025-02-29", "2025-13-01", "2025-5-8", "2025-05-28T00:00:00Z", "+2025-05-28")
	f.Fuzz(func(t *testing.T, s string) {
		var p Problems
		got := p.Date("f", s)
		want, err := time.Parse(time.DateOnly, s)
		shouldAccept := err == nil && want.Format(time.DateOnly) == s
		if p.OK() != shouldAccept {
			t.Fatalf("accepted=%v, want %v", p.OK(), shouldAccept)
		}
		if p.OK() {
			if !got.Equal(want) || got.Format(time.DateOnly) != s {
				t.Fatalf("accepted %q as %v", s, got)
			}
			return
		}
		refused(t, &p, got, ProblemDate)
		mustNotEcho(t, p.Err(), s)
	})
}

func FuzzEnums(f *testing.F) {
	addSeeds(f, "web_form", "phone_call", "Phone Call", "yes", "no", "pending", "not_set", "Not Set", "new", "update", "new-lead")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			parse   func(*Problems, string, string) string
			allowed []string
			problem string
		}{
			{(*Problems).LeadType, leadTypes, problemLead},
			{(*Problems).Quotable, quotableAll, problemQuote},
			{(*Problems).QuotableYesNo, quotableYesNo, problemYesNo},
			{(*Problems).Trigger, triggers, problemTrigger},
		} {
			var p Problems
			got := c.parse(&p, "f", s)
			if p.OK() != slices.Contains(c.allowed, s) {
				t.Fatalf("%q: accepted=%v, allowed %v", s, p.OK(), c.allowed)
			}
			if p.OK() {
				if got != s {
					t.Fatalf("accepted %q as %q", s, got)
				}
				continue
			}
			refused(t, &p, got, c.problem)
			mustNotEcho(t, p.Err(), s)
		}
	})
}

func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"trigger":"new","lead_id":153928,"profile_id":51497,"quote_value":null,"lead_analysis":[]}`,
		`{"a":{"b":[1,2,{"c":"d"}]},"e":"\ud83d\ude00","f":-0.5e-7,"g":true}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"x":1,"x":2}}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		`[]`, `null`, `{"a":1}x`, `{"a":01}`, "{\"a\":\"\x00\"}", `{"a":` + strings.Repeat("[", 40),
		`{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkObject)
}

// checkObject is FuzzObject's property: DecodeObject agrees with the oracle, and what it accepts
// reads as encoding/json reads it.
func checkObject(t *testing.T, data []byte) {
	{
		o, err := DecodeObject(data)
		oracle := oracleObject(data)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrNotObject) && !errors.Is(err, ErrInvalidUTF8) &&
				!errors.Is(err, ErrDuplicateKey) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("unexpected cause: %v", err)
			}
			if oracle == oracleAccept {
				t.Fatalf("refused (%v) what the oracle accepts", err)
			}
			mustNotEcho(t, err, string(data))
			return
		}
		if oracle == oracleRefuse {
			t.Fatal("accepted what the oracle refuses")
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatal("accepted invalid JSON or UTF-8")
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil || len(want) != len(o) {
			t.Fatalf("encoding/json reads %d members (%v), DecodeObject %d", len(want), err, len(o))
		}
		for k, v := range o {
			if !bytes.Equal(bytes.TrimSpace(want[k]), v) {
				t.Fatalf("member %q: %s, encoding/json: %s", k, v, want[k])
			}
		}
		readEveryWay(t, o)
	}
}

// readEveryWay reads every member with every reader: none may panic, and no problem may echo a
// value.
func readEveryWay(t *testing.T, o Object) {
	keys := o.Keys()
	var p Problems
	p.OnlyFields(o, NewFieldSet(keys...))
	if !p.OK() {
		t.Fatalf("allowed keys refused: %v", p.Err())
	}
	for _, k := range keys {
		var p Problems
		p.StringField(o, k)
		p.NumberField(o, k)
		p.BoolField(o, k)
		p.ObjectField(o, k)
		p.IDField(o, k)
		p.IntField(o, k, 1, 10000)
		p.MoneyField(o, k)
		p.EmailField(o, k)
		p.PhoneField(o, k)
		p.URLField(o, k)
		p.DateTimeField(o, k)
		p.DateField(o, k)
		p.LeadTypeField(o, k)
		p.QuotableField(o, k)
		p.QuotableYesNoField(o, k)
		p.TriggerField(o, k)
		p.OneOfField(o, k, "a", "b")
		if len(p.Fields()) > 1 {
			t.Fatalf("one field got several problems: %+v", p.Fields())
		}
		value := string(o[k])
		if s, ok := jsonString(o[k]); ok {
			value = s
		}
		// The message is "<key> <problem>": a value that is a piece of that is not an echo.
		var said []string
		for _, text := range append(strings.Split(fixedTexts, "\n"), "must be one of: a, b", "must be an integer from 1 to 10000") {
			said = append(said, k+" "+text)
		}
		mustNotEcho(t, p.Err(), value, said...)
	}
}

const (
	oracleUnsure = iota // the oracle cannot judge (unpaired surrogate escapes, which encoding/json replaces)
	oracleAccept
	oracleRefuse
)

var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// oracleObject judges data with encoding/json: valid JSON and UTF-8, an object at the top, no
// duplicate key in any object, at most MaxDepth deep.
func oracleObject(data []byte) int {
	if !utf8.Valid(data) || !json.Valid(data) {
		return oracleRefuse
	}
	if surrogateEscape.Match(data) {
		return oracleUnsure
	}
	if b := bytes.TrimLeft(data, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return oracleRefuse
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // in an object: the next string token is a key
	}
	var stack []*frame
	value := func() { // a value ended: in an object, a key comes next
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expect = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return oracleAccept
		}
		if err != nil {
			return oracleRefuse
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expect {
			if key, ok := tok.(string); ok {
				top := stack[n-1]
				if top.keys[key] {
					return oracleRefuse
				}
				top.keys[key] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, &frame{object: tok == json.Delim('{'), keys: map[string]bool{}, expect: true})
			if len(stack) > MaxDepth {
				return oracleRefuse
			}
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			value()
		default:
			value()
		}
	}
}
