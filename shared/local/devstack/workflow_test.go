package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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
	// The simulator's clock ticks a second per reading, as the real one may between a person's edit
	// and the rule's (within one second: TestAQuoteValueAndItsEchoInTheSameSecondAreTwoEvents).
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
	// The user's edit and exactly one Update Lead call (a profile key's edit is one request).
	if got := st.Sim.RequestsByToken(key.Token) - before; got != 2 {
		t.Fatalf("WhatConverts saw %d requests of the profile key, want 2 (the user's edit and one Update Lead)", got)
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

// Issue 20 through the local stack: WhatConverts' clock does not tick between a person's edit and the
// rule's (the real echo comes 14 ms later, last_updated has whole seconds). The edit and the rule's
// echo are two states and both reach the bus; a redelivery of either, even 50 at once, does not.
func TestAQuoteValueAndItsEchoInTheSameSecondAreTwoEvents(t *testing.T) {
	frozen := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	st := startStack(t, devstack.Options{
		DisableSchedules:   true,
		ParameterOverrides: map[string]string{"EnableQuoteValueUpdate": "true"},
		SimulatorNow:       func() time.Time { return frozen },
	})
	// The simulator's deliveries pass through a recorder on their way to the ingest route, so the test
	// can send the very same bodies again.
	var mu sync.Mutex
	var delivered [][]byte
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, body)
		mu.Unlock()
		resp, err := http.Post(st.WebhookURL, "application/json", bytes.NewReader(body))
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(rec.Close)
	st.Sim.SetWebhookURL(rec.URL)

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
	for range 4 { // webhook → rule → Update Lead → webhook → (no rule)
		st.Sim.WaitWebhooks()
		st.Rules.Wait()
	}

	type detail struct {
		EventID       string `json:"event_id"`
		LeadID        int64  `json:"lead_id"`
		LastUpdated   string `json:"last_updated"`
		Quotable      string `json:"quotable"`
		HasQuoteValue bool   `json:"has_quote_value"`
	}
	updates := func() []detail {
		var out []detail
		for _, e := range st.Bus.Events() {
			var d detail
			if e.DetailType == "Lead Updated" && json.Unmarshal(e.Detail, &d) == nil && d.LeadID == leadID {
				out = append(out, d)
			}
		}
		return out
	}
	got := updates()
	if len(got) != 2 {
		t.Fatalf("%d Lead Updated events for the lead, want 2 (the quote added; quotable Yes): %+v", len(got), got)
	}
	if !got[0].HasQuoteValue || got[0].Quotable != "Not Set" || !got[1].HasQuoteValue || got[1].Quotable != "Yes" ||
		got[0].LastUpdated != got[1].LastUpdated {
		t.Fatalf("Lead Updated events %+v, want the quote added (Not Set) then quotable Yes, in one second", got)
	}
	if l, _ := st.Sim.Lead(leadID); l["quotable"] != "Yes" {
		t.Fatalf("lead %d is quotable %v in WhatConverts, want Yes", leadID, l["quotable"])
	}
	mu.Lock()
	bodies := append([][]byte(nil), delivered...)
	mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("the simulator delivered %d webhooks, want 2", len(bodies))
	}

	redeliver := func(body []byte) (eventID string, duplicate bool) {
		resp, err := http.Post(st.WebhookURL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return "", false
		}
		defer resp.Body.Close()
		var a struct {
			EventID   string `json:"event_id"`
			Duplicate bool   `json:"duplicate"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&a) != nil {
			t.Errorf("redelivery answered %d", resp.StatusCode)
		}
		return a.EventID, a.Duplicate
	}
	for i, body := range bodies {
		if id, dup := redeliver(body); !dup || id != got[i].EventID {
			t.Errorf("redelivery of webhook %d: event %s duplicate %t, want a duplicate of %s", i+1, id, dup, got[i].EventID)
		}
	}
	var wg sync.WaitGroup
	var fresh atomic.Int64
	for range 50 {
		wg.Go(func() {
			if id, dup := redeliver(bodies[1]); !dup || id != got[1].EventID {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if n := fresh.Load(); n != 0 {
		t.Errorf("%d of 50 concurrent redeliveries of the echo were not duplicates of its event", n)
	}
	st.Rules.Wait()
	if after := updates(); len(after) != 2 {
		t.Fatalf("%d Lead Updated events for the lead after the redeliveries, want still 2", len(after))
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
