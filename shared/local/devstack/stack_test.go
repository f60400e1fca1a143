package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

func TestASignedRequestThroughTheGatewayReachesTheSimulator(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true})
	before := st.Sim.RequestsByToken(wcsim.ProfileKey1001.Token)

	r := do(t, st, http.MethodGet, st.APIURL+"/leads?profile_id=1001&max_items=3", nil, true)
	if r.status != http.StatusOK {
		t.Fatalf("GET /leads = %d %s, want 200", r.status, r.body)
	}
	var got struct {
		ProfileID int64 `json:"profile_id"`
		Count     int   `json:"count"`
		Leads     []struct {
			LeadID      int64  `json:"lead_id"`
			ProfileID   int64  `json:"profile_id"`
			DateCreated string `json:"date_created"`
		} `json:"leads"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ProfileID != 1001 || got.Count != 3 || len(got.Leads) != 3 {
		t.Fatalf("answer = profile %d, count %d, %d leads; want profile 1001 and 3 leads", got.ProfileID, got.Count, len(got.Leads))
	}
	for i, l := range got.Leads {
		if l.ProfileID != 1001 {
			t.Errorf("lead %d is of profile %d", l.LeadID, l.ProfileID)
		}
		if i > 0 && l.DateCreated > got.Leads[i-1].DateCreated {
			t.Errorf("leads are not newest first: %s after %s", l.DateCreated, got.Leads[i-1].DateCreated)
		}
		if _, ok := st.Sim.Lead(l.LeadID); !ok {
			t.Errorf("lead %d is not the simulator's", l.LeadID)
		}
	}
	if after := st.Sim.RequestsByToken(wcsim.ProfileKey1001.Token); after <= before {
		t.Errorf("the simulator saw no request with profile 1001's key (%d before, %d after)", before, after)
	}
}

func TestWhatAPIGatewayRefusesIsRefusedLocally(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true})
	tests := []struct {
		name, method, path string
		signed             bool
		wantMessage        string
	}{
		{"an unsigned request to an IAM route", http.MethodGet, "/leads?profile_id=1001", false, "Missing Authentication Token"},
		{"a route the template does not define", http.MethodGet, "/nowhere", true, "Missing Authentication Token"},
		{"a method the template does not define", http.MethodDelete, "/leads/9000001?profile_id=1001", true, "Missing Authentication Token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, st, tc.method, st.APIURL+tc.path, nil, tc.signed)
			if r.status != http.StatusForbidden || r.json(t)["message"] != tc.wantMessage {
				t.Fatalf("answer = %d %s, want 403 %q", r.status, r.body, tc.wantMessage)
			}
		})
	}
	t.Run("a request signed with another secret", func(t *testing.T) {
		creds := &aws.Credentials{AccessKeyID: st.Options.AccessKeyID, SecretAccessKey: "not-the-local-secret"}
		r := send(t, http.MethodGet, st.APIURL+"/leads?profile_id=1001", nil, creds)
		if r.status != http.StatusForbidden {
			t.Fatalf("answer = %d %s, want 403", r.status, r.body)
		}
	})
	t.Run("a webhook with a wrong token", func(t *testing.T) {
		r := do(t, st, http.MethodPost, st.APIURL+"/webhooks/whatconverts?token="+strings.Repeat("x", 64), []byte(`{}`), false)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("answer = %d %s, want 401", r.status, r.body)
		}
	})
}

func TestTheSimulatorsUpdateWebhookReachesIngestAndTheBus(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true})
	leadID := st.Sim.LeadIDs(1002)[0]

	r := do(t, st, http.MethodPost, fmt.Sprintf("%s/_local/whatconverts/leads/%d/webhook?trigger=update", st.APIURL, leadID), nil, false)
	if r.status != http.StatusOK || r.json(t)["delivered"] != true {
		t.Fatalf("firing the webhook = %d %s, want 200 delivered", r.status, r.body)
	}
	d, ok := findEvent(t, busEvents(t, st), "Lead Updated", leadID)
	if !ok {
		t.Fatalf("no Lead Updated event for lead %d on the bus: %+v", leadID, busEvents(t, st))
	}
	if d.ProfileID != 1002 || d.Trigger != "updated-lead" || d.EventID == "" {
		t.Errorf("event detail = %+v, want profile 1002, trigger updated-lead and an event ID", d)
	}

	t.Run("a redelivery is acknowledged and not published again", func(t *testing.T) {
		r := do(t, st, http.MethodPost, fmt.Sprintf("%s/_local/whatconverts/leads/%d/webhook?trigger=update", st.APIURL, leadID), nil, false)
		if r.status != http.StatusOK {
			t.Fatalf("firing it again = %d %s", r.status, r.body)
		}
		n := 0
		for _, e := range busEvents(t, st) {
			if e.DetailType == "Lead Updated" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d Lead Updated events on the bus, want 1", n)
		}
	})
	t.Run("an unknown lead", func(t *testing.T) {
		r := do(t, st, http.MethodPost, st.APIURL+"/_local/whatconverts/leads/1/webhook?trigger=update", nil, false)
		if r.status != http.StatusNotFound {
			t.Fatalf("answer = %d %s, want 404", r.status, r.body)
		}
	})
}

func TestAnUpdateThroughTheAPIComesBackFromWhatConvertsAsAnUpdatedLeadEvent(t *testing.T) {
	// The whole loop: a signed PATCH, Update Lead, the simulator's edit, its webhook, ingest, the bus.
	st := startStack(t, devstack.Options{DisableSchedules: true})
	leadID := st.Sim.LeadIDs(1001)[1]

	r := do(t, st, http.MethodPatch, fmt.Sprintf("%s/leads/%d", st.APIURL, leadID), []byte(`{"profile_id": 1001, "quote_value": 125.5}`), true)
	if r.status != http.StatusOK {
		t.Fatalf("PATCH /leads/%d = %d %s, want 200", leadID, r.status, r.body)
	}
	st.Sim.WaitWebhooks()
	d, ok := findEvent(t, busEvents(t, st), "Lead Updated", leadID)
	if !ok {
		t.Fatalf("no Lead Updated event for lead %d on the bus", leadID)
	}
	if !d.HasQuoteValue {
		t.Errorf("event detail = %+v, want has_quote_value after setting a quote value", d)
	}
}

func TestTheDailyReportRunsThroughTheInvokeAPIAndIsReadThroughTheAPI(t *testing.T) {
	// As `make dev`: the digest chain starts with yesterday, so its report verifies all 24 hours.
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	st := startStack(t, devstack.Options{DisableSchedules: true, ChainSince: yesterday})
	day := yesterday.Format("2006-01-02")

	t.Run("no report yet", func(t *testing.T) {
		r := do(t, st, http.MethodGet, st.APIURL+"/reports/"+day, nil, true)
		if r.status != http.StatusNotFound {
			t.Fatalf("GET /reports/%s = %d %s, want 404", day, r.status, r.body)
		}
	})

	// What `aws lambda invoke --endpoint-url ... --function-name DailyReportFunction` sends.
	resp, err := http.Post(st.LambdaURL+"/2015-03-31/functions/DailyReportFunction/invocations", "application/json",
		bytes.NewReader([]byte(`{"date": "`+day+`"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var result map[string]any
	err = json.NewDecoder(resp.Body).Decode(&result)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke = %d (function error %q) %v", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), result)
	}
	if result["date"] != day || result["verified"] != true {
		t.Fatalf("invocation result = %v, want the report of %s, verified", result, day)
	}

	r := do(t, st, http.MethodGet, st.APIURL+"/reports/"+day, nil, true)
	if r.status != http.StatusOK {
		t.Fatalf("GET /reports/%s = %d %s, want 200", day, r.status, r.body)
	}
	var rep struct {
		Date     string `json:"date"`
		Profiles []struct {
			ProfileID int64 `json:"profile_id"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Date != day || len(rep.Profiles) != 2 || rep.Profiles[0].ProfileID != 1001 || rep.Profiles[1].ProfileID != 1002 {
		t.Fatalf("report = %s, want %s covering profiles 1001 and 1002", r.body, day)
	}
}

func TestTheREADMECommandsWorkAsPrinted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required under CI=true: the README's examples are curl commands")
		}
		t.Skip("curl is not installed")
	}
	st := startStack(t, devstack.Options{DisableSchedules: true})

	// Each example, checked by what it should answer, in the order the banner prints them.
	checks := []struct {
		marker string // identifies the example
		check  func(t *testing.T, out []byte)
	}{
		{"/webhooks/whatconverts?token=", func(t *testing.T, out []byte) {
			var v struct {
				EventID   string `json:"event_id"`
				Trigger   string `json:"trigger"`
				Duplicate bool   `json:"duplicate"`
			}
			if err := json.Unmarshal(out, &v); err != nil || v.EventID == "" || v.Trigger != "new-lead" || v.Duplicate {
				t.Fatalf("webhook answer = %s, want a new new-lead event", out)
			}
		}},
		{"--aws-sigv4", func(t *testing.T, out []byte) {
			var v struct {
				Count int               `json:"count"`
				Leads []json.RawMessage `json:"leads"`
			}
			if err := json.Unmarshal(out, &v); err != nil || v.Count != 2 || len(v.Leads) != 2 {
				t.Fatalf("Get Leads answer = %.300s, want 2 leads", out)
			}
		}},
		{"/_local/bus", func(t *testing.T, out []byte) {
			if !bytes.Contains(out, []byte(`"detail-type":"Lead Created"`)) || !bytes.Contains(out, []byte(`"lead_id":9100001`)) {
				t.Fatalf("bus = %s, want the webhook's Lead Created event", out)
			}
		}},
		{"/_local/whatconverts/leads/", func(t *testing.T, out []byte) {
			if !bytes.Contains(out, []byte(`"delivered":true`)) {
				t.Fatalf("firing the simulator's webhook = %s", out)
			}
			if _, ok := findEvent(t, busEvents(t, st), "Lead Updated", devstack.ExampleLeadID); !ok {
				t.Fatalf("no Lead Updated event for lead %d on the bus", devstack.ExampleLeadID)
			}
		}},
		{"aws lambda invoke", func(t *testing.T, out []byte) {
			if !bytes.Contains(out, []byte(`"generated_at"`)) || !bytes.Contains(out, []byte(`"StatusCode": 200`)) {
				t.Fatalf("aws lambda invoke printed %s, want the report's result and StatusCode 200", out)
			}
		}},
	}
	examples := st.Examples()
	banner := st.Banner(time.Now())
	for _, want := range []string{st.APIURL, st.LambdaURL, st.Options.WebhookTokens[0], st.Options.AccessKeyID, st.Options.SecretAccessKey, st.WhatConvertsURL} {
		if !strings.Contains(banner, want) {
			t.Errorf("the start-up banner does not show %s", want)
		}
	}
	for _, ex := range examples {
		if !strings.Contains(banner, "  "+strings.ReplaceAll(ex.Command, "\n", "\n  ")) {
			t.Errorf("the start-up banner does not print the example %q", ex.Title)
		}
	}
	if len(examples) != len(checks) {
		t.Fatalf("%d examples, want %d", len(examples), len(checks))
	}
	for i, ex := range examples {
		c := checks[i]
		if !strings.Contains(ex.Command, c.marker) {
			t.Fatalf("example %d is %q, want the one with %q", i, ex.Command, c.marker)
		}
		t.Run(ex.Title, func(t *testing.T) {
			if strings.Contains(ex.Command, "aws lambda") {
				if _, err := exec.LookPath("aws"); err != nil {
					t.Skip("the AWS CLI is not installed")
				}
			}
			cmd := exec.Command("bash", "-c", ex.Command)
			cmd.Dir = t.TempDir()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s\nfailed: %v\n%s", ex.Command, err, stderr.Bytes())
			}
			c.check(t, out)
		})
	}
}

func TestTheREADMEShowsTheExamplesExactlyAsPrinted(t *testing.T) {
	root, err := devstack.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := devstack.Examples("http://127.0.0.1:3000", "http://127.0.0.1:3001", devstack.DefaultWebhookToken,
		devstack.DefaultAccessKeyID, devstack.DefaultSecretAccessKey, true)
	for _, ex := range examples {
		if !bytes.Contains(readme, []byte(ex.Command)) {
			t.Errorf("README.md does not show, as make dev prints it:\n%s", ex.Command)
		}
	}
}

func TestTheOutboxPublisherRunsOnItsSchedule(t *testing.T) {
	var logs testenv.Logs
	st := startStack(t, devstack.Options{
		ScheduleEvery: 50 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	var every time.Duration
	for _, sc := range st.Schedules {
		if sc.Function == "PublishOutboxFunction" {
			every = sc.Every
		}
	}
	if every != 50*time.Millisecond {
		t.Fatalf("PublishOutboxFunction runs every %s, want the 50ms asked for", every)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "function=PublishOutboxFunction") {
		if time.Now().After(deadline) {
			t.Fatalf("PublishOutboxFunction was never invoked; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "function=PublishOutboxFunction") && strings.Contains(line, "error") {
			t.Fatalf("the publisher failed: %s", line)
		}
	}
}

func TestCloseStopsWhatStartStarted(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true})
	urls := []string{st.APIURL + "/_local/bus", st.LambdaURL + "/", st.WhatConvertsURL + "/leads", st.EventBridgeURL + "/"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		if resp, err := client.Get(u); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s still answers %d after Close", u, resp.StatusCode)
		}
	}
}

func TestWorkflowRulesRunOnTheLocalBusWhenTheirParametersAreOn(t *testing.T) {
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"EnableNewCallFollowUp": "true", "EnableQuoteValueUpdate": "true"},
	})
	var ids []string
	for _, r := range st.Rules.Rules() {
		ids = append(ids, r.LogicalID)
	}
	if strings.Join(ids, ",") != "NewCallFollowUpRule,QuoteValueUpdateRule" {
		t.Fatalf("rules = %v, want both workflows' rules", ids)
	}

	t.Run("a new phone call lands in the follow-up queue", func(t *testing.T) {
		body := []byte(`{"trigger": "new", "lead_id": 9200001, "profile_id": 1001, "lead_type": "Phone Call", "last_updated": "2026-11-28T10:00:00Z"}`)
		if r := do(t, st, http.MethodPost, st.WebhookURL, body, false); r.status != http.StatusOK {
			t.Fatalf("webhook = %d %s", r.status, r.body)
		}
		st.Rules.Wait()
		r := do(t, st, http.MethodGet, st.APIURL+"/_local/queues/NewCallFollowUpQueue", nil, false)
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`9200001`)) {
			t.Fatalf("GET /_local/queues/NewCallFollowUpQueue = %d %s, want the lead's event", r.status, r.body)
		}
	})

	t.Run("a quote value on an undecided lead makes it quotable in WhatConverts", func(t *testing.T) {
		var leadID int64
		for _, id := range st.Sim.LeadIDs(1001) {
			if l, _ := st.Sim.Lead(id); l["quotable"] == "Not Set" {
				leadID = id
				break
			}
		}
		if leadID == 0 {
			t.Fatal("the simulator has no lead with quotable Not Set")
		}
		// Update Lead through the API; the simulator's webhook brings the update back; the rule marks
		// the lead quotable through UpdateLeadFunction; that update comes back and matches no rule.
		r := do(t, st, http.MethodPatch, fmt.Sprintf("%s/leads/%d", st.APIURL, leadID), []byte(`{"profile_id": 1001, "quote_value": 300}`), true)
		if r.status != http.StatusOK {
			t.Fatalf("PATCH = %d %s", r.status, r.body)
		}
		for i := 0; i < 3; i++ { // webhook → rule → update → webhook
			st.Sim.WaitWebhooks()
			st.Rules.Wait()
		}
		if l, _ := st.Sim.Lead(leadID); l["quotable"] != "Yes" {
			t.Fatalf("lead %d is quotable %v, want Yes", leadID, l["quotable"])
		}
	})
}

func TestARealWhatConvertsReplacesTheSimulator(t *testing.T) {
	// Stands in for app.whatconverts.com: a simulator the stack does not own, with one profile key.
	upstream := wcsim.NewSeeded(wcsim.Options{Seed: 7})
	srv := httptest.NewServer(upstream)
	defer srv.Close()
	creds := fmt.Sprintf(`{"profiles": {"1002": {"token": %q, "secret": %q}}}`, wcsim.ProfileKey1002.Token, wcsim.ProfileKey1002.Secret)

	st := startStack(t, devstack.Options{DisableSchedules: true, WhatConvertsURL: srv.URL + "/api/v1", WhatConvertsCredentials: creds})
	if st.Sim != nil {
		t.Fatal("the stack started its own simulator although WhatConverts was configured")
	}
	r := do(t, st, http.MethodGet, st.APIURL+"/leads?max_items=1&profile_id=1002", nil, true)
	if r.status != http.StatusOK || upstream.RequestsByToken(wcsim.ProfileKey1002.Token) == 0 {
		t.Fatalf("GET /leads = %d %s; the configured WhatConverts saw %d requests", r.status, r.body, upstream.RequestsByToken(wcsim.ProfileKey1002.Token))
	}
	r = do(t, st, http.MethodPost, st.APIURL+"/_local/whatconverts/leads/9000001/webhook", nil, false)
	if r.status != http.StatusNotFound {
		t.Fatalf("the simulator's local route = %d %s, want 404 without a simulator", r.status, r.body)
	}
	for _, ex := range st.Examples() {
		if strings.Contains(ex.Command, "/_local/whatconverts") {
			t.Errorf("an example uses the simulator, which is not running: %s", ex.Command)
		}
	}
}

// Secrets a user passes in (make dev reads them from the environment) are printed by their first four
// characters only: a real token must not end up in terminal scrollback or CI logs. Defaults are
// printed whole, as the README shows them.
func TestTheBannerMasksTheSecretsTheUserSupplied(t *testing.T) {
	tokens := []string{"usertokenA-0123456789abcdefghijklmnopqrstuvwxyz", "usertokenB-0123456789abcdefghijklmnopqrstuvwxyz"}
	const keyID, secret = "AKIAUSERSUPPLIED0001", "user-supplied-secret-0123456789abcdef"
	st := startStack(t, devstack.Options{DisableSchedules: true, WebhookTokens: tokens, AccessKeyID: keyID, SecretAccessKey: secret})
	banner := st.Banner(time.Now())
	for _, s := range append([]string{keyID, secret}, tokens...) {
		if strings.Contains(banner, s) || strings.Contains(banner, s[:8]) {
			t.Errorf("the banner shows %q (or more than its first four characters)", s)
		}
		if !strings.Contains(banner, s[:4]+"...") {
			t.Errorf("the banner does not show %q masked as %q", s, s[:4]+"...")
		}
	}
	for _, want := range []string{st.APIURL, st.LambdaURL, "WCBRIDGE_WEBHOOK_TOKENS=user...,user..."} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not show %s", want)
		}
	}
}
