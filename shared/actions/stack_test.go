package actions_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
)

// stack is the four actions wired as their functions wire them (shared/wiring/wireactions), against a fresh
// table on the local DynamoDB-compatible server, a fresh key on the local KMS-compatible server and a
// seeded WhatConverts simulator. Every log line goes to logs.
type stack struct {
	t        *testing.T
	sim      *wcsim.Sim
	db       *dynamodb.Client
	table    string
	audit    *audit.Store // with an Opener, to read the sealed parts back in tests
	logs     *testenv.Logs
	getLeads *actions.Handler
	getLead  *actions.Handler
	create   *actions.Handler
	update   *actions.Handler
	// env and logger are what the handlers were built from, for tests that build more.
	env    map[string]string
	logger *slog.Logger
}

// credentials of the stacks: each profile its own key, or only the account's master key.
var (
	profileKeys = `{"profiles": {"1001": {"token": "` + wcsim.ProfileKey1001.Token + `", "secret": "` + wcsim.ProfileKey1001.Secret + `"},
		"1002": {"token": "` + wcsim.ProfileKey1002.Token + `", "secret": "` + wcsim.ProfileKey1002.Secret + `"}}}`
	masterKeyOnly = `{"master": {"token": "` + wcsim.MasterKey2001.Token + `", "secret": "` + wcsim.MasterKey2001.Secret + `"}}`
)

func newStack(t *testing.T, credentials string) *stack {
	t.Helper()
	db := testenv.DynamoDB(t)
	kmsc := testenv.KMS(t)
	s := &stack{t: t, sim: wcsim.NewSeeded(wcsim.Options{Seed: 6}), db: db, table: testenv.Table(t, db), logs: &testenv.Logs{}}
	keyID := testenv.SymmetricKey(t, kmsc)
	srv := httptest.NewServer(s.sim)
	t.Cleanup(srv.Close)

	s.env = map[string]string{
		config.EnvTable:             s.table,
		config.EnvDataKey:           keyID,
		config.EnvTagKey:            testenv.SymmetricKey(t, kmsc),
		config.EnvWhatConvertsURL:   srv.URL + "/api/v1",
		config.EnvWhatConvertsLocal: credentials,
		config.EnvDynamoDBEndpoint:  os.Getenv("DYNAMODB_ENDPOINT"),
		config.EnvKMSEndpoint:       os.Getenv("KMS_ENDPOINT"),
		// Every caller may do everything here: the access policy's own tests are access_test.go's.
		config.EnvAccessPolicyFile: permitAllFile(t),
		config.EnvAPIID:            testOrigin.APIID,
		config.EnvAccountID:        testOrigin.AccountID,
	}
	cfg, err := config.FromMap(s.env)
	if err != nil {
		t.Fatal(err)
	}
	s.logger = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, h := range []struct {
		to    **actions.Handler
		build func(context.Context, config.Config, *slog.Logger) (*actions.Handler, error)
	}{{&s.getLeads, wireactions.GetLeads}, {&s.getLead, wireactions.GetLead}, {&s.create, wireactions.CreateLead}, {&s.update, wireactions.UpdateLead}} {
		if *h.to, err = h.build(context.Background(), cfg, s.logger); err != nil {
			t.Fatal(err)
		}
	}
	enc := envelope.New(kmsc, keyID, envelope.Options{})
	s.audit = audit.New(audit.Config{DB: db, Table: s.table, Sealer: enc, Opener: enc, Tagger: envelope.NewTagger(kmsc, keyID, envelope.Options{})})
	t.Cleanup(func() {
		// Every test on a stack also shows that its log lines hold no PHI.
		if marker, ok := findPHI(s.logs.String()); ok {
			t.Errorf("the logs hold synthetic PHI (%q)", marker)
		}
	})
	return s
}

// req is an API Gateway proxy request as the REST API sends it.
type req struct {
	method   string
	path     string
	leadID   string
	query    map[string]string
	body     string
	headers  map[string]string
	anon     bool   // no caller identity
	callerID string // default: the test caller
}

const testCaller = "arn:aws:iam::123456789012:role/crm-sync"

func (r req) event() events.APIGatewayProxyRequest {
	e := events.APIGatewayProxyRequest{
		HTTPMethod: r.method, Path: r.path, Body: r.body,
		QueryStringParameters: r.query, Headers: map[string]string{},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-" + randomHex(8),
			APIID: testOrigin.APIID, AccountID: testOrigin.AccountID},
	}
	if r.leadID != "" {
		e.PathParameters = map[string]string{"lead_id": r.leadID}
		e.Resource = "/leads/{lead_id}"
	}
	if r.body != "" {
		e.Headers["Content-Type"] = "application/json"
	}
	for k, v := range r.headers {
		e.Headers[k] = v
	}
	if !r.anon {
		e.RequestContext.Identity.UserArn = testCaller
		if r.callerID != "" {
			e.RequestContext.Identity.UserArn = r.callerID
		}
	}
	return e
}

// answer is a response with its body decoded.
type answer struct {
	status    int
	headers   map[string]string
	raw       string
	requestID string
	Error     struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Field   string `json:"field"`
			Problem string `json:"problem"`
		} `json:"fields"`
	} `json:"error"`
	Lead      map[string]any   `json:"lead"`
	ProfileID int64            `json:"profile_id"`
	Count     int              `json:"count"`
	Leads     []map[string]any `json:"leads"`
}

func (a answer) fields() []string {
	var out []string
	for _, f := range a.Error.Fields {
		out = append(out, f.Field)
	}
	return out
}

func (s *stack) handler(method string, leadID string) *actions.Handler {
	switch {
	case method == http.MethodGet && leadID == "":
		return s.getLeads
	case method == http.MethodGet:
		return s.getLead
	case method == http.MethodPost:
		return s.create
	default:
		return s.update
	}
}

func (s *stack) do(r req) answer {
	return s.doCtx(context.Background(), r)
}

func (s *stack) doCtx(ctx context.Context, r req) answer {
	s.t.Helper()
	if r.path == "" {
		r.path = "/leads"
		if r.leadID != "" {
			r.path += "/" + r.leadID
		}
	}
	// Through the functions' entry point, as Lambda delivers the event: JSON in, JSON out.
	ev := r.event()
	resp, err := invokeAPIGateway(ctx, s.handler(r.method, r.leadID), ev)
	if err != nil {
		s.t.Fatalf("Handle returned an error: %v", err)
	}
	a := answer{status: resp.StatusCode, headers: resp.Headers, raw: resp.Body, requestID: ev.RequestContext.RequestID}
	if resp.Headers["Content-Type"] != "application/json" {
		s.t.Fatalf("Content-Type %q", resp.Headers["Content-Type"])
	}
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		s.t.Fatalf("body is not JSON: %v: %s", err, resp.Body)
	}
	return a
}

// invokeAPIGateway sends ev to h's entry point as the Lambda runtime does, and decodes the response.
func invokeAPIGateway(ctx context.Context, h *actions.Handler, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	out, err := h.Handle(ctx, payload)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var resp events.APIGatewayProxyResponse
	err = json.Unmarshal(out, &resp)
	return resp, err
}

// record returns the audit record of a request, with its sealed part opened.
func (s *stack) record(requestID string) (audit.Record, []byte) {
	s.t.Helper()
	return s.recordFor(requestID, "")
}

// recordFor is record for the one record of the request of that action ("" any action).
func (s *stack) recordFor(requestID, action string) (audit.Record, []byte) {
	s.t.Helper()
	var found []audit.Record
	err := s.audit.Day(context.Background(), table.Day(time.Now()), func(r audit.Record) error {
		if r.RequestID == requestID && (action == "" || r.Action == action) {
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(found) != 1 {
		s.t.Fatalf("%d audit records for request %s, want 1", len(found), requestID)
	}
	payload, err := s.audit.OpenPayload(context.Background(), found[0])
	if err != nil {
		s.t.Fatal(err)
	}
	return found[0], payload
}

// rawTable is every attribute value of every item in the table, binary ones as raw bytes.
func (s *stack) rawTable() (string, int) {
	s.t.Helper()
	items := testenv.RawTable(s.t, s.db, s.table)
	return strings.Join(items, ""), len(items)
}

// exhaustBudget marks the key's daily budget as spent, as a day of requests would.
func (s *stack) exhaustBudget(token string, limit int64) {
	s.t.Helper()
	pk, sk := table.BudgetKey(budget.KeyID(token), table.Day(time.Now()))
	_, err := s.db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			table.PK: &types.AttributeValueMemberS{Value: pk}, table.SK: &types.AttributeValueMemberS{Value: sk},
			"count": &types.AttributeValueMemberN{Value: strconv.FormatInt(limit, 10)},
		},
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
