package reliability

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// phiPattern matches the synthetic PHI the run sends: the simulator's synthetic patients (names,
// emails, phones in both forms, free text, employers), the documentation IP ranges its leads and the
// canaries use, and the canaries' names, emails and clinical notes. It also matches the local webhook
// token, which must never be logged either.
var phiPattern = regexp.MustCompile(`Synthetic (Patient|Caller|Employer|note|summary|text|message|email|transcript)` +
	`|patient\d{4}@example\.test|\+1555010\d{4}|\(555\) 010-\d{4}` +
	`|Canary (Patient|Caller|note|message)|phi-canary\.example|penicillin|chest pain|knee replacement` +
	`|\b(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}\b` +
	`|` + regexp.QuoteMeta(devstack.DefaultWebhookToken))

// phiScanner counts what was scanned and every hit, by where it was found.
type phiScanner struct {
	mu      sync.Mutex
	scanned map[string]int
	hits    map[string][]string // where -> the matches (kept to report, never printed whole)
}

func newPHIScanner() *phiScanner {
	return &phiScanner{scanned: map[string]int{}, hits: map[string][]string{}}
}

// scan looks for PHI in one piece of output.
func (p *phiScanner) scan(where, s string) {
	m := phiPattern.FindAllString(s, -1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scanned[where]++
	if len(m) > 0 {
		p.hits[where] = append(p.hits[where], m...)
	}
}

func (p *phiScanner) totals() (hits int, scanned string, where []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for k, n := range p.scanned {
		parts = append(parts, fmt.Sprintf("%d %ss", n, k))
	}
	sort.Strings(parts)
	for k, m := range p.hits {
		hits += len(m)
		where = append(where, fmt.Sprintf("%s: %d hits, e.g. %.40q", k, len(m), m[0]))
	}
	sort.Strings(where)
	return hits, strings.Join(parts, ", "), where
}

// testEverything checks what the whole run left behind: every acknowledged event of every part
// recorded once and on the bus, nothing left on the outbox, every action call audited, and no PHI in
// any log line, raw table item or bus event (answers were scanned as they came).
func (s *suite) testEverything(t *testing.T) {
	s.sweep(t)
	if n := s.pendingOutbox(t); n != 0 {
		t.Errorf("%d events still on the outbox", n)
	}
	items := s.scan(t)

	// Records: one per event. An event's ID derives from its de-duplication key, so a second record
	// of an event would be a second item for the same (profile, lead, trigger, last_updated).
	type dedupe struct{ profile, leads, trigger, lastUpdated string }
	byKey := map[dedupe]int{}
	byID := map[string]map[string]bool{}
	actionRecords := 0
	for _, item := range items {
		switch attrS(item, "kind") {
		case "webhook":
			if attrS(item, "outcome") == "ok" {
				k := dedupe{attrN(item, "profile_id"), testenv.AttrText(item["lead_ids"]), attrS(item, "trigger"), attrS(item, "last_updated")}
				byKey[k]++
				id := strings.TrimPrefix(attrS(item, "pk"), "audit#")
				if byID[id] == nil {
					byID[id] = map[string]bool{}
				}
				byID[id]["record"] = true
			}
		case "action":
			actionRecords++
		}
	}
	dups := 0
	for k, n := range byKey {
		if n > 1 {
			dups += n - 1
			t.Errorf("event (profile %s, leads %s, %s, %s) has %d records", k.profile, k.leads, k.trigger, k.lastUpdated, n)
		}
	}
	bus := s.busCounts()
	lost, republished := 0, 0
	acked := s.events.acknowledged(nil)
	for _, e := range acked {
		id := e.eventID()
		if len(e.eventIDs) != 1 {
			dups++
		}
		if byID[id] == nil {
			lost++
			t.Errorf("event %s (%s) was acknowledged and has no record", e.key, id)
		}
		if bus[id] == 0 {
			lost++
			t.Errorf("event %s (%s) was acknowledged and never reached the bus", e.key, id)
		}
		republished += max(bus[id]-1, 0)
	}
	s.summary.lost, s.summary.duplicates, s.summary.republished = lost, dups, republished
	calls := int(s.actions.calls.Load())
	if actionRecords != calls {
		t.Errorf("%d action calls left %d action audit records, want one each", calls, actionRecords)
	}
	s.summary.auditLine = fmt.Sprintf("%d acknowledged events, each 1 record; load: every delivery 1 webhook record; %d action calls, %d action records",
		len(acked), calls, actionRecords)

	// PHI: every log line, every raw item, every bus event.
	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	for _, l := range lines {
		s.phi.scan("log line", l)
	}
	for _, item := range items {
		s.phi.scan("raw table item", testenv.ItemText(item))
	}
	for _, e := range s.allBusEvents() {
		s.phi.scan("bus event", string(e.Detail))
	}
	hits, scanned, where := s.phi.totals()
	s.summary.phiHits, s.summary.phiScanned = hits, scanned
	for _, w := range where {
		t.Errorf("PHI found in %s", w)
	}
	if len(lines) < 1000 {
		t.Errorf("only %d log lines were captured: the scan would prove little", len(lines))
	}
	t.Logf("scanned for synthetic PHI: %s; hits %d", scanned, hits)
}

func attrN(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
