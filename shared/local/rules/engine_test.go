package rules_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/rules"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

const testTemplate = "testdata/template.yaml"

// The local bus names a bus as !Ref gives it locally: its logical ID.
const leadBus = "LeadEventBus"

func quoteUpdate(eventID, quotable string) webhook.Detail {
	d := leadDetail(eventID, "updated-lead")
	d.Quotable, d.HasQuoteValue, d.ChangedFields = quotable, true, []string{"quotable", "quote_value"}
	return d
}

func TestAMatchingEventInvokesTheFunctionOnceWithTheTransformedPayload(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, quoteUpdate("evt-1", "Not Set"))

	calls := s.fns["UpdateLeadFunction"].calls()
	if len(calls) != 1 {
		t.Fatalf("UpdateLeadFunction invoked %d times, want 1", len(calls))
	}
	got := decodeJSON(t, calls[0])
	want := map[string]any{
		"source": "wcbridge.workflow", "action": "update-lead",
		"rule":     "arn:aws:events:us-east-1:123456789012:rule/LeadEventBus/local-quote",
		"event_id": "evt-1", "lead_id": json.Number("4242"), "profile_id": json.Number("1001"),
		"fields": map[string]any{"quotable": "yes"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload = %s\nwant %v (IDs as JSON numbers, the rule's ARN as a string)", calls[0], want)
	}
	if n := len(s.fns["AuditFunction"].calls()); n != 0 {
		t.Errorf("AuditFunction invoked %d times by a lead event; its rule is on the default bus", n)
	}
}

func TestANonMatchingEventInvokesNothing(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	noQuote := leadDetail("evt-2", "updated-lead") // has_quote_value false
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, noQuote)
	s.publish(t, leadBus, "someone.else", webhook.DetailTypeUpdated, quoteUpdate("evt-3", "No"))
	s.publish(t, "another-bus", webhook.Source, webhook.DetailTypeUpdated, quoteUpdate("evt-4", "No"))

	for id, rec := range s.fns {
		if n := len(rec.calls()); n != 0 {
			t.Errorf("%s invoked %d times; none of the events matches its rules", id, n)
		}
	}
}

func TestNoLoopTheUpdateTheWorkflowMakesDoesNotTriggerItAgain(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	// As deployed: Update Lead sets quotable, and WhatConverts sends the update back through the
	// webhook, which publishes "Lead Updated" with quotable "Yes".
	s.fns["UpdateLeadFunction"].then = func(payload []byte) ([]byte, error) {
		var in struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return []byte(`{}`), s.put(leadBus, webhook.Source, webhook.DetailTypeUpdated, quoteUpdate(in.EventID+"-echo", "Yes"))
	}
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, quoteUpdate("evt-5", "Pending"))

	if n := len(s.fns["UpdateLeadFunction"].calls()); n != 1 {
		t.Errorf("UpdateLeadFunction invoked %d times, want 1: the echoed update (quotable Yes) must not match", n)
	}
	if n := len(s.bus.Events()); n != 2 {
		t.Errorf("bus events = %d, want 2 (the update and its echo)", n)
	}
	if logs := s.logs.String(); strings.Contains(logs, "rule target function failed") {
		t.Errorf("the echo failed:\n%s", logs)
	}
}

func TestAQueueTargetReceivesExactlyOneMessagePerMatchingEventHoldingNoPHI(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	call1, call2 := leadDetail("evt-10", "new-lead"), leadDetail("evt-11", "new-lead")
	form := leadDetail("evt-12", "new-lead")
	form.LeadType = "Web Form"
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, call1)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, form)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, leadDetail("evt-13", "updated-lead"))
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, call2)

	msgs := s.engine.Queue("FollowUpQueue")
	if len(msgs) != 2 {
		t.Fatalf("FollowUpQueue holds %d messages, want 2 (one per new phone-call lead)", len(msgs))
	}
	// The contract's detail fields plus the workflow flags: IDs, timestamps, enumerations, booleans.
	allowed := map[string]bool{"event_id": true, "trigger": true, "lead_id": true, "profile_id": true,
		"account_id": true, "lead_type": true, "last_updated": true, "received_at": true, "quotable": true,
		"has_quote_value": true, "has_sales_value": true, "changed_fields": true}
	for i, m := range msgs {
		ev := decodeJSON(t, []byte(m.Body))
		if ev["detail-type"] != "Lead Created" || ev["source"] != webhook.Source {
			t.Errorf("message %d is not the bus event: %s", i, m.Body)
		}
		detail, _ := ev["detail"].(map[string]any)
		for k := range detail {
			if !allowed[k] {
				t.Errorf("message %d carries detail field %q, which is not an ID or a flag", i, k)
			}
		}
		if want := []string{"evt-10", "evt-11"}[i]; detail["event_id"] != want {
			t.Errorf("message %d is of event %v, want %s (in order)", i, detail["event_id"], want)
		}
		if m.MessageID == "" || m.Rule != "FollowUpRule" || m.Target != "Queue" || m.SentAt.IsZero() {
			t.Errorf("message %d metadata = %+v", i, m)
		}
	}
	if n := len(s.engine.Queue("FollowUpDeadLetterQueue")); n != 0 {
		t.Errorf("dead-letter queue holds %d messages, want 0", n)
	}
}

func TestAnUndeliverableTargetGoesToItsDeadLetterQueue(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, quoteUpdate("evt-20", "No"))

	dlq := s.engine.Queue("QuoteDeadLetterQueue")
	if len(dlq) != 1 {
		t.Fatalf("QuoteDeadLetterQueue holds %d messages, want 1 (the Gone target's function does not exist)", len(dlq))
	}
	m := dlq[0]
	if m.Target != "Gone" || m.Attributes["ERROR_CODE"] != "ResourceNotFoundException" ||
		m.Attributes["RULE_ARN"] != "arn:aws:events:us-east-1:123456789012:rule/LeadEventBus/local-quote" {
		t.Errorf("dead letter = %+v", m)
	}
	if ev := decodeJSON(t, []byte(m.Body)); ev["detail-type"] != "Lead Updated" {
		t.Errorf("the dead letter's body is not the event: %s", m.Body)
	}
	if n := len(s.fns["UpdateLeadFunction"].calls()); n != 1 {
		t.Errorf("the rule's other target was invoked %d times, want 1", n)
	}
}

func TestDefaultBusRulesShapeTheirInputAsConfigured(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.publish(t, "", "custom.app", "Something", map[string]any{"n": 1, "s": "x"})

	calls := s.fns["AuditFunction"].calls()
	if len(calls) != 1 || string(calls[0]) != `{"kind": "constant"}` {
		t.Errorf("AuditFunction payloads = %q, want one constant Input", calls)
	}
	msgs := s.engine.Queue("DetailQueue")
	if len(msgs) != 1 || msgs[0].Body != `{"n":1,"s":"x"}` {
		t.Errorf("DetailQueue = %+v, want the event's detail (InputPath $.detail)", msgs)
	}
	if n := len(s.fns["UpdateLeadFunction"].calls()); n != 0 {
		t.Errorf("a lead-bus rule saw a default-bus event")
	}
}

func TestRulesListsWhatRunsLocallyAndWhatIsSkipped(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	got := s.engine.Rules()
	want := []rules.RuleInfo{
		{LogicalID: "DefaultBusRule", Name: "DefaultBusRule", ARN: "arn:aws:events:us-east-1:123456789012:rule/DefaultBusRule",
			Bus: "default", Targets: []string{"lambda:AuditFunction", "sqs:DetailQueue"}},
		{LogicalID: "FollowUpRule", Name: "local-follow-up", ARN: "arn:aws:events:us-east-1:123456789012:rule/LeadEventBus/local-follow-up",
			Bus: "LeadEventBus", Targets: []string{"sqs:FollowUpQueue"}},
		{LogicalID: "QuoteRule", Name: "local-quote", ARN: "arn:aws:events:us-east-1:123456789012:rule/LeadEventBus/local-quote",
			Bus: "LeadEventBus", Targets: []string{"lambda:UpdateLeadFunction", "lambda:GoneFunction"}, Skipped: []string{"Workflow"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rules() =\n%+v\nwant (DisabledRule and the schedule-only NightlyRule left out)\n%+v", got, want)
	}
	if !strings.Contains(s.logs.String(), "cannot run locally") {
		t.Error("the skipped Step Functions target was not logged")
	}
}

func TestConditionsDecideWhichWorkflowsExist(t *testing.T) {
	s := newStack(t, testTemplate, map[string]string{"EnableFollowUp": "false", "EnableQuote": "false"})
	for _, r := range s.engine.Rules() {
		if r.LogicalID != "DefaultBusRule" {
			t.Errorf("rule %s is evaluated although its condition is off", r.LogicalID)
		}
	}
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, leadDetail("evt-30", "new-lead"))
	if q := s.engine.Queue("FollowUpQueue"); q != nil {
		t.Errorf("FollowUpQueue exists with its condition off: %+v", q)
	}
	if got := s.engine.Queues(); !reflect.DeepEqual(got, []string{"DetailQueue"}) {
		t.Errorf("Queues() = %v, want [DetailQueue]", got)
	}
}

func TestMatchesNamesTheRulesWithoutDelivering(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, leadDetail("evt-40", "new-lead"))
	ev := s.bus.Events()[0]
	if err := s.engine.Purge("FollowUpQueue"); !err {
		t.Fatal("Purge(FollowUpQueue) = false")
	}
	ids, err := s.engine.Matches(ev)
	if err != nil || !reflect.DeepEqual(ids, []string{"FollowUpRule"}) {
		t.Errorf("Matches = %v, %v; want [FollowUpRule]", ids, err)
	}
	s.engine.Wait()
	if n := len(s.engine.Queue("FollowUpQueue")); n != 0 {
		t.Errorf("Matches delivered %d messages", n)
	}
}

func TestFailuresAreLoggedByTypeNeverWithPayloadsOrMessages(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.fns["UpdateLeadFunction"].then = func([]byte) ([]byte, error) {
		return nil, errors.New("lead of pat.doe@example.com could not be updated")
	}
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeUpdated, quoteUpdate("evt-50", "No"))

	logs := s.logs.String()
	if !strings.Contains(logs, "rule target function failed") || !strings.Contains(logs, "error_type=errorString") {
		t.Errorf("the failure is not logged with its type:\n%s", logs)
	}
	for _, leak := range []string{"pat.doe@example.com", "wcbridge.workflow", `"lead_id"`, "4242"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q:\n%s", leak, logs)
		}
	}
}

func TestQueuesHandler(t *testing.T) {
	s := newStack(t, testTemplate, nil)
	s.publish(t, leadBus, webhook.Source, webhook.DetailTypeCreated, leadDetail("evt-60", "new-lead"))
	h := s.engine.QueuesHandler()
	do := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}

	t.Run("lists the queues with their counts", func(t *testing.T) {
		w := do(http.MethodGet, "/_local/queues")
		var body struct {
			Queues []struct {
				Name     string
				Messages int
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		counts := map[string]int{}
		for _, q := range body.Queues {
			counts[q.Name] = q.Messages
		}
		want := map[string]int{"DetailQueue": 0, "FollowUpDeadLetterQueue": 0, "FollowUpQueue": 1, "QuoteDeadLetterQueue": 0}
		if !reflect.DeepEqual(counts, want) {
			t.Errorf("queues = %v, want %v", counts, want)
		}
	})
	t.Run("shows a queue's messages by logical ID", func(t *testing.T) {
		w := do(http.MethodGet, "/_local/queues/FollowUpQueue")
		var body struct {
			Queue    string
			Messages []rules.Message
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if body.Queue != "FollowUpQueue" || len(body.Messages) != 1 || !strings.Contains(body.Messages[0].Body, `"evt-60"`) {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("an empty queue is an empty list", func(t *testing.T) {
		if w := do(http.MethodGet, "/_local/queues/DetailQueue/"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"messages":[]`) {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("an unknown queue is 404", func(t *testing.T) {
		if w := do(http.MethodGet, "/_local/queues/NoSuchQueue"); w.Code != http.StatusNotFound {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("DELETE empties a queue", func(t *testing.T) {
		if w := do(http.MethodDelete, "/_local/queues/FollowUpQueue"); w.Code != http.StatusNoContent {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if n := len(s.engine.Queue("FollowUpQueue")); n != 0 {
			t.Errorf("%d messages left", n)
		}
		if w := do(http.MethodDelete, "/_local/queues/NoSuchQueue"); w.Code != http.StatusNotFound {
			t.Errorf("DELETE of an unknown queue: %d", w.Code)
		}
	})
	t.Run("other methods and paths are 404", func(t *testing.T) {
		for _, c := range [][2]string{{http.MethodPost, "/_local/queues/FollowUpQueue"}, {http.MethodGet, "/_local/queues/a/b"}} {
			if w := do(c[0], c[1]); w.Code != http.StatusNotFound {
				t.Errorf("%s %s: %d", c[0], c[1], w.Code)
			}
		}
	})
}

func TestNewRefusesMalformedRules(t *testing.T) {
	base := `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ., Handler: bootstrap, Runtime: provided.al2023 }
  Q:
    Type: AWS::SQS::Queue
  R:
    Type: AWS::Events::Rule
    Properties:
`
	cases := []struct{ name, rule, want string }{
		{"a malformed pattern", `
      EventPattern: { source: [] }
      Targets: [{ Id: T, Arn: !GetAtt Q.Arn }]`, "rule R: EventPattern"},
		{"a pattern string that is not JSON", `
      EventPattern: "{source"
      Targets: [{ Id: T, Arn: !GetAtt Q.Arn }]`, "not valid JSON"},
		{"a target without Id", `
      EventPattern: { source: [x] }
      Targets: [{ Arn: !GetAtt Q.Arn }]`, "Id is required"},
		{"Input and InputPath together", `
      EventPattern: { source: [x] }
      Targets: [{ Id: T, Arn: !GetAtt Q.Arn, Input: "{}", InputPath: $.detail }]`, "only one of"},
		{"an Input that is not JSON", `
      EventPattern: { source: [x] }
      Targets: [{ Id: T, Arn: !GetAtt Q.Arn, Input: "hello" }]`, "Input must be valid JSON"},
		{"a reserved variable name", `
      EventPattern: { source: [x] }
      Targets:
        - Id: T
          Arn: !GetAtt Q.Arn
          InputTransformer: { InputPathsMap: { aws.events.rule-arn: $.id }, InputTemplate: "<aws.events.rule-arn>" }`, "reserved"},
		{"a wildcard path", `
      EventPattern: { source: [x] }
      Targets:
        - Id: T
          Arn: !GetAtt Q.Arn
          InputTransformer: { InputPathsMap: { r: "$.resources[*]" }, InputTemplate: "<r>" }`, "wildcards are not supported"},
		{"a bus with no local value", `
      EventBusName: !ImportValue shared-bus
      EventPattern: { source: [x] }
      Targets: [{ Id: T, Arn: !GetAtt Q.Arn }]`, "EventBusName has no local value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := samtemplate.Parse([]byte(base+c.rule), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = rules.New(tmpl, fakeInvoker{}, rules.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
