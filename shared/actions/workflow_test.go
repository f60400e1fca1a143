package actions_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/rules"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
)

const templatePath = "../../template.yaml"

// The template's UpdateLeadFunction allows exactly the quote-value rule, and only when the workflow
// is on. The ARN is written out in the template (!GetAtt of the rule would be circular), so this
// checks it against the ARN the rule really has: the one the local rule engine computes as
// EventBridge does, and puts in the payload as <aws.events.rule-arn>.
func TestTemplateAllowsTheQuoteValueRule(t *testing.T) {
	t.Run("off by default: no rule allowed", func(t *testing.T) {
		tmpl, err := samtemplate.Load(templatePath, nil)
		if err != nil {
			t.Fatal(err)
		}
		fn, ok := tmpl.Function("UpdateLeadFunction")
		if v, set := fn.Environment[config.EnvWorkflowRules]; !ok || !set || v != "" {
			t.Fatalf("WORKFLOW_RULE_ARNS = %q (set %v), want set and empty", v, set)
		}
	})

	t.Run("on: the rule's ARN, and only the rule may invoke the function through EventBridge", func(t *testing.T) {
		tmpl, err := samtemplate.Load(templatePath, map[string]string{"EnableQuoteValueUpdate": "true"})
		if err != nil {
			t.Fatal(err)
		}
		fn, _ := tmpl.Function("UpdateLeadFunction")
		rule := quoteValueRule(t, newEngine(t, tmpl, noFunctions(t, tmpl)))
		if got := fn.Environment[config.EnvWorkflowRules]; got != rule.ARN {
			t.Fatalf("WORKFLOW_RULE_ARNS = %q, want the rule's ARN %q", got, rule.ARN)
		}
		for id, res := range tmpl.Resources {
			if res.Type != "AWS::Lambda::Permission" || !getAtt(res.Properties.Get("FunctionName"), "UpdateLeadFunction", "Arn") {
				continue
			}
			p := res.Properties
			if principal, _ := p.Get("Principal").String(); principal == "events.amazonaws.com" &&
				!getAtt(p.Get("SourceArn"), "QuoteValueUpdateRule", "Arn") {
				t.Errorf("%s lets EventBridge invoke UpdateLeadFunction without SourceArn the quote-value rule", id)
			}
		}
		perm, ok := tmpl.Resources["QuoteValueUpdatePermission"]
		if !ok {
			t.Fatal("no QuoteValueUpdatePermission")
		}
		if a, _ := perm.Properties.Get("Action").String(); a != "lambda:InvokeFunction" {
			t.Errorf("QuoteValueUpdatePermission Action %q", a)
		}
		if p, _ := perm.Properties.Get("Principal").String(); p != "events.amazonaws.com" {
			t.Errorf("QuoteValueUpdatePermission Principal %q", p)
		}
		if !getAtt(perm.Properties.Get("SourceArn"), "QuoteValueUpdateRule", "Arn") {
			t.Error("QuoteValueUpdatePermission SourceArn is not !GetAtt QuoteValueUpdateRule.Arn")
		}
	})
}

// The whole workflow locally, as deployed: an update bringing a quote value is put on the bus, the
// template's rule delivers its InputTransformer payload to Update Lead, built with the environment
// the template gives it, and the lead becomes quotable, audited as the rule. The outbox publishes at
// least once: the same event again changes nothing.
func TestQuoteValueWorkflowThroughTheTemplate(t *testing.T) {
	tmpl, err := samtemplate.Load(templatePath, map[string]string{"EnableQuoteValueUpdate": "true"})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, profileKeys)
	fn, _ := tmpl.Function("UpdateLeadFunction")
	update := s.function(wireactions.UpdateLead, fn.Environment[config.EnvWorkflowRules])

	handlers := noFunctions(t, tmpl)
	handlers["UpdateLeadFunction"] = lambda.NewHandler(update.Handle)
	engine := newEngine(t, tmpl, handlers)
	bus := eventbus.New()
	t.Cleanup(engine.Attach(bus))
	rule := quoteValueRule(t, engine)

	lead := notQuotable(t, s.sim, 1001)
	detail := webhook.Detail{
		EventID: "evt_" + randomHex(8), Trigger: "updated-lead", LeadID: lead, ProfileID: 1001,
		Quotable: "Not Set", HasQuoteValue: true, ReceivedAt: time.Now().UTC().Format(time.RFC3339),
	}
	publish := func() {
		t.Helper()
		b, _ := json.Marshal(detail)
		out, err := bus.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String(webhook.Source), DetailType: aws.String(webhook.DetailTypeUpdated),
			Detail: aws.String(string(b)), EventBusName: aws.String(rule.Bus),
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v", err)
		}
		engine.Wait()
	}

	publish()
	if stored, _ := s.sim.Lead(lead); stored["quotable"] != "Yes" {
		t.Fatalf("WhatConverts holds quotable %v after the workflow", stored["quotable"])
	}
	if n := s.sim.Requests(); n != 1 {
		t.Fatalf("%d WhatConverts requests, want 1", n)
	}
	recs := s.recordsOf(rule.ARN)
	if len(recs) != 1 || recs[0].Outcome != audit.OutcomeOK || recs[0].Status != 200 || recs[0].LeadIDs[0] != lead {
		t.Fatalf("the rule's audit records: %+v", recs)
	}

	publish()
	if n := s.sim.Requests(); n != 1 {
		t.Fatalf("%d WhatConverts requests after the event was published again, want still 1", n)
	}
	if recs := s.recordsOf(rule.ARN); len(recs) != 2 || recs[1].Status != 200 {
		t.Fatalf("the rule's audit records: %+v", recs)
	}
}

// noFunctions is a handler for each function of the template that no lead event may invoke.
func noFunctions(t *testing.T, tmpl *samtemplate.Template) map[string]lambda.Handler {
	handlers := map[string]lambda.Handler{}
	for _, f := range tmpl.Functions {
		id := f.LogicalID
		handlers[id] = lambda.NewHandler(func(context.Context, json.RawMessage) error {
			t.Errorf("%s invoked by a lead event", id)
			return nil
		})
	}
	return handlers
}

// newEngine is the template's rules delivering to handlers in process, as `make dev` runs them.
func newEngine(t *testing.T, tmpl *samtemplate.Template, handlers map[string]lambda.Handler) *rules.Engine {
	t.Helper()
	fns, err := apigateway.NewFunctions(tmpl, handlers, apigateway.FunctionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := rules.New(tmpl, fns, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

func quoteValueRule(t *testing.T, engine *rules.Engine) rules.RuleInfo {
	t.Helper()
	for _, r := range engine.Rules() {
		if r.LogicalID == "QuoteValueUpdateRule" {
			if !actions.ValidRuleARN(r.ARN) {
				t.Fatalf("the rule's ARN %q is not a rule ARN", r.ARN)
			}
			return r
		}
	}
	t.Fatal("no QuoteValueUpdateRule with the workflow on")
	return rules.RuleInfo{}
}

// getAtt reports whether v is !GetAtt resource.attribute (unresolved, as the template writes it).
func getAtt(v samtemplate.Value, resource, attribute string) bool {
	if v.Kind != samtemplate.Intrinsic || v.Text != "Fn::GetAtt" || v.Arg == nil || len(v.Arg.Items) != 2 {
		return false
	}
	r, _ := v.Arg.Items[0].String()
	a, _ := v.Arg.Items[1].String()
	return r == resource && a == attribute
}
