package rules_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/rules"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

const realTemplate = "../../../template.yaml"

var bothWorkflows = map[string]string{"EnableNewCallFollowUp": "true", "EnableQuoteValueUpdate": "true"}

// ingestBus is the bus the ingest function publishes to locally: its EVENT_BUS_NAME as the template
// sets it. The rules must listen on that same bus.
func ingestBus(t *testing.T, s *stack) string {
	t.Helper()
	fn, ok := s.tmpl.Function("IngestWebhookFunction")
	if !ok || fn.Environment["EVENT_BUS_NAME"] == "" {
		t.Fatal("template.yaml: IngestWebhookFunction has no EVENT_BUS_NAME")
	}
	return fn.Environment["EVENT_BUS_NAME"]
}

func TestTemplateYAMLWorkflowsAreOffByDefault(t *testing.T) {
	s := newStack(t, realTemplate, nil)
	if rules := s.engine.Rules(); len(rules) != 0 {
		t.Errorf("rules with default parameters = %+v, want none (each workflow is opt-in)", rules)
	}
	s.publish(t, ingestBus(t, s), webhook.Source, webhook.DetailTypeCreated, leadDetail("evt-1", "new-lead"))
	for _, q := range s.engine.Queues() {
		switch q {
		case "NewCallFollowUpQueue", "NewCallFollowUpDeadLetterQueue", "QuoteValueUpdateDeadLetterQueue":
			t.Errorf("queue %s exists with its workflow off", q)
		}
	}
	for id, rec := range s.fns {
		if n := len(rec.calls()); n != 0 {
			t.Errorf("%s invoked %d times with the workflows off", id, n)
		}
	}
}

func TestTemplateYAMLWorkflowsLoadAndRouteLeadEvents(t *testing.T) {
	s := newStack(t, realTemplate, bothWorkflows)
	bus := ingestBus(t, s)

	t.Run("both rules load on the ingest function's bus, every target runnable locally", func(t *testing.T) {
		got := s.engine.Rules()
		want := []rules.RuleInfo{
			{LogicalID: "NewCallFollowUpRule", Name: "local-new-call-follow-up", Bus: bus,
				ARN: rules.RuleARN(bus, "local-new-call-follow-up"), Targets: []string{"sqs:NewCallFollowUpQueue"}},
			{LogicalID: "QuoteValueUpdateRule", Name: "local-quote-value-update", Bus: bus,
				ARN: rules.RuleARN(bus, "local-quote-value-update"), Targets: []string{"lambda:UpdateLeadFunction"}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Rules() =\n%+v\nwant\n%+v", got, want)
		}
	})

	newCall := leadDetail("evt-10", "new-lead")
	newForm := leadDetail("evt-11", "new-lead")
	newForm.LeadType = "Web Form"
	quoteBrought := leadDetail("evt-12", "updated-lead")
	quoteBrought.HasQuoteValue, quoteBrought.Quotable = true, "Not Set"
	echo := quoteBrought
	echo.EventID, echo.Quotable = "evt-13", "Yes"
	noQuote := leadDetail("evt-14", "updated-lead")

	s.publish(t, bus, webhook.Source, webhook.DetailTypeCreated, newCall)
	s.publish(t, bus, webhook.Source, webhook.DetailTypeCreated, newForm)
	s.publish(t, bus, webhook.Source, webhook.DetailTypeUpdated, quoteBrought)
	s.publish(t, bus, webhook.Source, webhook.DetailTypeUpdated, echo)
	s.publish(t, bus, webhook.Source, webhook.DetailTypeUpdated, noQuote)

	t.Run("the new phone-call lead, and only it, is queued for follow-up", func(t *testing.T) {
		msgs := s.engine.Queue("NewCallFollowUpQueue")
		if len(msgs) != 1 {
			t.Fatalf("NewCallFollowUpQueue holds %d messages, want 1", len(msgs))
		}
		ev := decodeJSON(t, []byte(msgs[0].Body))
		detail, _ := ev["detail"].(map[string]any)
		if ev["detail-type"] != "Lead Created" || detail["event_id"] != "evt-10" || detail["lead_id"] != json.Number("4242") {
			t.Errorf("message = %s", msgs[0].Body)
		}
		if n := len(s.engine.Queue("NewCallFollowUpDeadLetterQueue")); n != 0 {
			t.Errorf("dead-letter queue holds %d", n)
		}
	})

	t.Run("the update bringing a quote value, and only it, reaches Update Lead as the workflow payload", func(t *testing.T) {
		calls := s.fns["UpdateLeadFunction"].calls()
		if len(calls) != 1 {
			t.Fatalf("UpdateLeadFunction invoked %d times, want 1 (not for the quotable-Yes echo)", len(calls))
		}
		want := map[string]any{
			"source": "wcbridge.workflow", "action": "update-lead",
			"rule":     rules.RuleARN(bus, "local-quote-value-update"),
			"event_id": "evt-12", "lead_id": json.Number("4242"), "profile_id": json.Number("1001"),
			"fields": map[string]any{"quotable": "yes"},
		}
		if got := decodeJSON(t, calls[0]); !reflect.DeepEqual(got, want) {
			t.Errorf("payload = %s\nwant %v", calls[0], want)
		}
	})

	t.Run("no other function is invoked by lead events", func(t *testing.T) {
		for id, rec := range s.fns {
			if n := len(rec.calls()); id != "UpdateLeadFunction" && n != 0 {
				t.Errorf("%s invoked %d times", id, n)
			}
		}
	})
}
