package actions_test

import (
	"context"
	"encoding/json"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// allowAll is an authorizer that permits everything, for tests about anything else.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string, int64) (bool, string, error) {
	return true, "test-allow-all", nil
}

// permitAllFile is a policy file that permits every caller everything.
func permitAllFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "permit-all.cedar")
	if err := os.WriteFile(path, []byte("permit (principal, action, resource);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingWC answers every WhatConverts call with one lead and counts the calls.
func countingWC(t testing.TB, calls *atomic.Int64) *fakeWC {
	l := lead(t, `{"lead_id": 9000001, "profile_id": 1001, "last_updated": "2026-11-28T10:00:00Z"}`)
	return &fakeWC{
		PagesFn: func(context.Context, whatconverts.KeyFor, whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
			calls.Add(1)
			return func(yield func(*whatconverts.Page, error) bool) {
				yield(&whatconverts.Page{Leads: []whatconverts.Lead{l}, TotalPages: 1}, nil)
			}
		},
		LeadFn: func(context.Context, whatconverts.KeyFor, int64) (whatconverts.Lead, error) {
			calls.Add(1)
			return l, nil
		},
		CreateLeadFn: func(context.Context, whatconverts.KeyFor, whatconverts.CreateParams) (whatconverts.Lead, error) {
			calls.Add(1)
			return l, nil
		},
		EditLeadFn: func(context.Context, whatconverts.KeyFor, int64, whatconverts.EditParams) (whatconverts.Lead, error) {
			calls.Add(1)
			return l, nil
		},
	}
}

const (
	readerRole = "arn:aws:iam::123456789012:role/crm-sync"
	readerSess = "arn:aws:sts::123456789012:assumed-role/crm-sync/sync-42"
	writerRole = "arn:aws:iam::123456789012:role/front-desk"
)

// twoCallers: crm-sync may only read profile 1001; front-desk may create and update on 1002 only.
const twoCallers = `
permit (principal == Wcbridge::Caller::"` + readerRole + `",
        action in [Wcbridge::Action::"get-leads", Wcbridge::Action::"get-lead"],
        resource == Wcbridge::Profile::"1001");
permit (principal == Wcbridge::Caller::"` + writerRole + `",
        action in [Wcbridge::Action::"create-lead", Wcbridge::Action::"update-lead"],
        resource == Wcbridge::Profile::"1002");
`

// testOrigin is the API of the test events: the local gateway's ID of the template's Api, as
// events/*.json carry it.
var testOrigin = httpapi.Origin{APIID: "zyirocpvjr", AccountID: "123456789012"}

func accessEvent(method, leadID, caller string, profile string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: method, Path: "/leads", Headers: map[string]string{},
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-" + randomHex(6), APIID: testOrigin.APIID, AccountID: testOrigin.AccountID,
			Identity: events.APIGatewayRequestIdentity{UserArn: caller}},
	}
	if leadID != "" {
		ev.Path += "/" + leadID
		ev.PathParameters = map[string]string{"lead_id": leadID}
	}
	switch method {
	case http.MethodGet:
		ev.QueryStringParameters = map[string]string{"profile_id": profile}
	case http.MethodPost:
		ev.Headers["Content-Type"] = "application/json"
		ev.Body = `{"profile_id": ` + profile + `, "lead_type": "web_form", "send_notification": false}`
	case http.MethodPatch:
		ev.Headers["Content-Type"] = "application/json"
		ev.Body = `{"profile_id": ` + profile + `, "quote_value": 10}`
	}
	return ev
}

// Every action answers as the policy says: allowed, the normal answer, audited with the policy
// version; refused, 403 naming the action and the profile, no WhatConverts call, audited as rejected.
func TestActionsFollowTheAccessPolicy(t *testing.T) {
	authz := access.New(context.Background(), access.BuiltinSource{Text: []byte(twoCallers)}, access.Options{Logger: slog.New(slog.DiscardHandler)})
	version, _ := authz.Version()
	if version == "" {
		t.Fatal("the test policy was refused")
	}
	creds := whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{
		1001: {Token: "t-1001", Secret: "s"}, 1002: {Token: "t-1002", Secret: "s"}}}
	tests := []struct {
		name          string
		handler       func(*actions.Service) *actions.Handler
		method, lead  string
		caller        string
		profile       string
		action        string
		wantStatus    int
		wantWCRequest bool
	}{
		{"reader gets leads of 1001", actions.GetLeadsHandler, "GET", "", readerRole, "1001", "get-leads", 200, true},
		{"reader's session gets a lead of 1001", actions.GetLeadHandler, "GET", "9000001", readerSess, "1001", "get-lead", 200, true},
		{"reader may not get leads of 1002", actions.GetLeadsHandler, "GET", "", readerRole, "1002", "get-leads", 403, false},
		{"reader may not get a lead of 1002", actions.GetLeadHandler, "GET", "9000001", readerSess, "1002", "get-lead", 403, false},
		{"reader may not create on 1001", actions.CreateLeadHandler, "POST", "", readerRole, "1001", "create-lead", 403, false},
		{"reader may not update on 1001", actions.UpdateLeadHandler, "PATCH", "9000001", readerRole, "1001", "update-lead", 403, false},
		{"writer creates on 1002", actions.CreateLeadHandler, "POST", "", writerRole, "1002", "create-lead", 201, true},
		{"writer updates on 1002", actions.UpdateLeadHandler, "PATCH", "9000001", writerRole, "1002", "update-lead", 200, true},
		{"writer may not read 1002", actions.GetLeadsHandler, "GET", "", writerRole, "1002", "get-leads", 403, false},
		{"writer may not create on 1001", actions.CreateLeadHandler, "POST", "", writerRole, "1001", "create-lead", 403, false},
		{"a stranger may do nothing", actions.GetLeadsHandler, "GET", "", "arn:aws:iam::123456789012:user/x", "1001", "get-leads", 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			au := &fakeAudit{}
			svc := actions.NewService(actions.Deps{WhatConverts: countingWC(t, &calls), Credentials: creds, Audit: au,
				Idempotency: fakeIdempotency{}, Logger: slog.New(slog.DiscardHandler), Access: authz, Origin: &testOrigin})
			h := tt.handler(svc)
			resp, err := h.HandleAPIGateway(context.Background(), accessEvent(tt.method, tt.lead, tt.caller, tt.profile))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := calls.Load() > 0; got != tt.wantWCRequest {
				t.Fatalf("WhatConverts called: %v, want %v", got, tt.wantWCRequest)
			}
			if len(au.Records) != 1 {
				t.Fatalf("want one audit record, got %d", len(au.Records))
			}
			rec := au.Records[0]
			if rec.PolicyVersion != version || rec.Action != tt.action || rec.Actor != tt.caller {
				t.Fatalf("record names policy %q, action %q, actor %q; want %q, %q, %q",
					rec.PolicyVersion, rec.Action, rec.Actor, version, tt.action, tt.caller)
			}
			if tt.wantStatus == 403 {
				var body struct {
					Error struct{ Code, Message string }
				}
				_ = json.Unmarshal([]byte(resp.Body), &body)
				if body.Error.Code != "forbidden" || !strings.Contains(body.Error.Message, tt.action) ||
					!strings.Contains(body.Error.Message, tt.profile) {
					t.Fatalf("the refusal does not name the action and the profile: %s", resp.Body)
				}
				if rec.Outcome != audit.OutcomeRejected || rec.Status != 403 || rec.ProfileID == 0 {
					t.Fatalf("refusal audited as %s %d profile %d", rec.Outcome, rec.Status, rec.ProfileID)
				}
			}
		})
	}
}

// No authorizer, or one that fails, is a denial: never fail open.
func TestNoAuthorizerDenies(t *testing.T) {
	var calls atomic.Int64
	for name, a := range map[string]actions.Authorizer{"nil": nil, "failing": failing{}} {
		t.Run(name, func(t *testing.T) {
			svc := actions.NewService(actions.Deps{WhatConverts: countingWC(t, &calls), Credentials: testCreds,
				Audit: &fakeAudit{}, Logger: slog.New(slog.DiscardHandler), Access: a})
			resp, _ := actions.GetLeadsHandler(svc).HandleAPIGateway(context.Background(), accessEvent("GET", "", readerRole, "1001"))
			if resp.StatusCode != 403 || calls.Load() != 0 {
				t.Fatalf("status %d, %d WhatConverts calls", resp.StatusCode, calls.Load())
			}
		})
	}
}

type failing struct{}

func (failing) Authorize(context.Context, string, string, int64) (bool, string, error) {
	return true, "v", access.ErrInvalidRequest
}

// An API Gateway event sent by a principal that may only invoke the function, naming another API
// or account (or none), is refused before its identity is believed, and audited (as failed, like a
// request without an identity).
func TestEventsMustComeThroughThisStacksAPI(t *testing.T) {
	tests := []struct {
		name       string
		apiID, acc string
	}{
		{"another API", "zzzzzzzzzz", testOrigin.AccountID},
		{"another account", testOrigin.APIID, "999999999999"},
		{"no API at all", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			au := &fakeAudit{}
			svc := actions.NewService(actions.Deps{WhatConverts: countingWC(t, &calls), Credentials: testCreds,
				Audit: au, Logger: slog.New(slog.DiscardHandler), Access: allowAll{}, Origin: &testOrigin})
			ev := accessEvent("GET", "", readerRole, "1001")
			ev.RequestContext.APIID, ev.RequestContext.AccountID = tt.apiID, tt.acc
			payload, _ := json.Marshal(ev)
			out, err := actions.GetLeadsHandler(svc).Handle(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayProxyResponse
			_ = json.Unmarshal(out, &resp)
			if resp.StatusCode != 403 || calls.Load() != 0 {
				t.Fatalf("status %d, %d WhatConverts calls", resp.StatusCode, calls.Load())
			}
			if len(au.Records) != 1 || au.Records[0].Status != 403 || au.Records[0].Outcome == audit.OutcomeOK {
				t.Fatalf("the refusal is not audited: %+v", au.Records)
			}
		})
	}
}
