package httpapi

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

func TestErrorAnswersTheContractShape(t *testing.T) {
	r := Error(apierr.Invalid(apierr.FieldProblem{Field: "quote_value", Problem: "must be a non-negative number"}))
	if r.StatusCode != 400 || r.Headers["Content-Type"] != "application/json" {
		t.Fatalf("status %d, headers %v", r.StatusCode, r.Headers)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Fields  []struct{ Field, Problem string }
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != "invalid_request" || len(body.Error.Fields) != 1 || body.Error.Fields[0].Field != "quote_value" {
		t.Fatalf("body %s", r.Body)
	}
}

func TestAPlainErrorIsAnsweredAsInternalWithoutItsText(t *testing.T) {
	r := Error(errors.New("dynamodb: ProvisionedThroughputExceeded on table wcbridge-audit"))
	if r.StatusCode != 500 || r.Body != `{"error":{"code":"internal","message":"internal error"}}` {
		t.Fatalf("got %d %s", r.StatusCode, r.Body)
	}
}

func TestRetryAfterIsWholeSecondsRoundedUp(t *testing.T) {
	e := apierr.New(apierr.UpstreamUnavailable, "WhatConverts' daily request budget is spent")
	e.RetryAfter = 90*time.Second + time.Millisecond
	r := Error(e)
	if r.StatusCode != 503 || r.Headers["Retry-After"] != "91" {
		t.Fatalf("status %d, Retry-After %q", r.StatusCode, r.Headers["Retry-After"])
	}
}

func TestHeaderIsCaseInsensitiveAcrossBothHeaderMaps(t *testing.T) {
	req := Request{
		Headers:           map[string]string{"content-type": "application/json"},
		MultiValueHeaders: map[string][]string{"Idempotency-Key": {"k1", "k2"}},
	}
	if got := Header(req, "Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := Header(req, "idempotency-key"); got != "k1" {
		t.Errorf("Idempotency-Key = %q", got)
	}
	if got := Header(req, "X-Missing"); got != "" {
		t.Errorf("missing header = %q", got)
	}
}

func TestCallerIsTheIAMPrincipalOrForbidden(t *testing.T) {
	var req Request
	if _, err := Caller(req); apierr.CodeOf(err) != apierr.Forbidden {
		t.Fatalf("no identity: %v", err)
	}
	req.RequestContext = events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{UserArn: "arn:aws:iam::123456789012:role/crm-sync"}}
	if arn, err := Caller(req); err != nil || arn != "arn:aws:iam::123456789012:role/crm-sync" {
		t.Fatalf("got %q, %v", arn, err)
	}
}
