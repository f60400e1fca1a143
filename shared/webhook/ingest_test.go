package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

func TestIngestChecksTheTokenFirst(t *testing.T) {
	e := newEnv(t)
	retiredOnly, _ := NewTokens([]string{tokenCurrent}) // after rotation: the previous token is retired
	for i, tc := range []struct {
		name   string
		token  string
		tokens *Tokens
		want   int
	}{
		{"the current token is accepted", tokenCurrent, nil, 200},
		{"the second token of a rotation is accepted", tokenPrevious, nil, 200},
		{"a wrong token is refused", strings.Repeat("x", len(tokenCurrent)), nil, 401},
		{"a token of another length is refused", tokenCurrent + "extra", nil, 401},
		{"a short token is refused", "abc", nil, 401},
		{"a missing token is refused", "", nil, 401},
		{"a retired token is refused", tokenPrevious, &retiredOnly, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := e.ingest.Tokens
			if tc.tokens != nil {
				e.ingest.Tokens = *tc.tokens
				defer func() { e.ingest.Tokens = saved }()
			}
			reqID := fmt.Sprintf("req-token-%d", i)
			req := post(withLead(t, fixtureNew, int64(900+i), nil), tc.token)
			req.RequestContext.RequestID = reqID
			refused := e.rejections(401)
			resp := e.do(req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, resp.Body)
			}
			if tc.want == 401 {
				if code := decodeError(t, resp).Error.Code; code != "unauthorized" {
					t.Fatalf("code %q", code)
				}
				// Counted in the minute's rejection count, which holds nothing read from the request.
				if n := e.rejections(401); n != refused+1 {
					t.Fatalf("401 rejections counted %d, want %d", n, refused+1)
				}
				return
			}
			recs := e.recordsWhere(func(r audit.Record) bool { return r.RequestID == reqID })
			if len(recs) != 1 {
				t.Fatalf("%d audit records of the delivery, want 1", len(recs))
			}
		})
	}
	if n := len(e.bus.entries()); n != 2 {
		t.Fatalf("%d bus events, want 2 (the accepted deliveries only)", n)
	}
}

func TestIngestRefusesBadDeliveriesNamingFieldsNotValues(t *testing.T) {
	e := newEnv(t)
	const secretish = "Synthetic Patient Zed"
	big := fixture(t, fixtureNew, map[string]any{"notes": strings.Repeat("a", httpapi.MaxBody)})
	for _, tc := range []struct {
		name        string
		req         func() ([]byte, string, bool) // body, content type, base64
		status      int
		code        string
		fields      []string
		mustNotEcho string
	}{
		{"a body over 256 KiB", func() ([]byte, string, bool) { return big, "application/json", false }, 413, "payload_too_large", nil, ""},
		{"a base64 body over 256 KiB once decoded", func() ([]byte, string, bool) { return big, "application/json", true }, 413, "payload_too_large", nil, ""},
		{"text/plain", func() ([]byte, string, bool) { return fixture(t, fixtureNew, nil), "text/plain", false }, 415, "unsupported_media_type", nil, ""},
		{"no content type", func() ([]byte, string, bool) { return fixture(t, fixtureNew, nil), "", false }, 415, "unsupported_media_type", nil, ""},
		{"form encoding", func() ([]byte, string, bool) { return []byte("lead_id=1"), "application/x-www-form-urlencoded", false }, 415, "unsupported_media_type", nil, ""},
		{"a charset other than UTF-8", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, nil), "application/json; charset=latin1", false
		}, 415, "unsupported_media_type", nil, ""},
		{"malformed JSON", func() ([]byte, string, bool) {
			return []byte(`{"trigger":"new","contact_name":"` + secretish + `",`), "application/json", false
		}, 400, "invalid_request", nil, secretish},
		{"a JSON array", func() ([]byte, string, bool) { return []byte(`[{"trigger":"new"}]`), "application/json", false }, 400, "invalid_request", nil, ""},
		{"an empty body", func() ([]byte, string, bool) { return nil, "application/json", false }, 400, "invalid_request", nil, ""},
		{"trigger, lead_id and profile_id missing", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"trigger": nil, "lead_id": nil, "profile_id": nil}), "application/json", false
		}, 400, "invalid_request", []string{"trigger", "lead_id", "profile_id"}, ""},
		{"lead_id and profile_id null", func() ([]byte, string, bool) {
			return []byte(`{"trigger":"new","lead_id":null,"profile_id":null}`), "application/json", false
		}, 400, "invalid_request", []string{"lead_id", "profile_id"}, ""},
		{"lead_id a name, profile_id negative", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"lead_id": secretish, "profile_id": -5}), "application/json", false
		}, 400, "invalid_request", []string{"lead_id", "profile_id"}, secretish},
		{"lead_id zero, profile_id a fraction", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"lead_id": 0, "profile_id": 1.5}), "application/json", false
		}, 400, "invalid_request", []string{"lead_id", "profile_id"}, ""},
		{"lead_id a digit string", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"lead_id": "153928"}), "application/json", false
		}, 400, "invalid_request", []string{"lead_id"}, ""},
		{"an unknown trigger", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"trigger": secretish}), "application/json", false
		}, 400, "invalid_request", []string{"trigger"}, secretish},
		{"bad dates", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"date_created": secretish, "last_updated": "2025-13-01T00:00:00Z"}), "application/json", false
		}, 400, "invalid_request", []string{"date_created", "last_updated"}, secretish},
		{"a date without a zone", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"last_updated": "2025-05-28 19:20:03"}), "application/json", false
		}, 400, "invalid_request", []string{"last_updated"}, ""},
		{"every problem at once", func() ([]byte, string, bool) {
			return fixture(t, fixtureNew, map[string]any{"trigger": "create", "lead_id": nil, "profile_id": "x", "date_created": 5, "last_updated": "x"}), "application/json", false
		}, 400, "invalid_request", []string{"trigger", "lead_id", "profile_id", "date_created", "last_updated"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct, b64 := tc.req()
			req := post(body, tokenCurrent)
			req.Headers = map[string]string{}
			if ct != "" {
				req.Headers["content-type"] = ct // API Gateway keeps the client's case
			}
			if b64 {
				req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			}
			refused := e.rejections(tc.status)
			resp := e.do(req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			eb := decodeError(t, resp)
			if eb.Error.Code != tc.code {
				t.Fatalf("code %q, want %q", eb.Error.Code, tc.code)
			}
			var got []string
			for _, f := range eb.Error.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
			if tc.mustNotEcho != "" && strings.Contains(resp.Body, tc.mustNotEcho) {
				t.Fatalf("the answer echoes a value: %s", resp.Body)
			}
			if n := e.rejections(tc.status); n != refused+1 {
				t.Fatalf("%d rejections counted %d, want %d", tc.status, n, refused+1)
			}
		})
	}
	if n := len(e.bus.entries()); n != 0 {
		t.Fatalf("%d bus events for refused deliveries", n)
	}
	if p := e.pending(); len(p) != 0 {
		t.Fatalf("%d refused deliveries on the outbox", len(p))
	}
}

func TestIngestAcceptsRealPayloads(t *testing.T) {
	e := newEnv(t)
	raw := func(name string) []byte { return testenv.Fixture(t, name) }
	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
		base64      bool
		want        Detail
	}{
		{"the New Lead fixture as WhatConverts sent it", raw(fixtureNew), "application/json", false,
			Detail{Trigger: "new-lead", LeadID: 153928, ProfileID: 51497, AccountID: 27313, LeadType: "Phone Call",
				LastUpdated: "2016-01-25T17:18:20Z", Quotable: "Not Set"}},
		{"the Updated Lead fixture as WhatConverts sent it ([] for {}, null money, empty strings)", raw(fixtureUpdate),
			"application/json; charset=UTF-8", false,
			Detail{Trigger: "updated-lead", LeadID: 178849242, ProfileID: 146471, AccountID: 98220, LeadType: "Phone Call",
				LastUpdated: "2025-05-28T19:20:03Z", Quotable: "Not Set",
				ChangedFields: []string{"duplicate", "lead_score", "lead_state", "lead_status", "lead_url", "quotable", "spam"}}},
		{"a base64-encoded body", base64Body(withLead(t, fixtureNew, 7001, nil)), "Application/JSON", true,
			Detail{Trigger: "new-lead", LeadID: 7001, ProfileID: 51497, AccountID: 27313, LeadType: "Phone Call",
				LastUpdated: "2016-01-25T17:18:20Z", Quotable: "Not Set"}},
		{"an update bringing a quote value, with unknown fields and {} maps", withLead(t, fixtureUpdate, 7002, map[string]any{
			"quote_value": 251.5, "sales_value": 0, "quotable": "Yes", "lead_analysis": map[string]any{},
			"additional_fields": map[string]any{"Insurance": "Synthetic Plan"}, "brand_new_field": map[string]any{"x": []any{1, "two"}},
		}), "application/json", false,
			Detail{Trigger: "updated-lead", LeadID: 7002, ProfileID: 146471, AccountID: 98220, LeadType: "Phone Call",
				LastUpdated: "2025-05-28T19:20:03Z", Quotable: "Yes", HasQuoteValue: true,
				ChangedFields: []string{"duplicate", "lead_score", "lead_state", "lead_status", "lead_url", "quotable", "quote_value", "sales_value", "spam"}}},
		{"empty dates and no account, an unknown lead type", withLead(t, fixtureNew, 7003, map[string]any{
			"date_created": "", "account_id": nil, "lead_type": "Synthetic Patient Zed", "quotable": "maybe",
		}), "application/json", false,
			Detail{Trigger: "new-lead", LeadID: 7003, ProfileID: 51497, LastUpdated: "2016-01-25T17:18:20Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.bus.entries())
			req := post(tc.body, tokenCurrent)
			req.Headers["Content-Type"] = tc.contentType
			if tc.base64 {
				req.Body, req.IsBase64Encoded = string(tc.body), true
			}
			ok := decodeOK(t, e.do(req))
			if ok.Duplicate || ok.Trigger != tc.want.Trigger || !strings.HasPrefix(ok.EventID, "evt_") {
				t.Fatalf("answer %+v", ok)
			}
			// The record is durable, holds the body exactly as received, sealed, and is off the outbox.
			rec := e.get(ok.EventID)
			sent := tc.body
			if tc.base64 {
				sent, _ = base64.StdEncoding.DecodeString(string(tc.body))
			}
			got, err := e.reader.OpenPayload(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, sent) {
				t.Fatalf("stored payload differs from the body received")
			}
			if bytes.Contains(rec.Sealed, []byte(`"lead_id"`)) {
				t.Fatal("the payload is stored in clear")
			}
			if rec.Outcome != audit.OutcomeOK || rec.Kind != audit.KindWebhook || rec.Actor != audit.WebhookActor || rec.Pending {
				t.Fatalf("record %+v", rec)
			}
			// One event on the bus, with the record's identity and no PHI.
			entries := e.bus.entries()[before:]
			if len(entries) != 1 {
				t.Fatalf("%d bus events, want 1", len(entries))
			}
			ev := entries[0]
			if aws.ToString(ev.Source) != Source || aws.ToString(ev.DetailType) != DetailType(tc.want.Trigger) ||
				aws.ToString(ev.EventBusName) != testBus || ev.Time == nil || !ev.Time.Equal(rec.ReceivedAt) {
				t.Fatalf("entry %+v", ev)
			}
			assertNoPHI(t, "the bus event", aws.ToString(ev.Detail))
			var d Detail
			if err := json.Unmarshal([]byte(aws.ToString(ev.Detail)), &d); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.EventID, want.ReceivedAt = ok.EventID, rec.ReceivedAt.Format(time.RFC3339Nano)
			if fmt.Sprint(d) != fmt.Sprint(want) {
				t.Fatalf("detail\n got %+v\nwant %+v", d, want)
			}
		})
	}
	if n := e.scanForPHI(); n == 0 {
		t.Fatal("scanned no items")
	}
}

func base64Body(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }

func TestIngestRedeliveryIsAcknowledgedNotRepeated(t *testing.T) {
	e := newEnv(t)
	body := withLead(t, fixtureUpdate, 8001, nil)
	first := decodeOK(t, e.deliver(body, tokenCurrent))
	again := decodeOK(t, e.deliver(body, tokenPrevious))
	if first.Duplicate || !again.Duplicate || again.EventID != first.EventID || again.Trigger != "updated-lead" {
		t.Fatalf("first %+v, redelivery %+v", first, again)
	}
	// Same lead, same trigger, but a later last_updated: a new event.
	later := decodeOK(t, e.deliver(withLead(t, fixtureUpdate, 8001, map[string]any{"last_updated": "2025-05-28T19:25:00Z"}), tokenCurrent))
	if later.Duplicate || later.EventID == first.EventID {
		t.Fatalf("a later update was taken for a redelivery: %+v", later)
	}
	// Same lead and last_updated, the other trigger: a new event.
	other := decodeOK(t, e.deliver(withLead(t, fixtureUpdate, 8001, map[string]any{"trigger": "new"}), tokenCurrent))
	if other.Duplicate || other.EventID == first.EventID {
		t.Fatalf("another trigger was taken for a redelivery: %+v", other)
	}

	events := e.recordsWhere(func(r audit.Record) bool { return r.Outcome == audit.OutcomeOK })
	dups := e.recordsWhere(func(r audit.Record) bool { return r.Outcome == audit.OutcomeDuplicate })
	if len(events) != 3 {
		t.Fatalf("%d event records, want 3", len(events))
	}
	if len(dups) != 1 || dups[0].EventID != first.EventID || dups[0].Sealed != nil || dups[0].Status != 200 ||
		!slices.Equal(dups[0].LeadIDs, []int64{8001}) {
		t.Fatalf("duplicate records %+v; want one, naming the first event, without a body", dups)
	}
	if n := e.bus.countByEvent(t); n[first.EventID] != 1 || len(n) != 3 {
		t.Fatalf("bus events by event: %v", n)
	}
}

// WhatConverts' last_updated has whole seconds: a workflow's edit comes back within milliseconds with
// the last_updated of the state it changed. Two states are two events; each one's redelivery is not.
func TestIngestTwoStatesInOneSecondAreTwoEvents(t *testing.T) {
	e := newEnv(t)
	quoted := withLead(t, fixtureUpdate, 8401, map[string]any{"quote_value": 450})
	quotable := withLead(t, fixtureUpdate, 8401, map[string]any{"quote_value": 450, "quotable": "Yes"})
	var reordered map[string]any // the first state again, its keys in another order and spacing
	if err := json.Unmarshal(quoted, &reordered); err != nil {
		t.Fatal(err)
	}
	again, err := json.MarshalIndent(reordered, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	first := decodeOK(t, e.deliver(quoted, tokenCurrent))
	echo := decodeOK(t, e.deliver(quotable, tokenCurrent))
	if first.Duplicate || echo.Duplicate || echo.EventID == first.EventID {
		t.Fatalf("two states of one second: %+v then %+v, want two new events", first, echo)
	}
	for name, tc := range map[string]struct {
		body []byte
		of   string
	}{
		"the first state again":          {quoted, first.EventID},
		"the first state, other spacing": {again, first.EventID},
		"the second state again":         {quotable, echo.EventID},
	} {
		if r := decodeOK(t, e.deliver(tc.body, tokenCurrent)); !r.Duplicate || r.EventID != tc.of {
			t.Errorf("%s: %+v, want a duplicate of %s", name, r, tc.of)
		}
	}
	if n := e.bus.countByEvent(t); len(n) != 2 || n[first.EventID] != 1 || n[echo.EventID] != 1 {
		t.Fatalf("bus events by event: %v, want one each of the two states", n)
	}
}

func TestIngestDeliveriesWithoutLastUpdatedDeduplicateOnTheCanonicalBody(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"trigger":"new","lead_id":8101,"profile_id":51497,"contact_name":"Synthetic Patient Zed","lead_analysis":{"a":"1","b":"2"}}`)
	reordered := []byte("{ \"profile_id\": 51497, \"lead_analysis\": {\"b\":\"2\", \"a\":\"1\"},\n \"lead_id\": 8101, \"contact_name\": \"Synthetic Patient Zed\", \"trigger\": \"new\" }")
	changed := []byte(`{"trigger":"new","lead_id":8101,"profile_id":51497,"contact_name":"Synthetic Patient Zed","lead_analysis":{"a":"1","b":"3"}}`)
	first := decodeOK(t, e.deliver(body, tokenCurrent))
	same := decodeOK(t, e.deliver(reordered, tokenCurrent))
	diff := decodeOK(t, e.deliver(changed, tokenCurrent))
	if first.Duplicate || !same.Duplicate || same.EventID != first.EventID {
		t.Fatalf("the same canonical body was not de-duplicated: %+v %+v", first, same)
	}
	if diff.Duplicate || diff.EventID == first.EventID {
		t.Fatalf("another body was taken for a redelivery: %+v", diff)
	}
}

func TestIngestConcurrentRedeliveriesMakeOneRecordAndOneBusEvent(t *testing.T) {
	e := newEnv(t)
	body := withLead(t, fixtureNew, 8201, nil)
	const n = 50
	answers := make([]Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := e.ingest.Handle(context.Background(), post(body, tokenCurrent))
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("delivery %d: %v %d %s", i, err, resp.StatusCode, resp.Body)
				return
			}
			_ = json.Unmarshal([]byte(resp.Body), &answers[i])
		})
	}
	wg.Wait()
	fresh := 0
	for _, a := range answers {
		if a.EventID != answers[0].EventID {
			t.Fatalf("event IDs differ: %q and %q", a.EventID, answers[0].EventID)
		}
		if !a.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d deliveries answered as new, want exactly 1", fresh)
	}
	if recs := e.recordsWhere(func(r audit.Record) bool { return r.Outcome == audit.OutcomeOK }); len(recs) != 1 {
		t.Fatalf("%d event records, want 1", len(recs))
	}
	if recs := e.recordsWhere(func(r audit.Record) bool { return r.Outcome == audit.OutcomeDuplicate }); len(recs) != n-1 {
		t.Fatalf("%d duplicate records, want %d", len(recs), n-1)
	}
	if got := e.bus.countByEvent(t); len(got) != 1 || got[answers[0].EventID] != 1 {
		t.Fatalf("bus events: %v, want one", got)
	}
}

func TestDynamoDBRequestsPerWebhook(t *testing.T) {
	e := newEnv(t)
	body := withLead(t, fixtureNew, 8301, nil)
	e.ddb.reset()
	decodeOK(t, e.deliver(body, tokenCurrent))
	perNew, newOps := e.ddb.total(), e.ddb.counts()
	e.ddb.reset()
	decodeOK(t, e.deliver(body, tokenCurrent))
	perDup, dupOps := e.ddb.total(), e.ddb.counts()
	t.Logf("P3 DynamoDB requests: new webhook %d %v, redelivered webhook %d %v", perNew, newOps, perDup, dupOps)
	// New: the conditional put of the event, the outbox marker's removal. Redelivered: the put that
	// finds the event, and the redelivery's own audit record (every delivery is audited).
	if perNew != 2 || newOps["PutItem"] != 1 || newOps["UpdateItem"] != 1 {
		t.Fatalf("new webhook: %d requests %v, want PutItem + UpdateItem", perNew, newOps)
	}
	if perDup != 2 || dupOps["PutItem"] != 2 {
		t.Fatalf("redelivered webhook: %d requests %v, want 2 PutItem", perDup, dupOps)
	}
	if newOps["GetItem"]+newOps["Query"]+dupOps["GetItem"]+dupOps["Query"] != 0 {
		t.Fatal("the webhook read the table")
	}
}

func TestIngestAnswersOnlyAfterTheRecordIsDurable(t *testing.T) {
	e := newEnv(t)
	// The table refuses writes (wrong table name): nothing may be acknowledged or published.
	broken := *e.ingest
	broken.Store = audit.New(audit.Config{DB: e.db, Table: "wcbridge-no-such-table", Sealer: e.enc})
	resp := (&env{t: t, ingest: &broken}).deliver(withLead(t, fixtureNew, 8401, nil), tokenCurrent)
	if resp.StatusCode != http.StatusInternalServerError || decodeError(t, resp).Error.Code != "internal" {
		t.Fatalf("status %d body %s, want 500 internal", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "no-such-table") || strings.Contains(resp.Body, "ResourceNotFound") {
		t.Fatalf("the answer tells internals: %s", resp.Body)
	}
	if n := len(e.bus.entries()); n != 0 {
		t.Fatalf("%d bus events for an unrecorded delivery", n)
	}
}

// security.md S18: a flood of bad-token requests cannot make the table hold a record per request.
// 10,000 refused deliveries leave one rejection count per minute they span, whose counts are exact.
func TestABadTokenFloodLeavesBoundedRecordsAndExactCounts(t *testing.T) {
	e := newEnv(t)
	before := len(e.records())
	const flood, workers = 10_000, 16
	var wg sync.WaitGroup
	var refused atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < flood; i += workers {
				req := post(fixture(t, fixtureNew, nil), strings.Repeat("x", 64))
				req.RequestContext.RequestID = fmt.Sprintf("req-flood-%d", i)
				if resp := e.do(req); resp.StatusCode == 401 {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if refused.Load() != flood {
		t.Fatalf("%d of %d refused with 401", refused.Load(), flood)
	}
	counts := e.recordsWhere(func(r audit.Record) bool { return r.Action == audit.ActionRejections })
	var total int64
	for _, c := range counts {
		total += c.Count
		if c.Status != 401 || c.Outcome != audit.OutcomeRejected || c.Sealed != nil {
			t.Fatalf("rejection count %+v; want 401, rejected, no body", c)
		}
	}
	if total != flood {
		t.Fatalf("rejection counts sum to %d, want exactly %d", total, flood)
	}
	// One item per minute per status: the flood took a few minutes at most here.
	if added := len(e.records()) - before; added != len(counts) || added > 5 {
		t.Fatalf("the flood added %d audit items (%d counts); want one per minute it spanned", added, len(counts))
	}
}
