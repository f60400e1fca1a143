package devstack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// startStack starts the whole stack on free ports against the services of scripts/with-services.sh
// (skipping without them, failing under CI=true), with its own table, deleted at the end, and its
// own log groups.
func startStack(t *testing.T, opts devstack.Options) *devstack.Stack {
	t.Helper()
	testenv.DynamoDB(t) // skips (or fails under CI) without the services
	testenv.KMS(t)
	testenv.S3(t) // the report verifies against the digest bucket
	opts.DynamoDBEndpoint = os.Getenv("DYNAMODB_ENDPOINT")
	opts.KMSEndpoint = os.Getenv("KMS_ENDPOINT")
	opts.S3Endpoint = os.Getenv("S3_ENDPOINT")
	// As under make dev: the functions' lines go to their log groups, where the verifiers (the digest
	// function, the daily report) read the writers' back.
	opts.LogsEndpoint = os.Getenv("LOGS_ENDPOINT")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	opts.Table = "wcbridge-devstack-" + hex.EncodeToString(b)
	opts.AuditBucket = opts.Table // a bucket each: their digests name the same hours
	opts.DeleteTableOnClose = true
	if opts.LogsEndpoint != "" && opts.LogGroupPrefix == "" {
		opts.LogGroupPrefix = "/aws/lambda/" + opts.Table + "-" // groups each: a test reads its own
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request, signed with the stack's local key when signed is true, as an SDK would sign it.
func do(t *testing.T, st *devstack.Stack, method, url string, body []byte, signed bool) response {
	t.Helper()
	var creds *aws.Credentials
	if signed {
		creds = &aws.Credentials{AccessKeyID: st.Options.AccessKeyID, SecretAccessKey: st.Options.SecretAccessKey}
	}
	return send(t, method, url, body, creds)
}

// send sends a request, SigV4-signed (service execute-api) with creds unless they are nil.
func send(t *testing.T, method, url string, body []byte, creds *aws.Credentials) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// busEvents lists the bus through GET /_local/bus, as a user would.
func busEvents(t *testing.T, st *devstack.Stack) []eventbus.Event {
	t.Helper()
	r := do(t, st, http.MethodGet, st.APIURL+"/_local/bus", nil, false)
	if r.status != http.StatusOK {
		t.Fatalf("GET /_local/bus = %d %s", r.status, r.body)
	}
	var v struct{ Events []eventbus.Event }
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Events
}

// eventDetail is the part of a lead event's detail the tests look at.
type eventDetail struct {
	EventID       string `json:"event_id"`
	Trigger       string `json:"trigger"`
	LeadID        int64  `json:"lead_id"`
	ProfileID     int64  `json:"profile_id"`
	HasQuoteValue bool   `json:"has_quote_value"`
}

// findEvent is the bus event of that detail type and lead, if any.
func findEvent(t *testing.T, events []eventbus.Event, detailType string, leadID int64) (eventDetail, bool) {
	t.Helper()
	for _, e := range events {
		var d eventDetail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if e.DetailType == detailType && d.LeadID == leadID {
			return d, true
		}
	}
	return eventDetail{}, false
}
