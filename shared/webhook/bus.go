package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Bus is the part of the EventBridge API the webhook publishes with; *eventbridge.Client is one.
type Bus interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ Bus = (*eventbridge.Client)(nil)

// Source is the Source of every lead event.
const Source = "wcbridge.whatconverts"

// Detail types of lead events.
const (
	DetailTypeCreated = "Lead Created"
	DetailTypeUpdated = "Lead Updated"
)

// maxEntries is how many entries one PutEvents call takes.
const maxEntries = 10

// Detail is the Detail of a lead event. It holds no PHI: IDs, timestamps, WhatConverts enumerations,
// booleans and field names. Consumers fetch the lead itself with Get Lead, which is audited.
//
// event_id is the event's identity: delivery is at least once (an event whose inline publish
// succeeded but whose outbox marker could not be cleared is published again by the sweep), so a
// consumer that must act once de-duplicates on event_id.
type Detail struct {
	EventID     string `json:"event_id"`
	Trigger     string `json:"trigger"` // new-lead or updated-lead
	LeadID      int64  `json:"lead_id"`
	ProfileID   int64  `json:"profile_id"`
	AccountID   int64  `json:"account_id,omitempty"`
	LeadType    string `json:"lead_type,omitempty"`    // WhatConverts display value, e.g. "Phone Call"
	LastUpdated string `json:"last_updated,omitempty"` // RFC 3339 UTC, as the lead says
	ReceivedAt  string `json:"received_at"`            // RFC 3339 UTC, when wcbridge received it

	// Workflow fields.
	Quotable      string   `json:"quotable,omitempty"`       // Yes, No, Pending or Not Set
	HasQuoteValue bool     `json:"has_quote_value"`          // quote_value is a number above 0
	HasSalesValue bool     `json:"has_sales_value"`          // sales_value is a number above 0
	ChangedFields []string `json:"changed_fields,omitempty"` // Updated Lead only; see WatchedFields

	// ReplayID is set only on an event published again by a replay (package replay): the same
	// event_id and detail as the first time, plus the replay that sent it.
	ReplayID string `json:"replay_id,omitempty"`
}

// DetailOf is the bus detail of an accepted event, from its audit record alone: the inline publish
// and the outbox sweep build the same detail from the same stored metadata.
func DetailOf(r audit.Record) Detail {
	d := Detail{
		EventID:       r.ID,
		Trigger:       r.Trigger,
		ProfileID:     r.ProfileID,
		AccountID:     r.AccountID,
		LeadType:      r.LeadType,
		ReceivedAt:    r.ReceivedAt.UTC().Format(time.RFC3339Nano),
		Quotable:      r.Quotable,
		HasQuoteValue: r.HasQuoteValue,
		HasSalesValue: r.HasSalesValue,
		ChangedFields: r.ChangedFields,
	}
	if len(r.LeadIDs) > 0 {
		d.LeadID = r.LeadIDs[0]
	}
	if !r.LastUpdated.IsZero() {
		d.LastUpdated = r.LastUpdated.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// DetailType is the bus DetailType of a trigger.
func DetailType(trigger string) string {
	if trigger == audit.TriggerUpdatedLead {
		return DetailTypeUpdated
	}
	return DetailTypeCreated
}

// entry is the PutEvents entry of an accepted event. Its Time is the event's received_at, so a
// republished event is identical to the first.
func entry(r audit.Record, busName string) (types.PutEventsRequestEntry, error) {
	return Entry(r, busName, "")
}

// Entry is the PutEvents entry of an accepted event, from its audit record alone; replayID, when
// set, marks it as sent again by that replay (Detail.ReplayID). Its Time is the event's received_at.
func Entry(r audit.Record, busName, replayID string) (types.PutEventsRequestEntry, error) {
	d := DetailOf(r)
	d.ReplayID = replayID
	detail, err := json.Marshal(d)
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("webhook: encode detail of %s: %w", r.ID, err)
	}
	at := r.ReceivedAt.UTC()
	return types.PutEventsRequestEntry{
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailType(r.Trigger)),
		Detail:       aws.String(string(detail)),
		EventBusName: aws.String(busName),
		Time:         &at,
	}, nil
}

// publish puts up to maxEntries events on the bus and says which made it. A failed call fails every
// entry; a call that reports FailedEntryCount fails only the entries with an error code. err is set
// only when the call itself failed.
func publish(ctx context.Context, bus Bus, busName string, recs []audit.Record) (ok, failed []audit.Record, err error) {
	entries := make([]types.PutEventsRequestEntry, 0, len(recs))
	for _, r := range recs {
		e, err := entry(r, busName)
		if err != nil {
			return nil, recs, err
		}
		entries = append(entries, e)
	}
	out, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return nil, recs, fmt.Errorf("webhook: put events: %w", err)
	}
	if out.FailedEntryCount == 0 && len(out.Entries) == len(recs) {
		return recs, nil, nil
	}
	for i, r := range recs {
		// Results are index-aligned with the entries; a missing result counts as a failure.
		if i < len(out.Entries) && aws.ToString(out.Entries[i].ErrorCode) == "" {
			ok = append(ok, r)
		} else {
			failed = append(failed, r)
		}
	}
	return ok, failed, nil
}
