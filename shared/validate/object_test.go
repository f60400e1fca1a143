package validate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/apierr"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

func TestDecodeObjectAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want map[string]string // key → raw value text
	}{
		{name: "an empty object", body: `{}`, want: map[string]string{}},
		{name: "surrounding whitespace of every kind", body: " \t\r\n{}\n", want: map[string]string{}},
		{name: "values keep their raw text without surrounding whitespace",
			body: `{ "a" : [1, 2] , "b":"x",  "c" :null,"d":{"k": -1.5e3}}`,
			want: map[string]string{"a": `[1, 2]`, "b": `"x"`, "c": `null`, "d": `{"k": -1.5e3}`}},
		{name: "an escaped key is unescaped", body: `{"\u0061\n":1}`, want: map[string]string{"a\n": "1"}},
		{name: "a surrogate pair escape is valid", body: `{"k":"\ud83d\ude00"}`, want: map[string]string{"k": `"\ud83d\ude00"`}},
		{name: "multi-byte UTF-8 is valid", body: `{"city":"Zürich 東京"}`, want: map[string]string{"city": `"Zürich 東京"`}},
		{name: "an escaped NUL inside a string is valid JSON", body: `{"k":"a\u0000b"}`, want: map[string]string{"k": `"a\u0000b"`}},
		{name: "the same key in sibling objects is not a duplicate",
			body: `{"a":{"x":1},"b":{"x":2},"x":3}`, want: map[string]string{"a": `{"x":1}`, "b": `{"x":2}`, "x": "3"}},
		{name: "nesting of exactly MaxDepth is accepted",
			body: `{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
			want: map[string]string{"a": strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)}},
		{name: "a 10 MB string value is accepted", body: `{"notes":"` + huge + `"}`, want: map[string]string{"notes": `"` + huge + `"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := DecodeObject([]byte(c.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := map[string]string{}
			for k, v := range o {
				got[k] = string(v)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestDecodeObjectRefuses(t *testing.T) {
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	manyKeys := func(dupe bool) string {
		var b strings.Builder
		b.WriteString(`{"o":{`)
		for i := range 40 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
		}
		if dupe {
			b.WriteString(`,"k5":2`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	if _, err := DecodeObject([]byte(manyKeys(false))); err != nil {
		t.Fatalf("the large object without a duplicate is refused: %v", err)
	}
	for _, c := range []struct {
		name  string
		body  string
		cause error
	}{
		{"an empty body", ``, ErrNotObject},
		{"only whitespace", "  \n", ErrNotObject},
		{"null", `null`, ErrNotObject},
		{"an array", `[{"lead_id":1}]`, ErrNotObject},
		{"a string", `"{}"`, ErrNotObject},
		{"a number", `1001`, ErrNotObject},
		{"a byte order mark", "\xef\xbb\xbf{}", ErrNotObject},
		{"an unterminated object", `{"a":1`, ErrSyntax},
		{"a missing value", `{"a":}`, ErrSyntax},
		{"a trailing comma", `{"a":1,}`, ErrSyntax},
		{"a missing colon", `{"a" 1}`, ErrSyntax},
		{"an unquoted key", `{a:1}`, ErrSyntax},
		{"single quotes", `{'a':1}`, ErrSyntax},
		{"a comment", `{/* x */}`, ErrSyntax},
		{"a leading zero", `{"a":01}`, ErrSyntax},
		{"a bare decimal point", `{"a":1.}`, ErrSyntax},
		{"a leading plus", `{"a":+1}`, ErrSyntax},
		{"NaN", `{"a":NaN}`, ErrSyntax},
		{"a truncated literal", `{"a":tru}`, ErrSyntax},
		{"a literal with trailing letters", `{"a":truex}`, ErrSyntax},
		{"a second top-level value", `{"a":1}{}`, ErrSyntax},
		{"trailing garbage", `{"a":1} x`, ErrSyntax},
		{"a trailing invalid byte", "{\"a\":1}\xff", ErrSyntax},
		{"a raw NUL byte in a string", "{\"a\":\"x\x00y\"}", ErrSyntax},
		{"a raw newline in a string", "{\"a\":\"x\ny\"}", ErrSyntax},
		{"a NUL byte between tokens", "{\"a\":1\x00}", ErrSyntax},
		{"an unknown escape", `{"a":"\x41"}`, ErrSyntax},
		{"a short unicode escape", `{"a":"\u12"}`, ErrSyntax},
		{"an unterminated string", `{"a":"abc`, ErrSyntax},
		{"an invalid byte in a value", "{\"a\":\"x\xffy\"}", ErrInvalidUTF8},
		{"an invalid byte in a key", "{\"\xfe\":1}", ErrInvalidUTF8},
		{"an overlong encoding", "{\"a\":\"\xc0\xaf\"}", ErrInvalidUTF8},
		{"a UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", ErrInvalidUTF8},
		{"a truncated multi-byte sequence", "{\"a\":\"\xe6\x9d\"}", ErrInvalidUTF8},
		{"a lone high surrogate escape", `{"a":"\ud800"}`, ErrInvalidUTF8},
		{"a lone low surrogate escape", `{"a":"\udc00"}`, ErrInvalidUTF8},
		{"a high surrogate followed by a non-surrogate", `{"a":"\ud800\u0041"}`, ErrInvalidUTF8},
		{"a lone surrogate in a key", `{"\ud800":1}`, ErrInvalidUTF8},
		{"a duplicate top-level key", `{"lead_id":1,"lead_id":2}`, ErrDuplicateKey},
		{"a duplicate spelled with an escape", `{"lead_id":1,"lead\u005fid":2}`, ErrDuplicateKey},
		{"a duplicate null", `{"quote_value":null,"quote_value":5}`, ErrDuplicateKey},
		{"a duplicate in a nested object", `{"lead_analysis":{"a":"x","b":"y","a":"z"}}`, ErrDuplicateKey},
		{"a duplicate in an object inside an array", `{"a":[{"k":1,"k":1}]}`, ErrDuplicateKey},
		{"a duplicate in a large nested object", manyKeys(true), ErrDuplicateKey},
		{"objects nested one deeper than MaxDepth", `{"a":` + deep(`{"a":`, `}`, MaxDepth) + `}`, ErrTooDeep},
		{"arrays nested one deeper than MaxDepth", `{"a":` + deep("[", "]", MaxDepth) + `}`, ErrTooDeep},
		{"10 MB of open brackets", `{"a":` + strings.Repeat("[", 10<<20), ErrTooDeep},
		{"10 MB of unterminated string", `{"a":"` + huge, ErrSyntax},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			o, err := DecodeObject([]byte(c.body))
			if err == nil {
				t.Fatalf("accepted as %v", o)
			}
			e := apierr.From(err)
			if e.Code != apierr.InvalidRequest || e.Message != MessageNotObject || len(e.Fields) != 0 {
				t.Fatalf("error %+v, want invalid_request %q", e, MessageNotObject)
			}
			if !errors.Is(err, c.cause) {
				t.Fatalf("cause %v, want %v", errors.Unwrap(err), c.cause)
			}
			mustNotEcho(t, err, c.body)
		})
	}
}

func TestDecodeObjectValuesAreValidJSON(t *testing.T) {
	o := mustDecode(t, `{"a":{"b":[1,{"c":"d"}]},"e":"\"quoted\"","f":-0.5e-7,"g":true}`)
	for k, v := range o {
		if !json.Valid(v) {
			t.Errorf("%s: %s is not valid JSON", k, v)
		}
	}
	if got := o.Keys(); !reflect.DeepEqual(got, []string{"a", "e", "f", "g"}) {
		t.Fatalf("Keys() = %v", got)
	}
}

func TestFieldReaders(t *testing.T) {
	o := mustDecode(t, `{
		"s": "text", "empty": "", "esc": "a\"b\u00e9", "n": 12.5, "i": 1001, "neg": -1, "f": 1.5,
		"big": 1e400, "t": true, "fa": false, "nul": null, "obj": {"k": "v"}, "arr": [ ], "arr1": [1],
		"sid": "1001", "url": "https://x.example/", "js": "javascript:alert(1)", "mail": "a@b.example",
		"phone": "+18887203034", "when": "2025-05-28T19:20:03Z", "day": "2026-11-28", "lt": "web_form",
		"q": "pending", "yn": "yes", "tr": "update", "money": 12.5, "cents": 0.125, "smoney": "12.50"
	}`)
	type read func(p *Problems) (any, bool)
	for _, c := range []struct {
		name    string
		read    read
		want    any
		ok      bool
		problem string // on the field read, "" for none
	}{
		{"a string is read", func(p *Problems) (any, bool) { return p.StringField(o, "s") }, "text", true, ""},
		{"an empty string is present", func(p *Problems) (any, bool) { return p.StringField(o, "empty") }, "", true, ""},
		{"escapes in a string are decoded", func(p *Problems) (any, bool) { return p.StringField(o, "esc") }, "a\"bé", true, ""},
		{"a number is not a string", func(p *Problems) (any, bool) { return p.StringField(o, "n") }, "", false, ProblemString},
		{"an absent string is not present, and no problem", func(p *Problems) (any, bool) { return p.StringField(o, "nope") }, "", false, ""},
		{"a null string is not present, and no problem", func(p *Problems) (any, bool) { return p.StringField(o, "nul") }, "", false, ""},
		{"a number is read as its text", func(p *Problems) (any, bool) { return p.NumberField(o, "n") }, json.Number("12.5"), true, ""},
		{"a string is not a number", func(p *Problems) (any, bool) { return p.NumberField(o, "sid") }, json.Number(""), false, ProblemNumber},
		{"true is read", func(p *Problems) (any, bool) { return p.BoolField(o, "t") }, true, true, ""},
		{"false is read and present", func(p *Problems) (any, bool) { return p.BoolField(o, "fa") }, false, true, ""},
		{"a string is not a bool", func(p *Problems) (any, bool) { return p.BoolField(o, "s") }, false, false, ProblemBool},
		{"an object is read", func(p *Problems) (any, bool) { return p.ObjectField(o, "obj") }, Object{"k": json.RawMessage(`"v"`)}, true, ""},
		{"an empty array is read as an empty object", func(p *Problems) (any, bool) { return p.ObjectField(o, "arr") }, Object{}, true, ""},
		{"a non-empty array is not an object", func(p *Problems) (any, bool) { return p.ObjectField(o, "arr1") }, Object(nil), false, ProblemObject},
		{"a string is not an object", func(p *Problems) (any, bool) { return p.ObjectField(o, "s") }, Object(nil), false, ProblemObject},
		{"an ID is read from a JSON number", func(p *Problems) (any, bool) { return p.IDField(o, "i") }, int64(1001), true, ""},
		{"an ID held in a string is refused", func(p *Problems) (any, bool) { return p.IDField(o, "sid") }, int64(0), false, ProblemID},
		{"a negative ID is refused", func(p *Problems) (any, bool) { return p.IDField(o, "neg") }, int64(0), false, ProblemID},
		{"a fractional ID is refused", func(p *Problems) (any, bool) { return p.IDField(o, "f") }, int64(0), false, ProblemID},
		{"an ID of 1e400 is refused", func(p *Problems) (any, bool) { return p.IDField(o, "big") }, int64(0), false, ProblemID},
		{"an absent ID is not present, and no problem", func(p *Problems) (any, bool) { return p.IDField(o, "nope") }, int64(0), false, ""},
		{"an integer in range is read", func(p *Problems) (any, bool) { return p.IntField(o, "i", 1, 10000) }, int64(1001), true, ""},
		{"an integer out of range is refused", func(p *Problems) (any, bool) { return p.IntField(o, "i", 1, 100) }, int64(0), false, "must be an integer from 1 to 100"},
		{"money is read from a JSON number", func(p *Problems) (any, bool) { return p.MoneyField(o, "money") }, Money{cents: 1250}, true, ""},
		{"null money is not present (WhatConverts sends null)", func(p *Problems) (any, bool) { return p.MoneyField(o, "nul") }, Money{}, false, ""},
		{"money with a third decimal is refused", func(p *Problems) (any, bool) { return p.MoneyField(o, "cents") }, Money{}, false, ProblemMoney},
		{"money of 1e400 is refused", func(p *Problems) (any, bool) { return p.MoneyField(o, "big") }, Money{}, false, ProblemMoneyTooLarge},
		{"money held in a string is refused", func(p *Problems) (any, bool) { return p.MoneyField(o, "smoney") }, Money{}, false, ProblemMoney},
		{"a URL is read", func(p *Problems) (any, bool) { return p.URLField(o, "url") }, "https://x.example/", true, ""},
		{"a javascript: URL is refused", func(p *Problems) (any, bool) { return p.URLField(o, "js") }, "", false, ProblemURL},
		{"a number is not a URL", func(p *Problems) (any, bool) { return p.URLField(o, "n") }, "", false, ProblemURL},
		{"an email is read", func(p *Problems) (any, bool) { return p.EmailField(o, "mail") }, "a@b.example", true, ""},
		{"an empty email is refused", func(p *Problems) (any, bool) { return p.EmailField(o, "empty") }, "", false, ProblemEmail},
		{"a phone is read", func(p *Problems) (any, bool) { return p.PhoneField(o, "phone") }, "+18887203034", true, ""},
		{"a date-time is read", func(p *Problems) (any, bool) {
			v, ok := p.DateTimeField(o, "when")
			return v.Format("2006-01-02T15:04:05Z07:00"), ok
		}, "2025-05-28T19:20:03Z", true, ""},
		{"a date-only value is not a date-time", func(p *Problems) (any, bool) {
			v, ok := p.DateTimeField(o, "day")
			return v.IsZero(), ok
		}, true, false, ProblemDateTime},
		{"a date is read", func(p *Problems) (any, bool) {
			v, ok := p.DateField(o, "day")
			return v.Format("2006-01-02"), ok
		}, "2026-11-28", true, ""},
		{"a lead type is read", func(p *Problems) (any, bool) { return p.LeadTypeField(o, "lt") }, "web_form", true, ""},
		{"a number is not a lead type", func(p *Problems) (any, bool) { return p.LeadTypeField(o, "i") }, "", false, problemLead},
		{"pending is a Create Lead quotable", func(p *Problems) (any, bool) { return p.QuotableField(o, "q") }, "pending", true, ""},
		{"pending is not an Update Lead quotable", func(p *Problems) (any, bool) { return p.QuotableYesNoField(o, "q") }, "", false, problemYesNo},
		{"yes is an Update Lead quotable", func(p *Problems) (any, bool) { return p.QuotableYesNoField(o, "yn") }, "yes", true, ""},
		{"a trigger is read", func(p *Problems) (any, bool) { return p.TriggerField(o, "tr") }, "update", true, ""},
		{"any list is read", func(p *Problems) (any, bool) { return p.OneOfField(o, "tr", "new", "update") }, "update", true, ""},
		{"a value outside any list is refused", func(p *Problems) (any, bool) { return p.OneOfField(o, "s", "a", "b") }, "", false, "must be one of: a, b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Problems
			got, ok := c.read(&p)
			if !reflect.DeepEqual(got, c.want) || ok != c.ok {
				t.Fatalf("got (%#v, %v), want (%#v, %v)", got, ok, c.want, c.ok)
			}
			fields := p.Fields()
			switch {
			case c.problem == "" && len(fields) != 0:
				t.Fatalf("problems %+v, want none", fields)
			case c.problem != "" && (len(fields) != 1 || fields[0].Problem != c.problem):
				t.Fatalf("problems %+v, want %q", fields, c.problem)
			}
		})
	}
}

// fixturesDir is the shared/ folder's fixtures beside the repository.
func fixturesDir(t *testing.T) string { return testenv.FixturesDir(t) }

func TestFixturesDecode(t *testing.T) {
	dir := fixturesDir(t)
	for _, c := range []struct {
		file             string
		trigger          string
		lead, profile    int64
		account          int64
		analysisKeys     int
		hasContactFields bool
	}{
		{file: "webhook-new-phone-call.json", trigger: "new", lead: 153928, profile: 51497, account: 27313, analysisKeys: 5, hasContactFields: true},
		{file: "webhook-update-phone-call.json", trigger: "update", lead: 178849242, profile: 146471, account: 98220},
	} {
		t.Run("the real "+c.trigger+" webhook decodes and validates", func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			o, err := DecodeObject(body)
			if err != nil {
				t.Fatalf("DecodeObject: %v", err)
			}
			var want map[string]json.RawMessage
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			if len(o) != len(want) {
				t.Fatalf("%d members, encoding/json sees %d", len(o), len(want))
			}

			var p Problems
			p.Require(o, "trigger", "lead_id", "profile_id")
			trigger, _ := p.TriggerField(o, "trigger")
			lead, _ := p.IDField(o, "lead_id")
			profile, _ := p.IDField(o, "profile_id")
			account, _ := p.IDField(o, "account_id")
			created, okCreated := p.DateTimeField(o, "date_created")
			_, okUpdated := p.DateTimeField(o, "last_updated")
			_, okURL := p.URLField(o, "lead_url")
			_, okLanding := p.URLField(o, "landing_url")
			_, hasQuote := p.MoneyField(o, "quote_value")
			_, hasSales := p.MoneyField(o, "sales_value")
			analysis, okAnalysis := p.ObjectField(o, "lead_analysis")
			spam, okSpam := p.BoolField(o, "spam")
			if c.hasContactFields {
				p.EmailField(o, "email_address")
				p.PhoneField(o, "phone_number")
			} else if extra, ok := p.ObjectField(o, "additional_fields"); !ok || len(extra) != 0 {
				t.Fatalf("additional_fields [] read as (%v, %v), want an empty object", extra, ok)
			}
			if err := p.Err(); err != nil {
				t.Fatalf("the fixture does not validate: %v", err)
			}
			if trigger != c.trigger || lead != c.lead || profile != c.profile || account != c.account {
				t.Fatalf("got trigger %q lead %d profile %d account %d", trigger, lead, profile, account)
			}
			if !okCreated || created.IsZero() || !okUpdated || !okURL || !okLanding || !okAnalysis || !okSpam || spam {
				t.Fatal("a common field was not read")
			}
			if hasQuote || hasSales {
				t.Fatal("null money values were read as present")
			}
			if len(analysis) != c.analysisKeys {
				t.Fatalf("lead_analysis has %d keys, want %d", len(analysis), c.analysisKeys)
			}
		})
	}
}
