package apigateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load("testdata/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func allHandlers(tmpl *samtemplate.Template, h lambda.Handler) map[string]lambda.Handler {
	m := map[string]lambda.Handler{}
	for _, fn := range tmpl.Functions {
		m[fn.LogicalID] = h
	}
	return m
}

func TestNewFunctionsRefusesMiswiring(t *testing.T) {
	tmpl := loadTemplate(t)
	ok := &fakeHandler{InvokeFn: func(context.Context, []byte) ([]byte, error) { return nil, nil }}

	missing := allHandlers(tmpl, ok)
	delete(missing, "FailFunction")
	if _, err := NewFunctions(tmpl, missing, FunctionsOptions{}); err == nil || !strings.Contains(err.Error(), "no handler for FailFunction") {
		t.Errorf("a function without a handler: err = %v", err)
	}

	extra := allHandlers(tmpl, ok)
	extra["GhostFunction"] = ok
	if _, err := NewFunctions(tmpl, extra, FunctionsOptions{}); err == nil || !strings.Contains(err.Error(), "GhostFunction") {
		t.Errorf("a handler without a function: err = %v", err)
	}
}

func TestEachInvocationGetsTheFunctionsDeadlineAndLambdaContext(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	before := time.Now()
	out, err := s.fns.Invoke(context.Background(), InvokeInput{FunctionName: "LeadsFunction", Payload: []byte(`{}`)})
	after := time.Now()
	if err != nil || out.Error != nil {
		t.Fatalf("Invoke: %v %v", err, out.Error)
	}
	call := s.recorders["LeadsFunction"].last(t)
	if !call.hasDeadline {
		t.Fatal("no deadline")
	}
	// LeadsFunction's Timeout is Globals' 3 seconds.
	if call.deadline.Before(before.Add(3*time.Second)) || call.deadline.After(after.Add(3*time.Second)) {
		t.Errorf("deadline = %v, want 3s after the invocation began (between %v and %v)", call.deadline, before.Add(3*time.Second), after.Add(3*time.Second))
	}
	if call.lc == nil || call.lc.AwsRequestID != out.RequestID || len(out.RequestID) != 36 {
		t.Errorf("LambdaContext = %+v, want AwsRequestID %q (a UUID)", call.lc, out.RequestID)
	}
}

func TestInvocationsOfOneFunctionRunOneAtATime(t *testing.T) {
	tmpl := loadTemplate(t)
	var running, most atomic.Int32
	h := &fakeHandler{InvokeFn: func(context.Context, []byte) ([]byte, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // widen the window an overlap would need
		running.Add(-1)
		return []byte(`{}`), nil
	}}
	fns, err := NewFunctions(tmpl, allHandlers(tmpl, h), FunctionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fns.Invoke(context.Background(), InvokeInput{FunctionName: "LeadsFunction"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("at most %d invocations of one function ran at once, want 1", most.Load())
	}
}

// lambda.NewHandler hands back a pooled buffer that its next invocation overwrites: results must be
// copies.
func TestResultsOfLambdaNewHandlerSurviveTheNextInvocation(t *testing.T) {
	tmpl := loadTemplate(t)
	h := lambda.NewHandler(func(_ context.Context, in map[string]string) (map[string]string, error) {
		return map[string]string{"echo": in["v"]}, nil
	})
	fns, err := NewFunctions(tmpl, allHandlers(tmpl, h), FunctionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := fns.Invoke(context.Background(), InvokeInput{FunctionName: "LeadsFunction", Payload: []byte(`{"v":"first"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fns.Invoke(context.Background(), InvokeInput{FunctionName: "LeadsFunction", Payload: []byte(`{"v":"2nd!!"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(first.Payload)); got != `{"echo":"first"}` {
		t.Errorf("first result = %s after a second invocation, want {\"echo\":\"first\"}", got)
	}
}

func TestInvokeOfAnUnknownFunction(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	_, err := s.fns.Invoke(context.Background(), InvokeInput{FunctionName: "Nope"})
	if !errors.Is(err, ErrFunctionNotFound) {
		t.Errorf("err = %v, want ErrFunctionNotFound", err)
	}
	if _, err := s.fns.InvokeAsync(InvokeInput{FunctionName: "Nope"}); !errors.Is(err, ErrFunctionNotFound) {
		t.Errorf("async err = %v, want ErrFunctionNotFound", err)
	}
}

// Logs name the route's template path and the function, never the request's values.
func TestLogsCarryNoRequestValues(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	tmpl := loadTemplate(t)
	h := &fakeHandler{InvokeFn: func(context.Context, []byte) ([]byte, error) {
		return nil, errors.New("jane.doe@example.com not found")
	}}
	fns, err := NewFunctions(tmpl, allHandlers(tmpl, h), FunctionsOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := NewGateway(fns, GatewayOptions{Logger: logger, Principals: []Principal{LocalPrincipal(testKeyID, testSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/files/jane-doe-chart.pdf?email=jane.doe%40example.com",
		strings.NewReader(`{"name":"Jane Doe","phone":"+1-555-0100"}`))
	req.RemoteAddr = "203.0.113.77:4444"
	gw.ServeHTTP(httptest.NewRecorder(), req)

	out := logs.String()
	for _, phi := range []string{"jane", "Jane", "555-0100", "203.0.113.77", "example.com"} {
		if strings.Contains(out, phi) {
			t.Errorf("logs contain %q:\n%s", phi, out)
		}
	}
	for _, want := range []string{`"resource":"/files/{proxy+}"`, `"function":"FilesFunction"`, `"status":502`, `"error_type":"errorString"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}
