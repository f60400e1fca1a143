package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// p2Webhooks is how many webhooks P2 sends through one warm handler.
const p2Webhooks = 10_000

// measureP2 sends 10,000 New Lead webhooks through one webhook.Ingest, built as the function builds
// it, whose encryptor talks to local-kms through a client that counts every KMS operation
// (envelope.CountCalls). The table and the bus are zero-latency fakes: only the KMS calls are the
// figure. The envelope package's own BenchmarkSeal10k (10,000 seals on one Encryptor) is run too, as
// the same figure one layer down.
func measureP2(ctx context.Context, b *bench) (result, error) {
	opt, calls := envelope.CountCalls()
	k, err := localKMS(opt)
	if err != nil {
		return result{}, err
	}
	key, err := newKey(ctx, k, kmstypes.KeySpecSymmetricDefault)
	if err != nil {
		return result{}, err
	}
	tagKey, err := newKey(ctx, k, kmstypes.KeySpecSymmetricDefault)
	if err != nil {
		return result{}, err
	}
	token := "bench-token-" + strings.Repeat("b", 40)
	tokens, err := webhook.NewTokens([]string{token})
	if err != nil {
		return result{}, err
	}
	h := &webhook.Ingest{
		Tokens: tokens,
		Store: audit.New(audit.Config{DB: zeroDB{}, Table: "bench", Sealer: envelope.New(k, key, envelope.Options{}),
			Tagger: envelope.NewTagger(k, tagKey, envelope.Options{})}),
		Bus:      zeroBus{},
		EventBus: "bench",
		Log:      slog.New(slog.DiscardHandler),
	}
	// Synthetic New Lead payloads as WhatConverts sends them (the simulator's), one per lead.
	sim := wcsim.NewSeeded(wcsim.Options{Seed: 2})
	var bodies [][]byte
	for _, id := range sim.LeadIDs(1001) {
		body, err := sim.WebhookPayload(id, "new")
		if err != nil {
			return result{}, err
		}
		bodies = append(bodies, body)
	}
	calls.Reset()
	b.progress("  P2: %d webhooks through one warm webhook handler, KMS on local-kms", p2Webhooks)
	for i := range p2Webhooks {
		req := events.APIGatewayProxyRequest{
			HTTPMethod: "POST", Path: "/webhooks/whatconverts", Resource: "/webhooks/whatconverts",
			Headers:               map[string]string{"Content-Type": "application/json"},
			QueryStringParameters: map[string]string{"token": token},
			Body:                  string(bodies[i%len(bodies)]),
		}
		req.RequestContext.RequestID = fmt.Sprintf("bench-%d", i)
		resp, err := h.Handle(ctx, req)
		if err != nil || resp.StatusCode != 200 {
			return result{}, fmt.Errorf("webhook %d: status %d: %v", i, resp.StatusCode, err)
		}
		var r webhook.Response
		if err := json.Unmarshal([]byte(resp.Body), &r); err != nil || r.Duplicate {
			return result{}, fmt.Errorf("webhook %d: not recorded as new", i)
		}
	}
	total := float64(calls.Total())
	details := []string{
		fmt.Sprintf("%d New Lead webhooks through webhook.Ingest (real audit store and envelope encryptor, real KMS client on local-kms, zero-latency table and bus): KMS operations %v",
			p2Webhooks, calls.Counts()),
		"data keys and record tag keys are each reused for at most 5 minutes and 10,000 messages (envelope.Options defaults): one GenerateDataKey of each per 10,000",
	}

	b.progress("  P2: the envelope package's BenchmarkSeal10k (cross-check)")
	if bin, err := compileTests(ctx, b.root, b.tmp, "./shared/envelope"); err != nil {
		details = append(details, "envelope BenchmarkSeal10k: not run: "+strings.SplitN(err.Error(), "\n", 2)[0])
	} else if rs, err := bin.bench(ctx, "^BenchmarkSeal10k$", "1x"); err != nil {
		details = append(details, "envelope BenchmarkSeal10k: not run: "+strings.SplitN(err.Error(), "\n", 2)[0])
	} else if r, ok := find(rs, "BenchmarkSeal10k"); ok {
		details = append(details, fmt.Sprintf("envelope BenchmarkSeal10k (10,000 seals on one Encryptor, local-kms): %s kms-calls/10k",
			fmtCount(r.Metrics["kms-calls/10k"])))
	}
	b.progress("  P2: a fleet's day: %d instances, %d webhooks/s, %s, recycled (simulated clock)", fleetInstances, fleetRate, fleetDay)
	f, err := simulateFleet(ctx, bodies[0])
	if err != nil {
		return result{}, err
	}
	details = append(details, fmt.Sprintf("fleet: %d webhooks over a simulated %s, spread at random over %d instances, each recycled after a lifetime drawn "+
		"uniformly from %s to %s (%d environments in all), each with its own envelope.Encryptor (defaults) over a KMS that counts: "+
		"%d GenerateDataKey; naive envelope encryption (one GenerateDataKey per record) would make %d",
		f.webhooks, fleetDay, fleetInstances, fleetMinLife, fleetMaxLife, f.environments, f.calls, f.webhooks))
	details = append(details, fmt.Sprintf("a data key seals for at most %s, so each environment asks for about one per %s of its life: the fleet figure is "+
		"set by the key's age bound and the environments' count, not by the traffic", envelope.DefaultMaxAge, envelope.DefaultMaxAge))
	return result{
		Rows: []row{
			{ID: "P2", Name: "KMS requests per 10,000 webhooks, one warm instance", Value: fmtCount(total), Baseline: "naive 10,000",
				Ratio: fmtRatio(total / p2Webhooks), Target: "target ≤2", Verdict: verdict(total <= 2)},
			{ID: "P2", Name: fmt.Sprintf("KMS requests per day, fleet of %d at %d/s, recycled", fleetInstances, fleetRate),
				Value: fmtCount(float64(f.calls)), Baseline: "naive " + fmtCount(float64(f.webhooks)),
				Ratio: fmtRatio(float64(f.calls) / float64(f.webhooks)), Target: "reported", Verdict: "-"},
		},
		Details: details,
	}, nil
}

// The fleet P2 simulates: 10 instances taking 3 webhooks a second for a day between them, each
// environment recycled after a lifetime in [1 h, 4 h] (Lambda recycles environments after some
// hours even under steady traffic; it does not say when).
const (
	fleetInstances = 10
	fleetRate      = 3
	fleetDay       = 24 * time.Hour
	fleetMinLife   = time.Hour
	fleetMaxLife   = 4 * time.Hour
)

type fleetResult struct {
	webhooks, calls, environments int
}

// simulateFleet seals one payload per webhook through the real envelope package, one Encryptor per
// environment, on a simulated clock, and counts the data keys asked of a KMS that answers at once.
func simulateFleet(ctx context.Context, payload []byte) (fleetResult, error) {
	var res fleetResult
	rng := mrand.New(mrand.NewPCG(18, 2026))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	k := &countingKMS{}
	type instance struct {
		enc     *envelope.Encryptor
		retires time.Time
	}
	life := func() time.Duration {
		return fleetMinLife + time.Duration(rng.Int64N(int64(fleetMaxLife-fleetMinLife)))
	}
	fleet := make([]instance, fleetInstances)
	for i := range fleet {
		fleet[i] = instance{enc: envelope.New(k, "fleet-key", envelope.Options{Now: clock}), retires: now.Add(life())}
		res.environments++
	}
	step := time.Second / fleetRate
	aad := []byte("wcbridge-audit/v1|audit#fleet")
	for n := range int(fleetDay/time.Second) * fleetRate {
		now = start.Add(time.Duration(n) * step)
		i := rng.IntN(fleetInstances)
		if !now.Before(fleet[i].retires) {
			fleet[i] = instance{enc: envelope.New(k, "fleet-key", envelope.Options{Now: clock}), retires: now.Add(life())}
			res.environments++
		}
		if _, err := fleet[i].enc.Seal(ctx, aad, payload); err != nil {
			return res, err
		}
		res.webhooks++
	}
	res.calls = k.generate
	return res, nil
}

// countingKMS hands out random data keys at once and counts them.
type countingKMS struct{ generate int }

func (k *countingKMS) GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	k.generate++
	key, blob := make([]byte, envelope.KeySize), make([]byte, 184)
	_, _ = rand.Read(key)
	_, _ = rand.Read(blob)
	return &kms.GenerateDataKeyOutput{Plaintext: key, CiphertextBlob: blob}, nil
}

func (k *countingKMS) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return nil, errors.New("the fleet only seals")
}

// zeroDB is a table that takes every write at once: P2 counts KMS calls, not DynamoDB's.
type zeroDB struct{}

var _ audit.DB = zeroDB{}

func (zeroDB) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, nil
}

func (zeroDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return &dynamodb.UpdateItemOutput{}, nil
}

func (zeroDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, nil
}

func (zeroDB) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return &dynamodb.BatchGetItemOutput{}, nil
}

func (zeroDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return &dynamodb.QueryOutput{}, nil
}

// zeroBus is a bus that takes every event at once.
type zeroBus struct{}

var _ webhook.Bus = zeroBus{}

func (zeroBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return &eventbridge.PutEventsOutput{Entries: make([]ebtypes.PutEventsResultEntry, len(in.Entries))}, nil
}
