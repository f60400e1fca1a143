package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// The events/ samples (for `sam local invoke -e`) are real deliveries of the fixtures: each is
// answered as its route should answer it.
func TestEventSamplesAreAnsweredAsTheirRoutes(t *testing.T) {
	e := newEnv(t)
	read := func(name string, v any) []byte {
		t.Helper()
		raw, err := os.ReadFile("../../events/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return raw
	}
	for _, tc := range []struct{ event, fixture, trigger string }{
		{"ingest-webhook-new.json", fixtureNew, "new-lead"},
		{"ingest-webhook-update.json", fixtureUpdate, "updated-lead"},
	} {
		t.Run(tc.event, func(t *testing.T) {
			var req events.APIGatewayProxyRequest
			read(tc.event, &req)
			want := testenv.Fixture(t, tc.fixture)
			if !bytes.Equal([]byte(req.Body), want) {
				t.Fatal("the event's body is not the fixture as WhatConverts sent it")
			}
			tokens, err := NewTokens([]string{req.QueryStringParameters["token"]})
			if err != nil {
				t.Fatal(err)
			}
			e.ingest.Tokens = tokens
			if got := decodeOK(t, e.do(req)); got.Trigger != tc.trigger {
				t.Fatalf("trigger %q", got.Trigger)
			}
		})
	}
	var req events.APIGatewayProxyRequest
	read("trigger-samples.json", &req)
	if resp, body := e.sample(req); resp.StatusCode != 200 || len(body.Samples) != 1 {
		t.Fatalf("trigger-samples.json: %d, %d samples", resp.StatusCode, len(body.Samples))
	}
	var sched json.RawMessage
	read("publish-outbox.json", &sched)
	if _, err := e.outbox.Handle(context.Background(), sched); err != nil {
		t.Fatalf("publish-outbox.json: %v", err)
	}
}
