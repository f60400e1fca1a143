package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// Two local callers, each with its own SigV4 key: a CRM integration signing as a session of its
// role, and the front desk as an IAM user.
var (
	crm = apigateway.Principal{AccessKeyID: "AKIACRMSYNC000000001", SecretAccessKey: "crm-sync-secret-local-only",
		ARN: "arn:aws:sts::123456789012:assumed-role/crm-sync/sync-session-7"}
	desk = apigateway.Principal{AccessKeyID: "AKIAFRONTDESK0000001", SecretAccessKey: "front-desk-secret-local-only",
		ARN: "arn:aws:iam::123456789012:user/front-desk"}
)

// twoCallersPolicy: the CRM role reads profile 1001 (leads, samples, reports); the front desk
// creates and updates leads on 1002 and sees its samples and reports. Nobody else may do anything
// (the default local caller included, since a file replaces the built-in policy).
const twoCallersPolicy = `
permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:role/crm-sync",
        action in [Wcbridge::Action::"get-leads", Wcbridge::Action::"get-lead",
                   Wcbridge::Action::"trigger-samples", Wcbridge::Action::"get-report"],
        resource == Wcbridge::Profile::"1001");
permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:user/front-desk",
        action in [Wcbridge::Action::"create-lead", Wcbridge::Action::"update-lead",
                   Wcbridge::Action::"trigger-samples", Wcbridge::Action::"get-report"],
        resource == Wcbridge::Profile::"1002");
`

func creds(p apigateway.Principal) *aws.Credentials {
	return &aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
}

// Every IAM route answers as the policy says, through the local API with real SigV4 signatures:
// allowed, the normal answer, audited with the policy's version; refused, 403 naming the action
// and the profile, no WhatConverts request, and an audit record of the refusal. Samples and
// reports show each caller its profiles only. Then a changed policy file is in force without a
// restart, and a broken one never widens access.
func TestTwoCallersTwoProfilesThroughTheLocalAPI(t *testing.T) {
	policyFile := filepath.Join(t.TempDir(), "policy.cedar")
	if err := os.WriteFile(policyFile, []byte(twoCallersPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startStack(t, devstack.Options{DisableSchedules: true, AccessPolicyFile: policyFile,
		Callers: []apigateway.Principal{crm, desk}})
	if banner := st.Banner(time.Now()); !strings.Contains(banner, "Access policy: "+policyFile) ||
		!strings.Contains(banner, desk.ARN) {
		t.Fatalf("the banner does not say which policy and callers are in force:\n%s", banner)
	}
	store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: st.Options.Table})
	lead1001, lead1002 := st.Sim.LeadIDs(1001)[0], st.Sim.LeadIDs(1002)[0]
	local := &aws.Credentials{AccessKeyID: st.Options.AccessKeyID, SecretAccessKey: st.Options.SecretAccessKey}

	type call struct {
		name          string
		who           *aws.Credentials
		arn           string
		method, path  string
		body          string
		action        string
		profile       int64
		want          int
		wantWhatConv  bool
		wantPolicyVer bool
	}
	leadPath := func(id int64, profile int64) string {
		return fmt.Sprintf("/leads/%d?profile_id=%d", id, profile)
	}
	createBody := func(p int64) string {
		return fmt.Sprintf(`{"profile_id": %d, "lead_type": "web_form", "send_notification": false, "email_address": "synthetic-%d@example.test"}`, p, time.Now().UnixNano())
	}
	calls := []call{
		{"crm reads 1001", creds(crm), crm.ARN, "GET", "/leads?max_items=2&profile_id=1001", "", "get-leads", 1001, 200, true, true},
		{"crm reads a lead of 1001", creds(crm), crm.ARN, "GET", leadPath(lead1001, 1001), "", "get-lead", 1001, 200, true, true},
		{"crm may not read 1002", creds(crm), crm.ARN, "GET", "/leads?max_items=2&profile_id=1002", "", "get-leads", 1002, 403, false, true},
		{"crm may not read a lead of 1002", creds(crm), crm.ARN, "GET", leadPath(lead1002, 1002), "", "get-lead", 1002, 403, false, true},
		{"crm may not create on 1001", creds(crm), crm.ARN, "POST", "/leads", createBody(1001), "create-lead", 1001, 403, false, true},
		{"crm may not update on 1001", creds(crm), crm.ARN, "PATCH", fmt.Sprintf("/leads/%d", lead1001), `{"profile_id": 1001, "quote_value": 5}`, "update-lead", 1001, 403, false, true},
		{"desk creates on 1002", creds(desk), desk.ARN, "POST", "/leads", createBody(1002), "create-lead", 1002, 201, true, true},
		{"desk updates on 1002", creds(desk), desk.ARN, "PATCH", fmt.Sprintf("/leads/%d", lead1002), `{"profile_id": 1002, "quote_value": 5}`, "update-lead", 1002, 200, true, true},
		{"desk may not read 1002", creds(desk), desk.ARN, "GET", "/leads?max_items=2&profile_id=1002", "", "get-leads", 1002, 403, false, true},
		{"desk may not create on 1001", creds(desk), desk.ARN, "POST", "/leads", createBody(1001), "create-lead", 1001, 403, false, true},
		{"the default local caller is not in this policy", local, apigateway.LocalUserARN, "GET", "/leads?max_items=2&profile_id=1001", "", "get-leads", 1001, 403, false, true},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := st.Sim.Requests()
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			r := send(t, c.method, st.APIURL+c.path, body, c.who)
			if r.status != c.want {
				t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, r.status, r.body, c.want)
			}
			if asked := st.Sim.Requests() > before; asked != c.wantWhatConv {
				t.Fatalf("WhatConverts asked: %v, want %v", asked, c.wantWhatConv)
			}
			if c.want == 403 {
				msg, _ := r.json(t)["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, c.action) || !strings.Contains(msg, strconv.FormatInt(c.profile, 10)) {
					t.Fatalf("the refusal %q does not name %s and %d", msg, c.action, c.profile)
				}
			}
			rec := recordOf(t, store, r.header.Get("X-Amzn-Requestid"))
			if rec.Actor != c.arn || rec.Action != c.action || rec.Status != c.want || rec.ProfileID != c.profile {
				t.Fatalf("audit record %+v", rec)
			}
			if c.want == 403 && rec.Outcome != audit.OutcomeRejected {
				t.Fatalf("the refusal is audited as %s", rec.Outcome)
			}
			if !strings.HasPrefix(rec.PolicyVersion, "file@sha256:") {
				t.Fatalf("the record names policy version %q", rec.PolicyVersion)
			}
		})
	}

	t.Run("samples show each caller its profiles only", func(t *testing.T) {
		for _, id := range []int64{lead1001, lead1002} {
			if err := st.Sim.FireWebhook(id, "new"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			who  apigateway.Principal
			want int64
		}{{crm, 1001}, {desk, 1002}} {
			r := send(t, "GET", st.APIURL+"/triggers/new-lead/samples", nil, creds(c.who))
			if r.status != 200 {
				t.Fatalf("%s: samples = %d %s", c.who.ARN, r.status, r.body)
			}
			var v struct {
				Samples []struct {
					Lead struct {
						ProfileID int64 `json:"profile_id"`
					} `json:"lead"`
				} `json:"samples"`
			}
			if err := json.Unmarshal(r.body, &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Samples) == 0 {
				t.Fatalf("%s sees no samples of its profile", c.who.ARN)
			}
			for _, s := range v.Samples {
				if s.Lead.ProfileID != c.want {
					t.Fatalf("%s sees a sample of profile %d", c.who.ARN, s.Lead.ProfileID)
				}
			}
		}
		r := send(t, "GET", st.APIURL+"/triggers/new-lead/samples", nil, local)
		if r.status != 403 {
			t.Fatalf("a caller with no samples permission got %d", r.status)
		}
		if rec := recordOf(t, store, r.header.Get("X-Amzn-Requestid")); rec.Outcome != audit.OutcomeRejected || rec.Status != 403 {
			t.Fatalf("refused samples audited as %+v", rec)
		}
	})

	t.Run("reports show each caller its profiles only", func(t *testing.T) {
		day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		resp, err := http.Post(st.LambdaURL+"/2015-03-31/functions/DailyReportFunction/invocations", "application/json",
			bytes.NewReader([]byte(`{"date": "`+day+`"}`)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range []struct {
			who  *aws.Credentials
			want int64
		}{{creds(crm), 1001}, {creds(desk), 1002}} {
			r := send(t, "GET", st.APIURL+"/reports/"+day, nil, c.who)
			var rep struct {
				Profiles []struct {
					ProfileID int64 `json:"profile_id"`
				} `json:"profiles"`
				Audit    json.RawMessage `json:"audit"`
				Withheld []string        `json:"withheld"`
			}
			if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 {
				t.Fatalf("report = %d %s", r.status, r.body)
			}
			if len(rep.Profiles) != 1 || rep.Profiles[0].ProfileID != c.want || rep.Audit != nil || len(rep.Withheld) == 0 {
				t.Fatalf("report shows %s, want profile %d only", r.body, c.want)
			}
		}
		if r := send(t, "GET", st.APIURL+"/reports/"+day, nil, local); r.status != 403 {
			t.Fatalf("a caller with no report permission got %d", r.status)
		}
	})

	// Hot reload: a changed file is in force within the refresh (a second), with no restart.
	t.Run("a changed policy takes effect without a restart", func(t *testing.T) {
		grant := twoCallersPolicy + `permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:role/crm-sync",
			action == Wcbridge::Action::"get-leads", resource == Wcbridge::Profile::"1002");`
		if err := os.WriteFile(policyFile, []byte(grant), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			return send(t, "GET", st.APIURL+"/leads?max_items=1&profile_id=1002", nil, creds(crm)).status == 200
		})
	})

	t.Run("a broken policy never widens access", func(t *testing.T) {
		// Would grant everyone everything if it were read leniently.
		if err := os.WriteFile(policyFile, []byte(`permit (principal, action, resource); permit (`), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // more than the file's refresh interval
		before := st.Sim.Requests()
		if r := send(t, "POST", st.APIURL+"/leads", []byte(createBody(1001)), creds(crm)); r.status != 403 {
			t.Fatalf("the broken policy widened access: %d %s", r.status, r.body)
		}
		if r := send(t, "GET", st.APIURL+"/leads?max_items=1&profile_id=1001", nil, local); r.status != 403 {
			t.Fatalf("the broken policy widened access for the local caller: %d", r.status)
		}
		if st.Sim.Requests() != before {
			t.Fatal("a refused request reached WhatConverts")
		}
		// The last good policy stays in force.
		if r := send(t, "GET", st.APIURL+"/leads?max_items=1&profile_id=1002", nil, creds(crm)); r.status != 200 {
			t.Fatalf("the last good policy is no longer in force: %d", r.status)
		}
		if !strings.Contains(st.AccessPolicy(), "REFUSED") {
			t.Fatalf("the stack does not report the refused file: %s", st.AccessPolicy())
		}
	})
}

// With no policy file the built-in policy lets the default local caller do everything, as the
// README's quick start needs.
func TestTheBuiltInPolicyLetsTheLocalCallerDoEverything(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true, Callers: []apigateway.Principal{desk}})
	if banner := st.Banner(time.Now()); !strings.Contains(banner, "Access policy: built-in") {
		t.Fatalf("the banner does not name the built-in policy:\n%s", banner)
	}
	for _, path := range []string{"/leads?max_items=1&profile_id=1001", "/leads?max_items=1&profile_id=1002", "/triggers/new-lead/samples"} {
		if r := do(t, st, "GET", st.APIURL+path, nil, true); r.status != 200 {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		// Another caller is not in the built-in policy.
		if r := send(t, "GET", st.APIURL+path, nil, creds(desk)); r.status != 403 {
			t.Fatalf("GET %s by another caller = %d", path, r.status)
		}
	}
}

func TestParseCallers(t *testing.T) {
	good := `[{"access_key_id": "AKIA1", "secret_access_key": "s1", "principal_arn": "arn:aws:iam::123456789012:role/crm"}]`
	if got, err := devstack.ParseCallers([]byte(good)); err != nil || len(got) != 1 || got[0].ARN != "arn:aws:iam::123456789012:role/crm" {
		t.Fatalf("ParseCallers = %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"not a list":        `{"access_key_id": "AKIA1"}`,
		"a missing secret":  `[{"access_key_id": "AKIA1", "principal_arn": "arn:aws:iam::1:user/x"}]`,
		"not an ARN":        `[{"access_key_id": "AKIA1", "secret_access_key": "s", "principal_arn": "crm"}]`,
		"a key twice":       `[{"access_key_id": "AKIA1", "secret_access_key": "s", "principal_arn": "arn:a"}, {"access_key_id": "AKIA1", "secret_access_key": "t", "principal_arn": "arn:b"}]`,
		"an unknown member": `[{"access_key_id": "AKIA1", "secret_access_key": "s", "principal_arn": "arn:a", "admin": true}]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := devstack.ParseCallers([]byte(bad))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), `"s"`) || strings.Contains(err.Error(), "secret_access_key\": \"") {
				t.Fatalf("the error repeats a secret: %v", err)
			}
		})
	}
}

// recordOf is the audit record of an API request, by its request ID.
func recordOf(t *testing.T, store *audit.Store, requestID string) audit.Record {
	t.Helper()
	if requestID == "" {
		t.Fatal("the answer has no request ID")
	}
	var found []audit.Record
	day := time.Now().UTC().Format("2006-01-02")
	err := store.Day(context.Background(), day, func(r audit.Record) error {
		if r.RequestID == requestID {
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("%d audit records of request %s, want 1", len(found), requestID)
	}
	return found[0]
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("not in force after 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
