package eventbus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// The local account and region events are stamped with.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// EventBridge's limits on one PutEvents call.
const (
	MaxEntries   = 10
	MaxEntryBody = 256 * 1024
)

// DefaultBusName is the bus an entry without EventBusName goes to.
const DefaultBusName = "default"

// Event is an accepted event, as EventBridge delivers it to a rule's targets.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// EventBusName is the bus's name (an ARN in the entry is reduced to the name); not part of the
	// delivered event.
	EventBusName string `json:"-"`
}

// Bus is the in-memory event bus. Its zero value is not usable; use New.
type Bus struct {
	mu           sync.Mutex
	events       []Event
	subscribers  map[int]func(Event)
	nextSub      int
	failRequests int // calls left to fail; < 0: every call
	failEntries  int // entries left to fail
	now          func() time.Time
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{subscribers: map[int]func(Event){}, now: time.Now}
}

// Events returns the accepted events, oldest first.
func (b *Bus) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.events...)
}

// Reset forgets the accepted events (subscribers and faults stay).
func (b *Bus) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = nil
}

// Subscribe calls fn with every event accepted from now on, in order, after the PutEvents call has
// recorded it and before the call is answered. fn must not block for long: the publisher waits.
// The returned func unsubscribes.
func (b *Bus) Subscribe(fn func(Event)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextSub
	b.nextSub++
	b.subscribers[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subscribers, id)
	}
}

// FailNextRequests makes the next n PutEvents calls fail as a whole: HTTP 500 InternalException.
func (b *Bus) FailNextRequests(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failRequests = n
}

// FailAllRequests makes every PutEvents call fail as a whole until ClearFaults.
func (b *Bus) FailAllRequests() { b.FailNextRequests(-1) }

// FailNextEntries makes the next n entries (across calls) fail with ErrorCode InternalFailure, counted
// in FailedEntryCount, as EventBridge reports a transient failure of single entries.
func (b *Bus) FailNextEntries(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failEntries = n
}

// ClearFaults ends every injected fault.
func (b *Bus) ClearFaults() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failRequests, b.failEntries = 0, 0
}

// Faults are the injected faults still pending.
type Faults struct {
	FailRequests    int  `json:"fail_requests"`
	FailAllRequests bool `json:"fail_all_requests"`
	FailEntries     int  `json:"fail_entries"`
}

// PendingFaults reports the injected faults not yet spent.
func (b *Bus) PendingFaults() Faults {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := Faults{FailEntries: b.failEntries, FailRequests: b.failRequests}
	if b.failRequests < 0 {
		f.FailRequests, f.FailAllRequests = 0, true
	}
	return f
}

// entry is one PutEvents request entry, from the wire or from the Go API.
type entry struct {
	Source       string
	DetailType   string
	Detail       *string
	EventBusName string
	Resources    []string
	Time         *time.Time
}

// resultEntry is one PutEvents result entry.
type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// apiError is a refusal of a whole call.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// put runs one PutEvents call.
func (b *Bus) put(entries []entry) ([]resultEntry, int, *apiError) {
	b.mu.Lock()
	if b.failRequests != 0 {
		if b.failRequests > 0 {
			b.failRequests--
		}
		b.mu.Unlock()
		return nil, 0, &apiError{500, "InternalException", "Internal service error (injected by eventbus)"}
	}
	b.mu.Unlock()

	switch {
	case len(entries) == 0:
		return nil, 0, &apiError{400, "ValidationException",
			"1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1"}
	case len(entries) > MaxEntries:
		return nil, 0, &apiError{400, "ValidationException",
			"1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"}
	case entriesSize(entries) > MaxEntryBody:
		return nil, 0, &apiError{400, "ValidationException", "Total size of the entries in the request is over the limit."}
	}

	results := make([]resultEntry, len(entries))
	var accepted []Event
	failed := 0
	now := b.now().UTC().Truncate(time.Second)

	b.mu.Lock()
	for i, e := range entries {
		if code, msg := validate(e); code != "" {
			results[i] = resultEntry{ErrorCode: code, ErrorMessage: msg}
			failed++
			continue
		}
		if b.failEntries > 0 {
			b.failEntries--
			results[i] = resultEntry{ErrorCode: "InternalFailure", ErrorMessage: "Internal Failure"}
			failed++
			continue
		}
		ev := Event{
			Version:      "0",
			ID:           newUUID(),
			DetailType:   e.DetailType,
			Source:       e.Source,
			Account:      Account,
			Time:         now,
			Region:       Region,
			Resources:    append([]string{}, e.Resources...),
			Detail:       compact(*e.Detail),
			EventBusName: busName(e.EventBusName),
		}
		if e.Time != nil {
			ev.Time = e.Time.UTC().Truncate(time.Second)
		}
		b.events = append(b.events, ev)
		accepted = append(accepted, ev)
		results[i] = resultEntry{EventID: ev.ID}
	}
	subs := make([]func(Event), 0, len(b.subscribers))
	for id := 0; id < b.nextSub; id++ {
		if fn, ok := b.subscribers[id]; ok {
			subs = append(subs, fn)
		}
	}
	b.mu.Unlock()

	for _, ev := range accepted {
		for _, fn := range subs {
			fn(ev)
		}
	}
	return results, failed, nil
}

// validate refuses an entry as EventBridge does, with its error code and message.
func validate(e entry) (code, message string) {
	switch {
	case e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == nil || *e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*e.Detail), &obj); err != nil || obj == nil {
		return "MalformedDetail", "Detail is malformed."
	}
	return "", ""
}

// entriesSize is the size EventBridge counts against its limit: each entry's Time (14 bytes),
// Source, DetailType, Detail and Resources.
func entriesSize(entries []entry) int {
	n := 0
	for _, e := range entries {
		if e.Time != nil {
			n += 14
		}
		n += len(e.Source) + len(e.DetailType)
		if e.Detail != nil {
			n += len(*e.Detail)
		}
		for _, r := range e.Resources {
			n += len(r)
		}
	}
	return n
}

// busName reduces an EventBusName (a name or an ARN) to the name.
func busName(s string) string {
	if s == "" {
		return DefaultBusName
	}
	if i := strings.LastIndex(s, ":event-bus/"); i >= 0 {
		return s[i+len(":event-bus/"):]
	}
	return s
}

func compact(detail string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(detail)); err != nil {
		return json.RawMessage(detail) // validated already; cannot happen
	}
	return b.Bytes()
}

// PutEvents is the bus's Go API, with the SDK client's signature, so that a consumer's narrow
// publisher interface can be satisfied by the bus itself in tests.
func (b *Bus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	entries := make([]entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = entry{
			Source:       aws.ToString(e.Source),
			DetailType:   aws.ToString(e.DetailType),
			Detail:       e.Detail,
			EventBusName: aws.ToString(e.EventBusName),
			Resources:    e.Resources,
			Time:         e.Time,
		}
	}
	results, failed, apiErr := b.put(entries)
	if apiErr != nil {
		return nil, &smithy.GenericAPIError{Code: apiErr.code, Message: apiErr.message, Fault: faultOf(apiErr.status)}
	}
	out := &eventbridge.PutEventsOutput{FailedEntryCount: int32(failed)}
	for _, r := range results {
		out.Entries = append(out.Entries, types.PutEventsResultEntry{
			EventId:      optional(r.EventID),
			ErrorCode:    optional(r.ErrorCode),
			ErrorMessage: optional(r.ErrorMessage),
		})
	}
	return out, nil
}

func faultOf(status int) smithy.ErrorFault {
	if status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newUUID is a random (version 4) UUID, the form of EventBridge's event IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
