package rules

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// docEvent is the example event of the user guide's "Transforming target input".
const docEvent = `{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3, "tags": {"a": "b"}}
}`

func docDelivery(t *testing.T) delivery {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(docEvent)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return delivery{
		ruleARN: "arn:aws:events:us-east-2:123456789012:rule/example", ruleName: "example",
		ingestionTime: "2015-11-11T21:29:55Z", eventJSON: []byte(docEvent), event: v,
	}
}

func TestInputTemplatesRenderAsTheUserGuideShows(t *testing.T) {
	paths := map[string]string{"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state",
		"count": "$.detail.count", "tags": "$.detail.tags", "first": "$.resources[0]", "missing": "$.detail.nothing"}
	cases := []struct{ name, template, want string }{
		{"simple string", `"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`},
		{"string with escaped quotes", `"instance \"<instance>\" is in <state>"`, `"instance \"i-0123456789\" is in RUNNING"`},
		{"simple JSON: strings outside quotes become JSON strings", `{"instance" : <instance>, "state": <state>}`,
			`{"instance" : "i-0123456789", "state": "RUNNING"}`},
		{"JSON with strings and variables",
			`{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}`,
			`{"instance" : "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING"}`},
		{"JSON with a mix of variables and static information", `{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}`,
			`{"instance" : "i-0123456789", "state": [ 9, "RUNNING", true ], "Transformed" : "Yes"}`},
		{"reserved variables in JSON", `{"ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>}`,
			`{"ruleArn" : "arn:aws:events:us-east-2:123456789012:rule/example", "ruleName" : "example"}`},
		{"reserved variables in a string", `"<aws.events.rule-name> triggered"`, `"example triggered"`},
		{"numbers, objects and array elements keep their JSON", `{"n": <count>, "tags": <tags>, "r": <first>}`,
			`{"n": 3, "tags": {"a":"b"}, "r": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}`},
		{"a number inside quotes is its text", `{"n": "<count> items"}`, `{"n": "3 items"}`},
		{"an object inside quotes is escaped JSON", `{"t": "<tags>"}`, `{"t": "{\"a\":\"b\"}"}`},
		{"an absent path is null outside quotes, nothing inside", `{"m": <missing>, "s": "[<missing>]"}`, `{"m": null, "s": "[]"}`},
		{"unknown placeholders stay as written", `{"html": "<b>bold</b>", "x": <instance>}`, `{"html": "<b>bold</b>", "x": "i-0123456789"}`},
		{"the ingestion time", `{"at": <aws.events.event.ingestion-time>}`, `{"at": "2015-11-11T21:29:55Z"}`},
	}
	tr, err := newTransformer(paths, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.template = c.template
			got, err := input{transformer: tr}.render(docDelivery(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("render(%s)\n got %s\nwant %s", c.template, got, c.want)
			}
		})
	}
}

func TestTheEventVariables(t *testing.T) {
	tr, err := newTransformer(nil, `{"whole": <aws.events.event.json>, "meta": <aws.events.event>}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := input{transformer: tr}.render(docDelivery(t))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Whole map[string]any `json:"whole"`
		Meta  map[string]any `json:"meta"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(docEvent), &want)
	if !reflect.DeepEqual(got.Whole, want) {
		t.Errorf("<aws.events.event.json> = %v, want the whole event", got.Whole)
	}
	delete(want, "detail")
	if !reflect.DeepEqual(got.Meta, want) {
		t.Errorf("<aws.events.event> = %v, want the event without detail", got.Meta)
	}
}

func TestInputWithoutShapingIsTheWholeEvent(t *testing.T) {
	d := docDelivery(t)
	if got, _ := (input{}).render(d); string(got) != docEvent {
		t.Errorf("render = %s", got)
	}
	p, _ := parseJSONPath("$.detail.nothing")
	if got, _ := (input{path: p}).render(d); string(got) != "null" {
		t.Errorf("an absent InputPath renders %s, want null", got)
	}
}

func TestJSONPaths(t *testing.T) {
	var ev any
	_ = json.Unmarshal([]byte(`{"detail": {"lead-id": 7, "a/b": "slash", "list": [{"x": 1}, {"x": 2}], "dot.ted": "d"}}`), &ev)
	cases := []struct {
		path string
		want any
		ok   bool
	}{
		{"$", ev, true},
		{"$.detail.lead-id", 7.0, true},
		{"$.detail.a/b", "slash", true},
		{"$.detail.list[1].x", 2.0, true},
		{"$.detail['dot.ted']", "d", true},
		{`$["detail"]["lead-id"]`, 7.0, true},
		{"$.detail.list[2]", nil, false},
		{"$.detail.lead-id.deeper", nil, false},
		{"$.nothing", nil, false},
	}
	for _, c := range cases {
		p, err := parseJSONPath(c.path)
		if err != nil {
			t.Errorf("parse %s: %v", c.path, err)
			continue
		}
		got, ok := p.eval(ev)
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %v, %v; want %v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
	for _, bad := range []string{"", "detail", "$.", "$..x", "$.a[*]", "$.*", "$.a[", "$.a[-1]", "$x"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("parseJSONPath(%q) accepted", bad)
		}
	}
}

// FuzzInputTemplate: no template and no event makes rendering panic, and a template without
// placeholders renders as written.
func FuzzInputTemplate(f *testing.F) {
	f.Add(`{"a": <v>, "s": "x <v> \"<aws.events.rule-arn>\"", "e": <aws.events.event>}`, docEvent)
	f.Add(`"<aws.events.event.json> <unknown> <"`, `{"detail": [1, {"v": null}]}`)
	f.Fuzz(func(t *testing.T, template, event string) {
		var v any
		dec := json.NewDecoder(bytes.NewReader([]byte(event)))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		tr, err := newTransformer(map[string]string{"v": "$.detail.v", "w": "$.detail[0]"}, template)
		if err != nil {
			t.Fatal(err)
		}
		out, err := input{transformer: tr}.render(delivery{ruleARN: "arn", ruleName: "n", event: v, eventJSON: []byte(event)})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if !bytes.ContainsRune([]byte(template), '<') && string(out) != template {
			t.Fatalf("a template without placeholders changed: %q -> %q", template, out)
		}
	})
}
