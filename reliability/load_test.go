package reliability

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Load: 5,000 deliveries, 10% of them redeliveries and 5% invalid, from 50 concurrent senders.
const (
	loadTotal       = 5000
	loadRedelivered = loadTotal / 10
	loadInvalid     = loadTotal / 20
	loadConcurrency = 50
)

// testLoad sends the load and checks: every valid delivery answered 200 (the first of an event as
// new, its copies as duplicates with the same event_id); every invalid one refused with the
// contract's status and code; every acknowledged event has its record and, once the outbox is
// drained, exactly one bus event; every delivery left one webhook audit record.
func (s *suite) testLoad(t *testing.T) {
	sim := s.stack.Sim
	unique := loadTotal - loadRedelivered - loadInvalid // 4,250 events
	// Every fifth lead also gets its Updated Lead webhook: leads*6/5 events.
	leads := sim.AddLeads(1001, unique*5/6/2)
	leads = append(leads, sim.AddLeads(1002, unique*5/6-len(leads))...)
	ds := s.validDeliveries(t, sim, leads, 0)
	for len(ds) < unique { // top up to exactly `unique` events with New Lead webhooks
		more := s.validDeliveries(t, sim, sim.AddLeads(1001, 1), 100_000+len(ds))
		ds = append(ds, more[0])
	}
	ds = ds[:unique]
	rng := rand.New(rand.NewPCG(7, 8))
	all := slices.Clone(ds)
	for range loadRedelivered {
		all = append(all, redelivery(ds[rng.IntN(len(ds))]))
	}
	for i := range loadInvalid {
		all = append(all, s.invalidDelivery(i, ds[rng.IntN(len(ds))].body))
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = d.key
	}

	t.Logf("load: %d deliveries (%d events, %d redeliveries, %d invalid) from %d concurrent senders",
		len(all), unique, loadRedelivered, loadInvalid, loadConcurrency)
	start := time.Now()
	answers := s.send(t, s.stack.APIURL, all, loadConcurrency)
	took := time.Since(start)

	var lat []time.Duration
	statuses := map[int]int{}
	s.summary.badKinds = map[string]int{}
	bad := 0
	for _, a := range answers {
		if a.err != nil {
			t.Errorf("a delivery got no answer: %v", a.err)
			continue
		}
		lat = append(lat, a.latency)
		statuses[a.status]++
		if a.d.key == "" {
			s.summary.badInputs++
			s.summary.badKinds[a.d.kind]++
			if a.status != a.d.wantStatus || a.code != a.d.wantCode {
				bad++
				t.Errorf("invalid delivery (%s): %d %q, want %d %q", a.d.kind, a.status, a.code, a.d.wantStatus, a.d.wantCode)
			}
		} else if a.status != http.StatusOK {
			bad++
			t.Errorf("valid delivery of %s: %d %q, want 200", a.d.key, a.status, a.code)
		}
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	t.Logf("load: answered in %s (%.0f/s): statuses %v; latency p50 %s, p99 %s, max %s (the local gateway runs one invocation of a function at a time, as one warm instance: 50 senders queue)",
		took.Round(time.Millisecond), float64(len(answers))/took.Seconds(), statuses, p50, p99, percentile(lat, 100))

	// Each event: one new answer, every copy the same event_id.
	for _, e := range s.events.acknowledged(keys) {
		if e.news != 1 || len(e.eventIDs) != 1 {
			t.Errorf("event %s: %d answers as new and event_ids %v, want 1 and one", e.key, e.news, e.eventIDs)
		}
	}

	// Outbox drained by the inline publishes alone; a sweep would publish whatever was left.
	pending := s.pendingOutbox(t)
	swept := s.sweep(t)
	lost, dups, _ := s.checkEvents(t, keys, true)

	// Every delivery left exactly one webhook audit record, or was counted in its minute's rejection count.
	counts := s.webhookRecordCounts(t)
	want := map[string]int{"ok": unique, "duplicate": loadRedelivered, "rejected": loadInvalid}
	for outcome, n := range want {
		if counts[outcome] != n {
			t.Errorf("webhook audit records with outcome %s: %d, want %d", outcome, counts[outcome], n)
		}
	}
	held := !t.Failed()
	s.summary.loadHeld = held
	s.summary.loadLine = fmt.Sprintf("%d webhooks (%d new, %d redelivered, %d invalid) at %d concurrent in %s; p50 %s, p99 %s; "+
		"outbox after the inline publishes %d (swept %d); lost %d, duplicates %d; audit records ok/duplicate/rejected %d/%d/%d",
		len(all), unique, loadRedelivered, loadInvalid, loadConcurrency, took.Round(100*time.Millisecond),
		p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), pending, swept.Published,
		lost, dups, counts["ok"], counts["duplicate"], counts["rejected"])
}

// checkEvents checks the acknowledged events among keys: each has its record (strongly consistent
// read, straight to dynalite) and is on the bus; exactly once when strict, at least once otherwise
// (a bus event re-published after its outbox marker was lost carries the same event_id). It returns
// the events lost, the records duplicated and the bus events re-published.
func (s *suite) checkEvents(t *testing.T, keys []string, strict bool) (lost, dups, republished int) {
	t.Helper()
	bus := s.busCounts()
	for _, e := range s.events.acknowledged(keys) {
		id := e.eventID()
		if len(e.eventIDs) != 1 {
			dups++
			t.Errorf("event %s was acknowledged under %d event_ids %v", e.key, len(e.eventIDs), e.eventIDs)
		}
		item := s.record(t, id)
		switch {
		case item == nil:
			lost++
			t.Errorf("event %s was acknowledged (200, event_id %s) but has no record", e.key, id)
		case attrS(item, "kind") != "webhook" || attrS(item, "outcome") != "ok":
			lost++
			t.Errorf("event %s: its record is kind %q outcome %q", e.key, attrS(item, "kind"), attrS(item, "outcome"))
		}
		switch n := bus[id]; {
		case n == 0:
			lost++
			t.Errorf("event %s (%s) was acknowledged but never reached the bus", e.key, id)
		case n > 1 && strict:
			dups++
			t.Errorf("event %s (%s) reached the bus %d times", e.key, id, n)
		case n > 1:
			republished += n - 1
		}
	}
	return lost, dups, republished
}

// webhookRecordCounts counts the table's webhook audit records by outcome (a raw Scan).
func (s *suite) webhookRecordCounts(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, item := range s.scan(t) {
		if attrS(item, "kind") != "webhook" {
			continue
		}
		// Refused deliveries are counted per minute and status in one item (audit.CountRejection).
		if c, ok := item["count"].(*types.AttributeValueMemberN); ok && attrS(item, "action") == audit.ActionRejections {
			k, err := strconv.Atoi(c.Value)
			if err != nil {
				t.Fatalf("rejection count %q", c.Value)
			}
			n[attrS(item, "outcome")] += k
			continue
		}
		n[attrS(item, "outcome")]++
	}
	return n
}

// percentile is the nearest-rank percentile p (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// statusLine is "200×41 500×19 (internal)" for a scenario's answers.
func statusLine(answers []answer) string {
	type k struct {
		status int
		code   string
	}
	n := map[k]int{}
	noAnswer := 0
	for _, a := range answers {
		if a.err != nil {
			noAnswer++
			continue
		}
		n[k{a.status, a.code}]++
	}
	var parts []string
	for key, c := range n {
		p := fmt.Sprintf("%d×%d", key.status, c)
		if key.code != "" {
			p += " " + key.code
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	if noAnswer > 0 {
		parts = append(parts, fmt.Sprintf("no answer×%d", noAnswer))
	}
	return strings.Join(parts, ", ")
}
