package replay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
)

// Fakes: the real store, bus and Lambda run in shared/local/devstack's and e2e's tests.

type fakeEvents struct{ perProfile map[int64]int64 }

func (f fakeEvents) CountEvents(context.Context, audit.EventQuery, int64) (map[int64]int64, bool, error) {
	return f.perProfile, false, nil
}
func (f fakeEvents) Events(context.Context, audit.EventQuery, func(audit.Record) error) error {
	return nil
}

type fakeAudit struct{ recs []audit.Record }

func (f *fakeAudit) Append(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) {
	f.recs = append(f.recs, r)
	return r, nil
}

type fakeJobs struct{ created []Job }

func (f *fakeJobs) Create(_ context.Context, j Job, _ time.Time) error {
	f.created = append(f.created, j)
	return nil
}
func (f *fakeJobs) Claim(context.Context, string, string, time.Time, time.Time) (Job, error) {
	return Job{}, ErrJobNotFound
}
func (f *fakeJobs) Save(context.Context, string, string, string, int64, bool, bool) error { return nil }

type fakeInvoker struct{ payloads [][]byte }

func (f *fakeInvoker) InvokeAsync(_ context.Context, p []byte) error {
	f.payloads = append(f.payloads, p)
	return nil
}

// policy allows the (caller, profile) pairs it lists, or fails with err.
type policy struct {
	allow map[int64]bool
	err   error
}

func (p policy) Authorize(_ context.Context, _ string, action string, profileID int64) (bool, string, error) {
	if action != Action {
		return false, "", errors.New("unexpected action " + action)
	}
	return p.allow[profileID], "v1", p.err
}

const caller = "arn:aws:iam::123456789012:role/crm-sync"

func post(body string) events.APIGatewayProxyRequest {
	var r events.APIGatewayProxyRequest
	r.HTTPMethod, r.Path, r.Body = http.MethodPost, "/replays", body
	r.Headers = map[string]string{"Content-Type": "application/json"}
	r.RequestContext.RequestID = "req-1"
	r.RequestContext.Identity.UserArn = caller
	return r
}

func TestReplayIsAuthorisedOnEveryProfileItTouches(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	window := `"from": "2026-11-27T00:00:00Z", "to": "2026-11-28T00:00:00Z"`
	both := map[int64]int64{1001: 3, 1002: 2}
	for _, tc := range []struct {
		name       string
		authorizer Authorizer
		touched    map[int64]int64
		body       string
		status     int
		message    string
	}{
		{"allowed on both profiles it touches", policy{allow: map[int64]bool{1001: true, 1002: true}}, both, "{" + window + "}", 200, ""},
		{"refused when one profile it touches is not allowed", policy{allow: map[int64]bool{1001: true}}, both, "{" + window + "}", 403, "profile 1002"},
		{"refused when the policy fails, even if it said yes", policy{allow: map[int64]bool{1001: true, 1002: true}, err: errors.New("policy store down")}, both, "{" + window + "}", 403, "profile 1001"},
		{"refused without a policy at all", nil, both, "{" + window + "}", 403, "profile 1001"},
		{"the profile asked for is checked though the window has none of it", policy{allow: map[int64]bool{1001: true}}, map[int64]int64{}, "{" + window + `, "profile_id": 1003}`, 403, "profile 1003"},
		{"a dry run needs the same permission", policy{}, both, "{" + window + `, "dry_run": true}`, 403, "profile 1001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aud, jobs, next := &fakeAudit{}, &fakeJobs{}, &fakeInvoker{}
			h := &Handler{Events: fakeEvents{tc.touched}, Audit: aud, Jobs: jobs, Next: next, Authorizer: tc.authorizer,
				Now: func() time.Time { return now }}
			resp := h.HandleAPIGateway(context.Background(), post(tc.body))
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.message) {
				t.Fatalf("answered %d %s, want %d naming %q", resp.StatusCode, resp.Body, tc.status, tc.message)
			}
			if len(aud.recs) != 1 || aud.recs[0].Actor != caller || aud.recs[0].Status != tc.status || aud.recs[0].Action != Action {
				t.Fatalf("audit records %+v, want one of the request", aud.recs)
			}
			if tc.status != 200 && (len(jobs.created) != 0 || len(next.payloads) != 0) {
				t.Fatalf("a refused replay stored %d jobs and started %d chunks", len(jobs.created), len(next.payloads))
			}
			if tc.status == 200 {
				var a Answer
				_ = json.Unmarshal([]byte(resp.Body), &a)
				if a.Events != 5 || len(jobs.created) != 1 || len(next.payloads) != 1 ||
					string(next.payloads[0]) != `{"replay_id":"`+a.ReplayID+`"}` || aud.recs[0].ReplayID != a.ReplayID {
					t.Fatalf("answer %+v, jobs %+v, chunks %s", a, jobs.created, next.payloads)
				}
			}
		})
	}
}

// bus fails the entries at the given positions of its next calls, once each.
type flakyBus struct {
	failures [][]int // per call, the entry indexes to fail
	calls    [][]string
}

func (b *flakyBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	var ids []string
	out := &eventbridge.PutEventsOutput{}
	var fail []int
	if len(b.calls) < len(b.failures) {
		fail = b.failures[len(b.calls)]
	}
	for i, e := range in.Entries {
		var d struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		ids = append(ids, d.EventID)
		res := types.PutEventsResultEntry{EventId: aws.String("x")}
		for _, f := range fail {
			if f == i {
				res = types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException")}
				out.FailedEntryCount++
			}
		}
		out.Entries = append(out.Entries, res)
	}
	b.calls = append(b.calls, ids)
	return out, nil
}

func TestPutBatchSendsAgainOnlyTheEntriesThatFailed(t *testing.T) {
	var recs []audit.Record
	for _, id := range []string{"evt_a", "evt_b", "evt_c", "evt_d"} {
		recs = append(recs, audit.Record{ID: id, Trigger: audit.TriggerNewLead, ProfileID: 1001, LeadIDs: []int64{1}, ReceivedAt: time.Now()})
	}
	t.Run("entries refused once are sent again, alone, and the batch is complete", func(t *testing.T) {
		bus := &flakyBus{failures: [][]int{{1, 3}}}
		done, err := putBatch(context.Background(), bus, "bus", "rpl_x", recs)
		if err != nil || done != 4 {
			t.Fatalf("putBatch = %d, %v; want 4, nil", done, err)
		}
		if len(bus.calls) != 2 || strings.Join(bus.calls[1], ",") != "evt_b,evt_d" {
			t.Fatalf("calls %v, want the second to carry evt_b and evt_d only", bus.calls)
		}
	})
	t.Run("an entry refused every time stops the batch at it: nothing after it counts as sent", func(t *testing.T) {
		bus := &flakyBus{failures: [][]int{{2}, {0}, {0}, {0}, {0}}}
		done, err := putBatch(context.Background(), bus, "bus", "rpl_x", recs)
		if !errors.Is(err, errNotPublished) || done != 2 {
			t.Fatalf("putBatch = %d, %v; want 2 (evt_a, evt_b) and errNotPublished", done, err)
		}
	})
}

func TestTheRequestIsValidatedWithEveryProblemNamed(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"a window of exactly 7 days is allowed", `{"from": "2026-11-21T00:00:00Z", "to": "2026-11-28T00:00:00Z"}`, nil},
		{"a window a second over 7 days", `{"from": "2026-11-20T23:59:59Z", "to": "2026-11-28T00:00:00Z"}`, []string{"to"}},
		{"dates that are not RFC 3339, and a bad profile", `{"from": "yesterday", "to": "2026-11-28", "profile_id": -1}`, []string{"from", "profile_id", "to"}},
		{"dry_run not a boolean", `{"from": "2026-11-27T00:00:00Z", "to": "2026-11-28T00:00:00Z", "dry_run": "yes"}`, []string{"dry_run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.body), now)
			var got []string
			if err != nil {
				for _, f := range apierr.From(err).Fields {
					got = append(got, f.Field)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("parse = %v, want problems with %v", err, tc.fields)
			}
		})
	}
}
