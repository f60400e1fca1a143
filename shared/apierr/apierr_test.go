package apierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEveryCodeHasTheContractStatus(t *testing.T) {
	want := map[Code]int{
		InvalidRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409,
		PayloadTooLarge: 413, UnsupportedMediaType: 415, UpstreamError: 502, UpstreamUnavailable: 503,
		UpstreamTimeout: 504, Internal: 500, Code("something-else"): 500,
	}
	for c, s := range want {
		if got := c.Status(); got != s {
			t.Errorf("%s: status %d, want %d", c, got, s)
		}
	}
}

func TestFromHidesPlainErrorsAndKeepsTyped(t *testing.T) {
	plain := errors.New("dynamodb: table wcbridge-audit throttled")
	e := From(plain)
	if e.Code != Internal || strings.Contains(e.Message, "dynamodb") {
		t.Fatalf("plain error leaked: %+v", e)
	}
	if !errors.Is(e, plain) {
		t.Fatal("cause not kept for logs")
	}
	typed := New(NotFound, "lead not found")
	if got := From(fmt.Errorf("get lead: %w", typed)); got != typed {
		t.Fatalf("From = %+v, want the wrapped *Error", got)
	}
}

func TestInvalidNamesEveryField(t *testing.T) {
	e := Invalid(FieldProblem{"quote_value", "must be a non-negative number"}, FieldProblem{"lead_url", "must be an absolute http(s) URL"})
	if e.Code != InvalidRequest || len(e.Fields) != 2 {
		t.Fatalf("got %+v", e)
	}
	if !strings.Contains(e.Message, "quote_value") || !strings.Contains(e.Message, "lead_url") {
		t.Fatalf("message %q does not name both fields", e.Message)
	}
	if one := Invalid(FieldProblem{"email", "must be an email address"}); one.Message != "email must be an email address" {
		t.Fatalf("message %q", one.Message)
	}
}
