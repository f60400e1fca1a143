package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// consumer is a team's queue fed by its own rule on the lead bus (every lead event, replays
// included): what it received, in order.
type consumer struct {
	mu     sync.Mutex
	events []eventbus.Event
}

func subscribe(t *testing.T, st *devstack.Stack) *consumer {
	c := &consumer{}
	t.Cleanup(st.Bus.Subscribe(func(e eventbus.Event) {
		if e.Source == "wcbridge.whatconverts" {
			c.mu.Lock()
			c.events = append(c.events, e)
			c.mu.Unlock()
		}
	}))
	return c
}

// purge empties the queue (the mistake) and returns what it held.
func (c *consumer) purge() []eventbus.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.events
	c.events = nil
	return out
}

// detailWithout is an event's detail as a map, without the named members.
func detailWithout(t *testing.T, e eventbus.Event, drop ...string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Detail, &m); err != nil {
		t.Fatal(err)
	}
	for _, d := range drop {
		delete(m, d)
	}
	return m
}

// replayAnswer is POST /replays' answer.
type replayAnswer struct {
	ReplayID string `json:"replay_id"`
	Events   int    `json:"events"`
	DryRun   bool   `json:"dry_run"`
}

// postReplay asks for a replay, signed as the local caller, and waits until it has been published.
func postReplay(t *testing.T, st *devstack.Stack, body string) (replayAnswer, response) {
	t.Helper()
	r := do(t, st, http.MethodPost, st.APIURL+"/replays", []byte(body), true)
	var a replayAnswer
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatal(err)
		}
	}
	st.Functions.Wait() // the chain of chunk invocations
	return a, r
}

func TestAReplayRefillsAnEmptiedConsumerQueueWithTheWindowsEventsOnceEachInOrder(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true, ParameterOverrides: map[string]string{"ReplayRate": "10000"}})
	queue := subscribe(t, st)
	deliver := func(leadID, profileID int64, trigger string) {
		t.Helper()
		body := fmt.Sprintf(`{"trigger": %q, "lead_id": %d, "profile_id": %d, "lead_type": "Phone Call",
			"last_updated": "2026-11-28T10:00:%02dZ", "contact_name": "Synthetic Patient Ada"}`, trigger, leadID, profileID, leadID%60)
		if r := do(t, st, http.MethodPost, st.WebhookURL, []byte(body), false); r.status != http.StatusOK {
			t.Fatalf("webhook = %d %s", r.status, r.body)
		}
		time.Sleep(2 * time.Millisecond) // distinct received_at
	}
	deliver(9400001, 1001, "new") // before the window
	from := time.Now().UTC()
	for i := range int64(12) {
		profile := 1001 + i%2
		trigger := "new"
		if i%3 == 2 {
			trigger = "update"
		}
		deliver(9400100+i, profile, trigger)
	}
	to := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	deliver(9400002, 1001, "new") // after it

	original := queue.purge() // the consumer's mistake: everything it had is gone
	if len(original) != 14 {
		t.Fatalf("the consumer had %d events, want 14", len(original))
	}
	inWindow := original[1:13]
	window := fmt.Sprintf(`"from": %q, "to": %q`, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))

	for _, tc := range []struct {
		name   string
		filter string
		keep   func(d map[string]any) bool
	}{
		{"the whole window", "", func(map[string]any) bool { return true }},
		{"one trigger", `, "trigger": "updated-lead"`, func(d map[string]any) bool { return d["trigger"] == "updated-lead" }},
		{"one profile", `, "profile_id": 1002`, func(d map[string]any) bool { return d["profile_id"] == float64(1002) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []eventbus.Event
			for _, e := range inWindow {
				if tc.keep(detailWithout(t, e)) {
					want = append(want, e)
				}
			}
			ans, r := postReplay(t, st, "{"+window+tc.filter+"}")
			if r.status != http.StatusOK || ans.Events != len(want) || ans.DryRun || len(ans.ReplayID) != 30 {
				t.Fatalf("POST /replays = %d %s, want 200 with %d events", r.status, r.body, len(want))
			}
			got := queue.purge()
			if len(got) != len(want) {
				t.Fatalf("the queue got %d events, want %d", len(got), len(want))
			}
			for i := range want {
				g := detailWithout(t, got[i])
				if g["replay_id"] != ans.ReplayID {
					t.Errorf("event %d has replay_id %v, want %s", i, g["replay_id"], ans.ReplayID)
				}
				if !reflect.DeepEqual(detailWithout(t, got[i], "replay_id"), detailWithout(t, want[i])) ||
					got[i].DetailType != want[i].DetailType || !got[i].Time.Equal(want[i].Time) {
					t.Errorf("event %d = %s, want the original %s plus replay_id", i, got[i].Detail, want[i].Detail)
				}
			}
		})
	}

	t.Run("a dry run counts without publishing", func(t *testing.T) {
		ans, r := postReplay(t, st, `{`+window+`, "dry_run": true}`)
		if r.status != http.StatusOK || ans.Events != 12 || !ans.DryRun {
			t.Fatalf("POST /replays = %d %s", r.status, r.body)
		}
		if got := queue.purge(); len(got) != 0 {
			t.Fatalf("a dry run published %d events", len(got))
		}
	})

	t.Run("every replay is audited with the caller, the window and the count", func(t *testing.T) {
		store := audit.New(audit.Config{DB: testenv.DynamoDB(t), Table: st.Options.Table})
		var asked, done int
		err := store.Day(context.Background(), table.Day(time.Now()), func(r audit.Record) error {
			if r.Action != "replay" || r.Status >= 400 {
				return nil
			}
			if r.Actor != "arn:aws:iam::123456789012:user/wcbridge-local" || !r.WindowFrom.Equal(from) || !r.WindowTo.Equal(to) {
				t.Errorf("replay record %+v", r)
			}
			switch {
			case r.Status == 200: // the request
				asked++
			case r.Status == 0 && r.Events > 0 && !r.DryRun: // the end of its publication
				done++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if asked != 4 || done != 3 {
			t.Errorf("%d request records and %d completion records, want 4 (3 replays and a dry run) and 3", asked, done)
		}
	})
}

func TestAReplayIsRefusedWithAClearErrorAndPublishesNothing(t *testing.T) {
	st := startStack(t, devstack.Options{DisableSchedules: true})
	queue := subscribe(t, st)
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"a window over 7 days", fmt.Sprintf(`{"from": %q, "to": %q}`, at(-8*24*time.Hour), at(-time.Hour)), 400, "to"},
		{"a window ending in the future", fmt.Sprintf(`{"from": %q, "to": %q}`, at(-time.Hour), at(time.Hour)), 400, "to"},
		{"to before from", fmt.Sprintf(`{"from": %q, "to": %q}`, at(-time.Hour), at(-2*time.Hour)), 400, "to"},
		{"no from", fmt.Sprintf(`{"to": %q}`, at(-time.Hour)), 400, "from"},
		{"an unknown trigger", fmt.Sprintf(`{"from": %q, "to": %q, "trigger": "deleted-lead"}`, at(-2*time.Hour), at(-time.Hour)), 400, "trigger"},
		{"an unknown member", fmt.Sprintf(`{"from": %q, "to": %q, "rate": 1000}`, at(-2*time.Hour), at(-time.Hour)), 400, "rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := postReplay(t, st, tc.body)
			if r.status != tc.status {
				t.Fatalf("POST /replays = %d %s, want %d", r.status, r.body, tc.status)
			}
			var e struct {
				Error struct {
					Fields []struct{ Field, Problem string } `json:"fields"`
				} `json:"error"`
			}
			_ = json.Unmarshal(r.body, &e)
			if len(e.Error.Fields) == 0 || e.Error.Fields[0].Field != tc.field {
				t.Fatalf("the error does not name %s: %s", tc.field, r.body)
			}
		})
	}
	t.Run("the 400 names the bound", func(t *testing.T) {
		_, r := postReplay(t, st, fmt.Sprintf(`{"from": %q, "to": %q}`, at(-8*24*time.Hour), at(-time.Hour)))
		if !json.Valid(r.body) || !containsAll(string(r.body), "7 days") {
			t.Fatalf("%s", r.body)
		}
	})
	t.Run("unsigned, as API Gateway answers", func(t *testing.T) {
		r := do(t, st, http.MethodPost, st.APIURL+"/replays", []byte(`{}`), false)
		if r.status != http.StatusForbidden {
			t.Fatalf("unsigned POST /replays = %d", r.status)
		}
	})
	if got := queue.purge(); len(got) != 0 {
		t.Fatalf("refused replays published %d events", len(got))
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !contains(s, sub) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
