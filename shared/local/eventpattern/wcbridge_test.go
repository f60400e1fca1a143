package eventpattern_test

import (
	"encoding/json"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventpattern"
)

// leadEvent is a lead event as the bus delivers it, with the detail fields the ingest publishes and
// the given overrides (a nil override removes the field).
func leadEvent(t *testing.T, detailType string, overrides map[string]any) []byte {
	t.Helper()
	detail := map[string]any{
		"event_id": "evt-0001", "trigger": "new-lead", "lead_id": 123456, "profile_id": 1001,
		"account_id": 2001, "lead_type": "Phone Call", "last_updated": "2026-11-28T10:00:00Z",
		"received_at": "2026-11-28T10:00:01Z", "quotable": "Not Set", "has_quote_value": false,
		"has_sales_value": false,
	}
	if detailType == "Lead Updated" {
		detail["trigger"] = "updated-lead"
		detail["changed_fields"] = []string{"quotable", "quote_value"}
	}
	for k, v := range overrides {
		if v == nil {
			delete(detail, k)
			continue
		}
		detail[k] = v
	}
	ev := map[string]any{
		"version": "0", "id": "0d0c0b0a-0000-4000-8000-000000000001", "detail-type": detailType,
		"source": "wcbridge.whatconverts", "account": "123456789012", "time": "2026-11-28T10:00:01Z",
		"region": "us-east-1", "resources": []string{}, "detail": detail,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// templatePatterns compiles the event patterns of template.yaml's workflow rules, both enabled.
func templatePatterns(t *testing.T) map[string]*eventpattern.Pattern {
	t.Helper()
	tmpl, err := samtemplate.Load("../../../template.yaml", map[string]string{
		"EnableNewCallFollowUp": "true", "EnableQuoteValueUpdate": "true",
	})
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	out := map[string]*eventpattern.Pattern{}
	for _, r := range tmpl.Rules {
		var text []byte
		if s, ok := r.EventPattern.String(); ok {
			text = []byte(s)
		} else if text, err = r.EventPattern.MarshalJSON(); err != nil {
			t.Fatalf("%s: %v", r.LogicalID, err)
		}
		p, err := eventpattern.Compile(text)
		if err != nil {
			t.Fatalf("%s: %v", r.LogicalID, err)
		}
		out[r.LogicalID] = p
	}
	for _, id := range []string{"NewCallFollowUpRule", "QuoteValueUpdateRule"} {
		if out[id] == nil {
			t.Fatalf("template.yaml has no rule %s with both workflows enabled", id)
		}
	}
	return out
}

func TestTheWorkflowPatternsOfTemplateYAML(t *testing.T) {
	patterns := templatePatterns(t)
	type want struct{ followUp, quoteValue bool }
	cases := []struct {
		name  string
		event []byte
		want  want
	}{
		{"a new phone-call lead is followed up", leadEvent(t, "Lead Created", nil), want{true, false}},
		{"a new web-form lead is not", leadEvent(t, "Lead Created", map[string]any{"lead_type": "Web Form"}), want{false, false}},
		{"a new lead of unknown type is not", leadEvent(t, "Lead Created", map[string]any{"lead_type": nil}), want{false, false}},
		{"an updated phone-call lead is not followed up again", leadEvent(t, "Lead Updated", nil), want{false, false}},
		{"a new lead with a quote value is not a quote-value update", leadEvent(t, "Lead Created", map[string]any{"has_quote_value": true}), want{true, false}},
		{"an update bringing a quote value to a lead not yet quotable", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": true}), want{false, true}},
		{"an update bringing a quote value to a lead a person marked not quotable", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": true, "quotable": "No"}), want{false, false}},
		{"an update bringing a quote value to a pending lead", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": true, "quotable": "Pending"}), want{false, true}},
		{"no loop: the update the workflow made comes back quotable Yes", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": true, "quotable": "Yes"}), want{false, false}},
		{"an update without a quote value", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": false}), want{false, false}},
		{"an update whose quotable is unknown is left alone", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": true, "quotable": nil}), want{false, false}},
		{"the string \"true\" is not the flag", leadEvent(t, "Lead Updated", map[string]any{"has_quote_value": "true"}), want{false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := want{}
			var err error
			if got.followUp, err = patterns["NewCallFollowUpRule"].Match(c.event); err != nil {
				t.Fatal(err)
			}
			if got.quoteValue, err = patterns["QuoteValueUpdateRule"].Match(c.event); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("follow-up, quote-value = %v, %v; want %v, %v", got.followUp, got.quoteValue, c.want.followUp, c.want.quoteValue)
			}
		})
	}

	t.Run("events from another source match neither", func(t *testing.T) {
		var ev map[string]any
		_ = json.Unmarshal(leadEvent(t, "Lead Created", nil), &ev)
		ev["source"] = "someone.else"
		b, _ := json.Marshal(ev)
		for id, p := range patterns {
			if ok, _ := p.Match(b); ok {
				t.Errorf("%s matched an event of another source", id)
			}
		}
	})
}
