package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// env is the three functions over the real local services: a fresh table on dynalite, a fresh key on
// local-kms, and a bus whose failures the test switches.
type env struct {
	t       testing.TB
	db      *dynamodb.Client
	ddb     *ddbCounter
	table   string
	enc     *envelope.Encryptor
	writer  *audit.Store // as the ingest function builds it: seals, cannot open
	reader  *audit.Store // opens: for the test's checks and the samples handler
	bus     *recordingBus
	ingest  *Ingest
	outbox  *Publisher
	samples *Samples
	started time.Time
}

const testBus = "wcbridge-test-leads"

func newEnv(t testing.TB) *env {
	t.Helper()
	opt, counter := countDynamoDB()
	db := testenv.DynamoDB(t, opt)
	name := testenv.Table(t, db)
	k := testenv.KMS(t)
	enc := envelope.New(k, testenv.SymmetricKey(t, k), envelope.Options{})
	tokens, err := NewTokens([]string{tokenCurrent, tokenPrevious})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t: t, db: db, ddb: counter, table: name, enc: enc, bus: &recordingBus{},
		writer:  audit.New(audit.Config{DB: db, Table: name, Sealer: enc, Tagger: envelope.NewTagger(k, testenv.SymmetricKey(t, k), envelope.Options{})}),
		reader:  audit.New(audit.Config{DB: db, Table: name, Sealer: enc, Opener: enc, Tagger: envelope.NewTagger(k, testenv.SymmetricKey(t, k), envelope.Options{})}),
		started: time.Now().UTC(),
	}
	e.ingest = &Ingest{Tokens: tokens, Store: e.writer, Bus: e.bus.fake(), EventBus: testBus, Log: testLogger()}
	e.outbox = &Publisher{Store: e.writer, Bus: e.bus.fake(), EventBus: testBus, Log: testLogger(), Settle: time.Nanosecond}
	e.samples = &Samples{Store: e.reader, Access: allowAll{}, Log: testLogger()}
	counter.reset()
	return e
}

// deliver posts a body with a token and checks that an error answer names no value.
func (e *env) deliver(body []byte, token string) events.APIGatewayProxyResponse {
	e.t.Helper()
	return e.do(post(body, token))
}

func (e *env) do(req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	e.t.Helper()
	resp, err := e.ingest.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Handle returned an error (API Gateway would answer 502): %v", err)
	}
	assertNoPHI(e.t, "the answer", resp.Body)
	return resp
}

// records are every audit record written since the env started.
func (e *env) records() []audit.Record {
	e.t.Helper()
	var out []audit.Record
	for d := e.started.Truncate(24 * time.Hour); !d.After(time.Now().UTC()); d = d.Add(24 * time.Hour) {
		err := e.reader.Day(context.Background(), table.Day(d), func(r audit.Record) error {
			out = append(out, r)
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// rejections is how many refused deliveries with status the table's rejection counts hold in all.
func (e *env) rejections(status int) int64 {
	var n int64
	for _, r := range e.recordsWhere(func(r audit.Record) bool { return r.Action == audit.ActionRejections && r.Status == status }) {
		n += r.Count
	}
	return n
}

// recordsWhere are the records that match.
func (e *env) recordsWhere(match func(audit.Record) bool) []audit.Record {
	var out []audit.Record
	for _, r := range e.records() {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) pending() []audit.Record {
	e.t.Helper()
	recs, err := e.reader.PendingEvents(context.Background(), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) get(id string) audit.Record {
	e.t.Helper()
	r, err := e.reader.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// scanForPHI reads the whole table raw and fails if any attribute holds a forbidden string in clear.
func (e *env) scanForPHI() int {
	e.t.Helper()
	items := testenv.RawTable(e.t, e.db, e.table)
	for _, item := range items {
		assertNoPHI(e.t, "a raw table item", item)
	}
	return len(items)
}

// withLead is a fixture for another lead, so that deliveries in one test do not de-duplicate.
func withLead(t testing.TB, name string, leadID int64, set map[string]any) []byte {
	m := map[string]any{"lead_id": leadID}
	for k, v := range set {
		m[k] = v
	}
	return fixture(t, name, m)
}
