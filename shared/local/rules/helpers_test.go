package rules_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/rules"
	"github.com/wcbridge/wcbridge/shared/webhook"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// handlerFunc is a lambda.Handler whose Invoke the test supplies.
type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

var _ lambda.Handler = handlerFunc(nil)

// recorder records the payloads a function was invoked with; then, if set, runs and answers.
type recorder struct {
	mu       sync.Mutex
	payloads [][]byte
	then     func(payload []byte) ([]byte, error)
}

func (r *recorder) handler() lambda.Handler {
	return handlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		r.mu.Lock()
		r.payloads = append(r.payloads, append([]byte(nil), payload...))
		then := r.then
		r.mu.Unlock()
		if then != nil {
			return then(payload)
		}
		return []byte(`{"ok": true}`), nil
	})
}

func (r *recorder) calls() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.payloads...)
}

// stack is a template's functions (each a recorder), a bus and the engine attached to it.
type stack struct {
	tmpl   *samtemplate.Template
	fns    map[string]*recorder
	bus    *eventbus.Bus
	engine *rules.Engine
	logs   *testenv.Logs
}

func newStack(t *testing.T, templatePath string, params map[string]string) *stack {
	t.Helper()
	tmpl, err := samtemplate.Load(templatePath, params)
	if err != nil {
		t.Fatalf("load %s: %v", templatePath, err)
	}
	s := &stack{tmpl: tmpl, fns: map[string]*recorder{}, bus: eventbus.New(), logs: &testenv.Logs{}}
	handlers := map[string]lambda.Handler{}
	for _, fn := range tmpl.Functions {
		rec := &recorder{}
		s.fns[fn.LogicalID] = rec
		handlers[fn.LogicalID] = rec.handler()
	}
	logger := slog.New(slog.NewTextHandler(s.logs, nil))
	fns, err := apigateway.NewFunctions(tmpl, handlers, apigateway.FunctionsOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if s.engine, err = rules.New(tmpl, fns, rules.Options{Logger: logger}); err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.engine.Attach(s.bus))
	return s
}

// publish puts one event on the bus, as the ingest function does, and waits for its deliveries.
func (s *stack) publish(t *testing.T, bus, source, detailType string, detail any) {
	t.Helper()
	if err := s.put(bus, source, detailType, detail); err != nil {
		t.Fatal(err)
	}
	s.engine.Wait()
}

// put puts one event on the bus without waiting: what a function does from inside a delivery (where
// Wait would wait for itself).
func (s *stack) put(bus, source, detailType string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	out, err := s.bus.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(string(b)), EventBusName: aws.String(bus),
	}}})
	if err != nil {
		return err
	}
	if out.FailedEntryCount != 0 {
		return fmt.Errorf("PutEvents: %d entries failed", out.FailedEntryCount)
	}
	return nil
}

// leadDetail is the bus detail of a lead event as the ingest function publishes it.
func leadDetail(eventID string, trigger string) webhook.Detail {
	return webhook.Detail{
		EventID: eventID, Trigger: trigger, LeadID: 4242, ProfileID: 1001, AccountID: 2001,
		LeadType: "Phone Call", LastUpdated: "2026-11-28T10:00:00Z", ReceivedAt: "2026-11-28T10:00:01Z",
		Quotable: "Not Set",
	}
}

// decodeJSON decodes with numbers kept as written.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return v
}

// fakeInvoker is an Invoker whose Invoke the test supplies.
type fakeInvoker struct {
	InvokeFn func(ctx context.Context, in apigateway.InvokeInput) (apigateway.InvokeOutput, error)
}

func (f fakeInvoker) Invoke(ctx context.Context, in apigateway.InvokeInput) (apigateway.InvokeOutput, error) {
	return f.InvokeFn(ctx, in)
}

var _ rules.Invoker = fakeInvoker{}
