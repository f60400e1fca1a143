package wcsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// WebhookTimeout bounds one webhook delivery.
const WebhookTimeout = 10 * time.Second

// WebhookDelivery is the outcome of one webhook POST.
type WebhookDelivery struct {
	LeadID  int64
	Trigger string // "new" or "update"
	Status  int    // the receiver's HTTP status; 0 when it did not answer
	Err     error  // why it did not answer; never holds the URL (its query carries the receiver's token)
}

// emitter delivers webhooks one at a time, in the order they were started, from a goroutine that
// runs only while deliveries are queued.
type emitter struct {
	client *http.Client

	mu      sync.Mutex
	idle    *sync.Cond // signalled when pending drops to 0
	url     string
	queue   []*delivery
	running bool
	pending int
	log     []WebhookDelivery
}

type delivery struct {
	url    string
	body   []byte
	result WebhookDelivery
	done   chan struct{} // closed after delivery, when someone waits for this one
}

func newEmitter() *emitter {
	e := &emitter{client: &http.Client{Timeout: WebhookTimeout}}
	e.idle = sync.NewCond(&e.mu)
	return e
}

// SetWebhookURL sets where webhooks go ("" stops them). WhatConverts configures one URL per profile
// for New Lead and Update Lead; the simulator sends every profile's webhooks to this one.
func (s *Sim) SetWebhookURL(url string) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.url = url
}

// FireWebhook delivers a webhook for an existing lead now, with trigger "new" or "update", and
// waits for it (after any deliveries already queued). It errs if the trigger is unknown, the lead
// does not exist, no URL is set, the receiver does not answer or answers other than 2xx.
func (s *Sim) FireWebhook(leadID int64, trigger string) error {
	if trigger != "new" && trigger != "update" {
		return fmt.Errorf("wcsim: webhook trigger must be new or update, got %q", trigger)
	}
	s.mu.Lock()
	l, ok := s.leads[leadID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("wcsim: no lead %d", leadID)
	}
	d := s.hooks.enqueue(leadID, trigger, l.raw)
	if d == nil {
		return errors.New("wcsim: no webhook URL set")
	}
	<-d.done
	switch {
	case d.result.Err != nil:
		return fmt.Errorf("wcsim: webhook delivery: %w", d.result.Err)
	case d.result.Status < 200 || d.result.Status > 299:
		return fmt.Errorf("wcsim: webhook receiver answered %d", d.result.Status)
	}
	return nil
}

// WaitWebhooks blocks until every webhook delivery started so far has finished. Deliveries that the
// API starts (on create and edit) are queued before the API answers, so a test that got the answer
// can wait for them.
func (s *Sim) WaitWebhooks() {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	for s.hooks.pending > 0 {
		s.hooks.idle.Wait()
	}
}

// Webhooks returns the outcomes of the deliveries finished so far, in order.
func (s *Sim) Webhooks() []WebhookDelivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return append([]WebhookDelivery(nil), s.hooks.log...)
}

// WebhookPayload is the body the simulator sends for a lead: the flat lead object with "trigger"
// first, as WhatConverts sends it. It errs if the lead does not exist.
func (s *Sim) WebhookPayload(leadID int64, trigger string) ([]byte, error) {
	s.mu.Lock()
	l, ok := s.leads[leadID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("wcsim: no lead %d", leadID)
	}
	return webhookBody(trigger, l.raw), nil
}

// webhookBody splices "trigger" into an encoded lead (never empty: it always has lead_id).
func webhookBody(trigger string, raw []byte) []byte {
	t, _ := encodeValue(trigger)
	b := make([]byte, 0, len(raw)+len(t)+12)
	b = append(b, `{"trigger":`...)
	b = append(b, t...)
	b = append(b, ',')
	return append(b, raw[1:]...)
}

// enqueue queues a delivery of the lead as it is now; nil when no URL is set.
func (e *emitter) enqueue(leadID int64, trigger string, raw []byte) *delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.url == "" {
		return nil
	}
	d := &delivery{
		url:    e.url,
		body:   webhookBody(trigger, raw),
		result: WebhookDelivery{LeadID: leadID, Trigger: trigger},
		done:   make(chan struct{}),
	}
	e.queue = append(e.queue, d)
	e.pending++
	if !e.running {
		e.running = true
		go e.run()
	}
	return d
}

func (e *emitter) run() {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.running = false
			e.mu.Unlock()
			return
		}
		d := e.queue[0]
		e.queue = e.queue[1:]
		e.mu.Unlock()

		d.result.Status, d.result.Err = e.post(d.url, d.body)

		e.mu.Lock()
		e.log = append(e.log, d.result)
		e.pending--
		if e.pending == 0 {
			e.idle.Broadcast()
		}
		e.mu.Unlock()
		close(d.done)
	}
}

// post sends one webhook as WhatConverts does: a JSON POST with no signature and no custom headers.
func (e *emitter) post(target string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL and its token
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
