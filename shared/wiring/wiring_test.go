package wiring_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
	"github.com/wcbridge/wcbridge/shared/wiring/wiregetreport"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereport"
)

// Every builder refuses a configuration without what its function needs, naming the setting, and
// builds without a network call when it has it.
func TestBuildersNameWhatIsMissing(t *testing.T) {
	build := map[string]func(context.Context, config.Config, *slog.Logger) error{
		"GetLeads": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wireactions.GetLeads(c, cfg, l)
			return err
		},
		"CreateLead": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wireactions.CreateLead(c, cfg, l)
			return err
		},
		"DailyReport": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wirereport.DailyReport(c, cfg, l)
			return err
		},
		"GetReport": func(c context.Context, cfg config.Config, l *slog.Logger) error {
			_, err := wiregetreport.GetReport(c, cfg, l)
			return err
		},
	}
	creds := `{"profiles": {"1001": {"token": "0123456789abcdef", "secret": "0123456789abcdef0123"}}}`
	publicKeys := kmsPublicKey(t)
	for _, tc := range []struct {
		name, builder string
		env           map[string]string
		wantErr       string // "" builds
	}{
		{"an action needs the table and the data key", "GetLeads", map[string]string{config.EnvTable: "t"}, config.EnvDataKey},
		{"an action needs the WhatConverts credentials", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk"}, config.EnvWhatConvertsLocal},
		{"an action needs its access policy", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvWhatConvertsLocal: creds}, config.EnvAccessPolicyParameter},
		{"an action needs the account its API is in", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvWhatConvertsLocal: creds,
				config.EnvAccessPolicyBuiltin: "local", config.EnvAPIID: "a1b2c3d4e5"}, config.EnvAccountID},
		{"an action builds from its settings", "CreateLead",
			map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvWhatConvertsLocal: creds,
				config.EnvAccessPolicyBuiltin: "local", config.EnvAPIID: "a1b2c3d4e5", config.EnvAccountID: "123456789012"}, ""},
		{"the report needs the signing key to verify with", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk", config.EnvAuditBucket: "b"}, config.EnvSigningKey},
		{"the report needs the digest bucket", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk", config.EnvSigningKey: "sk"}, config.EnvAuditBucket},
		{"the report needs the writers' log groups", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk", config.EnvSigningKey: "sk", config.EnvAuditBucket: "b"}, config.EnvWriterLogGroups},
		{"the report without profiles reads no WhatConverts credentials", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk", config.EnvSigningKey: "sk", config.EnvAuditBucket: "b", config.EnvWriterLogGroups: "g1,g2", config.EnvKMSEndpoint: publicKeys.URL}, ""},
		{"the report with profiles needs them", "DailyReport",
			map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk", config.EnvSigningKey: "sk", config.EnvAuditBucket: "b", config.EnvWriterLogGroups: "g1", config.EnvReportProfiles: "1001"}, config.EnvWhatConvertsLocal},
		{"every writer needs the tag key", "GetReport", map[string]string{config.EnvTable: "t"}, config.EnvTagKey},
		{"GET /reports needs the table", "GetReport", map[string]string{}, config.EnvTable},
		{"GET /reports needs its access policy", "GetReport", map[string]string{config.EnvTable: "t", config.EnvTagKey: "tk"}, config.EnvAccessPolicyParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.FromMap(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			err = build[tc.builder](context.Background(), cfg, slog.Default())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("build: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("build error %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

// kmsPublicKey is a KMS endpoint that answers GetPublicKey with a P-256 public key, as the report's
// builder asks once for the signing key it verifies digests with.
func kmsPublicKey(t *testing.T) *httptest.Server {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "TrentService.GetPublicKey" {
			http.Error(w, `{"__type":"UnsupportedOperationException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		out, _ := json.Marshal(map[string]any{"KeyId": "sk", "PublicKey": der, "KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A secret named by its ARN is read from Secrets Manager, through the client the builder makes only
// then.
func TestASecretByARNIsReadFromSecretsManager(t *testing.T) {
	creds := `{"profiles": {"1001": {"token": "0123456789abcdef", "secret": "0123456789abcdef0123"}}}`
	var asked []string
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		asked = append(asked, r.Header.Get("X-Amz-Target")+" "+in.SecretId)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		out, _ := json.Marshal(map[string]string{"SecretString": creds})
		_, _ = w.Write(out)
	}))
	defer sm.Close()
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wc-AbCdEf"
	cfg, err := config.FromMap(map[string]string{
		config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvWhatConvertsARN: arn,
		config.EnvSecretsEndpoint: sm.URL, config.EnvDynamoDBEndpoint: "http://127.0.0.1:1",
		config.EnvAccessPolicyBuiltin: "local", config.EnvAPIID: "a1b2c3d4e5", config.EnvAccountID: "123456789012",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wireactions.GetLead(context.Background(), cfg, slog.Default()); err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(asked) != 1 || asked[0] != "secretsmanager.GetSecretValue "+arn {
		t.Fatalf("Secrets Manager was asked %q, want one GetSecretValue of the ARN", asked)
	}
}
