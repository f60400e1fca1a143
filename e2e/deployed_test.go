package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/config"
)

// deployed runs the shipped bootstraps as Lambda runs them in AWS (a function name, no local
// endpoint) with what must never configure a deployed function: a secret in the environment
// instead of Secrets Manager, or WhatConverts over plain http. Each must refuse to start, naming
// the variable and never its value, before it makes a single AWS or WhatConverts call.
func (s *suite) deployed(t *testing.T) {
	const secret = "sEcReT-value-that-must-not-be-logged-0123456789"
	for _, tc := range []struct {
		name, id string
		env      map[string]string
		want     string // the variable the cold-start error names
	}{
		{"webhook tokens in the environment", "IngestWebhookFunction",
			map[string]string{config.EnvWebhookTokensLocal: secret}, config.EnvWebhookTokensLocal},
		{"API keys in the environment", "GetLeadsFunction",
			map[string]string{config.EnvWhatConvertsLocal: `{"profiles": {"1": {"token": "` + secret + `", "secret": "x"}}}`}, config.EnvWhatConvertsLocal},
		{"WhatConverts over plain http", "GetLeadsFunction",
			map[string]string{config.EnvWhatConvertsURL: "http://app.whatconverts.com/api/v1"}, config.EnvWhatConvertsURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, ok := s.bins[tc.id]
			if !ok {
				t.Fatalf("no bootstrap was built for %s: it is in the Makefile's FUNCTIONS and functions/", tc.id)
			}
			fn, _ := s.tmpl.Function(tc.id)
			env := map[string]string{"AWS_REGION": "us-east-1"}
			for k, v := range fn.Environment { // the template's variables; no endpoint override
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			e := startEmulator(t, s.rie, bin, fn, env, nil) // no endpoints, so no local log group
			// The emulator answers 502 when the runtime exits during init, as Lambda fails the invocation.
			status, body := invokeRaw(t, e, []byte(`{}`))
			if status != http.StatusBadGateway {
				t.Fatalf("%s answered %d: %s; want 502, a cold-start failure", tc.id, status, body)
			}
			logs := waitLogs(e, "cold start failed")
			if !strings.Contains(logs, "cold start failed") || !strings.Contains(logs, tc.want) {
				t.Errorf("%s's cold-start failure does not name %s:\n%s", tc.id, tc.want, logs)
			}
			if strings.Contains(logs, secret) || strings.Contains(body, secret) {
				t.Errorf("%s logged the secret value", tc.id)
			}
		})
	}
}

// invokeRaw sends one event and returns the emulator's answer, whatever its status.
func invokeRaw(t *testing.T, e *emulator, event []byte) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(e.url, "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatalf("invoke %s: %v", e.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitLogs returns the emulator's output once it contains s, or after 5 s.
func waitLogs(e *emulator, s string) string {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), s) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return e.logs.String()
}
