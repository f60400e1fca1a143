package apigateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

const (
	testKeyID  = "AKIAWCBRIDGELOCAL001"
	testSecret = "local-secret-0123456789abcdefghijklmnop"
)

var testCreds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

// fakeHandler is a lambda.Handler whose Invoke the test supplies.
type fakeHandler struct {
	InvokeFn func(ctx context.Context, payload []byte) ([]byte, error)
}

func (h *fakeHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h.InvokeFn(ctx, payload)
}

var _ lambda.Handler = (*fakeHandler)(nil)

// invocation is what a recording handler saw.
type invocation struct {
	ctx         context.Context
	payload     []byte
	lc          *lambdacontext.LambdaContext
	deadline    time.Time
	hasDeadline bool
}

// recorder records every invocation of a function and answers with answer.
type recorder struct {
	mu     sync.Mutex
	calls  []invocation
	answer func(payload []byte) ([]byte, error)
}

func (r *recorder) handler() lambda.Handler {
	return &fakeHandler{InvokeFn: func(ctx context.Context, payload []byte) ([]byte, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		d, ok := ctx.Deadline()
		r.mu.Lock()
		r.calls = append(r.calls, invocation{ctx: ctx, payload: append([]byte(nil), payload...), lc: lc, deadline: d, hasDeadline: ok})
		r.mu.Unlock()
		return r.answer(payload)
	}}
}

func (r *recorder) last(t *testing.T) invocation {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("the function was not invoked")
	}
	return r.calls[len(r.calls)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// lastEvent is the API Gateway event of the last invocation.
func (r *recorder) lastEvent(t *testing.T) map[string]any {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(r.last(t).payload, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	return ev
}

func okAnswer([]byte) ([]byte, error) {
	return []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}"}`), nil
}

// stack is the test template's functions behind a gateway and an Invoke API.
type stack struct {
	fns       *Functions
	gw        *Gateway
	invoke    *InvokeAPI
	recorders map[string]*recorder
}

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// newStack serves the test template; answers replaces some functions' answers.
func newStack(t *testing.T, answers map[string]func([]byte) ([]byte, error), opts GatewayOptions) *stack {
	t.Helper()
	tmpl, err := samtemplate.Load("testdata/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{recorders: map[string]*recorder{}}
	handlers := map[string]lambda.Handler{}
	for _, fn := range tmpl.Functions {
		rec := &recorder{answer: okAnswer}
		if a, ok := answers[fn.LogicalID]; ok {
			rec.answer = a
		}
		s.recorders[fn.LogicalID] = rec
		handlers[fn.LogicalID] = rec.handler()
	}
	if s.fns, err = NewFunctions(tmpl, handlers, FunctionsOptions{}); err != nil {
		t.Fatal(err)
	}
	if opts.Principals == nil {
		opts.Principals = []Principal{LocalPrincipal(testKeyID, testSecret)}
	}
	if s.gw, err = NewGateway(s.fns, opts); err != nil {
		t.Fatal(err)
	}
	s.invoke = NewInvokeAPI(s.fns)
	t.Cleanup(s.fns.Wait)
	return s
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sign signs req with the SDK's v4 signer for execute-api in us-east-1.
func sign(t *testing.T, req *http.Request, body []byte, creds aws.Credentials, at time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), "execute-api", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
}

// apiGatewayError is API Gateway's own error body.
type apiGatewayError struct {
	Message string `json:"message"`
}
