package actions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// benchPolicy is a policy of a deployment serving many integrations: 40 callers, each reading its
// own profile, and an operator. The benchmarked caller is the last one, so that every statement is
// evaluated (Cedar evaluates them all anyway: a forbid anywhere would win).
var benchPolicy = func() string {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "permit (principal == Wcbridge::Caller::\"arn:aws:iam::123456789012:role/integration-%d\",\n"+
			"  action in [Wcbridge::Action::\"get-leads\", Wcbridge::Action::\"get-lead\"], resource == Wcbridge::Profile::\"%d\");\n", i, 1001+i)
	}
	b.WriteString(`permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:role/wcbridge-operator", action, resource);` + "\n")
	return b.String()
}()

const benchCaller = "arn:aws:sts::123456789012:assumed-role/integration-39/sync"

// benchAuthorizer is the Cedar authorizer over benchPolicy, built once.
var benchAuthorizer = sync.OnceValue(func() *access.Authorizer {
	return access.New(context.Background(), access.BuiltinSource{Text: []byte(benchPolicy)}, access.Options{Logger: slog.New(slog.DiscardHandler)})
})

// warmGetLead is Get Lead as a warm Lambda instance runs it, through the API Gateway adapter with
// the Cedar authorizer: validation, the policy, the WhatConverts call (answered in memory with one
// of the simulator's leads), the answer, the audit record (kept in memory). Without network and
// KMS, the action's CPU is a lower bound of the real one, so authorization's share measured
// against it is an upper bound.
func warmGetLead(tb testing.TB) (*actions.Handler, events.APIGatewayProxyRequest) {
	sim := wcsim.NewSeeded(wcsim.Options{Seed: 9})
	id := sim.LeadIDs(1001)[0] // served as profile 1040's by the fake
	raw, _ := sim.Lead(id)
	b, err := json.Marshal(raw)
	if err != nil {
		tb.Fatal(err)
	}
	var l whatconverts.Lead
	if err := json.Unmarshal(b, &l); err != nil {
		tb.Fatal(err)
	}
	l.ProfileID = 1040
	wc := &fakeWC{LeadFn: func(context.Context, whatconverts.KeyFor, int64) (whatconverts.Lead, error) { return l, nil }}
	creds := whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{1040: {Token: "t-1040", Secret: "s"}}}
	svc := actions.NewService(actions.Deps{WhatConverts: wc, Credentials: creds, Audit: &discardAudit{},
		Logger: slog.New(slog.DiscardHandler), Access: benchAuthorizer(), Origin: &testOrigin})
	ev := accessEvent("GET", strconv.FormatInt(id, 10), benchCaller, "1040")
	return actions.GetLeadHandler(svc), ev
}

// discardAudit accepts records and keeps none (the benchmark runs millions).
type discardAudit struct{}

func (*discardAudit) Append(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) {
	r.ID = "rec_bench"
	return r, nil
}

// BenchmarkWarmGetLead is a warm Get Lead with the Cedar authorizer (make bench: the action's CPU).
func BenchmarkWarmGetLead(b *testing.B) {
	h, ev := warmGetLead(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.HandleAPIGateway(ctx, ev)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("Get Lead = %d %v: %.200s", resp.StatusCode, err, resp.Body)
		}
	}
}

// BenchmarkAuthorize is the authorization step of that action alone (make bench: its share).
func BenchmarkAuthorize(b *testing.B) {
	a := benchAuthorizer()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ok, _, err := a.Authorize(ctx, benchCaller, actions.ActionGetLead, 1040)
		if err != nil || !ok {
			b.Fatalf("Authorize = %v, %v", ok, err)
		}
	}
}
