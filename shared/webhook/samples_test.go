package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/audit"
)

const callerARN = "arn:aws:iam::123456789012:role/crm-sync"

func samplesRequest(trigger, caller string) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		Resource:       "/triggers/{trigger}/samples",
		Path:           "/triggers/" + trigger + "/samples",
		HTTPMethod:     "GET",
		PathParameters: map[string]string{"trigger": trigger},
	}
	req.RequestContext.RequestID = "req-" + randomHex(8)
	req.RequestContext.Identity.UserArn = caller
	return req
}

func (e *env) sample(req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, SamplesResponse) {
	e.t.Helper()
	resp, err := e.samples.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	var body SamplesResponse
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			e.t.Fatal(err)
		}
	} else {
		assertNoPHI(e.t, "the answer", resp.Body)
	}
	return resp, body
}

// deliverAt delivers a body as if received at t.
func (e *env) deliverAt(at time.Time, body []byte) string {
	e.t.Helper()
	e.ingest.Now = func() time.Time { return at }
	defer func() { e.ingest.Now = nil }()
	return decodeOK(e.t, e.deliver(body, tokenCurrent)).EventID
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestSamplesAreTheTriggersLastFiveMinutesNewestFirstAndTheReadIsAudited(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC()
	tooOld := withLead(t, fixtureNew, 10001, nil)
	older := withLead(t, fixtureNew, 10002, nil)
	newer := withLead(t, fixtureNew, 10003, nil)
	update := withLead(t, fixtureUpdate, 10004, nil)
	e.deliverAt(now.Add(-6*time.Minute), tooOld)
	olderID := e.deliverAt(now.Add(-4*time.Minute), older)
	updateID := e.deliverAt(now.Add(-2*time.Minute), update)
	newerID := e.deliverAt(now.Add(-1*time.Minute), newer)

	req := samplesRequest("new-lead", callerARN)
	resp, got := e.sample(req)
	if resp.StatusCode != 200 || got.Trigger != "new-lead" || got.WindowSeconds != 300 || got.Limit != 500 {
		t.Fatalf("status %d, %+v", resp.StatusCode, got)
	}
	if len(got.Samples) != 2 || got.Samples[0].EventID != newerID || got.Samples[1].EventID != olderID {
		t.Fatalf("samples %v, want [%s %s] (newest first, the 6-minute-old one left out, no update)", ids(got.Samples), newerID, olderID)
	}
	if !sameJSON(t, got.Samples[0].Lead, newer) || !sameJSON(t, got.Samples[1].Lead, older) {
		t.Fatal("a sample's lead is not the body received")
	}
	if at, err := time.Parse(time.RFC3339Nano, got.Samples[0].ReceivedAt); err != nil || !at.Equal(now.Add(-time.Minute).Round(0)) {
		t.Fatalf("received_at %q", got.Samples[0].ReceivedAt)
	}

	_, upd := e.sample(samplesRequest("updated-lead", callerARN))
	if len(upd.Samples) != 1 || upd.Samples[0].EventID != updateID {
		t.Fatalf("updated-lead samples %v", ids(upd.Samples))
	}

	// The read is on record: who, what, which leads (in clear) and which events (sealed).
	reads := e.recordsWhere(func(r audit.Record) bool { return r.RequestID == req.RequestContext.RequestID })
	if len(reads) != 1 {
		t.Fatalf("%d audit records of the read, want 1", len(reads))
	}
	r := reads[0]
	if r.Kind != audit.KindPHIRead || r.Actor != callerARN || r.Action != ActionTriggerSamples || r.Outcome != audit.OutcomeOK ||
		r.Status != 200 || !slices.Equal(r.LeadIDs, []int64{10003, 10002}) {
		t.Fatalf("read audited as %+v", r)
	}
	sealed, err := e.reader.OpenPayload(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var read readPayload
	if err := json.Unmarshal(sealed, &read); err != nil || read.Trigger != "new-lead" || !slices.Equal(read.EventIDs, []string{newerID, olderID}) {
		t.Fatalf("sealed part of the read record %s, %v", sealed, err)
	}
}

func ids(s []Sample) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.EventID)
	}
	return out
}

func TestSamplesAreCappedAt500(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	const n = SamplesLimit + 3
	body := []byte(`{"trigger":"new","lead_id":1,"profile_id":1001,"contact_name":"Synthetic Patient Zed"}`)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			at := now.Add(-time.Duration(n-i) * 100 * time.Millisecond) // lead 20000+i is the i-th oldest
			key := audit.DedupeKey{ProfileID: 1001, LeadID: int64(20000 + i), Trigger: audit.TriggerNewLead, LastUpdated: at,
				BodyHash: strings.Repeat("ab", 32)}
			_, _, err := e.writer.RecordIfNew(ctx, key, audit.Record{ReceivedAt: at, RequestID: fmt.Sprint(i)}, body)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	resp, got := e.sample(samplesRequest("new-lead", callerARN))
	if resp.StatusCode != 200 || len(got.Samples) != SamplesLimit {
		t.Fatalf("status %d, %d samples, want %d", resp.StatusCode, len(got.Samples), SamplesLimit)
	}
	reads := e.recordsWhere(func(r audit.Record) bool { return r.Kind == audit.KindPHIRead })
	if len(reads) != 1 || len(reads[0].LeadIDs) != SamplesLimit || reads[0].LeadIDs[0] != 20000+n-1 ||
		reads[0].LeadIDs[SamplesLimit-1] != 20000+n-SamplesLimit {
		t.Fatalf("the read record does not name the %d newest leads, newest first", SamplesLimit)
	}
}

func TestSamplesRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		trigger string
		caller  string
		status  int
		code    string
		audited bool
	}{
		{"an unknown trigger is not found, and the attempt is audited", "new-leads", callerARN, 404, "not_found", true},
		{"the body's trigger value is not a trigger name", "new", callerARN, 404, "not_found", true},
		{"no caller identity is forbidden", "new-lead", "", 403, "forbidden", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := samplesRequest(tc.trigger, tc.caller)
			resp, _ := e.sample(req)
			if resp.StatusCode != tc.status || decodeError(t, resp).Error.Code != tc.code {
				t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
			}
			recs := e.recordsWhere(func(r audit.Record) bool { return r.RequestID == req.RequestContext.RequestID })
			if !tc.audited {
				if len(recs) != 0 {
					t.Fatalf("records %+v", recs)
				}
				return
			}
			if len(recs) != 1 || recs[0].Kind != audit.KindPHIRead || recs[0].Actor != callerARN ||
				recs[0].Outcome != audit.OutcomeRejected || recs[0].Status != tc.status || len(recs[0].LeadIDs) != 0 {
				t.Fatalf("records %+v", recs)
			}
		})
	}
}
