package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/wcbridge/wcbridge/shared/local/eventbus"
)

// publisher is the narrow interface a function publishes through; both the SDK client and the bus
// itself satisfy it.
type publisher interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var (
	_ publisher = (*eventbridge.Client)(nil)
	_ publisher = (*eventbus.Bus)(nil)
)

// newClient serves bus over HTTP and returns the real SDK client pointed at it, with static
// credentials and retries without backoff (maxAttempts in all).
func newClient(t *testing.T, bus *eventbus.Bus, maxAttempts int) *eventbridge.Client {
	t.Helper()
	srv := httptest.NewServer(bus)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
	}
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = maxAttempts
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
}

func leadEntry(leadID string) types.PutEventsRequestEntry {
	return types.PutEventsRequestEntry{
		Source:       aws.String("wcbridge.whatconverts"),
		DetailType:   aws.String("Lead Created"),
		Detail:       aws.String(`{"event_id": "e-` + leadID + `", "lead_id": ` + leadID + `, "profile_id": 1001}`),
		EventBusName: aws.String("wcbridge-local"),
	}
}

func TestPutEventsRecordsEachEntryAndAnswersAsEventBridge(t *testing.T) {
	bus := eventbus.New()
	client := newClient(t, bus, 1)
	at := time.Date(2026, 11, 28, 0, 15, 0, 0, time.UTC)
	second := leadEntry("2")
	second.Time = aws.Time(at)
	second.EventBusName = aws.String("arn:aws:events:us-east-1:123456789012:event-bus/wcbridge-local")
	second.Resources = []string{"arn:aws:dynamodb:us-east-1:123456789012:table/audit"}
	third := leadEntry("3")
	third.EventBusName = nil

	before := time.Now().UTC().Truncate(time.Second)
	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{
		Entries: []types.PutEventsRequestEntry{leadEntry("1"), second, third},
	})
	after := time.Now().UTC()
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.Entries) != 3 {
		t.Fatalf("FailedEntryCount %d, %d entries; want 0 and 3", out.FailedEntryCount, len(out.Entries))
	}
	events := bus.Events()
	if len(events) != 3 {
		t.Fatalf("recorded %d events, want 3", len(events))
	}
	for i, ev := range events {
		if ev.ID == "" || aws.ToString(out.Entries[i].EventId) != ev.ID {
			t.Errorf("event %d: id %q, answered EventId %q; want the same, non-empty", i, ev.ID, aws.ToString(out.Entries[i].EventId))
		}
		if ev.Version != "0" || ev.Account != "123456789012" || ev.Region != "us-east-1" ||
			ev.Source != "wcbridge.whatconverts" || ev.DetailType != "Lead Created" {
			t.Errorf("event %d envelope = %+v", i, ev)
		}
	}
	if got := string(events[0].Detail); got != `{"event_id":"e-1","lead_id":1,"profile_id":1001}` {
		t.Errorf("detail = %s, want the entry's Detail as a JSON object", got)
	}
	if events[0].Time.Before(before) || events[0].Time.After(after) {
		t.Errorf("time = %v, want the time of the call (%v–%v)", events[0].Time, before, after)
	}
	if !events[1].Time.Equal(at) {
		t.Errorf("time = %v, want the entry's own Time %v", events[1].Time, at)
	}
	if events[0].EventBusName != "wcbridge-local" || events[1].EventBusName != "wcbridge-local" || events[2].EventBusName != "default" {
		t.Errorf("buses = %q, %q, %q; want wcbridge-local (by name and by ARN) and default",
			events[0].EventBusName, events[1].EventBusName, events[2].EventBusName)
	}
	if len(events[0].Resources) != 0 || events[0].Resources == nil || len(events[1].Resources) != 1 {
		t.Errorf("resources = %#v, %#v; want [] and the entry's one", events[0].Resources, events[1].Resources)
	}

	delivered, err := json.Marshal(events[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"0","id":"` + events[1].ID + `","detail-type":"Lead Created","source":"wcbridge.whatconverts",` +
		`"account":"123456789012","time":"2026-11-28T00:15:00Z","region":"us-east-1",` +
		`"resources":["arn:aws:dynamodb:us-east-1:123456789012:table/audit"],"detail":{"event_id":"e-2","lead_id":2,"profile_id":1001}}`
	if string(delivered) != want {
		t.Errorf("event as delivered =\n %s\nwant\n %s", delivered, want)
	}
}

func TestInvalidEntriesFailOneByOne(t *testing.T) {
	bus := eventbus.New()
	client := newClient(t, bus, 1)
	noSource := leadEntry("1")
	noSource.Source = nil
	noType := leadEntry("2")
	noType.DetailType = nil
	noDetail := leadEntry("3")
	noDetail.Detail = nil
	notObject := leadEntry("4")
	notObject.Detail = aws.String(`["a list"]`)

	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{
		Entries: []types.PutEventsRequestEntry{noSource, leadEntry("5"), noType, noDetail, notObject},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ code, message string }{
		{"InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."},
		{"", ""},
		{"InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
		{"InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."},
		{"MalformedDetail", "Detail is malformed."},
	}
	if out.FailedEntryCount != 4 || len(out.Entries) != len(want) {
		t.Fatalf("FailedEntryCount %d, %d entries; want 4 of 5", out.FailedEntryCount, len(out.Entries))
	}
	for i, w := range want {
		e := out.Entries[i]
		if aws.ToString(e.ErrorCode) != w.code || aws.ToString(e.ErrorMessage) != w.message || (w.code == "") != (e.EventId != nil) {
			t.Errorf("entry %d = {%v %v %v}, want code %q message %q", i, aws.ToString(e.EventId), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage), w.code, w.message)
		}
	}
	if events := bus.Events(); len(events) != 1 || string(events[0].Detail) != `{"event_id":"e-5","lead_id":5,"profile_id":1001}` {
		t.Errorf("recorded %v, want only the valid entry", events)
	}
}

func TestCallsEventBridgeRefusesWhole(t *testing.T) {
	bus := eventbus.New()
	client := newClient(t, bus, 1)
	eleven := make([]types.PutEventsRequestEntry, 11)
	for i := range eleven {
		eleven[i] = leadEntry("1")
	}
	huge := leadEntry("1")
	huge.Detail = aws.String(`{"pad":"` + strings.Repeat("x", eventbus.MaxEntryBody) + `"}`)

	for name, entries := range map[string][]types.PutEventsRequestEntry{
		"more than 10 entries": eleven,
		"over 256 KiB":         {huge},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries})
			assertAPIError(t, err, "ValidationException")
		})
	}
	if n := len(bus.Events()); n != 0 {
		t.Errorf("recorded %d events, want none", n)
	}
}

func assertAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Errorf("err = %v, want the API error %s", err, code)
	}
}

func TestFaultKnobs(t *testing.T) {
	ctx := context.Background()
	put := func(client *eventbridge.Client, n int) (*eventbridge.PutEventsOutput, error) {
		entries := make([]types.PutEventsRequestEntry, n)
		for i := range entries {
			entries[i] = leadEntry("7")
		}
		return client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	}

	t.Run("a failed call is a 500 InternalException the SDK retries", func(t *testing.T) {
		bus := eventbus.New()
		bus.FailNextRequests(2)
		if _, err := put(newClient(t, bus, 1), 1); err == nil {
			t.Fatal("first call succeeded, want InternalException")
		} else {
			assertAPIError(t, err, "InternalException")
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
				t.Errorf("err = %v, want an HTTP 500", err)
			}
		}
		// One failure left: a client with 3 attempts retries past it, and the event is recorded once.
		if _, err := put(newClient(t, bus, 3), 1); err != nil {
			t.Fatalf("with retries: %v", err)
		}
		if n := len(bus.Events()); n != 1 {
			t.Errorf("recorded %d events, want 1", n)
		}
	})
	t.Run("every call fails until the faults are cleared", func(t *testing.T) {
		bus := eventbus.New()
		client := newClient(t, bus, 3)
		bus.FailAllRequests()
		for i := 0; i < 3; i++ {
			if _, err := put(client, 1); err == nil {
				t.Fatalf("call %d succeeded, want failure", i)
			}
		}
		bus.ClearFaults()
		if _, err := put(client, 1); err != nil {
			t.Errorf("after ClearFaults: %v", err)
		}
	})
	t.Run("the next N entries fail with InternalFailure", func(t *testing.T) {
		bus := eventbus.New()
		bus.FailNextEntries(2)
		out, err := put(newClient(t, bus, 1), 3)
		if err != nil {
			t.Fatal(err)
		}
		if out.FailedEntryCount != 2 {
			t.Errorf("FailedEntryCount = %d, want 2", out.FailedEntryCount)
		}
		for i, e := range out.Entries {
			failed := aws.ToString(e.ErrorCode) == "InternalFailure"
			if failed != (i < 2) {
				t.Errorf("entry %d = %+v, want InternalFailure only for the first two", i, e)
			}
		}
		if n := len(bus.Events()); n != 1 {
			t.Errorf("recorded %d events, want only the one that did not fail", n)
		}
	})
}

func TestSubscribersSeeEveryAcceptedEventInOrder(t *testing.T) {
	bus := eventbus.New()
	client := newClient(t, bus, 1)
	var mu sync.Mutex
	var seen []string
	unsubscribe := bus.Subscribe(func(ev eventbus.Event) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(ev.Detail))
	})
	bad := leadEntry("2")
	bad.Source = nil
	if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{
		Entries: []types.PutEventsRequestEntry{leadEntry("1"), bad, leadEntry("3")},
	}); err != nil {
		t.Fatal(err)
	}
	unsubscribe()
	if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{leadEntry("4")}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`{"event_id":"e-1","lead_id":1,"profile_id":1001}`, `{"event_id":"e-3","lead_id":3,"profile_id":1001}`}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("subscriber saw %v, want %v (no refused entry, nothing after unsubscribing)", seen, want)
	}
}

func TestLocalHandlerListsClearsAndSetsFaults(t *testing.T) {
	bus := eventbus.New()
	client := newClient(t, bus, 1)
	local := httptest.NewServer(bus.LocalHandler())
	defer local.Close()

	list := func() []map[string]any {
		t.Helper()
		resp, err := http.Get(local.URL + "/_local/bus")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Events == nil {
			t.Fatal(`no "events" list`)
		}
		return body.Events
	}
	do := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, local.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if got := list(); len(got) != 0 {
		t.Fatalf("empty bus lists %v", got)
	}
	if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{leadEntry("1")}}); err != nil {
		t.Fatal(err)
	}
	got := list()
	if len(got) != 1 || got[0]["detail-type"] != "Lead Created" || got[0]["detail"].(map[string]any)["lead_id"] != 1.0 {
		t.Errorf("listed %v, want the one event with its detail as an object", got)
	}

	if code := do(http.MethodPut, "/_local/bus/faults", `{"fail_requests": 1}`); code != http.StatusOK {
		t.Fatalf("PUT faults: %d", code)
	}
	if _, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{leadEntry("2")}}); err == nil {
		t.Error("a call after PUT fail_requests=1 succeeded, want InternalException")
	}
	if code := do(http.MethodDelete, "/_local/bus", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("after DELETE, listed %v", got)
	}
	if code := do(http.MethodPut, "/_local/bus/faults", `{"fail_entries": -1}`); code != http.StatusBadRequest {
		t.Errorf("a negative fault count: %d, want 400", code)
	}
}

func TestOtherOperationsAreRefused(t *testing.T) {
	srv := httptest.NewServer(eventbus.New())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.ListRules")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || body["__type"] != "UnknownOperationException" {
		t.Errorf("answer = %d %v, want 400 UnknownOperationException", resp.StatusCode, body)
	}
}

func TestTheBusIsAPublisherInProcessToo(t *testing.T) {
	bus := eventbus.New()
	var p publisher = bus
	out, err := p.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{leadEntry("9")}})
	if err != nil || out.FailedEntryCount != 0 || len(bus.Events()) != 1 || aws.ToString(out.Entries[0].EventId) != bus.Events()[0].ID {
		t.Errorf("in-process PutEvents: %v %+v", err, out)
	}
	bus.FailNextRequests(1)
	_, err = p.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{leadEntry("9")}})
	assertAPIError(t, err, "InternalException")
}
