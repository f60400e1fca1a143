package audit

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// ErrInvalidQuery is returned for a malformed day, a non-positive window or limit.
var ErrInvalidQuery = errors.New("audit: invalid query")

// dayPageSize bounds the items held per shard while Day merges the shards: at most Shards pages.
const dayPageSize = 200

// parallelQueries bounds the index queries in flight for one call.
const parallelQueries = 8

// parseDay checks a YYYY-MM-DD UTC day.
func parseDay(day string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: day must be YYYY-MM-DD", ErrInvalidQuery)
	}
	return t, nil
}

// Day calls fn with every record of a UTC day (by received_at), in key order: received_at, then
// record ID, across all shards of the by-day index. It streams: it holds at most one page per shard,
// never the whole day. An error from fn stops it and is returned as is. The index is eventually
// consistent: read a day once it is over (the digest job runs after SettleTime).
func (s *Store) Day(ctx context.Context, day string, fn func(Record) error) error {
	return s.dayItems(ctx, day, func(item map[string]types.AttributeValue) error {
		r, err := unmarshal(item)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// dayItems is Day over the raw items, which the digest and the verifier hash as stored.
func (s *Store) dayItems(ctx context.Context, day string, fn func(map[string]types.AttributeValue) error) error {
	if _, err := parseDay(day); err != nil {
		return err
	}
	return s.indexItems(ctx, day, "", fn)
}

// indexItems streams the items of a day's by-day index whose sort key begins with prefix (all of
// them when it is empty; "<YYYY-MM-DD>T<HH>:" for one hour), in key order, merged across shards.
func (s *Store) indexItems(ctx context.Context, day, prefix string, fn func(map[string]types.AttributeValue) error) error {
	h := make(cursorHeap, 0, table.Shards)
	for shard := range table.Shards {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.cfg.Table),
			IndexName:                 aws.String(table.IndexByDay),
			KeyConditionExpression:    aws.String("#p = :p"),
			ExpressionAttributeNames:  map[string]string{"#p": table.DayPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": sAttr(table.DayPartition(day, shard))},
			Limit:                     aws.Int32(dayPageSize),
		}
		if prefix != "" {
			in.KeyConditionExpression = aws.String("#p = :p AND begins_with(#s, :prefix)")
			in.ExpressionAttributeNames["#s"] = table.DaySK
			in.ExpressionAttributeValues[":prefix"] = sAttr(prefix)
		}
		c := &cursor{input: in}
		if err := c.fill(ctx, s.cfg.DB); err != nil {
			return err
		}
		if len(c.items) > 0 {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := h[0]
		item := c.items[0]
		c.items = c.items[1:]
		if err := fn(item); err != nil {
			return err
		}
		if len(c.items) == 0 {
			if err := c.fill(ctx, s.cfg.DB); err != nil {
				return err
			}
		}
		if len(c.items) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return nil
}

// cursor walks one shard of the by-day index a page at a time.
type cursor struct {
	input *dynamodb.QueryInput
	items []map[string]types.AttributeValue
	done  bool
}

// fill fetches pages until it has items or the shard is exhausted.
func (c *cursor) fill(ctx context.Context, db DB) error {
	for len(c.items) == 0 && !c.done {
		out, err := db.Query(ctx, c.input)
		if err != nil {
			return fmt.Errorf("audit: query %s index: %w", table.IndexByDay, err)
		}
		c.items = out.Items
		c.input.ExclusiveStartKey = out.LastEvaluatedKey
		c.done = len(out.LastEvaluatedKey) == 0
	}
	return nil
}

func (c *cursor) head() string { return str(c.items[0], table.DaySK) }

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].head() < h[j].head() }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// RecentEvents returns the accepted events of a trigger received in the last window, newest first,
// at most limit, without opening their PHI parts. It reads every shard of the by-trigger index for
// each UTC day the window touches (yesterday's too when it crosses 00:00 UTC).
func (s *Store) RecentEvents(ctx context.Context, trigger string, window time.Duration, limit int) ([]Record, error) {
	if window <= 0 || limit <= 0 {
		return nil, fmt.Errorf("%w: window and limit must be positive", ErrInvalidQuery)
	}
	if trigger != TriggerNewLead && trigger != TriggerUpdatedLead {
		return nil, fmt.Errorf("%w: trigger must be %s or %s", ErrInvalidQuery, TriggerNewLead, TriggerUpdatedLead)
	}
	now := s.cfg.Now().UTC()
	from := now.Add(-window)
	var inputs []*dynamodb.QueryInput
	first, _ := parseDay(table.Day(from))
	for d := first; !d.After(now); d = d.Add(24 * time.Hour) {
		for shard := range table.Shards {
			inputs = append(inputs, &dynamodb.QueryInput{
				TableName:                aws.String(s.cfg.Table),
				IndexName:                aws.String(table.IndexByTrigger),
				KeyConditionExpression:   aws.String("#p = :p AND #s >= :from"),
				ExpressionAttributeNames: map[string]string{"#p": table.TriggerPK, "#s": table.TriggerSK},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":p":    sAttr(table.TriggerPartition(trigger, table.Day(d), shard)),
					":from": sAttr(table.SortTime(from)),
				},
				ScanIndexForward: aws.Bool(false),
				Limit:            aws.Int32(int32(min(limit, 1000))),
			})
		}
	}
	recs, err := s.queryEach(ctx, inputs, limit)
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return earlier(recs[j], recs[i]) })
	return recs[:min(limit, len(recs))], nil
}

// PendingEvents returns accepted events still on the outbox that were received more than olderThan
// ago (so that a sweeper leaves the inline publish of a request in flight alone), oldest first, at
// most limit, across every outbox shard. The metadata is the bus event's detail; no PHI part is opened.
func (s *Store) PendingEvents(ctx context.Context, olderThan time.Duration, limit int) ([]Record, error) {
	if olderThan < 0 || limit <= 0 {
		return nil, fmt.Errorf("%w: olderThan must not be negative and limit must be positive", ErrInvalidQuery)
	}
	cutoff := s.cfg.Now().Add(-olderThan)
	inputs := make([]*dynamodb.QueryInput, 0, table.Shards)
	for shard := range table.Shards {
		inputs = append(inputs, &dynamodb.QueryInput{
			TableName:                aws.String(s.cfg.Table),
			IndexName:                aws.String(table.IndexOutbox),
			KeyConditionExpression:   aws.String("#p = :p AND #s < :cut"),
			ExpressionAttributeNames: map[string]string{"#p": table.OutboxPK, "#s": table.OutboxSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":p":   sAttr(table.OutboxPartition(shard)),
				":cut": sAttr(table.SortTime(cutoff)),
			},
			Limit: aws.Int32(int32(min(limit, 1000))),
		})
	}
	recs, err := s.queryEach(ctx, inputs, limit)
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return earlier(recs[i], recs[j]) })
	return recs[:min(limit, len(recs))], nil
}

// earlier orders records by received_at, then ID (as the index sort keys do).
func earlier(a, b Record) bool {
	if !a.ReceivedAt.Equal(b.ReceivedAt) {
		return a.ReceivedAt.Before(b.ReceivedAt)
	}
	return a.ID < b.ID
}

// queryEach runs the queries concurrently, each until it has limit records or is exhausted: every
// partition is ordered the way the caller wants, so limit from each is enough for limit overall.
func (s *Store) queryEach(ctx context.Context, inputs []*dynamodb.QueryInput, limit int) ([]Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		all      []Record
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, parallelQueries)
	)
	for _, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			recs, err := s.queryUpTo(ctx, in, limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			all = append(all, recs...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return all, nil
}

func (s *Store) queryUpTo(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]Record, error) {
	var recs []Record
	for {
		out, err := s.cfg.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("audit: query %s index: %w", aws.ToString(in.IndexName), err)
		}
		for _, item := range out.Items {
			r, err := unmarshal(item)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r)
		}
		if len(recs) >= limit || len(out.LastEvaluatedKey) == 0 {
			return recs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
