package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// envFlag turns the suite on.
const envFlag = "WCBRIDGE_RELIABILITY"

const region = "us-east-1"

// TestReliability is the whole suite, in order: load, each fault, then the PHI scan and the checks
// over everything the run wrote, then the closing table.
func TestReliability(t *testing.T) {
	if os.Getenv(envFlag) != "1" {
		t.Skipf("the reliability suite runs with %s=1 (make reliability)", envFlag)
	}
	s := newSuite(t)
	t.Run("load", s.testLoad)
	for _, f := range s.faults() {
		t.Run("fault/"+f.name, func(t *testing.T) {
			s.summary.faultsTried++
			f.run(t)
			if !t.Failed() {
				s.summary.faultsSurvived++
			} else {
				s.summary.faultsFailed = append(s.summary.faultsFailed, f.name)
			}
		})
	}
	t.Run("everything", s.testEverything)
	s.printSummary(t)
}

// suite is the stack under test and what the run has sent and seen.
type suite struct {
	ctx      context.Context
	stack    *devstack.Stack
	stacks   []*devstack.Stack // every stack started (the KMS scenario starts a cold one): their buses
	ddbProxy *faultProxy       // in front of dynalite: the stack's DynamoDB endpoint
	kmsProxy *faultProxy       // in front of local-kms: the stack's KMS endpoint
	db       *dynamodb.Client  // straight to dynalite: the suite's own reads
	table    string
	store    *audit.Store       // the audit store, straight to dynalite: the outbox as the publisher reads it
	outbox   *webhook.Publisher // the publisher function's code, straight to dynalite, no settle time
	logs     *testenv.Logs      // every log line of the stack
	client   *http.Client
	phi      *phiScanner
	events   *ledger
	summary  summary
	actions  actionCounter
}

// summary is what the closing table reports.
type summary struct {
	mu             sync.Mutex
	loadHeld       bool
	loadLine       string
	faultsTried    int
	faultsSurvived int
	faultsFailed   []string
	faultLines     []string
	badInputs      int
	badKinds       map[string]int
	lost           int
	duplicates     int
	republished    int
	phiHits        int
	phiScanned     string
	auditLine      string
}

func (s *summary) addFault(line string) {
	s.mu.Lock()
	s.faultLines = append(s.faultLines, line)
	s.mu.Unlock()
}

func newSuite(t *testing.T) *suite {
	ddbURL, kmsURL := os.Getenv("DYNAMODB_ENDPOINT"), os.Getenv("KMS_ENDPOINT")
	if ddbURL == "" || kmsURL == "" {
		t.Fatal("DYNAMODB_ENDPOINT and KMS_ENDPOINT must be set: run under scripts/with-services.sh (make reliability)")
	}
	ctx := context.Background()
	s := &suite{ctx: ctx, logs: &testenv.Logs{}, phi: newPHIScanner(), events: newLedger(),
		client: &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	s.captureLogs(t)

	var err error
	s.ddbProxy, err = newFaultProxy("dynamodb", ddbURL,
		"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
		"com.amazonaws.dynamodb.v20120810#InternalServerError")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.ddbProxy.Close)
	s.kmsProxy, err = newFaultProxy("kms", kmsURL, "ThrottlingException", "KMSInternalException")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kmsProxy.Close)

	s.table = "wcbridge-reliability-" + randomHex(4)
	s.stack = s.startStack(t, devstack.Options{DeleteTableOnClose: true})

	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	s.db = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddbURL) })
	bus := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(s.stack.EventBridgeURL) })
	s.store = audit.New(audit.Config{DB: s.db, Table: s.table})
	s.outbox = &webhook.Publisher{
		Store: s.store, Bus: bus, EventBus: s.stack.Options.EventBus,
		Log: s.logger(), Settle: time.Nanosecond,
	}
	t.Logf("stack: API %s, table %s on dynalite %s (through a fault proxy), keys on local-kms %s (through a fault proxy)",
		s.stack.APIURL, s.table, ddbURL, kmsURL)
	return s
}

// startStack starts a stack on the suite's table and proxies. A second stack (a cold instance of
// every function) shares the first one's keys and leaves the table to it.
func (s *suite) startStack(t *testing.T, opts devstack.Options) *devstack.Stack {
	t.Helper()
	opts.DynamoDBEndpoint, opts.KMSEndpoint = s.ddbProxy.URL(), s.kmsProxy.URL()
	opts.Table, opts.DisableSchedules, opts.Logger = s.table, true, s.logger()
	if opts.SimulatorSeed == 0 {
		opts.SimulatorSeed = 11
	}
	if s.stack != nil {
		opts.DataKeyID = s.stack.Options.DataKeyID
	}
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.Close(cctx)
	})
	s.stacks = append(s.stacks, st)
	return st
}

func (s *suite) logger() *slog.Logger { return s.logs.Logger() }

// captureLogs sends every log line of the run to s.logs: the functions log JSON lines on os.Stderr
// (wiring.Logger, taken when a handler is built), libraries log through slog's default.
func (s *suite) captureLogs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, def := os.Stderr, slog.Default()
	os.Stderr = w
	slog.SetDefault(s.logger())
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(s.logs, r)
		close(done)
	}()
	t.Cleanup(func() {
		os.Stderr = stderr
		slog.SetDefault(def)
		_ = w.Close()
		<-done
		// For a diagnosis: WCBRIDGE_RELIABILITY_LOGS=file keeps every log line of the run (no PHI:
		// the suite has scanned them).
		if path := os.Getenv("WCBRIDGE_RELIABILITY_LOGS"); path != "" {
			if err := os.WriteFile(path, []byte(s.logs.String()), 0o600); err != nil {
				t.Errorf("keep the logs: %v", err)
			}
		}
	})
}

// allBusEvents are the events on every stack's bus.
func (s *suite) allBusEvents() []eventbus.Event {
	var out []eventbus.Event
	for _, st := range s.stacks {
		out = append(out, st.Bus.Events()...)
	}
	return out
}

// busCounts counts bus events by detail.event_id.
func (s *suite) busCounts() map[string]int {
	n := map[string]int{}
	for _, e := range s.allBusEvents() {
		var d struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(e.Detail, &d) == nil && d.EventID != "" {
			n[d.EventID]++
		}
	}
	return n
}

// sweep runs the outbox publisher until the outbox is empty.
func (s *suite) sweep(t *testing.T) webhook.SweepResult {
	t.Helper()
	var total webhook.SweepResult
	for range 20 {
		res, err := s.outbox.Sweep(s.ctx)
		if err != nil {
			t.Fatalf("outbox sweep: %v", err)
		}
		total.Published += res.Published
		total.Failed += res.Failed
		if !res.More {
			return total
		}
	}
	t.Fatal("the outbox did not drain in 20 sweeps")
	return total
}

// pendingOutbox is how many events are still on the outbox.
func (s *suite) pendingOutbox(t *testing.T) int {
	t.Helper()
	recs, err := s.store.PendingEvents(s.ctx, 0, 10_000)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	return len(recs)
}

// scan reads every item of the table raw (a plain Scan, straight to dynalite).
func (s *suite) scan(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: aws.String(s.table)})
	for p.HasMorePages() {
		page, err := p.NextPage(s.ctx)
		if err != nil {
			t.Fatalf("scan the table: %v", err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// record reads one audit item by its event ID (strongly consistent, straight to dynalite).
func (s *suite) record(t *testing.T, eventID string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(s.ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": sAttr("audit#" + eventID), "sk": sAttr("audit")},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get the record of %s: %v", eventID, err)
	}
	return out.Item
}

func sAttr(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// printSummary prints the closing table.
func (s *suite) printSummary(t *testing.T) {
	sm := &s.summary
	var b strings.Builder
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO"
	}
	kinds := make([]string, 0, len(sm.badKinds))
	for k, n := range sm.badKinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "\nreliability: closing table\n")
	if sm.loadLine == "" {
		fmt.Fprintf(&b, "  %-18s %s\n", "load held", "not run")
	} else {
		fmt.Fprintf(&b, "  %-18s %s\n", "load held", yes(sm.loadHeld)+": "+sm.loadLine)
	}
	fmt.Fprintf(&b, "  %-18s %d/%d", "faults survived", sm.faultsSurvived, sm.faultsTried)
	if len(sm.faultsFailed) > 0 {
		fmt.Fprintf(&b, " (failed: %s)", strings.Join(sm.faultsFailed, ", "))
	}
	b.WriteString("\n")
	for _, l := range sm.faultLines {
		fmt.Fprintf(&b, "  %-18s   %s\n", "", l)
	}
	fmt.Fprintf(&b, "  %-18s %d invalid webhooks through the stack (%s); every parser fuzzed separately (scripts/fuzz.sh)\n",
		"bad inputs tried", sm.badInputs, strings.Join(kinds, ", "))
	fmt.Fprintf(&b, "  %-18s %d\n", "records lost", sm.lost)
	fmt.Fprintf(&b, "  %-18s %d (bus events re-published with the same event_id after a lost outbox marker: %d, as the at-least-once contract allows)\n",
		"duplicates", sm.duplicates, sm.republished)
	if sm.auditLine == "" { // the final checks did not run (a subset of the suite was run)
		fmt.Fprintf(&b, "  %-18s not run\n", "audit, PHI scan")
	} else {
		fmt.Fprintf(&b, "  %-18s %s\n", "audit", sm.auditLine)
		fmt.Fprintf(&b, "  %-18s %d (%s)\n", "PHI hits", sm.phiHits, sm.phiScanned)
	}
	// The table goes to stdout as it is (go test -v shows it), and into the test log.
	fmt.Print(b.String())
	if t.Failed() {
		fmt.Println("reliability: FAILED (see the failures above)")
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
