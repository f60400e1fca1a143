package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

// suite is what every scenario shares: the built bootstraps, the backends and the emulators started.
type suite struct {
	root     string
	rie      string
	tmpl     *samtemplate.Template
	backends *devstack.Backends
	bins     map[string]string // LogicalID → bootstrap, for the functions that exist

	mu        sync.Mutex
	ran       map[string]bool
	emulators []*emulator
}

// run starts a function's bootstrap under the emulator, or skips the scenario if the function has
// not been written yet (its folder is missing).
func (s *suite) run(t *testing.T, id string) *emulator {
	t.Helper()
	return s.runWith(t, id, nil)
}

// runWith is run with extra environment variables (a local endpoint the backends do not serve).
func (s *suite) runWith(t *testing.T, id string, extra map[string]string) *emulator {
	t.Helper()
	bin, ok := s.bins[id]
	if !ok {
		t.Skipf("functions/ has no %s yet", id)
	}
	fn, ok := s.tmpl.Function(id)
	if !ok {
		t.Fatalf("template.yaml has no %s", id)
	}
	env := s.backends.Env(fn)
	if _, ok := env[config.EnvOutboxSettle]; ok {
		// The publisher's settle time, shortened so the outbox scenario does not wait 30 s.
		env[config.EnvOutboxSettle] = strconv.Itoa(int(outboxSettle / time.Second))
	}
	for k, v := range extra {
		env[k] = v
	}
	deliver, err := s.backends.LogDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, s.rie, bin, fn, env, deliver)
	s.mu.Lock()
	s.ran[id] = true
	s.emulators = append(s.emulators, e)
	s.mu.Unlock()
	return e
}

// outboxSettle is the publisher's settle time in this suite (OUTBOX_SETTLE_SECONDS).
const outboxSettle = 2 * time.Second

func (s *suite) event(t *testing.T, name string) []byte { return readEvent(t, s.root, name) }

// busEvent finds the bus event of that detail type and lead.
func (s *suite) busEvent(t *testing.T, detailType string, leadID int64) (map[string]any, int) {
	t.Helper()
	var found map[string]any
	n := 0
	for _, e := range s.backends.Bus.Events() {
		var d map[string]any
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if e.DetailType == detailType && e.Source == "wcbridge.whatconverts" && int64(jsonNumber(t, d["lead_id"])) == leadID {
			found = d
			n++
		}
	}
	return found, n
}

func TestShippedFunctionsUnderTheRuntimeEmulator(t *testing.T) {
	rie := requireEnv(t, "WCBRIDGE_RIE", "the Lambda runtime interface emulator runs the bootstraps")
	ddb := requireEnv(t, "DYNAMODB_ENDPOINT", "the functions need a DynamoDB-compatible server")
	kms := requireEnv(t, "KMS_ENDPOINT", "the functions need a KMS-compatible server")
	start := time.Now()

	root, err := devstack.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := devstack.LoadTemplate(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	shipped := shippedFunctions(t, root)
	for _, fn := range tmpl.Functions {
		if _, ok := shipped[fn.LogicalID]; !ok {
			t.Errorf("template.yaml has %s but the Makefile's FUNCTIONS does not build it", fn.LogicalID)
		}
	}
	present := map[string]string{}
	for id, dir := range shipped {
		if _, ok := tmpl.Function(id); !ok {
			t.Errorf("the Makefile's FUNCTIONS builds %s, which template.yaml does not have", id)
		}
		if _, err := os.Stat(filepath.Join(root, "functions", dir, "main.go")); err == nil {
			present[id] = dir
		}
	}

	// The webhook events carry the token the functions must accept.
	token := queryParam(t, readEvent(t, root, "ingest-webhook-new"), "token")
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tableName := "wcbridge-e2e-" + hex.EncodeToString(suffix)
	backends, err := devstack.StartBackends(ctx, devstack.Options{
		Dir: root, DynamoDBEndpoint: ddb, KMSEndpoint: kms, S3Endpoint: os.Getenv("S3_ENDPOINT"), WebhookTokens: []string{token},
		LogsEndpoint: os.Getenv("LOGS_ENDPOINT"), LogGroupPrefix: "/aws/lambda/" + tableName + "-",
		Table: tableName, DeleteTableOnClose: true,
		AccessPolicyFile: eventCallersPolicy(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backends.Close(context.Background()) })

	s := &suite{root: root, rie: rie, tmpl: tmpl, backends: backends, bins: buildBootstraps(t, root, present), ran: map[string]bool{}}

	// The three groups touch different data and run side by side; within a group, in order.
	t.Run("functions", func(t *testing.T) {
		t.Run("triggers", func(t *testing.T) { t.Parallel(); s.triggers(t) })
		t.Run("actions", func(t *testing.T) { t.Parallel(); s.actions(t) })
		t.Run("report", func(t *testing.T) { t.Parallel(); s.report(t) })
		t.Run("deployed", func(t *testing.T) { t.Parallel(); s.deployed(t) })
	})

	var notRun []string
	for id := range present {
		if !s.ran[id] {
			notRun = append(notRun, id)
		}
	}
	sort.Strings(notRun)
	if len(notRun) > 0 {
		t.Errorf("no end-to-end scenario runs %s", strings.Join(notRun, ", "))
	}
	for _, id := range tmplIDs(tmpl) {
		if _, ok := present[id]; !ok {
			t.Logf("%s: functions/ has no main.go yet; not run", id)
		}
	}

	// No function logged a contact detail it was given.
	var events [][]byte
	for _, name := range []string{"ingest-webhook-new", "ingest-webhook-update", "create-lead", "update-lead"} {
		events = append(events, readEvent(t, root, name))
	}
	phi := phiOf(t, events...)
	if len(phi) < 5 {
		t.Fatalf("found %d contact values in the events to look for in the logs, want the webhooks' and the lead's", len(phi))
	}
	phi = append(phi, "Synthetic Patient", "@example.test") // the simulator's leads
	for _, e := range s.emulators {
		logs := e.logs.String()
		for _, v := range phi {
			if strings.Contains(logs, v) {
				t.Errorf("%s logged a contact value from its input (%d characters)", e.name, len(v))
			}
		}
	}
	s.storedLines(t, start)
	t.Logf("end-to-end suite: %s", time.Since(start).Round(time.Millisecond))
}

func tmplIDs(tmpl *samtemplate.Template) []string {
	var ids []string
	for _, fn := range tmpl.Functions {
		ids = append(ids, fn.LogicalID)
	}
	return ids
}

// triggers: a New Lead webhook is recorded, answered and published once; a redelivery is answered
// with the same event; a wrong token is refused; the samples show the event; an Updated Lead whose
// publish fails is acknowledged and published by the outbox sweep.
func (s *suite) triggers(t *testing.T) {
	from := time.Now().UTC()
	ingest := s.run(t, "IngestWebhookFunction")
	newLead := s.event(t, "ingest-webhook-new")

	status, body := ingest.invokeAPI(t, newLead)
	if status != 200 || body["trigger"] != "new-lead" || body["duplicate"] != false || body["event_id"] == "" {
		t.Fatalf("ingest-webhook-new = %d %v, want 200 with a new new-lead event_id", status, body)
	}
	eventID := body["event_id"]
	d, n := s.busEvent(t, "Lead Created", 153928)
	if n != 1 || d["event_id"] != eventID {
		t.Fatalf("bus has %d Lead Created events for lead 153928 (%v), want 1 with event_id %v", n, d, eventID)
	}

	t.Run("a redelivery answers the same event and publishes nothing", func(t *testing.T) {
		status, body := ingest.invokeAPI(t, newLead)
		if status != 200 || body["event_id"] != eventID || body["duplicate"] != true {
			t.Fatalf("redelivery = %d %v, want 200, the same event_id, duplicate", status, body)
		}
		if _, n := s.busEvent(t, "Lead Created", 153928); n != 1 {
			t.Fatalf("bus has %d Lead Created events for the lead, want still 1", n)
		}
	})
	t.Run("a wrong token is refused", func(t *testing.T) {
		status, body := ingest.invokeAPI(t, withQueryParam(t, newLead, "token", strings.Repeat("x", 64)))
		if status != 401 || body["error"].(map[string]any)["code"] != "unauthorized" {
			t.Fatalf("wrong token = %d %v, want 401 unauthorized", status, body)
		}
	})
	t.Run("the samples show the event", func(t *testing.T) {
		samples := s.run(t, "TriggerSamplesFunction")
		status, body := samples.invokeAPI(t, s.event(t, "trigger-samples"))
		if status != 200 || body["trigger"] != "new-lead" {
			t.Fatalf("trigger-samples = %d %v, want 200 for new-lead", status, body)
		}
		list, _ := body["samples"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d samples, want the one webhook", len(list))
		}
		sample := list[0].(map[string]any)
		if sample["event_id"] != eventID || jsonNumber(t, sample["lead"].(map[string]any)["lead_id"]) != 153928 {
			t.Fatalf("sample = event %v, want %v with lead 153928", sample["event_id"], eventID)
		}
	})
	t.Run("an event the bus refused is published by the outbox sweep", func(t *testing.T) {
		publisher := s.run(t, "PublishOutboxFunction")
		s.backends.Bus.FailAllRequests()
		status, body := ingest.invokeAPI(t, s.event(t, "ingest-webhook-update"))
		acknowledged := time.Now()
		s.backends.Bus.ClearFaults()
		if status != 200 || body["trigger"] != "updated-lead" || body["duplicate"] != false {
			t.Fatalf("ingest-webhook-update with the bus down = %d %v, want 200 (the event is durable)", status, body)
		}
		if _, n := s.busEvent(t, "Lead Updated", 178849242); n != 0 {
			t.Fatalf("the bus was down, yet it has the event")
		}
		sweep := func() map[string]any {
			var r map[string]any
			if err := json.Unmarshal(publisher.invoke(t, s.event(t, "publish-outbox")), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		// Young events are left to their inline publish.
		if r := sweep(); r["published"] != 0.0 || r["failed"] != 0.0 {
			t.Fatalf("first sweep = %v, want nothing published yet", r)
		}
		time.Sleep(time.Until(acknowledged.Add(outboxSettle + time.Second)))
		if r := sweep(); r["published"] != 1.0 || r["failed"] != 0.0 {
			t.Fatalf("sweep after %s = %v, want the event published", outboxSettle, r)
		}
		d, n := s.busEvent(t, "Lead Updated", 178849242)
		if n != 1 || d["event_id"] != body["event_id"] {
			t.Fatalf("bus has %d Lead Updated events (%v), want 1 with event_id %v", n, d, body["event_id"])
		}
	})
	t.Run("a replay publishes the window's two events again", func(t *testing.T) {
		time.Sleep(time.Millisecond)
		s.replay(t, from, time.Now().UTC())
	})
}

// actions: Create Lead (and its Idempotency-Key replay), Get Leads, Get Lead and Update Lead, each
// against the simulator.
func (s *suite) actions(t *testing.T) {
	sim := s.backends.Sim
	var createdID float64
	t.Run("create lead, and replay it by its Idempotency-Key", func(t *testing.T) {
		create := s.run(t, "CreateLeadFunction")
		before := len(sim.LeadIDs(1001))
		ev := s.event(t, "create-lead")
		status, body := create.invokeAPI(t, ev)
		if status != 201 {
			t.Fatalf("create-lead = %d %v, want 201", status, body)
		}
		createdID = jsonNumber(t, body["lead"].(map[string]any)["lead_id"])
		if l, ok := sim.Lead(int64(createdID)); !ok || jsonNumber(t, l["profile_id"]) != 1001 {
			t.Fatalf("the simulator has no lead %v of profile 1001", createdID)
		}
		status, body = create.invokeAPI(t, ev)
		if status != 201 || jsonNumber(t, body["lead"].(map[string]any)["lead_id"]) != createdID {
			t.Fatalf("replay = %d %v, want 201 with lead %v", status, body, createdID)
		}
		if after := len(sim.LeadIDs(1001)); after != before+1 {
			t.Fatalf("profile 1001 went from %d to %d leads, want one created", before, after)
		}
	})
	t.Run("get leads", func(t *testing.T) {
		get := s.run(t, "GetLeadsFunction")
		status, body := get.invokeAPI(t, s.event(t, "get-leads"))
		if status != 200 || jsonNumber(t, body["profile_id"]) != 1001 || jsonNumber(t, body["count"]) != 5 || len(body["leads"].([]any)) != 5 {
			t.Fatalf("get-leads = %d, profile %v, count %v; want 200 with 5 leads of 1001", status, body["profile_id"], body["count"])
		}
		if createdID == 0 {
			t.Skip("create lead failed")
		}
		status, body = get.invokeAPI(t, s.event(t, "get-leads-by-email"))
		leads, _ := body["leads"].([]any)
		if status != 200 || len(leads) != 1 || jsonNumber(t, leads[0].(map[string]any)["lead_id"]) != createdID {
			t.Fatalf("get-leads-by-email = %d, %d leads; want 200 with the created lead %v", status, len(leads), createdID)
		}
	})
	t.Run("get lead, and not another profile's", func(t *testing.T) {
		get := s.run(t, "GetLeadFunction")
		ev := s.event(t, "get-lead")
		status, body := get.invokeAPI(t, ev)
		if status != 200 || jsonNumber(t, body["lead"].(map[string]any)["lead_id"]) != 9000001 {
			t.Fatalf("get-lead = %d, want 200 with lead 9000001", status)
		}
		status, body = get.invokeAPI(t, withQueryParam(t, ev, "profile_id", "1002"))
		if status != 404 || body["error"].(map[string]any)["code"] != "not_found" {
			t.Fatalf("profile 1002's view of 1001's lead = %d %v, want 404 not_found", status, body)
		}
	})
	t.Run("update lead", func(t *testing.T) {
		update := s.run(t, "UpdateLeadFunction")
		status, body := update.invokeAPI(t, s.event(t, "update-lead"))
		if status != 200 {
			t.Fatalf("update-lead = %d %v, want 200", status, body)
		}
		if q := jsonNumber(t, body["lead"].(map[string]any)["quote_value"]); q != 250 {
			t.Fatalf("update-lead answered quote_value %v, want 250", q)
		}
		if l, _ := sim.Lead(9000001); jsonNumber(t, l["quote_value"]) != 250 {
			t.Fatalf("the simulator's lead has quote_value %v, want 250", l["quote_value"])
		}
	})
}

// replay: a dry run counts the window's two events and starts nothing; a replay answers, asks Lambda
// for its first chunk (an Event invocation: this test plays Lambda's queue), and that chunk publishes
// both events again with their event_id and a replay_id, and says it is done.
func (s *suite) replay(t *testing.T, from, to time.Time) {
	var mu sync.Mutex
	var queued [][]byte // the Event invocations the function asked for
	lambdaAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Invocation-Type") != "Event" {
			t.Errorf("the function invoked itself with type %q, want Event", r.Header.Get("X-Amz-Invocation-Type"))
		}
		mu.Lock()
		queued = append(queued, b)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(lambdaAPI.Close)
	fn := s.runWith(t, "ReplayFunction", map[string]string{config.EnvLambdaEndpoint: lambdaAPI.URL})
	ask := func(dryRun bool) string {
		t.Helper()
		var ev map[string]any
		if err := json.Unmarshal(s.event(t, "replay"), &ev); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano), "dry_run": dryRun})
		ev["body"] = string(body)
		raw, _ := json.Marshal(ev)
		status, answer := fn.invokeAPI(t, raw)
		if status != 200 || jsonNumber(t, answer["events"]) != 2 || answer["dry_run"] != dryRun {
			t.Fatalf("POST /replays (dry_run %v) = %d %v, want 200 with 2 events", dryRun, status, answer)
		}
		id, _ := answer["replay_id"].(string)
		return id
	}
	replayed := func(id string) int {
		n := 0
		for _, e := range s.backends.Bus.Events() {
			var d map[string]any
			_ = json.Unmarshal(e.Detail, &d)
			if d["replay_id"] == id {
				n++
			}
		}
		return n
	}

	if id := ask(true); replayed(id) != 0 {
		t.Fatal("a dry run published")
	}
	mu.Lock()
	if len(queued) != 0 {
		t.Fatalf("a dry run started %d chunks", len(queued))
	}
	mu.Unlock()
	id := ask(false)
	mu.Lock()
	chunks := queued
	mu.Unlock()
	if len(chunks) != 1 || string(chunks[0]) != `{"replay_id":"`+id+`"}` {
		t.Fatalf("the replay asked for chunk invocations %q, want one for %s", chunks, id)
	}
	var progress map[string]any
	if err := json.Unmarshal(fn.invoke(t, chunks[0]), &progress); err != nil {
		t.Fatal(err)
	}
	if progress["done"] != true || jsonNumber(t, progress["published"]) != 2 {
		t.Fatalf("the chunk returned %v, want done with 2 published", progress)
	}
	if n := replayed(id); n != 2 {
		t.Fatalf("the bus has %d events of the replay, want 2", n)
	}
}

// report: no report yet is a 404; the daily report for a date stores it; the schedule's payload
// rebuilds the day before its scheduled time.
func (s *suite) report(t *testing.T) {
	get := s.run(t, "GetReportFunction")
	ev := s.event(t, "get-report")
	var req struct {
		Path map[string]string `json:"pathParameters"`
	}
	if err := json.Unmarshal(ev, &req); err != nil {
		t.Fatal(err)
	}
	date := req.Path["date"]

	status, body := get.invokeAPI(t, ev)
	if status != 404 || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("get-report before any run = %d %v, want 404 not_found", status, body)
	}

	daily := s.run(t, "DailyReportFunction")
	var res struct {
		Date             string `json:"date"`
		Profiles         int    `json:"profiles"`
		Verified         bool   `json:"verified"`
		UnverifiedReason string `json:"unverified_reason"`
	}
	if err := json.Unmarshal(daily.invoke(t, s.event(t, "daily-report-date")), &res); err != nil {
		t.Fatal(err)
	}
	// The report verifies the day's hourly digests (it builds none): the digest chain has not
	// started yet, so the day is reported as before it, and the run succeeds.
	if res.Date != date || res.Profiles != 2 || res.Verified || res.UnverifiedReason != "before_chain" {
		t.Fatalf("daily-report-date = %+v, want %s for 2 profiles, not verified: before_chain", res, date)
	}

	status, body = get.invokeAPI(t, ev)
	profiles, _ := body["profiles"].([]any)
	if status != 200 || body["date"] != date || len(profiles) != 2 {
		t.Fatalf("get-report = %d (date %v, %d profiles), want 200 with the report of %s for 2 profiles", status, body["date"], len(profiles), date)
	}

	// GET /reports over a range holding that date lists its summary, figures as in the report.
	var listReq map[string]any
	if err := json.Unmarshal(s.event(t, "list-reports"), &listReq); err != nil {
		t.Fatal(err)
	}
	listReq["queryStringParameters"] = map[string]string{"from": date, "to": date}
	listEv, _ := json.Marshal(listReq)
	status, body = get.invokeAPI(t, listEv)
	reports, _ := body["reports"].([]any)
	if status != 200 || len(reports) != 1 || reports[0].(map[string]any)["date"] != date {
		t.Fatalf("list-reports = %d %v, want the summary of %s", status, body, date)
	}

	res.Date = ""
	if err := json.Unmarshal(daily.invoke(t, s.event(t, "daily-report-scheduled")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Date != date {
		t.Fatalf("the scheduled run built %q, want %s (the day before its scheduled time)", res.Date, date)
	}

	// The digest job starts the hourly chain (nothing digested before), anchors it in the locked
	// bucket and verifies it: no findings.
	digest := s.run(t, "AuditDigestFunction")
	var job struct {
		Built    []string `json:"built"`
		Findings int      `json:"findings"`
	}
	if err := json.Unmarshal(digest.invoke(t, s.event(t, "audit-digest")), &job); err != nil {
		t.Fatal(err)
	}
	if len(job.Built) != 1 || job.Findings != 0 {
		t.Fatalf("audit-digest = %+v, want the chain's first period built and no findings", job)
	}
	// The emulator copies the function's output as it comes: the metric line may trail the response.
	if logs := waitLogs(digest, `"AuditFindings":0`); !strings.Contains(logs, `"AuditFindings":0`) {
		t.Errorf("the digest job published no AuditFindings metric of 0:\n%s", logs)
	}
}

// eventCallersPolicy is an access policy file for the callers of events/: crm-sync may do
// everything, the compliance officer may read reports. The shipped binaries read it as they read the
// deployed parameter (shared/access).
func eventCallersPolicy(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.cedar")
	policy := `permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:role/crm-sync", action, resource);
permit (principal == Wcbridge::Caller::"arn:aws:iam::123456789012:role/compliance-officer",
        action == Wcbridge::Action::"get-report", resource);
`
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
