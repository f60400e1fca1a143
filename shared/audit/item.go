package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// Attribute names of an audit item (besides the key and index attributes named in package table).
const (
	attrKind        = "kind"
	attrActor       = "actor"
	attrAction      = "action"
	attrProfileID   = "profile_id"
	attrLeadIDs     = "lead_ids"
	attrOutcome     = "outcome"
	attrStatus      = "status"
	attrRequestID   = "request_id"
	attrReceivedAt  = "received_at"
	attrTrigger     = "trigger"
	attrEventID     = "event_id"
	attrAccountID   = "account_id"
	attrLeadType    = "lead_type"
	attrLastUpdated = "last_updated"
	attrQuotable    = "quotable"
	attrHasQuote    = "has_quote_value"
	attrHasSales    = "has_sales_value"
	attrChanged     = "changed_fields"
	attrPolicy      = "policy_version"
	attrReplayID    = "replay_id"
	attrWindowFrom  = "window_from"
	attrWindowTo    = "window_to"
	attrEvents      = "events"
	attrDryRun      = "dry_run"
	attrPHI         = "phi"
	attrHash        = "hash"
	attrTag         = "tag"
	attrTagKey      = "tag_key"
	attrWriter      = "writer"
	attrSeq         = "seq"
	attrSkipped     = "skipped"
)

// recordIDOf returns the record ID an audit item's partition key names ("audit#<id>"), or the whole
// partition key when it is not an audit key (an item planted in the by-day index by hand).
func recordIDOf(item map[string]types.AttributeValue) string {
	pk := str(item, table.PK)
	if id, ok := strings.CutPrefix(pk, "audit#"); ok {
		return id
	}
	return pk
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func sAttr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// marshal turns a record into its item: the clear metadata, the sealed PHI part, the by-day index
// attributes and the TTL. The hash, and the by-trigger and outbox attributes of accepted events,
// are the caller's to add. Empty fields are left out rather than stored empty.
func marshal(r Record) map[string]types.AttributeValue {
	pk, sk := table.AuditKey(r.ID)
	shard := table.ShardOf(r.ID)
	item := make(map[string]types.AttributeValue, 32) // room for every attribute, the caller's too: no regrowth
	item[table.PK] = sAttr(pk)
	item[table.SK] = sAttr(sk)
	item[attrKind] = sAttr(string(r.Kind))
	item[attrActor] = sAttr(r.Actor)
	item[attrOutcome] = sAttr(string(r.Outcome))
	item[attrReceivedAt] = sAttr(table.SortTime(r.ReceivedAt))
	item[table.DayPK] = sAttr(table.DayPartition(table.Day(r.ReceivedAt), shard))
	item[table.DaySK] = sAttr(table.IndexSortKey(r.ReceivedAt, r.ID))
	item[table.ExpiresAt] = nAttr(table.ExpiryAfter(r.ReceivedAt, table.AuditRetention))
	putS := func(name, v string) {
		if v != "" {
			item[name] = sAttr(v)
		}
	}
	putN := func(name string, v int64) {
		if v != 0 {
			item[name] = nAttr(v)
		}
	}
	putS(attrAction, r.Action)
	putS(attrRequestID, r.RequestID)
	putS(attrTrigger, r.Trigger)
	putS(attrEventID, r.EventID)
	putS(attrLeadType, r.LeadType)
	putS(attrQuotable, r.Quotable)
	putS(attrPolicy, r.PolicyVersion)
	if r.HasQuoteValue {
		item[attrHasQuote] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if r.HasSalesValue {
		item[attrHasSales] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if len(r.ChangedFields) > 0 {
		l := make([]types.AttributeValue, len(r.ChangedFields))
		for i, f := range r.ChangedFields {
			l[i] = sAttr(f)
		}
		item[attrChanged] = &types.AttributeValueMemberL{Value: l}
	}
	putS(attrReplayID, r.ReplayID)
	putN(attrEvents, r.Events)
	if r.DryRun {
		item[attrDryRun] = &types.AttributeValueMemberBOOL{Value: true}
	}
	putT := func(name string, t time.Time) {
		if !t.IsZero() {
			item[name] = sAttr(t.UTC().Format(time.RFC3339Nano))
		}
	}
	putT(attrWindowFrom, r.WindowFrom)
	putT(attrWindowTo, r.WindowTo)
	putN(attrProfileID, r.ProfileID)
	putN(attrAccountID, r.AccountID)
	putN(attrStatus, int64(r.Status))
	if !r.LastUpdated.IsZero() {
		item[attrLastUpdated] = sAttr(r.LastUpdated.UTC().Format(time.RFC3339Nano))
	}
	if len(r.LeadIDs) > 0 {
		// A list, not a number set: it keeps the caller's order and allows repeats.
		l := make([]types.AttributeValue, len(r.LeadIDs))
		for i, id := range r.LeadIDs {
			l[i] = nAttr(id)
		}
		item[attrLeadIDs] = &types.AttributeValueMemberL{Value: l}
	}
	if r.Sealed != nil {
		item[attrPHI] = &types.AttributeValueMemberB{Value: r.Sealed}
	}
	putS(attrWriter, r.Writer)
	putN(attrSeq, r.Seq)
	if len(r.Skipped) > 0 {
		item[attrSkipped] = skippedAttr(r.Skipped)
	}
	return item
}

// skippedAttr is a record's skipped ranges as stored: a list of numbers, first and last of each
// range in turn, ascending ([5, 5, 9, 12] is 5 and 9 to 12).
func skippedAttr(rs []SeqRange) types.AttributeValue {
	l := make([]types.AttributeValue, 0, 2*len(rs))
	for _, r := range rs {
		l = append(l, nAttr(r.First), nAttr(r.Last))
	}
	return &types.AttributeValueMemberL{Value: l}
}

// parseSkipped reads skippedAttr back; ok is false when it is malformed (not pairs of positive
// numbers, first ≤ last).
func parseSkipped(v types.AttributeValue) ([]SeqRange, bool) {
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok || len(l.Value)%2 != 0 {
		return nil, false
	}
	rs := make([]SeqRange, 0, len(l.Value)/2)
	for i := 0; i < len(l.Value); i += 2 {
		first, ok1 := seqNumber(l.Value[i])
		last, ok2 := seqNumber(l.Value[i+1])
		if !ok1 || !ok2 || first > last {
			return nil, false
		}
		rs = append(rs, SeqRange{first, last})
	}
	return rs, true
}

// seqNumber reads a sequence number: N, from 1 to maxSeq.
func seqNumber(v types.AttributeValue) (int64, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	return i, err == nil && i >= 1 && i <= maxSeq
}

// unmarshal reads a record back from its item. Its errors name the attribute, never its value.
func unmarshal(item map[string]types.AttributeValue) (Record, error) {
	r := Record{
		ID:        recordIDOf(item),
		Kind:      Kind(str(item, attrKind)),
		Actor:     str(item, attrActor),
		Action:    str(item, attrAction),
		Outcome:   Outcome(str(item, attrOutcome)),
		RequestID: str(item, attrRequestID),
		Trigger:   str(item, attrTrigger),
		EventID:   str(item, attrEventID),
		LeadType:  str(item, attrLeadType),
		Quotable:  str(item, attrQuotable),
		ReplayID:  str(item, attrReplayID),
		Hash:      str(item, attrHash),

		PolicyVersion: str(item, attrPolicy),
	}
	fail := func(name string) (Record, error) {
		return Record{}, fmt.Errorf("audit: record %s: attribute %s is malformed", r.ID, name)
	}
	num := func(name string) (int64, bool) {
		v, present := item[name]
		if !present {
			return 0, true
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return 0, false
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		return i, err == nil
	}
	var ok bool
	if r.Count, ok = num(attrCount); !ok {
		return fail(attrCount)
	}
	if r.ProfileID, ok = num(attrProfileID); !ok {
		return fail(attrProfileID)
	}
	if r.AccountID, ok = num(attrAccountID); !ok {
		return fail(attrAccountID)
	}
	if r.Events, ok = num(attrEvents); !ok {
		return fail(attrEvents)
	}
	status, ok := num(attrStatus)
	if !ok {
		return fail(attrStatus)
	}
	r.Status = int(status)
	var err error
	if r.ReceivedAt, err = time.Parse(table.TimeLayout, str(item, attrReceivedAt)); err != nil {
		return fail(attrReceivedAt)
	}
	for name, dst := range map[string]*bool{attrHasQuote: &r.HasQuoteValue, attrHasSales: &r.HasSalesValue, attrDryRun: &r.DryRun} {
		if v, present := item[name]; present {
			b, ok := v.(*types.AttributeValueMemberBOOL)
			if !ok {
				return fail(name)
			}
			*dst = b.Value
		}
	}
	if v, present := item[attrChanged]; present {
		l, ok := v.(*types.AttributeValueMemberL)
		if !ok {
			return fail(attrChanged)
		}
		for _, e := range l.Value {
			f, ok := e.(*types.AttributeValueMemberS)
			if !ok {
				return fail(attrChanged)
			}
			r.ChangedFields = append(r.ChangedFields, f.Value)
		}
	}
	for name, dst := range map[string]*time.Time{attrWindowFrom: &r.WindowFrom, attrWindowTo: &r.WindowTo} {
		if v := str(item, name); v != "" {
			if *dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return fail(name)
			}
		}
	}
	if lu := str(item, attrLastUpdated); lu != "" {
		if r.LastUpdated, err = time.Parse(time.RFC3339Nano, lu); err != nil {
			return fail(attrLastUpdated)
		}
	}
	if v, present := item[attrLeadIDs]; present {
		l, ok := v.(*types.AttributeValueMemberL)
		if !ok {
			return fail(attrLeadIDs)
		}
		for _, e := range l.Value {
			n, ok := e.(*types.AttributeValueMemberN)
			if !ok {
				return fail(attrLeadIDs)
			}
			id, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return fail(attrLeadIDs)
			}
			r.LeadIDs = append(r.LeadIDs, id)
		}
	}
	if v, present := item[attrPHI]; present {
		b, ok := v.(*types.AttributeValueMemberB)
		if !ok {
			return fail(attrPHI)
		}
		r.Sealed = b.Value
	}
	r.Writer = str(item, attrWriter)
	if r.Seq, ok = num(attrSeq); !ok {
		return fail(attrSeq)
	}
	if v, present := item[attrSkipped]; present {
		if r.Skipped, ok = parseSkipped(v); !ok {
			return fail(attrSkipped)
		}
	}
	_, r.Pending = item[table.OutboxPK]
	return r, nil
}
