package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// The samples route's Authorizer is shared/access's (held here, in a test, so that the webhook's
// functions need not link the policy engine).
var _ Authorizer = (*access.Authorizer)(nil)

// Trigger samples show each caller only the profiles on which the policy lets it trigger-samples:
// the others' events are neither decrypted nor named; a caller allowed on none is refused, audited.
func TestSamplesAreFilteredByTheAccessPolicy(t *testing.T) {
	const (
		reader   = "arn:aws:iam::123456789012:role/crm-sync"
		operator = "arn:aws:iam::123456789012:role/wcbridge-operator"
		stranger = "arn:aws:iam::123456789012:user/someone"
	)
	policy := `
		permit (principal == Wcbridge::Caller::"` + reader + `", action == Wcbridge::Action::"trigger-samples", resource == Wcbridge::Profile::"1001");
		permit (principal == Wcbridge::Caller::"` + operator + `", action, resource);
		permit (principal == Wcbridge::Caller::"` + stranger + `", action == Wcbridge::Action::"get-leads", resource);`
	authz := access.New(context.Background(), access.BuiltinSource{Text: []byte(policy)}, access.Options{Logger: testLogger()})
	version, _ := authz.Version()
	if version == "" {
		t.Fatal("the test policy was refused")
	}
	// Events of profiles 1001 and 1002, alternating, newest first.
	events := make([]audit.Record, 6)
	for i := range events {
		p := int64(1001 + i%2)
		events[i] = audit.Record{ID: "evt_" + strconv.Itoa(i), ProfileID: p, LeadIDs: []int64{p*100 + int64(i)}, ReceivedAt: time.Now()}
	}
	tests := []struct {
		caller      string
		wantStatus  int
		wantProfile []int64 // the profiles of the samples answered
	}{
		{reader, 200, []int64{1001}},
		{operator, 200, []int64{1001, 1002}},
		{stranger, 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.caller, func(t *testing.T) {
			var mu sync.Mutex
			var opened []int64
			var audited []audit.Record
			store := fakeSampleReader{
				RecentEventsFn: func(context.Context, string, time.Duration, int) ([]audit.Record, error) { return events, nil },
				OpenPayloadFn: func(_ context.Context, r audit.Record) ([]byte, error) {
					mu.Lock()
					opened = append(opened, r.ProfileID)
					mu.Unlock()
					return []byte(`{"profile_id": ` + strconv.FormatInt(r.ProfileID, 10) + `}`), nil
				},
				AppendFn: func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) {
					audited = append(audited, r)
					return r, nil
				},
			}
			h := &Samples{Store: store, Access: authz, Origin: &httpapi.Origin{APIID: testAPIID, AccountID: testAccountID}, Log: testLogger()}
			resp, err := h.Handle(context.Background(), samplesRequest("new-lead", tt.caller))
			if err != nil || resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d %v, want %d: %s", resp.StatusCode, err, tt.wantStatus, resp.Body)
			}
			var got []int64
			if resp.StatusCode == http.StatusOK {
				var body SamplesResponse
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					t.Fatal(err)
				}
				for _, s := range body.Samples {
					var l struct {
						ProfileID int64 `json:"profile_id"`
					}
					_ = json.Unmarshal(s.Lead, &l)
					if !slices.Contains(got, l.ProfileID) {
						got = append(got, l.ProfileID)
					}
				}
			} else if !strings.Contains(resp.Body, "trigger-samples") {
				t.Fatalf("the refusal does not name the action: %s", resp.Body)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantProfile) {
				t.Fatalf("samples of profiles %v, want %v", got, tt.wantProfile)
			}
			for _, p := range opened {
				if !slices.Contains(tt.wantProfile, p) {
					t.Fatalf("an event of profile %d was decrypted for a caller who may not see it", p)
				}
			}
			if len(audited) != 1 || audited[0].PolicyVersion != version || audited[0].Status != tt.wantStatus {
				t.Fatalf("audited %+v; want one record naming policy %s", audited, version)
			}
			if tt.wantStatus == 403 && audited[0].Outcome != audit.OutcomeRejected {
				t.Fatalf("the refusal is audited as %s", audited[0].Outcome)
			}
			for _, id := range audited[0].LeadIDs {
				if !slices.Contains(tt.wantProfile, id/100) {
					t.Fatalf("the record names lead %d of a profile the caller may not see", id)
				}
			}
		})
	}
}

// An event naming another API, another account or none is refused before its identity is believed.
func TestSamplesRefuseEventsOfAnotherAPI(t *testing.T) {
	store := recentLeads(3, 100)
	var audited []audit.Record
	store.AppendFn = func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) {
		audited = append(audited, r)
		return r, nil
	}
	h := &Samples{Store: store, Access: allowAll{}, Origin: &httpapi.Origin{APIID: testAPIID, AccountID: testAccountID}, Log: testLogger()}
	for _, ids := range [][2]string{{"zzzzzzzzzz", testAccountID}, {testAPIID, "999999999999"}, {"", ""}} {
		req := samplesRequest("new-lead", callerARN)
		req.RequestContext.APIID, req.RequestContext.AccountID = ids[0], ids[1]
		resp, _ := h.Handle(context.Background(), req)
		if resp.StatusCode != 403 || strings.Contains(resp.Body, "nnnn") {
			t.Fatalf("%v: got %d", ids, resp.StatusCode)
		}
	}
}
