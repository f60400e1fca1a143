package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestSettingsComeFromTheEnvironment(t *testing.T) {
	token := strings.Repeat("t", 40)
	creds := `{"profiles": {"2002": {"token": "2002-abc", "secret": "s1"}, "2001": {"token": "2001-abc", "secret": "s2"}}}`
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, o devstack.Options)
	}{
		{"nothing set: the documented ports, the simulator, the default credentials", map[string]string{}, func(t *testing.T, o devstack.Options) {
			if o.APIPort != 3000 || o.LambdaPort != 3001 {
				t.Errorf("ports = %d, %d; want 3000, 3001", o.APIPort, o.LambdaPort)
			}
			if o.WhatConvertsURL != "" || o.WebhookTokens != nil || o.AccessKeyID != "" || o.ParameterOverrides != nil {
				t.Errorf("options = %+v, want the stack's defaults left to it", o)
			}
		}},
		{"ports", map[string]string{"PORT": "4000", "LAMBDA_PORT": "0"}, func(t *testing.T, o devstack.Options) {
			if o.APIPort != 4000 || o.LambdaPort != 0 {
				t.Errorf("ports = %d, %d; want 4000, 0", o.APIPort, o.LambdaPort)
			}
		}},
		{"an endpoint the user set wins over the one with-services.sh exported", map[string]string{
			"WCBRIDGE_DEV_DYNAMODB_ENDPOINT": "https://dynamodb.example", "DYNAMODB_ENDPOINT": "http://127.0.0.1:18000",
			"KMS_ENDPOINT": "http://127.0.0.1:18001", "WCBRIDGE_DEV_KMS_ENDPOINT": "",
		}, func(t *testing.T, o devstack.Options) {
			if o.DynamoDBEndpoint != "https://dynamodb.example" || o.KMSEndpoint != "http://127.0.0.1:18001" {
				t.Errorf("endpoints = %s, %s", o.DynamoDBEndpoint, o.KMSEndpoint)
			}
		}},
		{"the S3 and CloudWatch Logs stand-ins with-services.sh started", map[string]string{
			"S3_ENDPOINT": "http://127.0.0.1:18002", "LOGS_ENDPOINT": "http://127.0.0.1:18002",
		}, func(t *testing.T, o devstack.Options) {
			if o.S3Endpoint != "http://127.0.0.1:18002" || o.LogsEndpoint != "http://127.0.0.1:18002" {
				t.Errorf("endpoints = %s, %s", o.S3Endpoint, o.LogsEndpoint)
			}
		}},
		{"credentials", map[string]string{
			"WCBRIDGE_WEBHOOK_TOKENS": token + ", " + strings.Repeat("u", 32), "WCBRIDGE_LOCAL_ACCESS_KEY_ID": "AKIAME", "WCBRIDGE_LOCAL_SECRET_ACCESS_KEY": "shh",
		}, func(t *testing.T, o devstack.Options) {
			if !reflect.DeepEqual(o.WebhookTokens, []string{token, strings.Repeat("u", 32)}) || o.AccessKeyID != "AKIAME" || o.SecretAccessKey != "shh" {
				t.Errorf("credentials = %v, %s, %s", o.WebhookTokens, o.AccessKeyID, o.SecretAccessKey)
			}
		}},
		{"a real WhatConverts: the report covers its keys' profiles", map[string]string{
			"WHATCONVERTS_BASE_URL": "https://wc.example/api/v1", "WHATCONVERTS_CREDENTIALS": creds,
		}, func(t *testing.T, o devstack.Options) {
			if o.WhatConvertsURL != "https://wc.example/api/v1" || o.WhatConvertsCredentials != creds || !reflect.DeepEqual(o.ReportProfiles, []int64{2001, 2002}) {
				t.Errorf("WhatConverts = %s, profiles %v", o.WhatConvertsURL, o.ReportProfiles)
			}
		}},
		{"report profiles", map[string]string{"REPORT_PROFILE_IDS": "7, 8"}, func(t *testing.T, o devstack.Options) {
			if !reflect.DeepEqual(o.ReportProfiles, []int64{7, 8}) {
				t.Errorf("profiles = %v, want [7 8]", o.ReportProfiles)
			}
		}},
		{"parameter overrides, in both of sam's forms", map[string]string{
			"WCBRIDGE_PARAMETER_OVERRIDES": "EnableNewCallFollowUp=true ParameterKey=ReportBudgetShare,ParameterValue=0.25",
		}, func(t *testing.T, o devstack.Options) {
			want := map[string]string{"EnableNewCallFollowUp": "true", "ReportBudgetShare": "0.25"}
			if !reflect.DeepEqual(o.ParameterOverrides, want) {
				t.Errorf("overrides = %v, want %v", o.ParameterOverrides, want)
			}
		}},
		{"AWS credentials pass through to the functions", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDREAL", "AWS_SECRET_ACCESS_KEY": "x", "AWS_PROFILE": "p"}, func(t *testing.T, o devstack.Options) {
			if !reflect.DeepEqual(o.AWSEnv, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDREAL", "AWS_SECRET_ACCESS_KEY": "x"}) {
				t.Errorf("AWSEnv = %v", o.AWSEnv)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := optionsFromEnv(lookupIn(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestBadSettingsAreRefusedNamingTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a port that is not a number", map[string]string{"PORT": "http"}, "PORT"},
		{"a port out of range", map[string]string{"LAMBDA_PORT": "70000"}, "LAMBDA_PORT"},
		{"the same port twice", map[string]string{"PORT": "5000", "LAMBDA_PORT": "5000"}, "must differ"},
		{"a short webhook token", map[string]string{"WCBRIDGE_WEBHOOK_TOKENS": "short"}, "WCBRIDGE_WEBHOOK_TOKENS"},
		{"an access key without its secret", map[string]string{"WCBRIDGE_LOCAL_ACCESS_KEY_ID": "AKIAME"}, "WCBRIDGE_LOCAL_SECRET_ACCESS_KEY"},
		{"a WhatConverts URL without keys", map[string]string{"WHATCONVERTS_BASE_URL": "https://wc.example/api/v1"}, "WHATCONVERTS_CREDENTIALS"},
		{"bad report profiles", map[string]string{"REPORT_PROFILE_IDS": "1001,x"}, "REPORT_PROFILE_IDS"},
		{"a parameter override without a value", map[string]string{"WCBRIDGE_PARAMETER_OVERRIDES": "EnableNewCallFollowUp"}, "WCBRIDGE_PARAMETER_OVERRIDES"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := optionsFromEnv(lookupIn(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
