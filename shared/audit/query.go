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
// consistent: read a day once it is over (the digest job runs after SettleTime). The index holds
// keys only; each page's records are read from the table itself (see items).
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
		c := &cursor{sortKey: table.DaySK, fetch: true, input: in}
		if err := c.fill(ctx, s); err != nil {
			return err
		}
		if len(c.items) > 0 {
			h = append(h, c)
		}
	}
	return s.merge(ctx, h, fn)
}

// merge calls fn with the items of the cursors (each already filled and not empty) in sort key order.
func (s *Store) merge(ctx context.Context, h cursorHeap, fn func(map[string]types.AttributeValue) error) error {
	heap.Init(&h)
	for h.Len() > 0 {
		c := h[0]
		item := c.items[0]
		c.items[0] = nil // let it go: the page's array would keep every consumed item until the refill
		c.items = c.items[1:]
		if err := fn(item); err != nil {
			return err
		}
		if len(c.items) == 0 {
			if err := c.fill(ctx, s); err != nil {
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

// cursor walks one partition of an index a page at a time, in the order of its sort key.
type cursor struct {
	input   *dynamodb.QueryInput
	sortKey string // the index's sort key attribute
	fetch   bool   // the index holds keys only: read the items it names from the table
	items   []map[string]types.AttributeValue
	done    bool
}

// fill fetches pages until it has items or the shard is exhausted, in the index's order: with
// fetch, the index's keys and then the items they name.
func (c *cursor) fill(ctx context.Context, s *Store) error {
	for len(c.items) == 0 && !c.done {
		out, err := s.cfg.DB.Query(ctx, c.input)
		if err != nil {
			return fmt.Errorf("audit: query %s index: %w", aws.ToString(c.input.IndexName), err)
		}
		c.items = out.Items
		if c.fetch {
			if c.items, err = s.items(ctx, out.Items); err != nil {
				return err
			}
		}
		c.input.ExclusiveStartKey = out.LastEvaluatedKey
		c.done = len(out.LastEvaluatedKey) == 0
	}
	return nil
}

func (c *cursor) head() string { return str(c.items[0], c.sortKey) }

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
	entries, err := s.queryEach(ctx, inputs, limit)
	if err != nil {
		return nil, err
	}
	// The index holds keys only: the newest limit entries' records are read from the table.
	sort.Slice(entries, func(i, j int) bool { return str(entries[i], table.TriggerSK) > str(entries[j], table.TriggerSK) })
	items, err := s.items(ctx, entries[:min(limit, len(entries))])
	if err != nil {
		return nil, err
	}
	return unmarshalAll(items)
}

// PendingEvents returns accepted events still on the outbox that were received more than olderThan
// ago (so that a sweeper leaves the inline publish of a request in flight alone), oldest first, at
// most limit, across every outbox shard. The records hold what the outbox index carries
// (table.OutboxAttributes: the bus event's detail), never the sealed PHI part or the hash.
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
	entries, err := s.queryEach(ctx, inputs, limit)
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return str(entries[i], table.OutboxSK) < str(entries[j], table.OutboxSK) })
	return unmarshalAll(entries[:min(limit, len(entries))])
}

func unmarshalAll(items []map[string]types.AttributeValue) ([]Record, error) {
	recs := make([]Record, 0, len(items))
	for _, item := range items {
		r, err := unmarshal(item)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// batchGetMax is BatchGetItem's limit of keys per request.
const batchGetMax = 100

// items reads the items the index entries name from the table (strongly consistent), in the
// entries' order; an item deleted since its entry was read is left out. The by-day and by-trigger
// indexes project keys only: their readers need whole records (the digest and the verifier hash
// them, the samples open them), and an index that copied the sealed part would charge every
// webhook's write for it once more.
func (s *Store) items(ctx context.Context, entries []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	byKey := make(map[[2]string]map[string]types.AttributeValue, len(entries))
	for start := 0; start < len(entries); start += batchGetMax {
		var keys []map[string]types.AttributeValue
		for _, e := range entries[start:min(start+batchGetMax, len(entries))] {
			keys = append(keys, map[string]types.AttributeValue{table.PK: e[table.PK], table.SK: e[table.SK]})
		}
		req := map[string]types.KeysAndAttributes{s.cfg.Table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 { // DynamoDB left some keys unread (throttling, 16 MB): back off, then ask again
				select {
				case <-ctx.Done():
					return nil, fmt.Errorf("audit: read records: %w", ctx.Err())
				case <-time.After(min(time.Duration(attempt)*50*time.Millisecond, time.Second)):
				}
			}
			out, err := s.cfg.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("audit: read records: %w", err)
			}
			for _, item := range out.Responses[s.cfg.Table] {
				byKey[[2]string{str(item, table.PK), str(item, table.SK)}] = item
			}
			req = out.UnprocessedKeys
		}
	}
	items := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		if item, ok := byKey[[2]string{str(e, table.PK), str(e, table.SK)}]; ok {
			items = append(items, item)
		}
	}
	return items, nil
}

// queryEach runs the queries concurrently, each until it has limit index entries or is exhausted:
// every partition is ordered the way the caller wants, so limit from each is enough for limit overall.
func (s *Store) queryEach(ctx context.Context, inputs []*dynamodb.QueryInput, limit int) ([]map[string]types.AttributeValue, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		all      []map[string]types.AttributeValue
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
			entries, err := s.queryUpTo(ctx, in, limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			all = append(all, entries...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return all, nil
}

func (s *Store) queryUpTo(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]map[string]types.AttributeValue, error) {
	var entries []map[string]types.AttributeValue
	for {
		out, err := s.cfg.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("audit: query %s index: %w", aws.ToString(in.IndexName), err)
		}
		entries = append(entries, out.Items...)
		if len(entries) >= limit || len(out.LastEvaluatedKey) == 0 {
			return entries, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
