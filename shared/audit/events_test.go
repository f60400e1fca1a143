package audit_test

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// ev is an accepted event as a test writes it.
type ev struct {
	key audit.DedupeKey
	at  time.Time
}

func idsOf(evs []ev) []string {
	var ids []string
	for _, v := range evs {
		ids = append(ids, audit.EventID(v.key))
	}
	return ids
}

// positionOf is the position of the event with that ID.
func positionOf(evs []ev, id string) string {
	for _, v := range evs {
		if audit.EventID(v.key) == id {
			return audit.Position(audit.Record{ID: id, ReceivedAt: v.at})
		}
	}
	return ""
}

func TestEventsWalksAWindowInTheOrderReceived(t *testing.T) {
	e := newEnv(t, false)
	// Events every 7 minutes from 22:00 on the 13th to 02:00 on the 15th (two midnights), both
	// triggers, two profiles, written in random order; action records in between must not appear.
	start := time.Date(2025, 3, 13, 22, 0, 0, 0, time.UTC)
	var evs []ev
	for i := range 240 {
		k := newLeadKey(int64(7000 + i))
		if i%3 == 0 {
			k.Trigger = audit.TriggerUpdatedLead
		}
		if i%2 == 0 {
			k.ProfileID = 1002
		}
		evs = append(evs, ev{k, start.Add(time.Duration(i) * 7 * time.Minute)})
	}
	// Two events received at the same nanosecond: the event ID breaks the tie.
	evs = append(evs, ev{newLeadKey(8001), evs[100].at}, ev{newLeadKey(8002), evs[100].at})
	rand.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for _, v := range evs {
		if _, _, err := e.store.RecordIfNew(ctx(t), v.key, webhook(v.at, "r"), leadPayload); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Append(ctx(t), action(start.Add(time.Hour), 7001), nil); err != nil {
		t.Fatal(err)
	}
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].at.Equal(evs[j].at) {
			return evs[i].at.Before(evs[j].at)
		}
		return audit.EventID(evs[i].key) < audit.EventID(evs[j].key)
	})

	from, to := start.Add(90*time.Minute), start.Add(27*time.Hour)
	want := func(keep func(ev) bool) []string {
		var ids []string
		for _, v := range evs {
			if !v.at.Before(from) && v.at.Before(to) && keep(v) {
				ids = append(ids, audit.EventID(v.key))
			}
		}
		return ids
	}
	walk := func(t *testing.T, q audit.EventQuery) []string {
		t.Helper()
		var ids []string
		err := e.store.Events(ctx(t), q, func(r audit.Record) error {
			if r.Sealed != nil {
				t.Fatalf("event %s came with its sealed part", r.ID)
			}
			if r.Trigger == "" || r.ProfileID == 0 || len(r.LeadIDs) != 1 || r.LeadType != "Phone Call" {
				t.Fatalf("event %s lacks its bus detail: %+v", r.ID, r)
			}
			ids = append(ids, r.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	all := want(func(ev) bool { return true })
	for _, tc := range []struct {
		name string
		q    audit.EventQuery
		want []string
	}{
		{"every event of [from, to), across shards, triggers and days", audit.EventQuery{From: from, To: to}, all},
		{"only new-lead events", audit.EventQuery{From: from, To: to, Trigger: audit.TriggerNewLead},
			want(func(v ev) bool { return v.key.Trigger == audit.TriggerNewLead })},
		{"only profile 1002", audit.EventQuery{From: from, To: to, ProfileID: 1002},
			want(func(v ev) bool { return v.key.ProfileID == 1002 })},
		{"an event received exactly at to is outside, one exactly at from inside",
			audit.EventQuery{From: evs[10].at, To: evs[20].at}, idsOf(evs[10:20])},
		{"resumed after a position: the rest, nothing twice", audit.EventQuery{From: from, To: to, After: positionOf(evs, all[57])}, all[58:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := walk(t, tc.q)
			if len(got) == 0 || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %d events, want %d\ngot  %v\nwant %v", len(got), len(tc.want), got, tc.want)
			}
		})
	}
	t.Run("CountEvents counts the same events per profile, and stops past its limit", func(t *testing.T) {
		perProfile, more, err := e.store.CountEvents(ctx(t), audit.EventQuery{From: from, To: to}, 1000)
		want := map[int64]int64{}
		for _, v := range evs {
			if !v.at.Before(from) && v.at.Before(to) {
				want[v.key.ProfileID]++
			}
		}
		if err != nil || more || !reflect.DeepEqual(perProfile, want) {
			t.Errorf("CountEvents = %v, %v, %v; want %v", perProfile, more, err, want)
		}
		one, _, err := e.store.CountEvents(ctx(t), audit.EventQuery{From: from, To: to, ProfileID: 1002, Trigger: audit.TriggerNewLead}, 1000)
		wantOne := len(want1002New(evs, from, to))
		if err != nil || len(one) != 1 || one[1002] != int64(wantOne) {
			t.Errorf("CountEvents of profile 1002's new leads = %v, %v; want %d", one, err, wantOne)
		}
		if _, more, err := e.store.CountEvents(ctx(t), audit.EventQuery{From: from, To: to}, 10); err != nil || !more {
			t.Errorf("CountEvents with limit 10 = more %v, %v; want more", more, err)
		}
	})
	t.Run("a window with from not before to is refused", func(t *testing.T) {
		if err := e.store.Events(ctx(t), audit.EventQuery{From: to, To: from}, func(audit.Record) error { return nil }); err == nil {
			t.Error("no error")
		}
	})
}

func want1002New(evs []ev, from, to time.Time) []ev {
	var out []ev
	for _, v := range evs {
		if !v.at.Before(from) && v.at.Before(to) && v.key.ProfileID == 1002 && v.key.Trigger == audit.TriggerNewLead {
			out = append(out, v)
		}
	}
	return out
}
