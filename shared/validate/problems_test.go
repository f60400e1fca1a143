package validate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// fixedTexts is every text the package writes by itself: problems, messages, causes.
var fixedTexts = strings.Join([]string{
	ProblemRequired, ProblemNotAllowed, ProblemID, ProblemEmail, ProblemPhone, ProblemMoney,
	ProblemMoneyTooLarge, ProblemURL, ProblemDateTime, ProblemDate, ProblemString, ProblemNumber,
	ProblemBool, ProblemObject, problemLead, problemQuote, problemYesNo, problemTrigger,
	MessageNotObject, ErrSyntax.Error(), ErrNotObject.Error(), ErrInvalidUTF8.Error(),
	ErrDuplicateKey.Error(), ErrTooDeep.Error(), string(apierr.InvalidRequest),
	"fields are invalid", "0123456789",
}, "\n")

// mustNotEcho fails if err's caller-visible parts (message, fields) or its log text contain input.
// Inputs shorter than 4 bytes, or that are pieces of the fixed texts or of the field names
// involved (extra), cannot be told apart from them and are not checked.
func mustNotEcho(t testing.TB, err error, input string, extra ...string) {
	t.Helper()
	if err == nil || len(input) < 4 {
		return
	}
	if strings.Contains(fixedTexts+"\n"+strings.Join(extra, "\n"), input) {
		return
	}
	e := apierr.From(err)
	outs := []string{e.Message, err.Error()}
	for _, f := range e.Fields {
		outs = append(outs, f.Field, f.Problem)
	}
	for _, out := range outs {
		if strings.Contains(out, input) {
			t.Fatalf("error echoes the input: %q", out)
		}
	}
}

func TestProblems(t *testing.T) {
	t.Run("no problem means a plain nil error", func(t *testing.T) {
		var p Problems
		if err := p.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
		if !p.OK() {
			t.Fatal("OK() = false with no problems")
		}
	})

	t.Run("every offending field is named, in the order found, as invalid_request", func(t *testing.T) {
		var p Problems
		p.ID("profile_id", "-1")
		p.Money("quote_value", "0.125")
		p.URL("lead_url", "javascript:alert(1)")
		err := p.Err()
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.InvalidRequest {
			t.Fatalf("Err() = %#v, want an invalid_request *apierr.Error", err)
		}
		want := []apierr.FieldProblem{
			{Field: "profile_id", Problem: ProblemID},
			{Field: "quote_value", Problem: ProblemMoney},
			{Field: "lead_url", Problem: ProblemURL},
		}
		if !reflect.DeepEqual(e.Fields, want) {
			t.Fatalf("Fields = %+v, want %+v", e.Fields, want)
		}
		if e.Code.Status() != 400 {
			t.Fatalf("status %d, want 400", e.Code.Status())
		}
		mustNotEcho(t, err, "javascript:alert(1)")
	})

	t.Run("a field is reported once, with its first problem", func(t *testing.T) {
		var p Problems
		p.Required("lead_type")
		p.LeadType("lead_type", "Phone Call")
		if got := p.Fields(); len(got) != 1 || got[0].Problem != ProblemRequired {
			t.Fatalf("Fields = %+v, want only lead_type is required", got)
		}
	})

	t.Run("the error does not change when more problems are added later", func(t *testing.T) {
		var p Problems
		p.Required("a")
		e := apierr.From(p.Err())
		p.Required("b")
		if len(e.Fields) != 1 {
			t.Fatalf("earlier error changed: %+v", e.Fields)
		}
	})
}

func TestOnlyFields(t *testing.T) {
	allowed := NewFieldSet("profile_id", "quote_value", "sales_value", "lead_url", "quotable")

	t.Run("allowed fields pass", func(t *testing.T) {
		var p Problems
		p.OnlyFields(Object{"profile_id": json.RawMessage("1"), "quotable": json.RawMessage(`"yes"`)}, allowed)
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("every unknown field is refused by name, sorted", func(t *testing.T) {
		var p Problems
		o := Object{"profile_id": json.RawMessage("1"), "lead_type": json.RawMessage(`"x"`),
			"additional_fields": json.RawMessage("{}"), "custom_fields": json.RawMessage("{}")}
		p.OnlyFields(o, allowed)
		want := []apierr.FieldProblem{
			{Field: "additional_fields", Problem: ProblemNotAllowed},
			{Field: "custom_fields", Problem: ProblemNotAllowed},
			{Field: "lead_type", Problem: ProblemNotAllowed},
		}
		if got := p.Fields(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Fields = %+v, want %+v", got, want)
		}
	})
}

func TestRequire(t *testing.T) {
	o := mustDecode(t, `{"profile_id": 1001, "lead_type": null, "send_notification": false}`)
	var p Problems
	p.Require(o, "profile_id", "lead_type", "send_notification", "quotable")
	want := []apierr.FieldProblem{
		{Field: "lead_type", Problem: ProblemRequired}, // null counts as absent
		{Field: "quotable", Problem: ProblemRequired},
	}
	if got := p.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields = %+v, want %+v (false is a value, null is not)", got, want)
	}
}

func mustDecode(t testing.TB, body string) Object {
	t.Helper()
	o, err := DecodeObject([]byte(body))
	if err != nil {
		t.Fatalf("DecodeObject: %v", err)
	}
	return o
}
