package webhook

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// TestBuiltFunctionsOverTheRealClients wires the three handlers as their main packages do
// (configuration only) against dynalite, local-kms and the local EventBridge, so the real SDK clients
// carry every call: a bus that fails whole calls, then single entries, then recovers, loses nothing
// and publishes each acknowledged event once.
func TestBuiltFunctionsOverTheRealClients(t *testing.T) {
	db := testenv.DynamoDB(t)
	k := testenv.KMS(t)
	bus := eventbus.New()
	srv := httptest.NewServer(bus)
	defer srv.Close()
	cfg, err := config.FromMap(map[string]string{
		config.EnvTable:               testenv.Table(t, db),
		config.EnvDataKey:             testenv.SymmetricKey(t, k),
		config.EnvTagKey:              testenv.SymmetricKey(t, k),
		config.EnvEventBus:            "wcbridge-leads",
		config.EnvDynamoDBEndpoint:    os.Getenv("DYNAMODB_ENDPOINT"),
		config.EnvKMSEndpoint:         os.Getenv("KMS_ENDPOINT"),
		config.EnvEventBridgeEndpoint: srv.URL,
		config.EnvWebhookTokensLocal:  tokenCurrent + "," + tokenPrevious,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ingest, err := BuildIngest(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := BuildPublisher(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := BuildSamples(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ingest.Log, publisher.Log, samples.Log = testLogger(), testLogger(), testLogger()
	publisher.Settle = 1

	deliver := func(lead int64) string {
		t.Helper()
		resp, err := ingest.Handle(ctx, post(withLead(t, fixtureNew, lead, nil), tokenCurrent))
		if err != nil {
			t.Fatal(err)
		}
		assertNoPHI(t, "the answer", resp.Body)
		return decodeOK(t, resp).EventID
	}

	bus.FailAllRequests()
	acked := []string{deliver(1), deliver(2)}
	if res, err := publisher.Handle(ctx, json.RawMessage(`{}`)); err == nil || res.Published != 0 {
		t.Fatalf("sweep with the bus down: %+v %v", res, err)
	}
	bus.ClearFaults()
	bus.FailNextEntries(2) // the next inline publish, then the sweep's first entry
	acked = append(acked, deliver(3))
	if res, err := publisher.Handle(ctx, json.RawMessage(`{}`)); err == nil || res.Published != 2 || res.Failed != 1 {
		t.Fatalf("sweep with one failed entry: %+v %v", res, err)
	}
	if res, err := publisher.Handle(ctx, json.RawMessage(`{}`)); err != nil || res.Published != 1 {
		t.Fatalf("sweep after recovery: %+v %v", res, err)
	}

	seen := map[string]int{}
	for _, ev := range bus.Events() {
		var d Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Source != Source || ev.DetailType != DetailTypeCreated || ev.EventBusName != "wcbridge-leads" {
			t.Fatalf("event %+v", ev)
		}
		assertNoPHI(t, "a bus event", string(ev.Detail))
		seen[d.EventID]++
	}
	for _, id := range acked {
		if seen[id] != 1 {
			t.Fatalf("event %s on the bus %d times; all %v", id, seen[id], seen)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("bus events %v", seen)
	}

	resp, err := samples.Handle(ctx, samplesRequest("new-lead", callerARN))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("samples: %d %v", resp.StatusCode, err)
	}
	var got SamplesResponse
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || len(got.Samples) != 3 || got.Samples[0].EventID != acked[2] {
		t.Fatalf("samples %v, %v", ids(got.Samples), err)
	}
}

func TestBuildRefusesMissingConfiguration(t *testing.T) {
	cfg, _ := config.FromMap(map[string]string{config.EnvTable: "t"})
	ctx := context.Background()
	if _, err := BuildIngest(ctx, cfg); err == nil {
		t.Fatal("BuildIngest without a data key, bus or tokens")
	}
	if _, err := BuildPublisher(ctx, cfg); err == nil {
		t.Fatal("BuildPublisher without a bus")
	}
	if _, err := BuildSamples(ctx, cfg); err == nil {
		t.Fatal("BuildSamples without a data key")
	}
	full, _ := config.FromMap(map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvEventBus: "b"})
	if _, err := BuildIngest(ctx, full); err == nil {
		t.Fatal("BuildIngest without webhook tokens")
	}
	short, _ := config.FromMap(map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvEventBus: "b",
		config.EnvWebhookTokensLocal: "short-token"})
	if _, err := BuildIngest(ctx, short); err == nil || strings.Contains(err.Error(), "short-token") {
		t.Fatalf("a short token: %v", err)
	}
}
