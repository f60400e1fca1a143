package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeSM func(arn string) ([]byte, error)

func (f fakeSM) SecretValue(_ context.Context, arn string) ([]byte, error) { return f(arn) }

func TestLoadDefaultsAndValidation(t *testing.T) {
	c, err := FromMap(map[string]string{EnvTable: "t", EnvReportProfiles: "1001, 1002"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" || c.WhatConvertsURL != DefaultWhatConvertsURL || c.ReportBudgetShare != 0.5 {
		t.Fatalf("defaults: %+v", c)
	}
	if len(c.ReportProfiles) != 2 || c.ReportProfiles[1] != 1002 {
		t.Fatalf("profiles: %v", c.ReportProfiles)
	}
	if c.OutboxSettle != 0 {
		t.Fatalf("outbox settle defaults to the publisher's own, got %s", c.OutboxSettle)
	}
	if c, _ := FromMap(map[string]string{EnvOutboxSettle: "2"}); c.OutboxSettle != 2*time.Second {
		t.Fatalf("outbox settle = %s", c.OutboxSettle)
	}
	_, err = FromMap(map[string]string{EnvReportProfiles: "1001,x", EnvReportBudgetShare: "1.5", EnvOutboxSettle: "0"})
	if err == nil || !strings.Contains(err.Error(), EnvReportProfiles) || !strings.Contains(err.Error(), EnvReportBudgetShare) || !strings.Contains(err.Error(), EnvOutboxSettle) {
		t.Fatalf("want every bad setting named, got %v", err)
	}
}

func TestWorkflowRulesAreACommaSeparatedList(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        []string
	}{
		{"unset", "", nil},
		{"blank, as the template sets it when the workflow is off", " ", nil},
		{"two, with spaces and an empty entry", " arn:a , ,arn:b", []string{"arn:a", "arn:b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromMap(map[string]string{EnvWorkflowRules: c.value})
			if err != nil || strings.Join(cfg.WorkflowRules, "|") != strings.Join(c.want, "|") || len(cfg.WorkflowRules) != len(c.want) {
				t.Fatalf("WorkflowRules %q (err %v), want %q", cfg.WorkflowRules, err, c.want)
			}
		})
	}
}

func TestRequireNamesEveryMissingSetting(t *testing.T) {
	c, _ := FromMap(map[string]string{EnvTable: "t"})
	err := c.Require(EnvTable, EnvDataKey, EnvEventBus, "SOMETHING_ELSE")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, n := range []string{EnvDataKey, EnvEventBus, "SOMETHING_ELSE"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("%v does not name %s", err, n)
		}
	}
	if strings.Contains(err.Error(), EnvTable) {
		t.Errorf("%v names a setting that is set", err)
	}
}

func TestSecretPrefersSecretsManagerAndFallsBackToLocal(t *testing.T) {
	sm := fakeSM(func(arn string) ([]byte, error) {
		if arn != "arn:aws:secretsmanager:us-east-1:1:secret:wc" {
			return nil, errors.New("unexpected secret id")
		}
		return []byte("from-aws"), nil
	})
	c, _ := FromMap(map[string]string{EnvWhatConvertsARN: "arn:aws:secretsmanager:us-east-1:1:secret:wc", EnvWhatConvertsLocal: "from-env"})
	if v, err := c.Secret(context.Background(), sm, WhatConverts); err != nil || string(v) != "from-aws" {
		t.Fatalf("got %q, %v", v, err)
	}
	c, _ = FromMap(map[string]string{EnvWhatConvertsLocal: "from-env"})
	if v, err := c.Secret(context.Background(), nil, WhatConverts); err != nil || string(v) != "from-env" {
		t.Fatalf("got %q, %v", v, err)
	}
	c, _ = FromMap(nil)
	if _, err := c.Secret(context.Background(), nil, WhatConverts); err == nil || !strings.Contains(err.Error(), EnvWhatConvertsARN) {
		t.Fatalf("want the variables named, got %v", err)
	}
}

func TestParseTokens(t *testing.T) {
	a, b := strings.Repeat("a", 32), strings.Repeat("b", 40)
	for name, tc := range map[string]struct {
		raw  string
		want int
		ok   bool
	}{
		"comma list":        {a + "," + b, 2, true},
		"json object":       {`{"current":"` + a + `"}`, 1, true},
		"rotating":          {`{"current":"` + a + `","previous":"` + b + `"}`, 2, true},
		"json list":         {`["` + a + `","` + b + `"]`, 2, true},
		"too short":         {"short", 0, false},
		"three live tokens": {a + "," + b + "," + a, 0, false},
		"empty":             {"", 0, false},
		"malformed json":    {`{"current":`, 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTokens([]byte(tc.raw))
			if (err == nil) != tc.ok || len(got) != tc.want {
				t.Fatalf("got %d tokens, err %v", len(got), err)
			}
			if err != nil && (strings.Contains(err.Error(), a) || strings.Contains(err.Error(), "tooshort")) {
				t.Fatalf("error echoes a token: %v", err)
			}
		})
	}
}

// In Lambda against AWS itself, a secret comes from Secrets Manager or nowhere, and the API keys
// only ever travel over TLS. Locally (an endpoint override set) both relax.
func TestDeployedFunctionsTakeNoSecretFromTheEnvironment(t *testing.T) {
	inLambda := map[string]string{EnvLambdaFunctionName: "wcbridge-GetLeadFunction-abc"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for _, src := range []map[string]string{inLambda, extra} {
			for k, v := range src {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string // "" when the configuration loads
	}{
		{"deployed with the defaults", with(nil), ""},
		{"deployed with an https WhatConverts", with(map[string]string{EnvWhatConvertsURL: "https://wc.example/api/v1"}), ""},
		{"deployed with a plain-http WhatConverts", with(map[string]string{EnvWhatConvertsURL: "http://wc.example/api/v1"}), EnvWhatConvertsURL},
		{"deployed with a URL that is not one", with(map[string]string{EnvWhatConvertsURL: "wc.example"}), EnvWhatConvertsURL},
		{"deployed with webhook tokens in the environment", with(map[string]string{EnvWebhookTokensLocal: strings.Repeat("t", 40)}), EnvWebhookTokensLocal},
		{"deployed with API keys in the environment", with(map[string]string{EnvWhatConvertsLocal: `{"profiles": {}}`}), EnvWhatConvertsLocal},
		{"under the emulator with local endpoints", with(map[string]string{EnvDynamoDBEndpoint: "http://127.0.0.1:1", EnvWhatConvertsURL: "http://127.0.0.1:2/api/v1", EnvWhatConvertsLocal: "{}"}), ""},
		{"outside Lambda", map[string]string{EnvWhatConvertsURL: "http://127.0.0.1:2/api/v1", EnvWebhookTokensLocal: "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromMap(tc.env)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want it to load, got %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error naming %s, got %v", tc.wantErr, err)
			}
			if err != nil && strings.Contains(err.Error(), strings.Repeat("t", 40)) {
				t.Fatalf("the error carries the secret: %v", err)
			}
		})
	}

	// And Secret itself never reads the local variable once deployed, whoever built the Config.
	c := Config{lookup: func(k string) (string, bool) {
		v, ok := map[string]string{EnvLambdaFunctionName: "f", EnvWhatConvertsLocal: "from-env"}[k]
		return v, ok
	}}
	if v, err := c.Secret(context.Background(), nil, WhatConverts); err == nil || v != nil || !strings.Contains(err.Error(), EnvWhatConvertsARN) {
		t.Fatalf("deployed Secret fell back to the environment: %q, %v", v, err)
	}
}

// A function's AWS configuration takes Lambda's credentials from the environment, the local ones
// when an endpoint is local and none are set, and with neither fails every call, naming the variables.
func TestAWSCredentialsComeFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantKey string // "" when the credentials must fail
	}{
		{"Lambda's role credentials", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok",
			EnvLambdaFunctionName: "f"}, "AKIDLAMBDA"},
		{"the environment's credentials win over the local ones", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s",
			EnvDynamoDBEndpoint: "http://127.0.0.1:1"}, "AKIDENV"},
		{"local credentials for a local endpoint", map[string]string{EnvDynamoDBEndpoint: "http://127.0.0.1:1"}, "local"},
		{"no credentials, deployed", map[string]string{EnvLambdaFunctionName: "f"}, ""},
		{"a key without its secret", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", EnvLambdaFunctionName: "f"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromMap(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			ac, err := c.AWS(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			creds, err := ac.Credentials.Retrieve(context.Background())
			if tc.wantKey == "" {
				if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
					t.Fatalf("want a refusal naming AWS_ACCESS_KEY_ID, got %q, %v", creds.AccessKeyID, err)
				}
				return
			}
			if err != nil || creds.AccessKeyID != tc.wantKey {
				t.Fatalf("credentials %q, %v; want %q", creds.AccessKeyID, err, tc.wantKey)
			}
			if ac.Region != "us-east-1" {
				t.Errorf("region %q, want the default us-east-1", ac.Region)
			}
			if tok := tc.env["AWS_SESSION_TOKEN"]; creds.SessionToken != tok {
				t.Errorf("session token %q, want %q", creds.SessionToken, tok)
			}
		})
	}
}
