package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// delivery is one POST of the webhook route, as WhatConverts (or someone else) would send it.
type delivery struct {
	key         string // the event it delivers: its lead, trigger and last_updated ("" when invalid)
	kind        string // an invalid delivery's defect
	body        []byte
	token       string // "" sends none
	contentType string
	wantStatus  int    // for an invalid delivery, the contract's answer; 0 for a valid one
	wantCode    string // the contract's error code for an invalid one
}

// answer is what the sender saw.
type answer struct {
	d          *delivery
	status     int
	code       string // the contract error's code, for an error answer
	gateway    string // API Gateway's own error message ({"message": ...}), when the function gave no answer
	eventID    string
	duplicate  bool
	latency    time.Duration
	err        error // the request got no answer at all
	retryAfter string
}

// ledger is every event the run delivered and what each delivery of it was answered.
type ledger struct {
	mu     sync.Mutex
	events map[string]*event
	order  []string
}

type event struct {
	key      string
	body     []byte
	eventIDs map[string]bool // the event_ids its 200s carried (must be one)
	oks      int             // 200 answers
	news     int             // 200 answers with duplicate false (must be one once acknowledged)
	failures int             // answers other than 200
}

func newLedger() *ledger { return &ledger{events: map[string]*event{}} }

// note records an answer to a valid delivery.
func (l *ledger) note(a answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events[a.d.key]
	if e == nil {
		e = &event{key: a.d.key, body: a.d.body, eventIDs: map[string]bool{}}
		l.events[a.d.key] = e
		l.order = append(l.order, a.d.key)
	}
	if a.status == http.StatusOK {
		e.oks++
		e.eventIDs[a.eventID] = true
		if !a.duplicate {
			e.news++
		}
	} else {
		e.failures++
	}
}

// acknowledged are the events that got at least one 200, among keys (all when nil).
func (l *ledger) acknowledged(keys []string) []*event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if keys == nil {
		keys = l.order
	}
	var out []*event
	for _, k := range keys {
		if e := l.events[k]; e != nil && e.oks > 0 {
			out = append(out, e)
		}
	}
	return out
}

// isAcknowledged says whether the event got a 200.
func (l *ledger) isAcknowledged(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events[key]
	return e != nil && e.oks > 0
}

// eventID is the one event_id of an acknowledged event.
func (e *event) eventID() string {
	for id := range e.eventIDs {
		return id
	}
	return ""
}

func (s *suite) token() string { return s.stack.Options.WebhookTokens[0] }

// send posts the deliveries from `concurrency` senders and returns the answers in delivery order.
// Answers to valid deliveries go into the ledger; every answer body is scanned for PHI.
func (s *suite) send(t *testing.T, apiURL string, ds []*delivery, concurrency int) []answer {
	t.Helper()
	answers := make([]answer, len(ds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				answers[i] = s.post(apiURL, ds[i])
			}
		})
	}
	for i := range ds {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, a := range answers {
		if a.d.key != "" && a.err == nil {
			s.events.note(a)
		}
	}
	return answers
}

// post sends one delivery to the stack whose API is apiURL.
func (s *suite) post(apiURL string, d *delivery) answer {
	u := apiURL + "/webhooks/whatconverts"
	if d.token != "" {
		u += "?token=" + url.QueryEscape(d.token)
	}
	a := answer{d: d}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, u, bytes.NewReader(d.body))
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set("Content-Type", d.contentType)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.latency = time.Since(start)
	if err != nil {
		a.err = err
		return a
	}
	a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	s.phi.scan("webhook answer", string(body))
	if resp.StatusCode == http.StatusOK {
		var r webhook.Response
		if json.Unmarshal(body, &r) != nil || r.EventID == "" {
			a.err = fmt.Errorf("a 200 without an event_id")
			return a
		}
		a.eventID, a.duplicate = r.EventID, r.Duplicate
		return a
	}
	a.code = errorCode(body)
	if a.code == "" {
		var g struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &g) == nil {
			a.gateway = g.Message
		}
	}
	return a
}

// errorCode is the contract error's code ("" when the body is not a contract error).
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// canary makes a webhook body carry unique synthetic PHI besides the simulator's synthetic patient:
// a name, an email, a phone, an IP and a clinical note no log line or raw item may ever hold.
func canary(body []byte, n int) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		panic(err) // the simulator's payloads are JSON objects
	}
	str := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	m["contact_name"] = str(fmt.Sprintf("Canary Patient %05d", n))
	m["contact_email_address"] = str(fmt.Sprintf("canary%05d@phi-canary.example", n))
	m["caller_name"] = str(fmt.Sprintf("Canary Caller %05d", n))
	m["ip_address"] = str(fmt.Sprintf("203.0.113.%d", 1+n%254))
	m["notes"] = str(fmt.Sprintf("Canary note %05d: reports chest pain, allergic to penicillin", n))
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

// validDeliveries are one delivery per event: for each new lead of the simulator, its New Lead
// webhook, and for every fifth its Updated Lead webhook too. first numbers the canaries.
func (s *suite) validDeliveries(t *testing.T, sim *wcsim.Sim, leads []int64, first int) []*delivery {
	t.Helper()
	var ds []*delivery
	n := first
	for i, id := range leads {
		triggers := []string{"new"}
		if i%5 == 4 {
			triggers = append(triggers, "update")
		}
		for _, tr := range triggers {
			raw, err := sim.WebhookPayload(id, tr)
			if err != nil {
				t.Fatal(err)
			}
			n++
			ds = append(ds, &delivery{key: fmt.Sprintf("%d/%s", id, tr), body: canary(raw, n), token: s.token(),
				contentType: "application/json"})
		}
	}
	return ds
}

// redelivery is a byte-identical copy of a delivery, as WhatConverts retries one.
func redelivery(d *delivery) *delivery {
	c := *d
	return &c
}

// invalidKinds are the bad inputs the load sends through the stack (each carries synthetic PHI too,
// so that a refusal that echoed a value would be caught), with the contract's answer to each.
var invalidKinds = []struct {
	kind   string
	status int
	code   string
	make   func(s *suite, valid []byte) (body []byte, token, contentType string)
}{
	{"wrong token", 401, "unauthorized", func(s *suite, v []byte) ([]byte, string, string) {
		return v, "not-the-token-" + strings.Repeat("x", 40), "application/json"
	}},
	{"no token", 401, "unauthorized", func(s *suite, v []byte) ([]byte, string, string) { return v, "", "application/json" }},
	{"malformed JSON", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return v[:len(v)/2], s.token(), "application/json"
	}},
	{"lead_id a string", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "lead_id", `"Canary Patient lead"`), s.token(), "application/json"
	}},
	{"profile_id negative", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "profile_id", `-1001`), s.token(), "application/json"
	}},
	{"unknown trigger", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "trigger", `"delete"`), s.token(), "application/json"
	}},
	{"huge number", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "lead_id", `1e400`), s.token(), "application/json"
	}},
	{"bad date", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "date_created", `"Canary Patient's birthday"`), s.token(), "application/json"
	}},
	// Invalid UTF-8 goes in the trigger: API Gateway hands the function a text body inside a JSON
	// event, whose encoding turns invalid bytes into U+FFFD (the local gateway does it with
	// encoding/json), so in a free-text field it arrives valid; in the trigger it still makes the
	// delivery invalid.
	{"invalid UTF-8", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "trigger", "\"new\xff\xfe\""), s.token(), "application/json"
	}},
	{"NUL byte", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "notes", "\"Canary note \x00 with a NUL\""), s.token(), "application/json"
	}},
	{"deep nesting", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "lead_analysis", strings.Repeat("[", 5000)+strings.Repeat("]", 5000)), s.token(), "application/json"
	}},
	{"an array", 400, "invalid_request", func(s *suite, v []byte) ([]byte, string, string) {
		return append(append([]byte("["), v...), ']'), s.token(), "application/json"
	}},
	{"text/plain", 415, "unsupported_media_type", func(s *suite, v []byte) ([]byte, string, string) {
		return v, s.token(), "text/plain"
	}},
	{"over 256 KiB", 413, "payload_too_large", func(s *suite, v []byte) ([]byte, string, string) {
		return set(v, "notes", `"Canary note `+strings.Repeat("penicillin ", 30_000)+`"`), s.token(), "application/json"
	}},
}

// set replaces (or adds) one top-level field of a JSON object with raw JSON text, keeping the rest
// byte for byte.
func set(body []byte, field, raw string) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		panic(err)
	}
	delete(m, field)
	rest, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return append([]byte(fmt.Sprintf(`{%q:%s,`, field, raw)), rest[1:]...)
}

// invalidDelivery is the i-th bad input, built on a valid body.
func (s *suite) invalidDelivery(i int, valid []byte) *delivery {
	k := invalidKinds[i%len(invalidKinds)]
	body, token, ct := k.make(s, valid)
	return &delivery{kind: k.kind, body: body, token: token, contentType: ct, wantStatus: k.status, wantCode: k.code}
}
