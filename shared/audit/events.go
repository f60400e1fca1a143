package audit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// EventQuery selects accepted webhook events by when they were received (a replay's window).
type EventQuery struct {
	From, To  time.Time // received in [From, To)
	Trigger   string    // TriggerNewLead or TriggerUpdatedLead; "" for both
	ProfileID int64     // 0 for every profile
	// After resumes the walk after this position (see Position); "" starts at From.
	After string
}

// Position is where an accepted event stands in the order received: its by-trigger sort key,
// "<received_at>#<event_id>". Positions compare as strings in that order.
func Position(r Record) string { return table.IndexSortKey(r.ReceivedAt, r.ID) }

// eventPageSize bounds the items held per index partition while Events merges the partitions.
const eventPageSize = 250

// Events calls fn with every accepted event the query selects, in the order received (received_at,
// then event ID), without its sealed part (Record.Sealed is nil: the by-trigger index carries the
// bus detail, table.TriggerAttributes, and never the sealed part). It walks the by-trigger index one
// UTC day at a time, merging the day's shards (of both triggers when Trigger is ""), and holds at
// most one page per partition, never the window. An error from fn stops it and is returned as is.
// The index is eventually consistent: an event received a moment ago may not be seen yet.
func (s *Store) Events(ctx context.Context, q EventQuery, fn func(Record) error) error {
	if !q.From.Before(q.To) {
		return fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	triggers := []string{TriggerNewLead, TriggerUpdatedLead}
	switch q.Trigger {
	case "":
	case TriggerNewLead, TriggerUpdatedLead:
		triggers = []string{q.Trigger}
	default:
		return fmt.Errorf("%w: trigger must be %s or %s", ErrInvalidQuery, TriggerNewLead, TriggerUpdatedLead)
	}
	lo, hi := table.SortTime(q.From), table.SortTime(q.To) // [From, To): "<To>#id" sorts after "<To>"
	if q.After > lo {
		lo = q.After
	}
	if lo >= hi {
		return nil
	}
	names := map[string]string{"#p": table.TriggerPK, "#s": table.TriggerSK}
	first, err := parseDay(lo[:min(len(lo), 10)])
	if err != nil {
		return fmt.Errorf("%w: after is not a position", ErrInvalidQuery)
	}
	last := q.To.Add(-time.Nanosecond).UTC()
	for day := first; !day.After(last); day = day.Add(24 * time.Hour) {
		h := make(cursorHeap, 0, len(triggers)*table.Shards)
		for _, trigger := range triggers {
			for shard := range table.Shards {
				values := map[string]types.AttributeValue{
					":p":  sAttr(table.TriggerPartition(trigger, table.Day(day), shard)),
					":lo": sAttr(lo),
					":hi": sAttr(hi),
				}
				c := &cursor{sortKey: table.TriggerSK, input: &dynamodb.QueryInput{
					TableName:                 aws.String(s.cfg.Table),
					IndexName:                 aws.String(table.IndexByTrigger),
					KeyConditionExpression:    aws.String("#p = :p AND #s BETWEEN :lo AND :hi"),
					ExpressionAttributeNames:  names,
					ExpressionAttributeValues: values,
					Limit:                     aws.Int32(eventPageSize),
				}}
				if err := c.fill(ctx, s); err != nil {
					return err
				}
				if len(c.items) > 0 {
					h = append(h, c)
				}
			}
		}
		err = s.merge(ctx, h, func(item map[string]types.AttributeValue) error {
			if str(item, table.TriggerSK) <= q.After { // BETWEEN includes the resume position itself
				return nil
			}
			r, err := unmarshal(item)
			if err != nil {
				return err
			}
			if q.ProfileID != 0 && r.ProfileID != q.ProfileID {
				return nil
			}
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// CountEvents counts the events q selects (q.After aside) per profile, stopping early once the total
// passes limit (the counts are then only a lower bound, and more is true). Order does not matter
// here, so it reads the window's index partitions concurrently, each entry's profile from the index.
func (s *Store) CountEvents(ctx context.Context, q EventQuery, limit int64) (perProfile map[int64]int64, more bool, err error) {
	if !q.From.Before(q.To) {
		return nil, false, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	triggers := []string{TriggerNewLead, TriggerUpdatedLead}
	switch q.Trigger {
	case "":
	case TriggerNewLead, TriggerUpdatedLead:
		triggers = []string{q.Trigger}
	default:
		return nil, false, fmt.Errorf("%w: trigger must be %s or %s", ErrInvalidQuery, TriggerNewLead, TriggerUpdatedLead)
	}
	first, _ := parseDay(table.Day(q.From))
	last := q.To.Add(-time.Nanosecond).UTC()
	var inputs []*dynamodb.QueryInput
	for day := first; !day.After(last); day = day.Add(24 * time.Hour) {
		for _, trigger := range triggers {
			for shard := range table.Shards {
				in := &dynamodb.QueryInput{
					TableName:                aws.String(s.cfg.Table),
					IndexName:                aws.String(table.IndexByTrigger),
					KeyConditionExpression:   aws.String("#p = :p AND #s BETWEEN :lo AND :hi"),
					ExpressionAttributeNames: map[string]string{"#p": table.TriggerPK, "#s": table.TriggerSK},
					ExpressionAttributeValues: map[string]types.AttributeValue{
						":p":  sAttr(table.TriggerPartition(trigger, table.Day(day), shard)),
						":lo": sAttr(table.SortTime(q.From)),
						":hi": sAttr(table.SortTime(q.To)),
					},
				}
				inputs = append(inputs, in)
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		total    int64
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, parallelCounts)
	)
	perProfile = map[int64]int64{}
	add := func(counts map[int64]int64) bool {
		mu.Lock()
		defer mu.Unlock()
		for p, n := range counts {
			perProfile[p] += n
			total += n
		}
		if total > limit && !more {
			more = true
			cancel()
		}
		return more
	}
	for _, in := range inputs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for ctx.Err() == nil {
				out, err := s.cfg.DB.Query(ctx, in)
				if err != nil {
					mu.Lock()
					if firstErr == nil && !more {
						firstErr = fmt.Errorf("audit: count %s index: %w", table.IndexByTrigger, err)
						cancel()
					}
					mu.Unlock()
					return
				}
				items := out.Items // the index carries each event's profile (table.TriggerAttributes)
				counts := map[int64]int64{}
				for _, item := range items {
					p, _ := item[attrProfileID].(*types.AttributeValueMemberN)
					var id int64
					if p != nil {
						id, _ = strconv.ParseInt(p.Value, 10, 64)
					}
					if q.ProfileID == 0 || id == q.ProfileID {
						counts[id]++
					}
				}
				if add(counts) || len(out.LastEvaluatedKey) == 0 {
					return
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, false, firstErr
	}
	if err := ctx.Err(); err != nil && !more {
		return nil, false, err
	}
	for p, n := range perProfile {
		if n == 0 {
			delete(perProfile, p)
		}
	}
	return perProfile, more, nil
}

// parallelCounts bounds the index queries CountEvents has in flight.
const parallelCounts = 16
