package wirewebhook_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring/wireoutbox"
	"github.com/wcbridge/wcbridge/shared/wiring/wiresamples"
	"github.com/wcbridge/wcbridge/shared/wiring/wirewebhook"
)

var (
	tokenCurrent  = "tok-current-" + strings.Repeat("c", 40)
	tokenPrevious = "tok-previous-" + strings.Repeat("p", 40)
)

const callerARN = "arn:aws:iam::123456789012:role/crm-sync"

// The API the test events come through.
const (
	testAPIID     = "a1b2c3d4e5"
	testAccountID = "123456789012"
)

// permitAllFile is a policy file that permits every caller everything.
func permitAllFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "permit-all.cedar")
	if err := os.WriteFile(path, []byte("permit (principal, action, resource);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syntheticPHI goes into every delivered lead; no answer, bus event or log line may hold it.
var syntheticPHI = map[string]string{
	"contact_name":          "Synthetic Patient Zed",
	"contact_email_address": "zed.synthetic@patient.example",
	"contact_phone_number":  "+15550100199",
	"notes":                 "Synthetic note: allergic to penicillin",
}

func assertNoPHI(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range append([]string{tokenCurrent, tokenPrevious}, values(syntheticPHI)...) {
		if strings.Contains(s, v) {
			t.Fatalf("%s holds PHI or a token: %q", what, v)
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// webhookPost is the API Gateway event of a New Lead delivery of the fixture as lead leadID.
func webhookPost(t *testing.T, leadID int64, token string) events.APIGatewayProxyRequest {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(testenv.Fixture(t, "webhook-new-phone-call.json"), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range syntheticPHI {
		m[k] = v
	}
	m["lead_id"] = leadID
	body, _ := json.Marshal(m)
	req := events.APIGatewayProxyRequest{
		Resource: "/webhooks/whatconverts", Path: "/webhooks/whatconverts", HTTPMethod: "POST",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body),
		QueryStringParameters: map[string]string{"token": token},
	}
	req.RequestContext.RequestID = "req-" + randomHex()
	return req
}

func samplesRequest(trigger, caller string) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		Resource: "/triggers/{trigger}/samples", Path: "/triggers/" + trigger + "/samples", HTTPMethod: "GET",
		PathParameters: map[string]string{"trigger": trigger},
	}
	req.RequestContext.RequestID = "req-" + randomHex()
	req.RequestContext.APIID, req.RequestContext.AccountID = testAPIID, testAccountID
	req.RequestContext.Identity.UserArn = caller
	return req
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestBuiltFunctionsOverTheRealClients wires the three webhook functions as their main packages do
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
		// Every caller may read samples here; the API and account of samplesRequest's events.
		config.EnvAccessPolicyFile: permitAllFile(t),
		config.EnvAPIID:            testAPIID,
		config.EnvAccountID:        testAccountID,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	logs := &testenv.Logs{}
	log := logs.Logger()
	ingest, err := wirewebhook.IngestWebhook(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := wireoutbox.PublishOutbox(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := wiresamples.TriggerSamples(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { assertNoPHI(t, "the logs", logs.String()) }()
	publisher.Settle = 1

	deliver := func(lead int64) string {
		t.Helper()
		resp, err := ingest.Handle(ctx, webhookPost(t, lead, tokenCurrent))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("delivery: %d %v", resp.StatusCode, err)
		}
		assertNoPHI(t, "the answer", resp.Body)
		var r webhook.Response
		if err := json.Unmarshal([]byte(resp.Body), &r); err != nil {
			t.Fatal(err)
		}
		return r.EventID
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
		var d webhook.Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Source != webhook.Source || ev.DetailType != webhook.DetailTypeCreated || ev.EventBusName != "wcbridge-leads" {
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
	var got webhook.SamplesResponse
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || len(got.Samples) != 3 || got.Samples[0].EventID != acked[2] {
		t.Fatalf("samples %+v, %v", got.Samples, err)
	}
}

func TestWebhookFunctionsRefuseMissingConfiguration(t *testing.T) {
	cfg, _ := config.FromMap(map[string]string{config.EnvTable: "t"})
	ctx := context.Background()
	if _, err := wirewebhook.IngestWebhook(ctx, cfg, slog.Default()); err == nil {
		t.Fatal("IngestWebhook without a data key, bus or tokens")
	}
	if _, err := wireoutbox.PublishOutbox(ctx, cfg, slog.Default()); err == nil {
		t.Fatal("PublishOutbox without a bus")
	}
	if _, err := wiresamples.TriggerSamples(ctx, cfg, slog.Default()); err == nil {
		t.Fatal("TriggerSamples without a data key")
	}
	full, _ := config.FromMap(map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvEventBus: "b"})
	if _, err := wirewebhook.IngestWebhook(ctx, full, slog.Default()); err == nil {
		t.Fatal("IngestWebhook without webhook tokens")
	}
	short, _ := config.FromMap(map[string]string{config.EnvTable: "t", config.EnvDataKey: "k", config.EnvTagKey: "tk", config.EnvEventBus: "b",
		config.EnvWebhookTokensLocal: "short-token"})
	if _, err := wirewebhook.IngestWebhook(ctx, short, slog.Default()); err == nil || strings.Contains(err.Error(), "short-token") {
		t.Fatalf("a short token: %v", err)
	}
}

// A delivery that the key without the body hash de-duplicated stays a duplicate after the switch: the
// ingest function as built looks for the event under that key when the state predates its start.
func TestBuiltIngestKeepsDeduplicatingWhatTheLegacyKeyRecorded(t *testing.T) {
	db := testenv.DynamoDB(t)
	k := testenv.KMS(t)
	name := testenv.Table(t, db)
	srv := httptest.NewServer(eventbus.New())
	t.Cleanup(srv.Close)
	cfg, err := config.FromMap(map[string]string{
		config.EnvTable:               name,
		config.EnvDataKey:             testenv.SymmetricKey(t, k),
		config.EnvTagKey:              testenv.SymmetricKey(t, k),
		config.EnvEventBus:            "wcbridge-leads",
		config.EnvDynamoDBEndpoint:    os.Getenv("DYNAMODB_ENDPOINT"),
		config.EnvKMSEndpoint:         os.Getenv("KMS_ENDPOINT"),
		config.EnvEventBridgeEndpoint: srv.URL,
		config.EnvWebhookTokensLocal:  tokenCurrent,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The event of lead 8601's update as the previous code recorded it, under
	// sha256("wcbridge-dedupe/v1|<profile>|<lead>|<trigger>|lu:<last_updated>").
	const lead, profile, lastUpdated = 8601, 146471, "2025-05-28T19:20:03Z"
	sum := sha256.Sum256([]byte(fmt.Sprintf("wcbridge-dedupe/v1|%d|%d|updated-lead|lu:%s", profile, lead, lastUpdated)))
	legacy := "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:26]
	old := audit.Record{ID: legacy, EventID: legacy, Kind: audit.KindWebhook, Outcome: audit.OutcomeOK, Actor: audit.WebhookActor,
		Action: audit.TriggerUpdatedLead, Trigger: audit.TriggerUpdatedLead, ProfileID: profile, LeadIDs: []int64{lead}, Status: 200}
	writer := audit.New(audit.Config{DB: db, Table: name, Tagger: envelope.NewTagger(k, cfg.TagKeyID, envelope.Options{})})
	if _, err := writer.Append(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	ingest, err := wirewebhook.IngestWebhook(ctx, cfg, (&testenv.Logs{}).Logger())
	if err != nil {
		t.Fatal(err)
	}
	update := func(changes map[string]any) events.APIGatewayProxyRequest {
		var m map[string]any
		if err := json.Unmarshal(testenv.Fixture(t, "webhook-update-phone-call.json"), &m); err != nil {
			t.Fatal(err)
		}
		m["lead_id"] = lead
		for k, v := range changes {
			m[k] = v
		}
		body, _ := json.Marshal(m)
		return events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/webhooks/whatconverts",
			Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body),
			QueryStringParameters: map[string]string{"token": tokenCurrent}}
	}
	for _, tc := range []struct {
		name      string
		req       events.APIGatewayProxyRequest
		duplicate bool
	}{
		{"the same state again", update(nil), true},
		{"another state of that second", update(map[string]any{"quotable": "Yes"}), true},
		{"a later state", update(map[string]any{"last_updated": "2025-05-28T19:20:04Z"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ingest.Handle(ctx, tc.req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("answer %d %s %v", resp.StatusCode, resp.Body, err)
			}
			var r webhook.Response
			if err := json.Unmarshal([]byte(resp.Body), &r); err != nil {
				t.Fatal(err)
			}
			if r.Duplicate != tc.duplicate || (tc.duplicate && r.EventID != legacy) {
				t.Fatalf("answer %+v, want duplicate %t (of %s)", r, tc.duplicate, legacy)
			}
		})
	}
}
