package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// Two live tokens (rotation) and one retired; none may ever appear in a log line.
var (
	tokenCurrent  = "tok-current-" + strings.Repeat("c", 40)
	tokenPrevious = "tok-previous-" + strings.Repeat("p", 40)
	tokenRetired  = "tok-retired-" + strings.Repeat("r", 40)
)

// syntheticPHI is injected into the fixtures; the fixtures' own contact values count as PHI too.
// Nothing in this list may appear in any log line, error body or bus event of the whole test run.
var syntheticPHI = map[string]string{
	"contact_name":          "Synthetic Patient Zed",
	"contact_email_address": "zed.synthetic@patient.example",
	"email_address":         "zed.synthetic@patient.example",
	"contact_phone_number":  "+15550100199",
	"phone_number":          "+15550100199",
	"caller_name":           "Synthetic Caller Quill",
	"ip_address":            "203.0.113.77",
	"notes":                 "Synthetic note: allergic to penicillin",
	"call_transcription":    "Synthetic transcript: knee surgery follow-up",
	"city":                  "Synthville",
}

var forbidden = func() []string {
	out := []string{tokenCurrent, tokenPrevious, tokenRetired, "Jeremy Helms", "hello@whatconverts.com",
		"+18887203034", "107.210.21.188", "M Bergeron", "47.225.143.157", "Enter password"}
	for _, v := range syntheticPHI {
		out = append(out, v)
	}
	return out
}()

// runLogs collects every log line of the test run: each handler under test logs here, and so does
// the default logger (httpapi's). TestMain scans it once all tests ran.
var runLogs testenv.Logs

func testLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&runLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestMain(m *testing.M) {
	slog.SetDefault(testLogger())
	code := m.Run()
	logs := runLogs.String()
	if leaked := findPHI(logs); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the logs of the test run hold PHI or a token: %q\n", leaked)
		code = 1
	} else if logs != "" {
		fmt.Fprintf(os.Stderr, "PHI scan: %d log lines of the run, none holds a synthetic PHI value or token\n",
			strings.Count(logs, "\n"))
	}
	os.Exit(code)
}

// findPHI returns the forbidden strings that s contains, also in their JSON-escaped form.
func findPHI(s string) []string {
	var found []string
	for _, f := range forbidden {
		esc, _ := json.Marshal(f)
		if strings.Contains(s, f) || strings.Contains(s, strings.Trim(string(esc), `"`)) {
			found = append(found, f)
		}
	}
	return found
}

func assertNoPHI(t testing.TB, what, s string) {
	t.Helper()
	if leaked := findPHI(s); len(leaked) > 0 {
		t.Fatalf("%s holds PHI or a token: %q", what, leaked)
	}
}

// fixture is a fixture with the synthetic PHI injected and the given fields overridden (nil deletes).
func fixture(t testing.TB, name string, set map[string]any) []byte {
	t.Helper()
	raw := testenv.Fixture(t, name)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for k, v := range syntheticPHI {
		m[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	fixtureNew    = "webhook-new-phone-call.json"
	fixtureUpdate = "webhook-update-phone-call.json"
)

// post is the API Gateway proxy event of a webhook delivery.
func post(body []byte, token string) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		Resource:   "/webhooks/whatconverts",
		Path:       "/webhooks/whatconverts",
		HTTPMethod: "POST",
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
	if token != "" {
		req.QueryStringParameters = map[string]string{"token": token}
	}
	req.RequestContext.RequestID = "req-" + randomHex(8)
	return req
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errorBody is the contract's error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Field   string `json:"field"`
			Problem string `json:"problem"`
		} `json:"fields"`
	} `json:"error"`
}

func decodeError(t testing.TB, resp events.APIGatewayProxyResponse) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return e
}

func decodeOK(t testing.TB, resp events.APIGatewayProxyResponse) Response {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	var r Response
	if err := json.Unmarshal([]byte(resp.Body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeBus is a function-field fake of the EventBridge API.
type fakeBus struct {
	PutEventsFn func(ctx context.Context, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error)
}

func (b fakeBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return b.PutEventsFn(ctx, in)
}

var _ Bus = fakeBus{}

// busMode is how the recording bus answers.
type busMode int

const (
	busUp          busMode = iota
	busDown                // every call fails
	busFailsFirst          // the first entry of every call fails (FailedEntryCount 1)
	busFailsAllOut         // the call succeeds but every entry failed (FailedEntryCount = len)
)

// recordingBus is a bus whose failures a test switches, recording the entries it took.
type recordingBus struct {
	mu       sync.Mutex
	mode     busMode
	calls    int
	accepted []ebtypes.PutEventsRequestEntry
}

func (b *recordingBus) setMode(m busMode) { b.mu.Lock(); b.mode = m; b.mu.Unlock() }

func (b *recordingBus) fake() fakeBus {
	return fakeBus{PutEventsFn: func(_ context.Context, in *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls++
		if b.mode == busDown {
			return nil, fmt.Errorf("bus unavailable (test)")
		}
		out := &eventbridge.PutEventsOutput{}
		for i, e := range in.Entries {
			if (b.mode == busFailsFirst && i == 0) || b.mode == busFailsAllOut {
				out.FailedEntryCount++
				out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{
					ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("test failure")})
				continue
			}
			b.accepted = append(b.accepted, e)
			out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{EventId: aws.String(randomHex(8))})
		}
		return out, nil
	}}
}

func (b *recordingBus) entries() []ebtypes.PutEventsRequestEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ebtypes.PutEventsRequestEntry(nil), b.accepted...)
}

// details are the accepted entries' details, decoded.
func (b *recordingBus) details(t *testing.T) []Detail {
	t.Helper()
	var out []Detail
	for _, e := range b.entries() {
		var d Detail
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// countByEvent counts accepted bus entries by event_id.
func (b *recordingBus) countByEvent(t *testing.T) map[string]int {
	n := map[string]int{}
	for _, d := range b.details(t) {
		n[d.EventID]++
	}
	return n
}

// ddbCounter counts DynamoDB operations by name with a smithy middleware on the real client, so it
// counts what the client sent whatever code called it (operations, not retried attempts).
type ddbCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func countDynamoDB() (func(*dynamodb.Options), *ddbCounter) {
	c := &ddbCounter{n: map[string]int{}}
	mw := middleware.InitializeMiddlewareFunc("wcbridge/webhook-test.count", func(ctx context.Context,
		in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		c.mu.Lock()
		c.n[middleware.GetOperationName(ctx)]++
		c.mu.Unlock()
		return next.HandleInitialize(ctx, in)
	})
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(mw, middleware.Before) })
	}, c
}

func (c *ddbCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, v := range c.n {
		t += v
	}
	return t
}

func (c *ddbCounter) reset() { c.mu.Lock(); clear(c.n); c.mu.Unlock() }

func (c *ddbCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.n {
		m[k] = v
	}
	return m
}
