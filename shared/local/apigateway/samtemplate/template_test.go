package samtemplate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadTestTemplate(t *testing.T, params map[string]string) *Template {
	t.Helper()
	tmpl, err := Load("testdata/template.yaml", params)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tmpl
}

func mustFunction(t *testing.T, tmpl *Template, id string) *Function {
	t.Helper()
	fn, ok := tmpl.Function(id)
	if !ok {
		t.Fatalf("no function %s", id)
	}
	return fn
}

func TestLoadFindsTheFunctionsAndSkipsThoseWhoseConditionIsFalse(t *testing.T) {
	tmpl := loadTestTemplate(t, nil)
	var ids []string
	for _, fn := range tmpl.Functions {
		ids = append(ids, fn.LogicalID)
	}
	want := []string{"DailyReportFunction", "GetLeadFunction", "IngestWebhookFunction"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("functions = %v, want %v (ProdOnlyFunction's condition IsProd is false)", ids, want)
	}

	prod := loadTestTemplate(t, map[string]string{"Stage": "prod"})
	if _, ok := prod.Function("ProdOnlyFunction"); !ok {
		t.Error("with Stage=prod, ProdOnlyFunction should exist")
	}
}

func TestGlobalsMergeAsSAMDoes(t *testing.T) {
	tmpl := loadTestTemplate(t, nil)

	t.Run("a function's own scalar wins over Globals", func(t *testing.T) {
		if got := mustFunction(t, tmpl, "IngestWebhookFunction").Timeout; got != 5*time.Second {
			t.Errorf("Timeout = %v, want 5s", got)
		}
	})
	t.Run("Globals apply where the function says nothing", func(t *testing.T) {
		fn := mustFunction(t, tmpl, "GetLeadFunction")
		if fn.Timeout != 10*time.Second {
			t.Errorf("Timeout = %v, want 10s from Globals", fn.Timeout)
		}
		if fn.Runtime != "provided.al2023" || fn.Handler != "bootstrap" {
			t.Errorf("Runtime, Handler = %q, %q; want Globals' values", fn.Runtime, fn.Handler)
		}
		want := map[string]string{"LOG_LEVEL": "info", "TABLE_NAME": "AuditTable", "REGION": "us-east-1"}
		if !reflect.DeepEqual(fn.Environment, want) {
			t.Errorf("Environment = %v, want %v", fn.Environment, want)
		}
	})
	t.Run("environment variables merge key by key, the function's value winning", func(t *testing.T) {
		env := mustFunction(t, tmpl, "IngestWebhookFunction").Environment
		if env["LOG_LEVEL"] != "debug" {
			t.Errorf("LOG_LEVEL = %q, want the function's debug", env["LOG_LEVEL"])
		}
		if env["TABLE_NAME"] != "AuditTable" || env["REGION"] != "us-east-1" {
			t.Errorf("Globals' TABLE_NAME/REGION lost: %v", env)
		}
	})
	t.Run("a timeout from a parameter", func(t *testing.T) {
		if got := mustFunction(t, tmpl, "DailyReportFunction").Timeout; got != 60*time.Second {
			t.Errorf("Timeout = %v, want 60s from ReportTimeout's default", got)
		}
	})
	t.Run("no Timeout anywhere is SAM's 3 seconds", func(t *testing.T) {
		noGlobals, err := Parse([]byte(`
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: f/}
`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustFunction(t, noGlobals, "F").Timeout; got != 3*time.Second {
			t.Errorf("Timeout = %v, want 3s", got)
		}
	})
}

func TestIntrinsicsResolveToLocalValues(t *testing.T) {
	env := mustFunction(t, loadTestTemplate(t, nil), "IngestWebhookFunction").Environment
	tests := []struct {
		name, key, want string
	}{
		{"!Ref of a resource is its logical ID", "BUS_NAME", "EventBus"},
		{"!GetAtt of an attribute only a deployment knows is empty", "TABLE_ARN", ""},
		{"!Ref of a parameter without a default is empty", "SECRET", ""},
		{"!FindInMap with a nested !Ref", "RETENTION_DAYS", "7"},
		{"!Join of a CommaDelimitedList parameter", "PROFILES", "1001,1002"},
		{"!Select from a list parameter", "FIRST_PROFILE", "1001"},
		{"!If on a false condition", "MODE", "lenient"},
		{"long-form Fn::Sub with variables, a pseudo parameter and an escaped literal", "LONG_FORM", "dev-123456789012-${Literal}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := env[tc.key]
			if !ok {
				t.Fatalf("%s missing from %v", tc.key, env)
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
	t.Run("!If choosing AWS::NoValue removes the key", func(t *testing.T) {
		if v, ok := env["OPTIONAL"]; ok {
			t.Errorf("OPTIONAL = %q, want absent", v)
		}
	})
	t.Run("parameter overrides win over defaults", func(t *testing.T) {
		env := mustFunction(t, loadTestTemplate(t, map[string]string{"Stage": "prod", "AWS::StackName": "wcb"}), "IngestWebhookFunction").Environment
		if env["MODE"] != "strict" || env["RETENTION_DAYS"] != "2192" || env["OPTIONAL"] != "present" {
			t.Errorf("MODE, RETENTION_DAYS, OPTIONAL = %q, %q, %q; want strict, 2192, present", env["MODE"], env["RETENTION_DAYS"], env["OPTIONAL"])
		}
	})
	t.Run("!Sub with a pseudo parameter in FunctionName", func(t *testing.T) {
		tmpl := loadTestTemplate(t, map[string]string{"AWS::StackName": "wcb"})
		if got := mustFunction(t, tmpl, "GetLeadFunction").FunctionName; got != "wcb-get-lead" {
			t.Errorf("FunctionName = %q, want wcb-get-lead", got)
		}
		if got := mustFunction(t, tmpl, "DailyReportFunction").FunctionName; got != "" {
			t.Errorf("FunctionName = %q, want empty when the template sets none", got)
		}
	})
}

func TestAPIEventsCarryPathMethodAPIAndAuth(t *testing.T) {
	tmpl := loadTestTemplate(t, nil)
	got := map[string]APIEvent{}
	for _, fn := range tmpl.Functions {
		for _, e := range fn.APIEvents {
			got[fn.LogicalID+"."+e.Name] = e
		}
	}
	want := map[string]APIEvent{
		"IngestWebhookFunction.Webhook": {Name: "Webhook", Path: "/webhooks/whatconverts", Method: "POST", RestAPIID: "WcbridgeApi", Authorizer: AuthNone},
		"GetLeadFunction.GetLead":       {Name: "GetLead", Path: "/leads/{lead_id}", Method: "GET", RestAPIID: "WcbridgeApi", Authorizer: AuthIAM},
		"GetLeadFunction.Proxy":         {Name: "Proxy", Path: "/legacy/{proxy+}", Method: "ANY", RestAPIID: ImplicitAPI, Authorizer: AuthNone},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("API events:\n got %+v\nwant %+v", got, want)
	}

	api := tmpl.APIs["WcbridgeApi"]
	if api == nil || api.StageName != "dev" || api.DefaultAuthorizer != AuthIAM {
		t.Errorf("WcbridgeApi = %+v, want stage dev and default authorizer AWS_IAM", api)
	}
	if api != nil && !reflect.DeepEqual(api.BinaryMediaTypes, []string{"application/octet-stream"}) {
		t.Errorf("BinaryMediaTypes = %v, want Globals.Api's application/octet-stream", api.BinaryMediaTypes)
	}
	if _, ok := tmpl.APIs[ImplicitAPI]; !ok {
		t.Error("an Api event without RestApiId should create the implicit ServerlessRestApi")
	}
	if daily := mustFunction(t, tmpl, "DailyReportFunction"); daily.Events["Daily"].Type != "Schedule" {
		t.Errorf("Daily event = %+v, want a Schedule event kept", daily.Events["Daily"])
	} else if in, _ := daily.Events["Daily"].Properties.Get("Input").String(); in != `{"stage": "dev"}` {
		t.Errorf("schedule Input = %q, want its !Sub resolved", in)
	}
}

func TestRulesKeepPatternAndTargetsAsJSON(t *testing.T) {
	tmpl := loadTestTemplate(t, nil)
	if len(tmpl.Rules) != 1 {
		t.Fatalf("rules = %d, want 1", len(tmpl.Rules))
	}
	r := tmpl.Rules[0]
	if r.LogicalID != "LeadCreatedRule" || r.EventBusName != "EventBus" || r.State != "ENABLED" {
		t.Errorf("rule = %+v", r)
	}
	pattern, err := r.EventPattern.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	wantPattern := `{"source":["wcbridge.whatconverts"],"detail-type":["Lead Created"],` +
		`"detail":{"profile_id":[1001,"1002"],"quote_value":[{"numeric":[">",0]}],"spam":[false]}}`
	if string(pattern) != wantPattern {
		t.Errorf("EventPattern =\n %s\nwant\n %s", pattern, wantPattern)
	}
	targets, err := r.Targets.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	wantTargets := `[{"Id":"report","Arn":"arn:aws:lambda:us-east-1:123456789012:function:DailyReportFunction"},` +
		`{"Id":"queue","Arn":{"Fn::GetAtt":["SomeQueue","Arn"]},"Input":"{\"bus\": \"EventBus\"}"}]`
	if string(targets) != wantTargets {
		t.Errorf("Targets =\n %s\nwant\n %s", targets, wantTargets)
	}
}

func TestShortFormTagsDecodeLikeTheirLongForm(t *testing.T) {
	tests := []struct {
		name, short, long string
	}{
		{"Ref", `!Ref X`, `{"Ref": "X"}`},
		{"GetAtt dotted", `!GetAtt A.Arn`, `{"Fn::GetAtt": ["A", "Arn"]}`},
		{"GetAtt list", `!GetAtt [A, Arn]`, `{"Fn::GetAtt": ["A", "Arn"]}`},
		{"Sub", `!Sub "${A}-x"`, `{"Fn::Sub": "${A}-x"}`},
		{"If nested", `!If [C, !Ref A, !Ref AWS::NoValue]`, `{"Fn::If": ["C", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}`},
		{"Join", `!Join ["-", [a, !Ref B]]`, `{"Fn::Join": ["-", ["a", {"Ref": "B"}]]}`},
		{"Select", `!Select [0, !GetAZs ""]`, `{"Fn::Select": [0, {"Fn::GetAZs": ""}]}`},
		{"Equals", `!Equals [!Ref A, b]`, `{"Fn::Equals": [{"Ref": "A"}, "b"]}`},
		{"Not", `!Not [!Condition C]`, `{"Fn::Not": [{"Condition": "C"}]}`},
		{"unknown tag", `!Foo bar`, `{"Fn::Foo": "bar"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			short, err := parseValue(tc.short)
			if err != nil {
				t.Fatal(err)
			}
			long, err := parseValue(tc.long)
			if err != nil {
				t.Fatal(err)
			}
			sj, _ := json.Marshal(short)
			lj, _ := json.Marshal(long)
			if string(sj) != string(lj) {
				t.Errorf("%s = %s, %s = %s", tc.short, sj, tc.long, lj)
			}
			if short.Kind != Intrinsic {
				t.Errorf("kind = %v, want Intrinsic", short.Kind)
			}
		})
	}
}

func TestMalformedTemplatesAreRefused(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"not YAML", "Resources: [", "samtemplate"},
		{"no Resources", "Parameters: {}", "no Resources"},
		{"Ref to nothing", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {X: !Ref Nowhere}}`, `unknown parameter or resource "Nowhere"`},
		{"unknown condition", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Condition: Missing
    Properties: {}`, `unknown condition "Missing"`},
		{"route on an unknown API", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: NotAnApi}}`, `RestApiId "NotAnApi"`},
		{"an alias bomb", `
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
Resources: {}`, "too many nodes"},
		{"bad timeout", `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Timeout: soon}`, "Timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func parseValue(src string) (Value, error) {
	tmpl, err := Parse([]byte("Resources:\n  R:\n    Type: X\n    Properties:\n      V: "+src+"\n"), nil)
	if err != nil {
		return Value{}, err
	}
	return tmpl.Resources["R"].Properties.Get("V"), nil
}

func TestResourcesKeepMergedPropertiesForLaterResolution(t *testing.T) {
	tmpl := loadTestTemplate(t, nil)
	raw := tmpl.Resources["GetLeadFunction"].Properties.Path("Environment", "Variables", "REGION")
	if raw.Kind != Intrinsic || raw.Text != "Fn::Sub" {
		t.Fatalf("REGION = %+v, want Globals' unresolved !Sub merged in", raw)
	}
	v, err := tmpl.Resolve(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.String(); s != "us-east-1" {
		t.Errorf("Resolve = %q, want us-east-1", s)
	}
}
