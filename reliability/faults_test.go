package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// scenario is one injected fault: it injects, drives the stack, clears and checks.
type scenario struct {
	name string
	run  func(t *testing.T)
}

// canaries numbers the synthetic PHI of each scenario's deliveries, after the load's.
var canaries atomic.Int64

func init() { canaries.Store(1_000_000) }

// faults are the scenarios, in an order that matters: the KMS one right after the load, while the
// warm instance's data key is young; and, because the SDK's retry quota (a token bucket per client) is
// spent by a long outage and refilled by successes only, the scenarios that need the SDK's retries (a
// lost answer, a fault on some requests) before the total outages.
func (s *suite) faults() []scenario {
	dynamo := func(f fault) func() { return func() { s.ddbProxy.set(f) } }
	return []scenario{
		// First: a warm instance absorbs a KMS outage only while its data key is young (5 minutes).
		{"kms: unreachable (connections dropped), warm and cold instances", s.kmsUnavailable},
		// The SDK retries a write whose answer was lost; the retry finds the item its first attempt
		// wrote and is recognised as the same write (audit.Store's condition), so every delivery is
		// acknowledged, and each first delivery as new.
		{"dynamodb: a write takes effect but its answer is lost (every 2nd PutItem)", func(t *testing.T) {
			s.webhookFault(t, "dynamodb lost answer", dynamo(fault{mode: faultLostAnswer, ops: []string{"PutItem"}, every: 2}),
				s.ddbProxy.clear, mustAll200)
		}},
		{"dynamodb: 500 InternalServerError on every 3rd request", func(t *testing.T) {
			s.webhookFault(t, "dynamodb 500, 1 in 3", dynamo(fault{mode: fault500, every: 3}), s.ddbProxy.clear, mayFail)
		}},
		{"dynamodb: ProvisionedThroughputExceededException on every 2nd request", func(t *testing.T) {
			s.webhookFault(t, "dynamodb throttled, 1 in 2", dynamo(fault{mode: faultThrottle, every: 2}), s.ddbProxy.clear, mayFail)
		}},
		{"dynamodb: 500 InternalServerError on every request", func(t *testing.T) {
			s.webhookFault(t, "dynamodb 500, all", dynamo(fault{mode: fault500}), s.ddbProxy.clear, mustFail)
		}},
		{"dynamodb: ThrottlingException on every request", func(t *testing.T) {
			s.webhookFault(t, "dynamodb throttled, all", dynamo(fault{mode: faultThrottle, typ: "com.amazon.coral.availability#ThrottlingException"}),
				s.ddbProxy.clear, mustFail)
		}},
		{"dynamodb: never answers (the function's deadline)", s.dynamoNeverAnswers},
		{"bus: every PutEvents call fails", func(t *testing.T) {
			s.webhookFault(t, "bus PutEvents failing", s.stack.Bus.FailAllRequests, s.stack.Bus.ClearFaults, mustAll200)
		}},
		{"bus: entries fail (FailedEntryCount)", func(t *testing.T) {
			s.webhookFault(t, "bus entries failing", func() { s.stack.Bus.FailNextEntries(1000) }, s.stack.Bus.ClearFaults, mustAll200)
		}},
		{"whatconverts: 429 on every request", func(t *testing.T) {
			s.whatConvertsFault(t, "whatconverts 429", wcsim.Faults{Force429: 1 << 20}, http.StatusServiceUnavailable, "upstream_unavailable")
		}},
		{"whatconverts: 500 on every request", func(t *testing.T) {
			s.whatConvertsFault(t, "whatconverts 500", wcsim.Faults{Fail5xx: 1 << 20, FailStatus: 500}, http.StatusBadGateway, "upstream_error")
		}},
		{"whatconverts: 503 on every request", func(t *testing.T) {
			s.whatConvertsFault(t, "whatconverts 503", wcsim.Faults{Fail5xx: 1 << 20, FailStatus: 503}, http.StatusBadGateway, "upstream_error")
		}},
		{"whatconverts: never answers", func(t *testing.T) {
			s.whatConvertsFault(t, "whatconverts hang", wcsim.Faults{Hang: true}, http.StatusGatewayTimeout, "upstream_timeout")
		}},
	}
}

// What callers may see during a webhook fault.
type expectation int

const (
	mustAll200 expectation = iota // the fault is absorbed: every valid delivery is acknowledged, its first as new
	mayFail                       // some deliveries fail (a contract 500), the rest are acknowledged
	mustFail                      // no valid delivery can be acknowledged
)

// webhookFault sends 40 New Lead webhooks, 5 redeliveries and 5 invalid ones at concurrency 5 with
// the fault in place, checks what the senders saw, clears the fault, redelivers what was not
// acknowledged (as WhatConverts retries), runs the outbox publisher and checks that every
// acknowledged event has exactly one record and reached the bus.
func (s *suite) webhookFault(t *testing.T, name string, inject, clear func(), want expectation) {
	s.webhookFaultOn(t, s.stack, name, inject, clear, want)
}

func (s *suite) webhookFaultOn(t *testing.T, st *devstack.Stack, name string, inject, clear func(), want expectation) {
	first := int(canaries.Add(100)) - 100
	// The leads come from the first stack's simulator whichever stack receives them, so that no two
	// scenarios ever deliver the same lead.
	valid := s.validDeliveries(t, s.stack.Sim, s.stack.Sim.AddLeads(1001, 40), first)
	ds := append([]*delivery(nil), valid...)
	for i := range 5 {
		ds = append(ds, redelivery(valid[i*7]))
	}
	for i := range 5 {
		ds = append(ds, s.invalidDelivery(i*3, valid[i].body))
	}
	keys := make([]string, len(valid))
	for i, d := range valid {
		keys[i] = d.key
	}

	inject()
	answers := s.send(t, st.APIURL, ds, 5)
	clear()
	during := statusLine(answers)
	t.Logf("%s: callers saw %s", name, during)

	oks := 0
	for _, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s: a delivery got no answer: %v", name, a.err)
		case a.status == http.StatusOK:
			if a.d.key == "" {
				t.Errorf("%s: an invalid delivery (%s) was acknowledged", name, a.d.kind)
				continue
			}
			oks++
			// Never a 200 without a durable record: read it straight from dynalite.
			if item := s.record(t, a.eventID); item == nil {
				t.Errorf("%s: %s was acknowledged (event_id %s) but has no record", name, a.d.key, a.eventID)
			}
		case a.d.key == "" && a.status == a.d.wantStatus && a.code == a.d.wantCode:
			// refused as the contract says
		case a.status == http.StatusInternalServerError && a.code == "internal":
			// the contract's answer when the delivery (or a refusal's audit record) could not be written
			if want == mustAll200 && a.d.key != "" {
				t.Errorf("%s: %s failed (500) although this fault should be absorbed", name, a.d.key)
			}
		case a.gateway != "":
			// API Gateway's own answer: the function gave none in time (its table writes are bounded
			// by its deadline, so a failing table must be answered with the contract's 500).
			t.Errorf("%s: %s answered %d by API Gateway itself (%q): the function gave no answer", name, describe(a.d), a.status, a.gateway)
		default:
			t.Errorf("%s: %s answered %d %q: not a contract answer to this fault", name, describe(a.d), a.status, a.code)
		}
	}
	if want == mustFail && oks > 0 {
		t.Errorf("%s: %d deliveries were acknowledged while every write failed", name, oks)
	}

	// Once cleared: WhatConverts retries what was not acknowledged; the outbox publisher runs.
	var retry []*delivery
	for _, d := range valid {
		if !s.events.isAcknowledged(d.key) {
			retry = append(retry, redelivery(d))
		}
	}
	again := s.send(t, st.APIURL, retry, 5)
	for _, a := range again {
		if a.err != nil || a.status != http.StatusOK {
			t.Errorf("%s: after clearing, %s answered %d %q %v, want 200", name, a.d.key, a.status, a.code, a.err)
		}
	}
	swept := s.sweep(t)
	if n := s.pendingOutbox(t); n != 0 {
		t.Errorf("%s: %d events still on the outbox after the sweep", name, n)
	}
	lost, dups, republished := s.checkEvents(t, keys, false)
	// An event acknowledged only as a "duplicate" never had its first delivery answered as new: its
	// inline publish was skipped and only the outbox sweep put it on the bus.
	noNew := 0
	for _, e := range s.events.acknowledged(keys) {
		if e.news == 0 {
			noNew++
		}
	}
	if want == mustAll200 && noNew > 0 {
		t.Errorf("%s: %d events were never answered as new although every delivery was absorbed", name, noNew)
	}
	line := fmt.Sprintf("%-26s callers: %s; after clearing %d redelivered -> %s; swept %d; lost %d, duplicate records %d, re-published %d",
		name+":", during, len(retry), orNone(statusLine(again)), swept.Published, lost, dups, republished)
	if noNew > 0 {
		line += fmt.Sprintf("; %d events never answered as new (a first delivery's write landed but it was answered 500: published by the sweep)", noNew)
	}
	s.summary.addFault(line)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func describe(d *delivery) string {
	if d.key == "" {
		return "an invalid delivery (" + d.kind + ")"
	}
	return d.key
}

// dynamoNeverAnswers holds every DynamoDB request unanswered. The function bounds its table writes by
// its invocation's deadline less a margin, so each delivery is answered with the contract's 500 (and
// nothing acknowledged) before the function's timeout; unbounded, the writes would wait until Lambda
// ended the invocation and API Gateway answered its own 502. Two deliveries, one at a time (each
// takes the function's whole time: the local gateway runs one invocation at a time): a valid one,
// whose event record cannot be written, and one with a wrong token, whose rejection record cannot.
// Once cleared, the valid one is redelivered and acknowledged as new.
func (s *suite) dynamoNeverAnswers(t *testing.T) {
	const name = "dynamodb never answers"
	first := int(canaries.Add(100)) - 100
	valid := s.validDeliveries(t, s.stack.Sim, s.stack.Sim.AddLeads(1001, 1), first)[0]
	var refused *delivery
	for i, k := range invalidKinds {
		if k.kind == "wrong token" {
			refused = s.invalidDelivery(i, valid.body)
		}
	}

	s.ddbProxy.set(fault{mode: faultHang})
	start := time.Now()
	answers := s.send(t, s.stack.APIURL, []*delivery{valid, refused}, 1)
	took := time.Since(start)
	s.ddbProxy.clear()
	during := statusLine(answers)
	t.Logf("%s: callers saw %s in %s", name, during, took.Round(100*time.Millisecond))
	for _, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s: %s got no answer: %v", name, describe(a.d), a.err)
		case a.gateway != "":
			t.Errorf("%s: %s answered %d by API Gateway itself (%q): the function ran out of time", name, describe(a.d), a.status, a.gateway)
		case a.status != http.StatusInternalServerError || a.code != "internal":
			t.Errorf("%s: %s answered %d %q, want the contract's 500 internal", name, describe(a.d), a.status, a.code)
		}
	}

	again := s.send(t, s.stack.APIURL, []*delivery{redelivery(valid)}, 1)
	for _, a := range again {
		if a.err != nil || a.status != http.StatusOK || a.duplicate {
			t.Errorf("%s: after clearing, %s answered %d %q (duplicate %v) %v, want 200 new", name, a.d.key, a.status, a.code, a.duplicate, a.err)
		}
	}
	swept := s.sweep(t)
	lost, dups, republished := s.checkEvents(t, []string{valid.key}, false)
	s.summary.addFault(fmt.Sprintf("%-26s callers (one at a time, in %s): %s; after clearing 1 redelivered -> %s; swept %d; lost %d, duplicate records %d, re-published %d",
		name+":", took.Round(100*time.Millisecond), during, orNone(statusLine(again)), swept.Published, lost, dups, republished))
}

// kmsUnavailable drops every connection to KMS. A warm instance absorbs it: its data key is cached
// (reused for 5 minutes and 10,000 messages), so it needs no KMS call. A cold instance (a second
// stack: every function built anew, sharing the table and keys) cannot seal, so it must refuse with
// a contract 500 and acknowledge nothing; once KMS is back, the redeliveries are acknowledged.
func (s *suite) kmsUnavailable(t *testing.T) {
	refuse := func() { s.kmsProxy.set(fault{mode: faultRefuse}) }
	s.webhookFault(t, "kms down, warm instance", refuse, s.kmsProxy.clear, mustAll200)
	cold := s.startStack(t, devstack.Options{SimulatorSeed: 12})
	s.webhookFaultOn(t, cold, "kms down, cold instance", refuse, s.kmsProxy.clear, mustFail)
}

// whatConvertsFault injects a WhatConverts fault and calls the four actions: each must answer the
// contract's status and code (with Retry-After for 503). Once cleared, the create and update are
// retried with their Idempotency-Keys. A 5xx released the key, so the retries run and succeed; but
// a create that timed out (504) may still be applied by WhatConverts, so its 504 was kept, and the
// retry replays it rather than create the lead a second time. Either way the simulator ends with at
// most one new lead: nothing applied twice, nothing acknowledged lost.
func (s *suite) whatConvertsFault(t *testing.T, name string, f wcsim.Faults, status int, code string) {
	sim := s.stack.Sim
	lead := sim.LeadIDs(1001)[0]
	before := len(sim.LeadIDs(1001))
	n := int(canaries.Add(1))
	createKey, updateKey := "create-"+randomHex(8), "update-"+randomHex(8)
	create := createLeadBody(n)
	update := []byte(`{"profile_id": 1001, "quote_value": 250, "quotable": "yes"}`)
	leadPath := "/leads/" + strconv.FormatInt(lead, 10)

	sim.SetFaults(f)
	start := time.Now()
	calls := map[string]call{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	do := func(what, method, path string, body []byte, key string) {
		wg.Go(func() {
			c := s.callAction(s.ctx, method, path, body, key)
			mu.Lock()
			calls[what] = c
			mu.Unlock()
		})
	}
	do("get leads", http.MethodGet, "/leads?max_items=5&profile_id=1001", nil, "")
	do("get lead", http.MethodGet, leadPath+"?profile_id=1001", nil, "")
	do("create lead", http.MethodPost, "/leads", create, createKey)
	do("update lead", http.MethodPatch, leadPath, update, updateKey)
	wg.Wait()
	took := time.Since(start)
	sim.SetFaults(wcsim.Faults{})

	summary := ""
	for _, what := range []string{"get leads", "get lead", "create lead", "update lead"} {
		c := calls[what]
		wantCall(t, name+": "+what, c, status, code)
		if status == http.StatusServiceUnavailable && c.retryAfter == "" {
			t.Errorf("%s: %s answered 503 without Retry-After", name, what)
		}
		summary += fmt.Sprintf("%s %d %s; ", what, c.status, c.code)
	}
	if after := len(sim.LeadIDs(1001)); after != before {
		t.Errorf("%s: the simulator holds %d new leads after failed creates, want 0", name, after-before)
	}

	// A request the simulator held (Hang) is answered normally once the fault is cleared: a create
	// that timed out for the caller may still be applied, as WhatConverts may apply a slow request.
	time.Sleep(300 * time.Millisecond)
	appliedLate := len(sim.LeadIDs(1001)) - before

	// Cleared: the caller retries the create and the update with the same keys, then the create once
	// more, which must replay the first retry's stored answer.
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	createStatus, createCode := http.StatusCreated, ""
	if status == http.StatusGatewayTimeout {
		// The timed-out create's 504 is kept under its key (actions/doc.go): the retry replays it.
		createStatus, createCode = http.StatusGatewayTimeout, code
	}
	retried := s.callAction(ctx, http.MethodPost, "/leads", create, createKey)
	wantCall(t, name+": create lead retried", retried, createStatus, createCode)
	if status == http.StatusGatewayTimeout && !retried.replayed {
		t.Errorf("%s: the retried create ran again instead of replaying the timed-out one's 504", name)
	}
	wantCall(t, name+": update lead retried", s.callAction(ctx, http.MethodPatch, leadPath, update, updateKey), http.StatusOK, "")
	replay := s.callAction(ctx, http.MethodPost, "/leads", create, createKey)
	wantCall(t, name+": create lead replayed", replay, createStatus, createCode)
	if !replay.replayed {
		t.Errorf("%s: the create was run again under a used Idempotency-Key instead of replayed", name)
	}
	wantCall(t, name+": get leads after", s.callAction(ctx, http.MethodGet, "/leads?max_items=5&profile_id=1001", nil, ""), http.StatusOK, "")
	created := len(sim.LeadIDs(1001)) - before
	note := "the retried create made the one lead; its replay answered the stored 201"
	switch {
	case status != http.StatusGatewayTimeout && appliedLate == 0 && created == 1:
	case status == http.StatusGatewayTimeout && created <= 1 && created >= appliedLate:
		// At most one lead: the one WhatConverts applied late, if it did (it may apply it later than
		// appliedLate looked). The caller learns which with Get Leads (email filter) and creates
		// under a new key only if the lead is not there.
		note = fmt.Sprintf("the create's 504 was kept under its Idempotency-Key and replayed to the retries; "+
			"leads created: %d (applied by WhatConverts after the 504), never a second", created)
	default:
		t.Errorf("%s: %d leads created (%d of them by the failed requests), want exactly 1 by the retry, or for a timed-out create at most the one applied late",
			name, created, appliedLate)
	}
	s.summary.addFault(fmt.Sprintf("%-26s callers (in %s): %safter clearing: %s",
		name+":", took.Round(100*time.Millisecond), summary, note))
}
