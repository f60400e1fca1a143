package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says what a record is about.
type Kind string

// The kinds of record.
const (
	KindWebhook Kind = "webhook"  // a WhatConverts delivery: accepted, duplicate or rejected
	KindAction  Kind = "action"   // a call of Get Leads, Get Lead, Create Lead or Update Lead
	KindPHIRead Kind = "phi-read" // PHI read back out of wcbridge (trigger samples)
	KindReport  Kind = "report"   // a run of the daily report, or a read of a report
)

// Outcome is how the audited request ended.
type Outcome string

// The outcomes.
const (
	OutcomeOK        Outcome = "ok"
	OutcomeDuplicate Outcome = "duplicate" // a redelivered webhook; EventID names the first delivery's event
	OutcomeRejected  Outcome = "rejected"  // refused before doing anything (bad token, invalid body)
	OutcomeFailed    Outcome = "failed"    // tried and failed (upstream error, internal error)
)

// Trigger names, as used in bus events, trigger samples and the by-trigger index.
const (
	TriggerNewLead     = "new-lead"
	TriggerUpdatedLead = "updated-lead"
)

// WebhookActor is the actor of every webhook record: WhatConverts signs nothing, so there is no principal.
const WebhookActor = "whatconverts-webhook"

// Record is one audit record. Everything but the sealed PHI part is metadata kept in clear so that
// records can be queried and counted without kms:Decrypt; it holds IDs, names of things and
// timestamps only, never a value taken from a lead (no names, emails, phones, IPs, URLs, free text).
type Record struct {
	ID         string    // "rec_…" for most records, "evt_…" for an accepted webhook event (see EventID)
	Kind       Kind      // required
	Actor      string    // required: IAM principal ARN, WebhookActor, or the schedule rule's ARN
	Action     string    // new-lead, updated-lead, get-leads, get-lead, create-lead, update-lead, trigger-samples, get-report, daily-report, replay
	ProfileID  int64     // 0 when unknown (a rejected webhook)
	LeadIDs    []int64   // the leads touched, in the order the caller gives
	Outcome    Outcome   // required
	Status     int       // the HTTP status answered (0 for the scheduled report)
	RequestID  string    // API Gateway / Lambda request ID
	ReceivedAt time.Time // when the request arrived; the store uses its clock when zero
	// PolicyVersion is the version of the access policy that allowed (or refused) a caller's call
	// (shared/access), "ssm:7@sha256:…"; empty where no policy applies (webhooks, the schedule).
	PolicyVersion string

	// Webhook fields: the non-PHI detail of the bus event.
	Trigger     string    // TriggerNewLead or TriggerUpdatedLead
	EventID     string    // the event: the record's own ID when accepted, the first delivery's on a duplicate
	AccountID   int64     // WhatConverts account
	LeadType    string    // WhatConverts lead type, e.g. "Phone Call"
	LastUpdated time.Time // the lead's last_updated; zero when absent

	// Workflow fields of an accepted event's bus detail (added for shared/webhook, so that the outbox
	// sweep republishes the same detail without opening the payload): a WhatConverts enumeration,
	// booleans and field names, never values.
	Quotable      string   // quotable display value: Yes, No, Pending or Not Set
	HasQuoteValue bool     // quote_value was a number above 0
	HasSalesValue bool     // sales_value was a number above 0
	ChangedFields []string // Updated Lead: names of the workflow fields the update carried

	// Replay fields (Action "replay"): the replay, the window [WindowFrom, WindowTo) it covers and how
	// many events it counted or published. Trigger and ProfileID hold its filters, when given.
	ReplayID   string
	WindowFrom time.Time
	WindowTo   time.Time
	Events     int64
	DryRun     bool
	// A rejection count (Action ActionRejections): how many deliveries were refused in its minute
	// with its Status (see Store.CountRejection); 0 for every other record, each of which is one.
	Count int64

	// Set by the store.
	Sealed  []byte // the sealed PHI part (nil when the record has none); OpenPayload opens it
	Hash    string // "sha256:<hex>" of the record's canonical content (see doc.go)
	Pending bool   // an accepted event still on the outbox (not yet marked published)
	// The record's place in its writer's sequence (see doc.go): the Store that wrote it, its number
	// there (1, 2, 3…), and earlier numbers of that writer whose writes did not certainly succeed.
	// Empty on records written before writers numbered their records, and on rejection counts.
	Writer  string
	Seq     int64
	Skipped []SeqRange
}

var (
	// ErrInvalidRecord is returned for a record that misses a required field or has an unknown value.
	ErrInvalidRecord = errors.New("audit: invalid record")
	// ErrInvalidKey is returned for an incomplete de-duplication key.
	ErrInvalidKey = errors.New("audit: invalid de-duplication key")
)

func (r Record) validate() error {
	switch r.Kind {
	case KindWebhook, KindAction, KindPHIRead, KindReport:
	default:
		return fmt.Errorf("%w: kind %q is not one of webhook, action, phi-read, report", ErrInvalidRecord, r.Kind)
	}
	switch r.Outcome {
	case OutcomeOK, OutcomeDuplicate, OutcomeRejected, OutcomeFailed:
	default:
		return fmt.Errorf("%w: outcome %q is not one of ok, duplicate, rejected, failed", ErrInvalidRecord, r.Outcome)
	}
	if r.Actor == "" {
		return fmt.Errorf("%w: actor is required", ErrInvalidRecord)
	}
	if !validID(r.ID) {
		return fmt.Errorf("%w: id must be 1-64 characters of [A-Za-z0-9_-]", ErrInvalidRecord)
	}
	for _, f := range r.ChangedFields {
		if !validID(f) {
			return fmt.Errorf("%w: changed_fields must be field names of [A-Za-z0-9_-]", ErrInvalidRecord)
		}
	}
	if r.Outcome == OutcomeDuplicate && r.EventID == "" {
		return fmt.Errorf("%w: a duplicate must name its event (event_id)", ErrInvalidRecord)
	}
	if r.ReplayID != "" && !validID(r.ReplayID) {
		return fmt.Errorf("%w: replay_id must be 1-64 characters of [A-Za-z0-9_-]", ErrInvalidRecord)
	}
	if r.EventID != "" && !validID(r.EventID) {
		return fmt.Errorf("%w: event_id must be 1-64 characters of [A-Za-z0-9_-]", ErrInvalidRecord)
	}
	return nil
}

// validID keeps record IDs safe to put in keys, AAD, logs and findings.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRecordID returns a fresh random record ID: "rec_" and 26 lowercase base32 characters (130 bits).
func NewRecordID() string {
	var b [17]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "rec_" + strings.ToLower(b32.EncodeToString(b[:]))[:26]
}

// DedupeKey is what makes two webhook deliveries "the same event" (contract: the same profile_id,
// lead_id, trigger, last_updated and canonical body: a redelivery is the same lead state sent again).
// The body hash is part of the key because last_updated has whole seconds: a workflow's edit comes
// back within milliseconds, with the same last_updated as the state it changed. It holds IDs, a
// timestamp and a hash, never PHI.
type DedupeKey struct {
	ProfileID   int64
	LeadID      int64
	Trigger     string    // TriggerNewLead or TriggerUpdatedLead
	LastUpdated time.Time // the lead's last_updated; zero when the delivery has none
	BodyHash    string    // hex SHA-256 of the canonical body (see package webhook); required
}

func (k DedupeKey) validate() error {
	if k.ProfileID <= 0 || k.LeadID <= 0 {
		return fmt.Errorf("%w: profile_id and lead_id must be positive", ErrInvalidKey)
	}
	if k.Trigger != TriggerNewLead && k.Trigger != TriggerUpdatedLead {
		return fmt.Errorf("%w: trigger must be %s or %s", ErrInvalidKey, TriggerNewLead, TriggerUpdatedLead)
	}
	if k.BodyHash == "" {
		return fmt.Errorf("%w: body_hash is required", ErrInvalidKey)
	}
	return nil
}

// String is the key's canonical form, the input of EventID:
//
//	wcbridge-dedupe/v2|<profile_id>|<lead_id>|<trigger>|lu:<last_updated RFC 3339 UTC, nanoseconds trimmed>|body:<body_hash>
//	wcbridge-dedupe/v1|<profile_id>|<lead_id>|<trigger>|body:<body_hash>      (when last_updated is absent)
//
// The second form is the one keys without last_updated always had (the body already named the
// state), so their event IDs did not change when the body hash joined the first.
func (k DedupeKey) String() string {
	if k.LastUpdated.IsZero() {
		return k.prefix("v1") + "|body:" + strings.ToLower(k.BodyHash)
	}
	return k.prefix("v2") + "|lu:" + k.LastUpdated.UTC().Format(time.RFC3339Nano) + "|body:" + strings.ToLower(k.BodyHash)
}

// legacy is the form the key had before the body hash joined it, for a key with last_updated:
// records written then are named by it (see Store.RecordIfNew). ok is false without last_updated.
//
//	wcbridge-dedupe/v1|<profile_id>|<lead_id>|<trigger>|lu:<last_updated>
func (k DedupeKey) legacy() (s string, ok bool) {
	if k.LastUpdated.IsZero() {
		return "", false
	}
	return k.prefix("v1") + "|lu:" + k.LastUpdated.UTC().Format(time.RFC3339Nano), true
}

func (k DedupeKey) prefix(version string) string {
	return "wcbridge-dedupe/" + version + "|" + strconv.FormatInt(k.ProfileID, 10) + "|" +
		strconv.FormatInt(k.LeadID, 10) + "|" + k.Trigger
}

// EventID is the ID of the event a delivery with this key belongs to: "evt_" and the first 26
// lowercase base32 characters of SHA-256(k.String()) (130 bits). Deriving it from the key is what
// lets one conditional write both de-duplicate and name the first delivery's event.
func EventID(k DedupeKey) string { return eventIDOf(k.String()) }

func eventIDOf(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return "evt_" + strings.ToLower(b32.EncodeToString(sum[:]))[:26]
}
