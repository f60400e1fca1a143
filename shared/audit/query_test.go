package audit_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/table"
)

func TestRecentEvents(t *testing.T) {
	e := newEnv(t, false)
	now := time.Date(2025, 3, 14, 0, 2, 0, 0, time.UTC) // 2 minutes after midnight
	e.clock.Set(now)

	// New-lead events every 10 s from 7 min before now (yesterday) to now, written in random order;
	// updated-lead events in between; an action record in the window.
	var newLeads []string // newest first
	type ev struct {
		key audit.DedupeKey
		at  time.Time
	}
	var evs []ev
	for i := range 43 {
		at := now.Add(-time.Duration(i) * 10 * time.Second)
		k := newLeadKey(int64(5000 + i))
		evs = append(evs, ev{k, at})
		newLeads = append(newLeads, audit.EventID(k))
		u := k
		u.Trigger = audit.TriggerUpdatedLead
		evs = append(evs, ev{u, at.Add(-time.Second)})
	}
	rand.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for _, v := range evs {
		if _, _, err := e.store.RecordIfNew(ctx(t), v.key, webhook(v.at, "r"), leadPayload); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Append(ctx(t), action(now.Add(-time.Minute), 5001), nil); err != nil {
		t.Fatal(err)
	}

	ids := func(recs []audit.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		window time.Duration
		limit  int
		want   []string
	}{
		// 5 min back from 00:02:00 is 23:57:00 yesterday: events at 0 s … 300 s ago, 31 of them.
		{"5 minutes across midnight", 5 * time.Minute, 500, newLeads[:31]},
		{"within today only", 90 * time.Second, 500, newLeads[:10]},
		{"capped at limit, newest kept", 5 * time.Minute, 7, newLeads[:7]},
		{"a limit of 1 is the newest", time.Hour, 1, newLeads[:1]},
		{"every event", time.Hour, 500, newLeads},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := e.store.RecentEvents(ctx(t), audit.TriggerNewLead, tc.window, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(recs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			for _, r := range recs {
				if r.Trigger != audit.TriggerNewLead || r.Sealed == nil {
					t.Errorf("record %s: trigger %q, sealed %d bytes", r.ID, r.Trigger, len(r.Sealed))
				}
			}
		})
	}
	t.Run("triggers are kept apart", func(t *testing.T) {
		recs, err := e.store.RecentEvents(ctx(t), audit.TriggerUpdatedLead, 5*time.Minute, 500)
		if err != nil {
			t.Fatal(err)
		}
		// Updated-lead events are 1 s older than their new-lead twin: 30 of them are in the window.
		if len(recs) != 30 {
			t.Errorf("got %d updated-lead events, want 30", len(recs))
		}
		for i, r := range recs {
			if r.Trigger != audit.TriggerUpdatedLead {
				t.Errorf("record %s has trigger %q", r.ID, r.Trigger)
			}
			if i > 0 && !recs[i-1].ReceivedAt.After(r.ReceivedAt) {
				t.Errorf("not newest first at %d", i)
			}
		}
	})
	t.Run("invalid arguments", func(t *testing.T) {
		for _, args := range []struct {
			trigger string
			window  time.Duration
			limit   int
		}{{"new", time.Minute, 1}, {audit.TriggerNewLead, 0, 1}, {audit.TriggerNewLead, time.Minute, 0}} {
			if _, err := e.store.RecentEvents(ctx(t), args.trigger, args.window, args.limit); !errors.Is(err, audit.ErrInvalidQuery) {
				t.Errorf("RecentEvents(%q, %v, %d): err = %v, want ErrInvalidQuery", args.trigger, args.window, args.limit, err)
			}
		}
	})
}

func TestDayStreamsEveryRecordInKeyOrder(t *testing.T) {
	e := newEnv(t, false)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

	// 420 records in one shard (so that it takes several pages), 60 spread over the others, a few
	// sharing one instant (ordered by ID), and records of the days around that must not show.
	var recs []audit.Record
	for len(recs) < 420 {
		if id := audit.NewRecordID(); table.ShardOf(id) == 3 {
			r := action(day.Add(time.Duration(rand.Int64N(int64(24*time.Hour)))), 1)
			r.ID = id
			recs = append(recs, r)
		}
	}
	for i := range 60 {
		at := day.Add(time.Duration(rand.Int64N(int64(24 * time.Hour))))
		if i < 5 {
			at = day.Add(12 * time.Hour)
		}
		recs = append(recs, action(at, int64(i)))
	}
	var want []string
	for _, r := range recs {
		stored, err := e.store.Append(ctx(t), r, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, table.IndexSortKey(stored.ReceivedAt, stored.ID))
	}
	sort.Strings(want)
	for _, at := range []time.Time{day.Add(-time.Nanosecond), day.Add(24 * time.Hour)} {
		if _, err := e.store.Append(ctx(t), action(at, 1), nil); err != nil {
			t.Fatal(err)
		}
	}

	e.reqs.take()
	var got []string
	shards := map[int]bool{}
	err := e.store.Day(ctx(t), "2025-03-14", func(r audit.Record) error {
		got = append(got, table.IndexSortKey(r.ReceivedAt, r.ID))
		shards[table.ShardOf(r.ID)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Day gave %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %s, want %s", i, got[i], want[i])
		}
	}
	if len(shards) < 8 {
		t.Errorf("records came from %d shards, expected most of %d", len(shards), table.Shards)
	}
	if q := e.reqs.take()["Query"]; q <= table.Shards {
		t.Errorf("Day sent %d queries: the 420-record shard should take several pages", q)
	}

	t.Run("an error from fn stops it", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := e.store.Day(ctx(t), "2025-03-14", func(audit.Record) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("err = %v after %d records", err, n)
		}
	})
	t.Run("a malformed day", func(t *testing.T) {
		if err := e.store.Day(ctx(t), "14/03/2025", func(audit.Record) error { return nil }); !errors.Is(err, audit.ErrInvalidQuery) {
			t.Errorf("err = %v, want ErrInvalidQuery", err)
		}
	})
}
