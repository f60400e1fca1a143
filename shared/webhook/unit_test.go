package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// fakeRecorder is a function-field fake of the audit store's write side.
type fakeRecorder struct {
	RecordIfNewFn   func(ctx context.Context, key audit.DedupeKey, r audit.Record, payload []byte) (string, bool, error)
	AppendFn        func(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
	MarkPublishedFn func(ctx context.Context, eventID string) error
	CountFn         func(ctx context.Context, at time.Time, status int) (int64, error)
}

func (f fakeRecorder) CountRejection(ctx context.Context, at time.Time, status int) (int64, error) {
	if f.CountFn == nil {
		return 1, nil
	}
	return f.CountFn(ctx, at, status)
}

func (f fakeRecorder) RecordIfNew(ctx context.Context, key audit.DedupeKey, r audit.Record, payload []byte) (string, bool, error) {
	return f.RecordIfNewFn(ctx, key, r, payload)
}

func (f fakeRecorder) Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error) {
	return f.AppendFn(ctx, r, payload)
}

func (f fakeRecorder) MarkPublished(ctx context.Context, eventID string) error {
	return f.MarkPublishedFn(ctx, eventID)
}

var _ Recorder = fakeRecorder{}

var errTable = errors.New("table unavailable (test)")

func unitIngest(t *testing.T, rec fakeRecorder, bus Bus) *Ingest {
	t.Helper()
	tokens, err := NewTokens([]string{tokenCurrent})
	if err != nil {
		t.Fatal(err)
	}
	return &Ingest{Tokens: tokens, Store: rec, Bus: bus, EventBus: testBus, Log: testLogger()}
}

func busThatMustNotBeCalled(t *testing.T) fakeBus {
	return fakeBus{PutEventsFn: func(context.Context, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		t.Error("the bus was called")
		return &eventbridge.PutEventsOutput{}, nil
	}}
}

func TestAFailedAuditWriteFailsTheRequest(t *testing.T) {
	okAppend := func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) { return r, nil }
	failAppend := func(context.Context, audit.Record, []byte) (audit.Record, error) { return audit.Record{}, errTable }
	newEvent := func(_ context.Context, k audit.DedupeKey, _ audit.Record, _ []byte) (string, bool, error) {
		return audit.EventID(k), true, nil
	}
	dupEvent := func(_ context.Context, k audit.DedupeKey, _ audit.Record, _ []byte) (string, bool, error) {
		return audit.EventID(k), false, nil
	}
	failEvent := func(context.Context, audit.DedupeKey, audit.Record, []byte) (string, bool, error) {
		return "", false, errTable
	}
	for _, tc := range []struct {
		name  string
		rec   fakeRecorder
		token string
	}{
		{"the event record cannot be written", fakeRecorder{RecordIfNewFn: failEvent, AppendFn: okAppend}, tokenCurrent},
		{"the event record and its failure record cannot be written", fakeRecorder{RecordIfNewFn: failEvent, AppendFn: failAppend}, tokenCurrent},
		{"a redelivery's record cannot be written", fakeRecorder{RecordIfNewFn: dupEvent, AppendFn: failAppend}, tokenCurrent},
		{"a rejection cannot be counted", fakeRecorder{RecordIfNewFn: newEvent, AppendFn: okAppend,
			CountFn: func(context.Context, time.Time, int) (int64, error) { return 0, errTable }}, "wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := unitIngest(t, tc.rec, busThatMustNotBeCalled(t))
			resp, err := h.Handle(context.Background(), post(fixture(t, fixtureNew, nil), tc.token))
			if err != nil || resp.StatusCode != 500 || decodeError(t, resp).Error.Message != "internal error" {
				t.Fatalf("got %d %s %v, want 500 internal", resp.StatusCode, resp.Body, err)
			}
			if strings.Contains(resp.Body, "event_id") || strings.Contains(resp.Body, "unavailable") {
				t.Fatalf("the answer acknowledges or tells internals: %s", resp.Body)
			}
		})
	}
}

func TestAFailedPublishDoesNotFailTheWebhook(t *testing.T) {
	marked := 0
	rec := fakeRecorder{
		RecordIfNewFn: func(_ context.Context, k audit.DedupeKey, _ audit.Record, _ []byte) (string, bool, error) {
			return audit.EventID(k), true, nil
		},
		MarkPublishedFn: func(context.Context, string) error { marked++; return nil },
	}
	slow := fakeBus{PutEventsFn: func(ctx context.Context, _ *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
		<-ctx.Done() // a bus that never answers: the publish deadline ends the wait
		return nil, ctx.Err()
	}}
	h := unitIngest(t, rec, slow)
	h.PublishTimeout = 10 * time.Millisecond
	// The caller's context ends right after the write; the publish has its own deadline.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := h.Handle(ctx, post(fixture(t, fixtureNew, nil), tokenCurrent))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %s %v", resp.StatusCode, resp.Body, err)
	}
	if marked != 0 {
		t.Fatal("an unpublished event was taken off the outbox")
	}
}

func TestPHIScanFindsWhatItLooksFor(t *testing.T) {
	// The scan of the run's logs is only as good as its matcher: it must see raw and JSON-escaped values.
	for _, s := range []string{`{"msg":"Synthetic Patient Zed"}`, `"` + tokenPrevious + `"`, `{"x":"\u003cSynthetic Patient Zed"}`} {
		if len(findPHI(s)) == 0 {
			t.Fatalf("the scan misses %s", s)
		}
	}
	if found := findPHI(`{"event_id":"evt_abc","lead_id":153928,"fields":["contact_name"]}`); len(found) != 0 {
		t.Fatalf("the scan flags IDs and field names: %v", found)
	}
}

func TestDetailOfHoldsOnlyMetadata(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 123000000, time.UTC)
	d := DetailOf(audit.Record{ID: "evt_x", Trigger: audit.TriggerUpdatedLead, ProfileID: 1001, LeadIDs: []int64{7},
		AccountID: 9, LeadType: "Web Form", ReceivedAt: at, Quotable: "Yes", HasSalesValue: true,
		ChangedFields: []string{"quotable", "sales_value"}})
	want := Detail{EventID: "evt_x", Trigger: "updated-lead", LeadID: 7, ProfileID: 1001, AccountID: 9, LeadType: "Web Form",
		ReceivedAt: "2026-11-28T12:00:00.123Z", Quotable: "Yes", HasSalesValue: true, ChangedFields: []string{"quotable", "sales_value"}}
	if got := d; got.EventID != want.EventID || got.ReceivedAt != want.ReceivedAt || got.LastUpdated != "" ||
		len(got.ChangedFields) != 2 || got.HasQuoteValue || !got.HasSalesValue || got.LeadID != 7 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if DetailType(audit.TriggerNewLead) != "Lead Created" || DetailType(audit.TriggerUpdatedLead) != "Lead Updated" {
		t.Fatal("detail types")
	}
}

// FuzzIngest: no body, content type or encoding crashes the handler or gets an answer outside the
// contract's; every acknowledged body was one the store was asked to record.
func FuzzIngest(f *testing.F) {
	f.Add([]byte(`{"trigger":"new","lead_id":1,"profile_id":2}`), "application/json", false)
	f.Add([]byte(`{"trigger":"update","lead_id":1,"profile_id":2,"last_updated":"2025-01-01T00:00:00Z","lead_analysis":[]}`), "application/json; charset=utf-8", false)
	f.Add([]byte(`{"trigger":"new","lead_id":1e400,"profile_id":-0}`), "application/json", false)
	f.Add([]byte("{\"a\":\"\xff\"}"), "application/json", false)
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`), "application/json", false)
	f.Add([]byte("e30="), "application/json", true)
	f.Add([]byte("{\"trigger\":\"new\u0000\"}"), "text/json", false)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, b64 bool) {
		recorded := false
		rec := fakeRecorder{
			RecordIfNewFn: func(_ context.Context, k audit.DedupeKey, _ audit.Record, _ []byte) (string, bool, error) {
				recorded = true
				return audit.EventID(k), true, nil
			},
			AppendFn:        func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) { return r, nil },
			MarkPublishedFn: func(context.Context, string) error { return nil },
		}
		bus := fakeBus{PutEventsFn: func(context.Context, *eventbridge.PutEventsInput) (*eventbridge.PutEventsOutput, error) {
			return &eventbridge.PutEventsOutput{}, nil
		}}
		h := unitIngest(t, rec, bus)
		req := post(body, tokenCurrent)
		req.Headers["Content-Type"] = contentType
		req.IsBase64Encoded = b64
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case 200:
			if !recorded {
				t.Fatal("acknowledged without a record")
			}
		case 400, 413, 415:
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// fakeSampleReader is a function-field fake of the audit store's read side.
type fakeSampleReader struct {
	RecentEventsFn func(ctx context.Context, trigger string, window time.Duration, limit int) ([]audit.Record, error)
	OpenPayloadFn  func(ctx context.Context, r audit.Record) ([]byte, error)
	AppendFn       func(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

func (f fakeSampleReader) RecentEvents(ctx context.Context, trigger string, window time.Duration, limit int) ([]audit.Record, error) {
	return f.RecentEventsFn(ctx, trigger, window, limit)
}

func (f fakeSampleReader) OpenPayload(ctx context.Context, r audit.Record) ([]byte, error) {
	return f.OpenPayloadFn(ctx, r)
}

func (f fakeSampleReader) Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error) {
	return f.AppendFn(ctx, r, payload)
}

var _ SampleReader = fakeSampleReader{}

// recentLeads are n events of lead 1..n, newest first, each opening to a lead of size bytes.
func recentLeads(n, size int) fakeSampleReader {
	return fakeSampleReader{
		RecentEventsFn: func(context.Context, string, time.Duration, int) ([]audit.Record, error) {
			recs := make([]audit.Record, n)
			for i := range recs {
				recs[i] = audit.Record{ID: "evt_" + strings.Repeat("a", i+1), LeadIDs: []int64{int64(i + 1)}, ReceivedAt: time.Now()}
			}
			return recs, nil
		},
		OpenPayloadFn: func(context.Context, audit.Record) ([]byte, error) {
			return []byte(`{"notes":"` + strings.Repeat("n", size-12) + `"}`), nil
		},
	}
}

func TestSamplesAnswerNothingUnlessTheReadIsAudited(t *testing.T) {
	store := recentLeads(3, 100)
	store.AppendFn = func(context.Context, audit.Record, []byte) (audit.Record, error) { return audit.Record{}, errTable }
	resp, err := (&Samples{Store: store, Access: allowAll{}, Log: testLogger()}).Handle(context.Background(), samplesRequest("new-lead", callerARN))
	if err != nil || resp.StatusCode != 500 || strings.Contains(resp.Body, "nnnn") {
		t.Fatalf("got %d %s %v; want 500 and no lead", resp.StatusCode, resp.Body, err)
	}
}

func TestSamplesThatDoNotOpenFailTheReadAndAreAuditedAsFailed(t *testing.T) {
	store := recentLeads(3, 100)
	store.OpenPayloadFn = func(context.Context, audit.Record) ([]byte, error) { return nil, errors.New("cannot decrypt (test)") }
	var audited []audit.Record
	store.AppendFn = func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) {
		audited = append(audited, r)
		return r, nil
	}
	resp, _ := (&Samples{Store: store, Access: allowAll{}, Log: testLogger()}).Handle(context.Background(), samplesRequest("updated-lead", callerARN))
	if resp.StatusCode != 500 || len(audited) != 1 || audited[0].Outcome != audit.OutcomeFailed || audited[0].Actor != callerARN {
		t.Fatalf("got %d, audited %+v", resp.StatusCode, audited)
	}
}

func TestSamplesStayUnderTheLambdaResponseLimit(t *testing.T) {
	const size = 200 << 10
	store := recentLeads(30, size)
	var audited audit.Record
	store.AppendFn = func(_ context.Context, r audit.Record, _ []byte) (audit.Record, error) { audited = r; return r, nil }
	resp, err := (&Samples{Store: store, Access: allowAll{}, Log: testLogger()}).Handle(context.Background(), samplesRequest("new-lead", callerARN))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %v", resp.StatusCode, err)
	}
	var body SamplesResponse
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	want := MaxSamplesBytes / size
	if !body.Truncated || len(body.Samples) != want || len(resp.Body) > 6_000_000 {
		t.Fatalf("truncated %v, %d samples (want %d), %d bytes", body.Truncated, len(body.Samples), want, len(resp.Body))
	}
	if len(audited.LeadIDs) != want || audited.LeadIDs[0] != 1 {
		t.Fatalf("the read record names %d leads, want the %d returned, newest first", len(audited.LeadIDs), want)
	}
}

// encodingJSONHash is the canonical hash as the first version computed it (decode with UseNumber,
// encode with sorted keys and no HTML escaping): the keys of deliveries without last_updated have
// been this hash since then, so canonicalHash must give exactly it.
func encodingJSONHash(t *testing.T, body []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

func TestCanonicalHashIsEncodingJSONsCanonicalForm(t *testing.T) {
	for name, body := range map[string][]byte{
		"the New Lead fixture":          fixture(t, fixtureNew, nil),
		"the Updated Lead fixture":      fixture(t, fixtureUpdate, nil),
		"escapes in values and keys":    []byte(`{"a\u0062":"x\u0041\n\t\"\\\/","é":"\u00e9","<html>":"&amp;"}`),
		"line and paragraph separators": []byte("{\"s\":\"a\u2028b\u2029c\",\"k\u2028\":1}"),
		"numbers as written":            []byte(`{"a":1.0,"b":1e2,"c":-0,"d":12345678901234567890}`),
		"nesting and whitespace":        []byte(" {\"z\": [ {\"b\":1, \"a\": [true,false,null]} ],\n\"y\":{}, \"x\":[] , \"w\": {\"k\":\"\\u00e9\"}} "),
		"control characters escaped":    []byte(`{"c":"\u0001\u001f","d":"\u007f"}`),
		"unicode outside the BMP":       []byte(`{"e":"😀\ud83d\ude00"}`),
	} {
		t.Run(name, func(t *testing.T) {
			obj, err := validate.DecodeObject(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonicalHash(obj, len(body))
			if err != nil {
				t.Fatal(err)
			}
			if want := encodingJSONHash(t, body); got != want {
				t.Fatalf("canonicalHash = %s, encoding/json's canonical form hashes to %s", got, want)
			}
		})
	}
}
