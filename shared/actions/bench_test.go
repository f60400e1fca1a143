package actions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// benchLeads is how many leads profile 1001 holds in the request-count benchmark: more than the
// largest max_items, so that every N is served in full.
const benchLeads = 10_500

// benchStack is Get Leads against a simulator holding benchLeads leads in profile 1001, with an
// in-memory audit log: it counts WhatConverts requests, so it needs no other service.
type benchStack struct {
	sim *wcsim.Sim
	h   *actions.Handler
}

// benchSim is the simulator of every bench stack, seeded once per test process (seeding 10,000
// leads takes a while); the stacks only read it.
var benchSim = sync.OnceValues(func() (*wcsim.Sim, string) {
	sim := wcsim.NewSeeded(wcsim.Options{Seed: 5})
	sim.AddLeads(1001, benchLeads-wcsim.SeededLeadsPerProfile)
	sim.SetDailyQuota(wcsim.ProfileKey1001.Token, math.MaxInt32) // the benchmark repeats far beyond a day's 1,000
	srv := httptest.NewServer(sim)                               // left open for the process's other tests
	return sim, srv.URL + "/api/v1"
})

// maxResponse is Deps.MaxResponseBytes: -1 measures the paging alone, 0 is Lambda's 6 MB bound.
func newBenchStack(tb testing.TB, maxResponse int) *benchStack {
	tb.Helper()
	sim, url := benchSim()
	svc := actions.NewService(actions.Deps{
		WhatConverts: whatconverts.New(url),
		Credentials: whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{
			1001: {Token: wcsim.ProfileKey1001.Token, Secret: wcsim.ProfileKey1001.Secret}}},
		Audit:            &fakeAudit{},
		Logger:           slog.New(slog.DiscardHandler),
		MaxResponseBytes: maxResponse,
		Access:           allowAll{},
	})
	return &benchStack{sim: sim, h: actions.GetLeadsHandler(svc)}
}

// getLeads asks for n leads and returns the WhatConverts requests it cost and the leads answered.
func (b *benchStack) getLeads(tb testing.TB, n int) (requests, count int) {
	requests, body, _ := b.getLeadsBody(tb, n)
	return requests, body.Count
}

// getLeadsBody asks for n leads and returns the requests it cost, the answer, and its size as the
// Lambda runtime encodes the response.
func (b *benchStack) getLeadsBody(tb testing.TB, n int) (requests int, body leadsAnswer, encoded int) {
	before := b.sim.Requests()
	resp, err := b.h.HandleAPIGateway(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod: "GET", Path: "/leads",
		QueryStringParameters: map[string]string{"profile_id": "1001", "max_items": strconv.Itoa(n)},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "bench",
			Identity: events.APIGatewayRequestIdentity{UserArn: testCaller}},
	})
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("Get Leads N=%d: %d %.300s", n, resp.StatusCode, resp.Body)
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		tb.Fatal(err)
	}
	enc, err := json.Marshal(resp)
	if err != nil {
		tb.Fatal(err)
	}
	return b.sim.Requests() - before, body, len(enc)
}

type leadsAnswer struct {
	Count     int
	Truncated bool
	Leads     []struct {
		LeadID int64 `json:"lead_id"`
	}
}

// BenchmarkGetLeadsRequests prints performance figure P5: WhatConverts requests per Get Leads with
// max_items N, with Lambda's 6 MB response bound on as deployed, against the floor: ⌈N/2500⌉ (2,500
// is the API's page maximum), or, when the answer stops at the bound (10,000 leads are about 20 MB),
// ⌈leads answered/2500⌉, the pages those leads need; target ratio 1.
//
//	go test -run '^$' -bench GetLeadsRequests ./shared/actions/
func BenchmarkGetLeadsRequests(b *testing.B) {
	s := newBenchStack(b, 0)
	for _, n := range []int{1, 100, 2500, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			total, leads, truncated := 0, 0, false
			for b.Loop() {
				requests, body, _ := s.getLeadsBody(b, n)
				if body.Count != n && !body.Truncated {
					b.Fatalf("%d leads, want %d (the answer does not say it was truncated)", body.Count, n)
				}
				total += requests
				leads += body.Count
				truncated = truncated || body.Truncated
			}
			perOp, answered := float64(total)/float64(b.N), float64(leads)/float64(b.N)
			floor := math.Ceil(float64(n) / whatconverts.MaxLeadsPerPage)
			if truncated {
				floor = math.Ceil(answered / whatconverts.MaxLeadsPerPage)
			}
			b.ReportMetric(perOp, "wc_requests/op")
			b.ReportMetric(floor, "floor_requests/op")
			b.ReportMetric(answered, "leads/op")
			b.ReportMetric(map[bool]float64{true: 1}[truncated], "truncated")
			b.ReportMetric(perOp/floor, "ratio")
		})
	}
}
