package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
)

// The rule the functions are configured with, and one they are not.
const (
	quoteRule = "arn:aws:events:us-east-1:123456789012:rule/wcbridge-leads/wcbridge-quote-value-update"
	otherRule = "arn:aws:events:us-east-1:123456789012:rule/wcbridge-leads/someone-elses-rule"
)

// function builds an action's Lambda handler as its main does, with WORKFLOW_RULE_ARNS set to rules.
func (s *stack) function(build func(context.Context, config.Config, *slog.Logger) (*actions.Handler, error), rules string) *actions.Handler {
	s.t.Helper()
	env := maps.Clone(s.env)
	env[config.EnvWorkflowRules] = rules
	cfg, err := config.FromMap(env)
	if err != nil {
		s.t.Fatal(err)
	}
	h, err := build(context.Background(), cfg, s.logger)
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

// invocation is what a direct invocation returned: the result decoded, or the error.
type invocation struct {
	raw       string
	err       error
	requestID string
	Status    int            `json:"status"`
	Replayed  bool           `json:"replayed"`
	Lead      map[string]any `json:"lead"`
	Error     struct {
		Code   string `json:"code"`
		Fields []struct {
			Field string `json:"field"`
		} `json:"fields"`
	} `json:"error"`
}

func (v invocation) fields() []string {
	var out []string
	for _, f := range v.Error.Fields {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// invoke sends payload to h's entry point as Lambda does, under a fresh Lambda request ID.
func (s *stack) invoke(h *actions.Handler, payload string) invocation {
	s.t.Helper()
	v := invocation{requestID: "lambda-" + randomHex(8)}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: v.requestID})
	out, err := h.Handle(ctx, json.RawMessage(payload))
	v.raw, v.err = string(out), err
	if err != nil {
		if out != nil {
			s.t.Fatalf("an error with a result: %s", out)
		}
		return v
	}
	if err := json.Unmarshal(out, &v); err != nil {
		s.t.Fatalf("the result is not JSON: %v: %s", err, out)
	}
	return v
}

// workflow is the payload the quote-value rule's InputTransformer builds.
func workflow(rule, eventID string, leadID int64, fields string) string {
	return fmt.Sprintf(`{"source": "wcbridge.workflow", "action": "update-lead", "rule": %q, "event_id": %q,
		"lead_id": %d, "profile_id": 1001, "fields": %s}`, rule, eventID, leadID, fields)
}

// notQuotable is a lead of the profile whose quotable is not Yes yet.
func notQuotable(t *testing.T, sim *wcsim.Sim, profileID int64, skip ...int64) int64 {
	t.Helper()
	for _, id := range sim.LeadIDs(profileID) {
		if l, _ := sim.Lead(id); l["quotable"] != "Yes" && !slices.Contains(skip, id) {
			return id
		}
	}
	t.Fatal("the simulator has no lead that is not quotable")
	return 0
}

// wantInvocationError checks a refusal returned to Lambda: its status and code, and a message that is
// the action, status and code only.
func wantInvocationError(t *testing.T, v invocation, status int, code apierr.Code) {
	t.Helper()
	var ie *actions.InvocationError
	if !errors.As(v.err, &ie) || ie.Status != status || ie.Code != code || ie.Action != "update-lead" {
		t.Fatalf("returned %v (%s), want an InvocationError %d %s", v.err, v.raw, status, code)
	}
	if want := fmt.Sprintf("update-lead: %d %s", status, code); v.err.Error() != want {
		t.Fatalf("error message %q, want %q", v.err.Error(), want)
	}
}

func TestDirectInvocation(t *testing.T) {
	s := newStack(t, profileKeys)
	h := s.function(wireactions.UpdateLead, otherRule+","+quoteRule)
	lead := notQuotable(t, s.sim, 1001)
	eventID := "evt_" + randomHex(8)
	payload := workflow(quoteRule, eventID, lead, `{"quotable": "yes"}`)
	var first invocation

	t.Run("the configured rule's invocation marks the lead quotable with one WhatConverts request, audited as the rule", func(t *testing.T) {
		before := s.sim.Requests()
		first = s.invoke(h, payload)
		if first.err != nil || first.Status != 200 || first.Replayed || first.Lead["quotable"] != "Yes" ||
			first.Lead["lead_id"] != float64(lead) {
			t.Fatalf("returned %v: %.400s", first.err, first.raw)
		}
		if stored, _ := s.sim.Lead(lead); stored["quotable"] != "Yes" {
			t.Fatalf("WhatConverts holds quotable %v", stored["quotable"])
		}
		if n := s.sim.Requests() - before; n != 1 {
			t.Fatalf("%d WhatConverts requests, want 1 (the edit)", n)
		}
		rec, sealed := s.record(first.requestID)
		if rec.Actor != quoteRule || rec.Action != "update-lead" || rec.Outcome != audit.OutcomeOK || rec.Status != 200 ||
			rec.ProfileID != 1001 || !slices.Equal(rec.LeadIDs, []int64{lead}) || rec.Kind != audit.KindAction {
			t.Fatalf("audit record %+v", rec)
		}
		if !strings.Contains(string(sealed), eventID) || !strings.Contains(string(sealed), `"response"`) {
			t.Fatalf("the sealed part lacks the payload or the answer: %.300s", sealed)
		}
	})

	t.Run("a redelivery of the event replays the answer without calling WhatConverts again", func(t *testing.T) {
		before := s.sim.Requests()
		again := s.invoke(h, payload)
		if again.err != nil || again.Status != 200 || !again.Replayed || again.Lead["lead_id"] != first.Lead["lead_id"] {
			t.Fatalf("returned %v: %.300s", again.err, again.raw)
		}
		if n := s.sim.Requests() - before; n != 0 {
			t.Fatalf("%d WhatConverts requests for a redelivery", n)
		}
		if rec, _ := s.record(again.requestID); rec.Actor != quoteRule || rec.Status != 200 || rec.Outcome != audit.OutcomeOK ||
			!slices.Equal(rec.LeadIDs, []int64{lead}) {
			t.Fatalf("the redelivery's audit record %+v", rec)
		}
		// The same event_id with other changes is not the same event: a conflict, answered, not retried.
		other := s.invoke(h, workflow(quoteRule, eventID, lead, `{"quotable": "no"}`))
		if other.err != nil || other.Status != 409 || other.Error.Code != "conflict" || s.sim.Requests() != before {
			t.Fatalf("returned %v: %.300s", other.err, other.raw)
		}
	})

	t.Run("an API Gateway request still goes through the same entry point", func(t *testing.T) {
		target := notQuotable(t, s.sim, 1001, lead)
		resp, err := invokeAPIGateway(context.Background(), h, req{method: "PATCH", path: "/leads/" + strconv.FormatInt(target, 10),
			leadID: strconv.FormatInt(target, 10), body: `{"profile_id": 1001, "quotable": "yes"}`}.event())
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"quotable":"Yes"`) {
			t.Fatalf("answered %d %v: %.300s", resp.StatusCode, err, resp.Body)
		}
	})

	refused := []struct {
		name    string
		payload string
		status  int
		code    apierr.Code
		actor   string
	}{
		{"another rule", workflow(otherRule+"-not", "evt_"+randomHex(8), lead, `{"quote_value": 1}`),
			403, apierr.Forbidden, actions.UnverifiedRuleActor + ":" + otherRule + "-not"},
		{"the rule's ARN in another case", workflow(strings.ToUpper(quoteRule), "evt_"+randomHex(8), lead, `{"quote_value": 1}`),
			403, apierr.Forbidden, actions.UnverifiedRuleActor},
		{"a claim that is not a rule ARN (the record does not repeat it)", workflow("Synthetic Patient Zed", "evt_"+randomHex(8), lead, `{"quote_value": 1}`),
			403, apierr.Forbidden, actions.UnverifiedRuleActor},
		{"no rule", `{"source": "wcbridge.workflow", "action": "update-lead", "event_id": "evt_1", "lead_id": 1, "profile_id": 1001, "fields": {"quote_value": 1}}`,
			403, apierr.Forbidden, actions.UnverifiedRuleActor},
		{"the rule as a list", `{"source": "wcbridge.workflow", "rule": ["` + quoteRule + `"], "action": "update-lead", "event_id": "evt_1", "lead_id": 1, "profile_id": 1001, "fields": {"quote_value": 1}}`,
			403, apierr.Forbidden, actions.UnverifiedRuleActor},
		// encoding/json keeps the last of two members, another reader the first: neither is believed.
		{"two rule members, the allowed one last", `{"source": "wcbridge.workflow", "rule": "` + otherRule + `", "rule": "` + quoteRule + `",
			"action": "update-lead", "event_id": "evt_1", "lead_id": 1, "profile_id": 1001, "fields": {"quote_value": 1}}`,
			400, apierr.InvalidRequest, actions.UnverifiedRuleActor},
		// What is neither an API Gateway request nor a workflow invocation.
		{"an empty object", `{}`, 400, apierr.InvalidRequest, actions.UnauthenticatedActor},
		{"a JSON array", `[1, 2]`, 400, apierr.InvalidRequest, actions.UnauthenticatedActor},
		{"a bus event delivered whole (a rule without an InputTransformer)", `{"version": "0", "id": "x", "source": "wcbridge.whatconverts",
			"detail-type": "Lead Updated", "resources": ["` + quoteRule + `"], "detail": {"lead_id": 1, "profile_id": 1001}}`,
			400, apierr.InvalidRequest, actions.UnauthenticatedActor},
		{"another source", strings.Replace(workflow(quoteRule, "evt_2", lead, `{"quote_value": 1}`), "wcbridge.workflow", "wcbridge.Workflow", 1),
			400, apierr.InvalidRequest, actions.UnauthenticatedActor},
		{"httpMethod without requestContext", `{"httpMethod": "PATCH", "path": "/leads/1", "body": "{}"}`,
			400, apierr.InvalidRequest, actions.UnauthenticatedActor},
		{"both shapes at once", `{"source": "wcbridge.workflow", "rule": "` + quoteRule + `", "httpMethod": "PATCH", "requestContext": {}}`,
			400, apierr.InvalidRequest, actions.UnauthenticatedActor},
	}
	for _, c := range refused {
		t.Run("refused and audited as rejected: "+c.name, func(t *testing.T) {
			before := s.sim.Requests()
			was, _ := s.sim.Lead(lead)
			v := s.invoke(h, c.payload)
			wantInvocationError(t, v, c.status, c.code)
			if n := s.sim.Requests() - before; n != 0 {
				t.Fatalf("%d WhatConverts requests", n)
			}
			if now, _ := s.sim.Lead(lead); fmt.Sprint(now) != fmt.Sprint(was) {
				t.Fatal("the lead was changed")
			}
			rec, _ := s.record(v.requestID)
			if rec.Outcome != audit.OutcomeRejected || rec.Status != c.status || rec.Actor != c.actor ||
				rec.Action != "update-lead" || rec.Kind != audit.KindAction {
				t.Fatalf("audit record %+v", rec)
			}
		})
	}

	invalid := []struct {
		name    string
		payload string
		fields  []string
	}{
		{"a quotable other than yes or no", workflow(quoteRule, "evt_"+randomHex(8), lead, `{"quotable": "pending"}`), []string{"fields.quotable"}},
		{"fields that cannot be updated, and an unknown member, each named",
			strings.Replace(workflow(quoteRule, "evt_"+randomHex(8), lead, `{"quote_value": -1, "email_address": "zed@example.test", "profile_id": 1002}`),
				`"source"`, `"note": "synthetic-zed", "source"`, 1),
			[]string{"fields.email_address", "fields.profile_id", "fields.quote_value", "note"}},
		{"no changes", workflow(quoteRule, "evt_"+randomHex(8), lead, `{}`), []string{"fields"}},
		{"changes of nulls only", workflow(quoteRule, "evt_"+randomHex(8), lead, `{"sales_value": null}`), []string{"fields"}},
		{"fields that is not an object", workflow(quoteRule, "evt_"+randomHex(8), lead, `"quotable=yes"`), []string{"fields"}},
		{"a lead_url that is not absolute, a sales_value with three decimals",
			workflow(quoteRule, "evt_"+randomHex(8), lead, `{"lead_url": "/book", "sales_value": 1.005}`), []string{"fields.lead_url", "fields.sales_value"}},
		{"another action", strings.Replace(workflow(quoteRule, "evt_"+randomHex(8), lead, `{"quotable": "yes"}`), `"update-lead"`, `"create-lead"`, 1), []string{"action"}},
		{"no event_id (it is the idempotency key)", strings.Replace(workflow(quoteRule, "x", lead, `{"quotable": "yes"}`), `"event_id": "x",`, ``, 1), []string{"event_id"}},
		{"an event_id that cannot be a key", workflow(quoteRule, "évt", lead, `{"quotable": "yes"}`), []string{"event_id"}},
		{"IDs as strings", strings.Replace(workflow(quoteRule, "evt_"+randomHex(8), lead, `{"quotable": "yes"}`), `"profile_id": 1001`, `"profile_id": "1001"`, 1), []string{"profile_id"}},
		{"no lead_id", `{"source": "wcbridge.workflow", "action": "update-lead", "rule": "` + quoteRule + `", "event_id": "evt_3", "profile_id": 1001, "fields": {"quotable": "yes"}}`, []string{"lead_id"}},
	}
	for _, c := range invalid {
		t.Run("answered 400 without an error (no retry): "+c.name, func(t *testing.T) {
			before := s.sim.Requests()
			v := s.invoke(h, c.payload)
			if v.err != nil || v.Status != 400 || v.Error.Code != "invalid_request" {
				t.Fatalf("returned %v: %s", v.err, v.raw)
			}
			if !slices.Equal(v.fields(), c.fields) {
				t.Fatalf("fields %v, want %v", v.fields(), c.fields)
			}
			if m, ok := findPHI(v.raw); ok {
				t.Fatalf("the answer repeats a value (%q): %s", m, v.raw)
			}
			if n := s.sim.Requests() - before; n != 0 {
				t.Fatalf("%d WhatConverts requests", n)
			}
			if rec, _ := s.record(v.requestID); rec.Actor != quoteRule || rec.Status != 400 || rec.Outcome != audit.OutcomeFailed {
				t.Fatalf("audit record %+v", rec)
			}
		})
	}

	t.Run("a lead of another profile is answered 404, not retried", func(t *testing.T) {
		v := s.invoke(h, workflow(quoteRule, "evt_"+randomHex(8), s.sim.LeadIDs(1002)[0], `{"quotable": "yes"}`))
		if v.err != nil || v.Status != 404 || v.Error.Code != "not_found" {
			t.Fatalf("returned %v: %s", v.err, v.raw)
		}
	})

	t.Run("a redelivery while the first delivery runs is an error, so that it is retried and replayed", func(t *testing.T) {
		target := notQuotable(t, s.sim, 1001, lead)
		p := workflow(quoteRule, "evt_"+randomHex(8), target, `{"quote_value": 300}`)
		// The first delivery waits at WhatConverts, holding the event's key, until the faults are lifted.
		s.sim.SetFaults(wcsim.Faults{Latency: time.Minute})
		defer s.sim.SetFaults(wcsim.Faults{})
		first := make(chan invocation, 1)
		go func() { first <- s.invoke(h, p) }()
		for deadline := time.Now().Add(20 * time.Second); s.sim.InFlight(wcsim.ProfileKey1001.Token) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the first delivery never reached WhatConverts")
			}
			time.Sleep(5 * time.Millisecond)
		}
		second := s.invoke(h, p)
		s.sim.SetFaults(wcsim.Faults{})
		wantInvocationError(t, second, 409, apierr.Conflict)
		if v := <-first; v.err != nil || v.Status != 200 {
			t.Fatalf("the first delivery returned %v: %.300s", v.err, v.raw)
		}
		if retry := s.invoke(h, p); retry.err != nil || retry.Status != 200 || !retry.Replayed {
			t.Fatalf("the retry returned %v: %.300s", retry.err, retry.raw)
		}
	})

	t.Run("an upstream failure is an error, so that Lambda retries, and the retry runs", func(t *testing.T) {
		target := notQuotable(t, s.sim, 1001, lead)
		p := workflow(quoteRule, "evt_"+randomHex(8), target, `{"quotable": "yes"}`)
		// Every attempt of the client (one and three retries) fails.
		s.sim.SetFaults(wcsim.Faults{Fail5xx: 4, FailStatus: 500})
		v := s.invoke(h, p)
		s.sim.SetFaults(wcsim.Faults{})
		wantInvocationError(t, v, 502, apierr.UpstreamError)
		if rec, _ := s.record(v.requestID); rec.Actor != quoteRule || rec.Status != 502 || rec.Outcome != audit.OutcomeFailed {
			t.Fatalf("audit record %+v", rec)
		}
		retry := s.invoke(h, p)
		if retry.err != nil || retry.Status != 200 || retry.Replayed || retry.Lead["quotable"] != "Yes" {
			t.Fatalf("the retry returned %v: %.300s", retry.err, retry.raw)
		}
	})
}

func TestDirectInvocationNeedsConfiguredRules(t *testing.T) {
	s := newStack(t, profileKeys)
	lead := notQuotable(t, s.sim, 1001)

	t.Run("with no rule configured every direct invocation is refused", func(t *testing.T) {
		h := s.function(wireactions.UpdateLead, " ")
		v := s.invoke(h, workflow(quoteRule, "evt_"+randomHex(8), lead, `{"quotable": "yes"}`))
		wantInvocationError(t, v, 403, apierr.Forbidden)
		if rec, _ := s.record(v.requestID); rec.Outcome != audit.OutcomeRejected || rec.Actor != actions.UnverifiedRuleActor+":"+quoteRule {
			t.Fatalf("audit record %+v", rec)
		}
		if s.sim.Requests() != 0 {
			t.Fatalf("%d WhatConverts requests", s.sim.Requests())
		}
	})

	t.Run("an action without a direct form answers 400 to an allowed rule", func(t *testing.T) {
		h := s.function(wireactions.GetLead, quoteRule)
		v := s.invoke(h, `{"source": "wcbridge.workflow", "action": "get-lead", "rule": "`+quoteRule+`", "event_id": "evt_4", "lead_id": 1, "profile_id": 1001}`)
		if v.err != nil || v.Status != 400 || !slices.Equal(v.fields(), []string{"action"}) {
			t.Fatalf("returned %v: %s", v.err, v.raw)
		}
		// ...and still answers API Gateway through the same entry point.
		resp, err := invokeAPIGateway(context.Background(), h, req{method: "GET", path: "/leads/" + strconv.FormatInt(lead, 10),
			leadID: strconv.FormatInt(lead, 10), query: map[string]string{"profile_id": "1001"}}.event())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("answered %d %v", resp.StatusCode, err)
		}
	})

	t.Run("a malformed rule ARN in the configuration fails the build, naming the setting", func(t *testing.T) {
		env := maps.Clone(s.env)
		env[config.EnvWorkflowRules] = quoteRule + ",quote-value-update"
		cfg, _ := config.FromMap(env)
		_, err := wireactions.UpdateLead(context.Background(), cfg, s.logger)
		if err == nil || !strings.Contains(err.Error(), config.EnvWorkflowRules) {
			t.Fatalf("build error %v", err)
		}
	})
}

func TestValidRuleARN(t *testing.T) {
	for _, c := range []struct {
		arn  string
		want bool
	}{
		{quoteRule, true},
		{"arn:aws:events:us-east-1:123456789012:rule/on-the-default-bus", true},
		{"arn:aws-us-gov:events:us-gov-west-1:123456789012:rule/bus/rule.name_1", true},
		{"arn:aws:events:us-east-1:123456789012:event-bus/wcbridge-leads", false},
		{"arn:aws:iam::123456789012:role/crm-sync", false},
		{"arn:aws:events:us-east-1:12345:rule/x", false},
		{"arn:aws:events:us-east-1:123456789012:rule/", false},
		{"arn:aws:events:us-east-1:123456789012:rule/bus/name with space", false},
		{"Synthetic Patient Zed", false},
		{"", false},
	} {
		if got := actions.ValidRuleARN(c.arn); got != c.want {
			t.Errorf("ValidRuleARN(%q) = %v, want %v", c.arn, got, c.want)
		}
	}
}

// recordsOf is the day's audit records of actor.
func (s *stack) recordsOf(actor string) []audit.Record {
	s.t.Helper()
	var out []audit.Record
	err := s.audit.Day(context.Background(), table.Day(time.Now()), func(r audit.Record) error {
		if r.Actor == actor {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}
