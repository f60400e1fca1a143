package devstack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/table"
)

// The end-to-end test of workflow 2: someone enters a quote value in WhatConverts, whose
// update webhook reaches wcbridge; the rule marks the lead quotable through Update Lead, exactly
// once, audited with the rule as actor; the update that comes back does not loop.
func TestAQuoteValueEnteredInWhatConvertsMakesTheLeadQuotableOnce(t *testing.T) {
	// WhatConverts' last_updated has whole seconds, and a webhook with the same last_updated is a
	// redelivery (the contract's de-duplication key). The simulator answers in microseconds, so its
	// clock ticks a second per reading, as the real one would between a person's edit and the rule's.
	base := time.Now().UTC().Add(-time.Hour)
	var ticks atomic.Int64
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"EnableQuoteValueUpdate": "true"},
		SimulatorNow:       func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Second) },
	})
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
	key := wcsim.ProfileKey1001
	before := st.Sim.RequestsByToken(key.Token)

	// The user edits the lead in WhatConverts (straight against the simulator's API, not wcbridge).
	form := url.Values{"quote_value": {"450"}}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/leads/%d", st.WhatConvertsURL, leadID), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(key.Token, key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("editing the lead in the simulator = %d", resp.StatusCode)
	}
	for i := 0; i < 4; i++ { // webhook → rule → Update Lead → webhook → (no rule)
		st.Sim.WaitWebhooks()
		st.Rules.Wait()
	}

	if l, _ := st.Sim.Lead(leadID); l["quotable"] != "Yes" {
		t.Fatalf("lead %d is quotable %v, want Yes", leadID, l["quotable"])
	}
	// The user's edit, then the workflow's read of the lead and exactly one edit.
	if got := st.Sim.RequestsByToken(key.Token) - before; got != 3 {
		t.Fatalf("WhatConverts saw %d requests of the profile key, want 3 (the user's edit, Get Lead, one Update Lead)", got)
	}
	updates := 0
	for _, e := range st.Bus.Events() {
		if e.DetailType == "Lead Updated" && strings.Contains(string(e.Detail), fmt.Sprintf(`"lead_id":%d`, leadID)) {
			updates++
		}
	}
	if updates != 2 {
		t.Fatalf("%d Lead Updated events for the lead, want 2 (the user's edit, then the rule's, which matches nothing)", updates)
	}

	var ruleARN string
	for _, r := range st.Rules.Rules() {
		if r.LogicalID == "QuoteValueUpdateRule" {
			ruleARN = r.ARN
		}
	}
	store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: st.Options.Table})
	var actions []string // actor and outcome of each update-lead record
	err = store.Day(context.Background(), table.Day(time.Now()), func(r audit.Record) error {
		if r.Action == "update-lead" {
			actions = append(actions, r.Actor+" "+string(r.Outcome))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := ruleARN + " " + string(audit.OutcomeOK); ruleARN == "" || len(actions) != 1 || actions[0] != want {
		t.Fatalf("update-lead audit records = %q, want exactly [%q]", actions, want)
	}
}

// A holder of the webhook token forges an Updated Lead webhook claiming a quote value for a lead
// whose real quote value is empty: the rule fires, Update Lead reads the lead from WhatConverts, finds
// no quote value, changes nothing and says why in the audit trail.
func TestAForgedUpdateWebhookChangesNothingInWhatConverts(t *testing.T) {
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"EnableQuoteValueUpdate": "true"},
	})
	leadID := st.Sim.AddLead(1001, map[string]any{"lead_type": "Web Form", "quotable": "Not Set"})
	was, _ := st.Sim.Lead(leadID)
	if was["quote_value"] != nil {
		t.Fatalf("the lead has quote value %v, want none", was["quote_value"])
	}
	key := wcsim.ProfileKey1001
	before := st.Sim.RequestsByToken(key.Token)

	forged := fmt.Sprintf(`{"trigger": "update", "lead_id": %d, "profile_id": 1001, "lead_type": "Web Form",
		"quotable": "Not Set", "quote_value": 99999, "last_updated": "2026-11-28T10:00:00Z"}`, leadID)
	if r := do(t, st, http.MethodPost, st.WebhookURL, []byte(forged), false); r.status != http.StatusOK {
		t.Fatalf("webhook = %d %s", r.status, r.body)
	}
	st.Rules.Wait()

	if now, _ := st.Sim.Lead(leadID); fmt.Sprint(now) != fmt.Sprint(was) {
		t.Fatalf("the lead changed in WhatConverts:\nwas %v\nnow %v", was, now)
	}
	if got := st.Sim.RequestsByToken(key.Token) - before; got != 1 {
		t.Fatalf("WhatConverts saw %d requests of the profile key, want 1 (the read, no edit)", got)
	}
	store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: st.Options.Table})
	var got []string
	err := store.Day(context.Background(), table.Day(time.Now()), func(r audit.Record) error {
		if strings.HasPrefix(r.Actor, "arn:aws:events:") {
			got = append(got, fmt.Sprintf("%s %d", r.Action, r.Status))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"get-lead 200", "update-lead 409"}; !slices.Equal(got, want) {
		t.Fatalf("the rule's audit records = %q, want %q (the read, and the refusal that says why)", got, want)
	}
}

// Workflow 1: one queue message per new phone-call lead, none for other leads, and no PHI in it.
func TestEachNewPhoneCallLeadPutsOneMessageWithoutPHIOnTheFollowUpQueue(t *testing.T) {
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"EnableNewCallFollowUp": "true"},
	})
	phi := []string{"Synthetic Patient Quinn", "quinn.patient@example.test", "+15550100777"}
	deliver := func(leadID int64, leadType, trigger string) {
		body := fmt.Sprintf(`{"trigger": %q, "lead_id": %d, "profile_id": 1001, "lead_type": %q,
			"last_updated": "2026-11-28T10:00:00Z", "contact_name": %q, "email_address": %q, "phone_number": %q}`,
			trigger, leadID, leadType, phi[0], phi[1], phi[2])
		if r := do(t, st, http.MethodPost, st.WebhookURL, []byte(body), false); r.status != http.StatusOK {
			t.Fatalf("webhook = %d %s", r.status, r.body)
		}
	}
	deliver(9300001, "Phone Call", "new")
	deliver(9300001, "Phone Call", "new") // a redelivery: no second message
	deliver(9300002, "Phone Call", "new")
	deliver(9300003, "Web Form", "new")
	deliver(9300001, "Phone Call", "update")
	st.Rules.Wait()

	msgs := st.Rules.Queue("NewCallFollowUpQueue")
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (one per new phone-call lead): %+v", len(msgs), msgs)
	}
	for i, want := range []string{"9300001", "9300002"} {
		if !strings.Contains(msgs[i].Body, `"lead_id":`+want) {
			t.Errorf("message %d = %s, want lead %s", i, msgs[i].Body, want)
		}
		for _, p := range phi {
			if strings.Contains(msgs[i].Body, p) {
				t.Errorf("message %d holds PHI: %s", i, msgs[i].Body)
			}
		}
	}
}
