package actions_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"regexp"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// fakeIdempotency claims every key.
type fakeIdempotency struct{}

func (fakeIdempotency) Begin(context.Context, idempotency.Scope, [sha256.Size]byte) (*idempotency.Claim, *idempotency.Response, error) {
	return &idempotency.Claim{}, nil, nil
}
func (fakeIdempotency) Complete(context.Context, *idempotency.Claim, idempotency.Response) error {
	return nil
}
func (fakeIdempotency) Release(context.Context, *idempotency.Claim) error { return nil }

// fuzzService answers every WhatConverts call with one lead, so that whatever passes validation runs
// the whole way.
func fuzzService(t testing.TB, rules ...string) *actions.Service {
	l := lead(t, `{"lead_id": 9000001, "profile_id": 1001, "last_updated": "2026-11-28T10:00:00Z"}`)
	wc := &fakeWC{
		PagesFn: func(context.Context, whatconverts.KeyFor, whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
			return func(yield func(*whatconverts.Page, error) bool) {
				yield(&whatconverts.Page{Leads: []whatconverts.Lead{l}, TotalPages: 1}, nil)
			}
		},
		LeadFn: func(context.Context, whatconverts.KeyFor, int64) (whatconverts.Lead, error) { return l, nil },
		CreateLeadFn: func(context.Context, whatconverts.KeyFor, whatconverts.CreateParams) (whatconverts.Lead, error) {
			return l, nil
		},
		EditLeadFn: func(context.Context, whatconverts.KeyFor, int64, whatconverts.EditParams) (whatconverts.Lead, error) {
			return l, nil
		},
	}
	return actions.NewService(actions.Deps{WhatConverts: wc, Credentials: testCreds, Audit: &fakeAudit{},
		Idempotency: fakeIdempotency{}, Logger: slog.New(slog.DiscardHandler), WorkflowRules: rules})
}

// fuzzAnswer checks what any input may get: a JSON answer with a status the contract allows for it.
func fuzzAnswer(t *testing.T, h *actions.Handler, ev events.APIGatewayProxyRequest, allowed ...int) {
	resp, err := h.HandleAPIGateway(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Fatalf("the answer is not JSON: %q", resp.Body)
	}
	for _, s := range allowed {
		if resp.StatusCode == s {
			return
		}
	}
	t.Fatalf("status %d, want one of %v: %s", resp.StatusCode, allowed, resp.Body)
}

func bodyEvent(method, leadID, body, key string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: method, Path: "/leads", Body: body,
		Headers: map[string]string{"Content-Type": "application/json"},
		RequestContext: events.APIGatewayProxyRequestContext{
			Identity: events.APIGatewayRequestIdentity{UserArn: testCaller}},
	}
	if key != "" {
		ev.Headers["Idempotency-Key"] = key
	}
	if leadID != "" {
		ev.Path += "/" + leadID
		ev.PathParameters = map[string]string{"lead_id": leadID}
	}
	return ev
}

// FuzzCreateLead: no body crashes Create Lead or gets an answer outside 201, 400, 413.
func FuzzCreateLead(f *testing.F) {
	for _, s := range []string{
		createBody("zed@example.test"),
		`{"profile_id": 1001, "lead_type": "chat", "send_notification": true}`,
		`{"profile_id": 1001, "lead_type": "chat", "send_notification": true, "quote_value": 1e400}`,
		`{"profile_id": 1001, "lead_type": "chat", "send_notification": true, "message": "\u0000"}`,
		`{"a": {"b": {"c": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}`,
		`{"profile_id": 1001, "profile_id": 1002}`, "\xff\xfe", `[]`, ``, `null`,
	} {
		f.Add(s, "key-1")
	}
	h := actions.CreateLeadHandler(fuzzService(f))
	f.Fuzz(func(t *testing.T, body, key string) {
		fuzzAnswer(t, h, bodyEvent("POST", "", body, key), 201, 400, 413)
	})
}

// FuzzUpdateLead: no body or lead ID crashes Update Lead or gets an answer outside 200, 400, 413.
func FuzzUpdateLead(f *testing.F) {
	for _, s := range []string{
		`{"profile_id": 1001, "quote_value": 12.5, "quotable": "yes"}`,
		`{"profile_id": 1001, "sales_value": 0.125}`,
		`{"profile_id": 1001, "lead_url": "javascript:alert(1)"}`,
		`{"profile_id": 1001, "lead_url": "https://clinic.example.org/a?b=c"}`,
		`{"profile_id": 1001}`, `{`, `"x"`,
	} {
		f.Add(s, "9000001")
	}
	h := actions.UpdateLeadHandler(fuzzService(f))
	f.Fuzz(func(t *testing.T, body, leadID string) {
		fuzzAnswer(t, h, bodyEvent("PATCH", leadID, body, ""), 200, 400, 413)
	})
}

// FuzzGetLeads: no query crashes Get Leads or gets an answer outside 200 and 400.
func FuzzGetLeads(f *testing.F) {
	f.Add("1001", "zed@example.test", "1", "")
	f.Add("abc", "", "10001", "x")
	f.Add("1001", "a@b", "-1", "")
	h := actions.GetLeadsHandler(fuzzService(f))
	f.Fuzz(func(t *testing.T, profileID, email, maxItems, other string) {
		q := map[string]string{"profile_id": profileID, "email": email, "max_items": maxItems}
		if other != "" {
			q[other] = "1"
		}
		fuzzAnswer(t, h, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/leads", QueryStringParameters: q,
			RequestContext: events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{UserArn: testCaller}}},
			200, 400)
	})
}

// FuzzHandle: no payload crashes the entry point. Each gets an API Gateway response, a direct
// invocation's result with a status below 500, or an InvocationError whose message is the action,
// a status and a code (nothing of the payload).
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		workflow(quoteRule, "evt_1", 9000001, `{"quotable": "yes"}`),
		workflow(quoteRule, "evt_1", 9000001, `{"quote_value": 1.005, "x": 1}`),
		workflow(otherRule, "evt_1", 9000001, `{"quotable": "yes"}`),
		`{"source": "wcbridge.workflow", "rule": "` + quoteRule + `", "rule": "x"}`,
		`{"httpMethod": "PATCH", "requestContext": {"identity": {"userArn": "arn:aws:iam::123456789012:role/x"}},
			"pathParameters": {"lead_id": "9000001"}, "headers": {"Content-Type": "application/json"},
			"body": "{\"profile_id\": 1001, \"quotable\": \"yes\"}"}`,
		`{"httpMethod": 1, "requestContext": []}`, `{}`, `[]`, `null`, `"x"`, "\xff",
	} {
		f.Add(s)
	}
	h := actions.UpdateLeadHandler(fuzzService(f, quoteRule))
	message := regexp.MustCompile(`^update-lead: [1-5][0-9]{2} [a-z_]+$`)
	f.Fuzz(func(t *testing.T, payload string) {
		out, err := h.Handle(context.Background(), json.RawMessage(payload))
		if err != nil {
			var ie *actions.InvocationError
			if !errors.As(err, &ie) || !message.MatchString(err.Error()) || out != nil {
				t.Fatalf("error %q (%T) with result %q", err, err, out)
			}
			return
		}
		var v struct {
			Status     *int `json:"status"`
			StatusCode *int `json:"statusCode"`
		}
		if json.Unmarshal(out, &v) != nil || (v.Status == nil) == (v.StatusCode == nil) {
			t.Fatalf("result %q is neither a direct answer nor an API Gateway response", out)
		}
		if v.Status != nil && *v.Status >= 500 {
			t.Fatalf("a %d answered instead of returned as an error", *v.Status)
		}
	})
}
