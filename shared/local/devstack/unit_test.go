package devstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

func repoTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	dir, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestEveryTemplateFunctionHasABuilderAndNoBuilderIsStray(t *testing.T) {
	if err := checkRegistry(repoTemplate(t), registry); err != nil {
		t.Fatal(err)
	}
}

func TestAFunctionWithoutABuilderStopsTheStackNamingIt(t *testing.T) {
	tmpl := repoTemplate(t)
	stub := func(context.Context, config.Config, *slog.Logger) (lambda.Handler, error) {
		return nil, errors.New("unused")
	}

	t.Run("missing", func(t *testing.T) {
		reg := map[string]builder{}
		for id, b := range registry {
			reg[id] = b
		}
		delete(reg, "GetReportFunction")
		err := checkRegistry(tmpl, reg)
		if err == nil || !strings.Contains(err.Error(), "no handler for GetReportFunction") {
			t.Fatalf("err = %v, want it to name GetReportFunction", err)
		}
	})
	t.Run("stray", func(t *testing.T) {
		reg := map[string]builder{"NotInTheTemplateFunction": stub}
		for id, b := range registry {
			reg[id] = b
		}
		err := checkRegistry(tmpl, reg)
		if err == nil || !strings.Contains(err.Error(), "NotInTheTemplateFunction") {
			t.Fatalf("err = %v, want it to name the stray builder", err)
		}
	})
	t.Run("refused before anything starts", func(t *testing.T) {
		// No endpoints are reachable here: the registry check must come first.
		_, err := start(context.Background(), Options{DynamoDBEndpoint: "http://127.0.0.1:1", KMSEndpoint: "http://127.0.0.1:1"}, map[string]builder{})
		if err == nil || !strings.Contains(err.Error(), "no handler for") {
			t.Fatalf("err = %v, want the registry refusal", err)
		}
	})
}

func TestAPortInUseFailsTheStartBeforeAnythingIsCreated(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	// Unreachable services: reaching them would fail differently.
	_, err = Start(context.Background(), Options{APIPort: port, DynamoDBEndpoint: "http://127.0.0.1:1", KMSEndpoint: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("err = %v, want the port refused", err)
	}
}

func TestEnvOverlaysLocalValuesOnTheTemplateEnvironment(t *testing.T) {
	tmpl := repoTemplate(t)
	b := &Backends{
		Options: Options{
			Table: "t-local", DataKeyID: "arn:data", SigningKeyID: "arn:signing", AuditBucket: "b-local",
			WebhookTokens: []string{strings.Repeat("a", 40), strings.Repeat("b", 40)}, ReportProfiles: []int64{1001, 1002},
			DynamoDBEndpoint: "http://ddb", KMSEndpoint: "http://kms",
			AWSEnv: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDPASSED"},
		},
		EventBridgeURL:          "http://bus",
		WhatConvertsURL:         "http://wc/api/v1",
		WhatConvertsCredentials: `{"profiles": {}}`,
	}
	env := func(id string) map[string]string {
		fn, ok := tmpl.Function(id)
		if !ok {
			t.Fatalf("template has no %s", id)
		}
		return b.Env(fn)
	}
	everyFunction := map[string]string{
		"AWS_REGION": "us-east-1", "DYNAMODB_ENDPOINT": "http://ddb", "KMS_ENDPOINT": "http://kms",
		"EVENTBRIDGE_ENDPOINT": "http://bus", "AWS_ACCESS_KEY_ID": "AKIDPASSED",
		"AUDIT_TABLE_NAME": "t-local", "DATA_KEY_ID": "arn:data",
	}

	tests := []struct {
		name     string
		function string
		want     map[string]string
		absent   []string
	}{
		{"the webhook gets its tokens locally instead of the secret's ARN, and the template's bus", "IngestWebhookFunction",
			map[string]string{"EVENT_BUS_NAME": "LeadEventBus", "WCBRIDGE_WEBHOOK_TOKENS": strings.Repeat("a", 40) + "," + strings.Repeat("b", 40)},
			[]string{"WEBHOOK_TOKENS_SECRET_ARN", "WHATCONVERTS_CREDENTIALS", "DIGEST_KEY_ID", "REPORT_PROFILE_IDS"}},
		{"an action gets the WhatConverts keys and URL, and no bus", "GetLeadsFunction",
			map[string]string{"WHATCONVERTS_CREDENTIALS": `{"profiles": {}}`, "WHATCONVERTS_BASE_URL": "http://wc/api/v1"},
			[]string{"WHATCONVERTS_SECRET_ARN", "EVENT_BUS_NAME", "WCBRIDGE_WEBHOOK_TOKENS"}},
		{"the report gets the signing key and bucket it verifies with, its profiles and the template's budget share", "DailyReportFunction",
			map[string]string{"SIGNING_KEY_ID": "arn:signing", "AUDIT_BUCKET_NAME": "b-local", "REPORT_PROFILE_IDS": "1001,1002", "REPORT_BUDGET_SHARE": "0.5"},
			[]string{"WHATCONVERTS_SECRET_ARN", "EVENT_BUS_NAME", "DIGEST_KEY_ID"}},
		{"the report reader gets nothing it does not declare", "GetReportFunction",
			map[string]string{}, []string{"WHATCONVERTS_CREDENTIALS", "WHATCONVERTS_BASE_URL", "DIGEST_KEY_ID", "EVENT_BUS_NAME"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := env(tc.function)
			for k, v := range everyFunction {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want it unset", k, v)
				}
			}
			// The environment loads, and holds what the function's builder requires.
			if _, err := config.FromMap(got); err != nil {
				t.Fatalf("config.FromMap: %v", err)
			}
		})
	}
}

func TestRateSchedulesRunAndCronSchedulesDoNot(t *testing.T) {
	tmpl := repoTemplate(t)
	got, err := schedulesOf(tmpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"DailyReportFunction": 0, "AuditDigestFunction": 0, "PublishOutboxFunction": time.Minute}
	if len(got) != len(want) {
		t.Fatalf("schedules = %+v, want one for each of %v", got, want)
	}
	for _, sc := range got {
		if every, ok := want[sc.Function]; !ok || sc.Every != every {
			t.Errorf("%s (%s) runs every %s, want %s", sc.Function, sc.Expression, sc.Every, want[sc.Function])
		}
	}

	disabled, _ := schedulesOf(tmpl, Options{DisableSchedules: true})
	for _, sc := range disabled {
		if sc.Every != 0 {
			t.Errorf("with schedules disabled, %s still runs every %s", sc.Function, sc.Every)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(1 minute)", time.Minute, true},
		{"rate(5 minutes)", 5 * time.Minute, true},
		{"rate(2 hours)", 2 * time.Hour, true},
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(1 minutes)", 0, false},
		{"rate(5 minute)", 0, false},
		{"rate(0 minutes)", 0, false},
		{"rate(1 second)", 0, false},
		{"rate(minute)", 0, false},
		{"cron(15 0 * * ? *)", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := parseRate(tc.expr)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseRate = %s, %v; want %s, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestShellQuoting(t *testing.T) {
	tests := []struct{ in, quote, word string }{
		{"http://127.0.0.1:3000/leads?max_items=2&profile_id=1001", `"http://127.0.0.1:3000/leads?max_items=2&profile_id=1001"`, `"http://127.0.0.1:3000/leads?max_items=2&profile_id=1001"`},
		{"AKIA:secret", `"AKIA:secret"`, "AKIA:secret"},
		{`a$b'c`, `'a$b'\''c'`, `'a$b'\''c'`},
	}
	for _, tc := range tests {
		if got := shellQuote(tc.in); got != tc.quote {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.quote)
		}
		if got := shellWord(tc.in); got != tc.word {
			t.Errorf("shellWord(%q) = %s, want %s", tc.in, got, tc.word)
		}
	}
}

func TestTheDefaultCredentialsAreLocalAndLongEnough(t *testing.T) {
	if _, err := config.ParseTokens([]byte(DefaultWebhookToken)); err != nil {
		t.Fatalf("the default webhook token is refused: %v", err)
	}
	if len(DefaultWebhookToken) != 64 {
		t.Errorf("the default webhook token has %d characters, want 64 like the generated one", len(DefaultWebhookToken))
	}
	for _, s := range []string{DefaultWebhookToken, DefaultAccessKeyID, DefaultSecretAccessKey} {
		if !strings.Contains(strings.ToLower(s), "local") {
			t.Errorf("%q does not say it is local", s)
		}
	}
}
