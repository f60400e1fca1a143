package apigateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// MaxResponseSize is Lambda's limit on a synchronous invocation's result.
const MaxResponseSize = 6 * 1024 * 1024

// ErrFunctionNotFound is returned (wrapped) by Invoke for a name that is no function of the template.
var ErrFunctionNotFound = errors.New("function not found")

// Functions runs the template's functions in process, each through its lambda.Handler.
//
// Invocations of one function run one at a time, as on a single warm Lambda instance; different
// functions run concurrently. Besides being how one instance behaves, this is needed for handlers
// made by lambda.NewHandler: they hand back a pooled buffer that the next invocation overwrites.
type Functions struct {
	tmpl   *samtemplate.Template
	byID   map[string]*function
	byName map[string]*function // logical IDs and FunctionName properties
	log    *slog.Logger
	async  sync.WaitGroup
}

type function struct {
	def     *samtemplate.Function
	handler lambda.Handler
	slot    chan struct{} // holds a token while an invocation runs
}

// FunctionsOptions configures NewFunctions.
type FunctionsOptions struct {
	// Logger gets one line per invocation (function, request ID, duration, outcome, error type:
	// never a payload or an error message). Discarded when nil.
	Logger *slog.Logger
}

// NewFunctions serves the template's functions with handlers, keyed by logical ID. Every function of
// the template needs a handler, and every handler a function: a mismatch is a wiring mistake.
func NewFunctions(tmpl *samtemplate.Template, handlers map[string]lambda.Handler, opts FunctionsOptions) (*Functions, error) {
	f := &Functions{tmpl: tmpl, byID: map[string]*function{}, byName: map[string]*function{}, log: opts.Logger}
	if f.log == nil {
		f.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var missing []string
	for _, def := range tmpl.Functions {
		h, ok := handlers[def.LogicalID]
		if !ok || h == nil {
			missing = append(missing, def.LogicalID)
			continue
		}
		fn := &function{def: def, handler: h, slot: make(chan struct{}, 1)}
		f.byID[def.LogicalID] = fn
		f.byName[def.LogicalID] = fn
	}
	for _, def := range tmpl.Functions {
		if fn, ok := f.byID[def.LogicalID]; ok && def.FunctionName != "" {
			if other, taken := f.byName[def.FunctionName]; taken && other != fn {
				return nil, fmt.Errorf("apigateway: FunctionName %q of %s is also a function's logical ID", def.FunctionName, def.LogicalID)
			}
			f.byName[def.FunctionName] = fn
		}
	}
	var unknown []string
	for id := range handlers {
		if _, ok := tmpl.Function(id); !ok {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("apigateway: no handler for %s", strings.Join(missing, ", "))
	case len(unknown) > 0:
		return nil, fmt.Errorf("apigateway: handlers for functions the template does not have: %s", strings.Join(unknown, ", "))
	}
	return f, nil
}

// Template is the template the functions come from.
func (f *Functions) Template() *samtemplate.Template { return f.tmpl }

// InvokeInput is one invocation.
type InvokeInput struct {
	// FunctionName is a logical ID or FunctionName, or the local ARN of either
	// (samtemplate.FunctionARN), optionally with the qualifier $LATEST.
	FunctionName string
	Payload      []byte
	// RequestID is the invocation's AwsRequestID; a new UUID when empty.
	RequestID     string
	ClientContext *lambdacontext.ClientContext
}

// InvokeOutput is an invocation's outcome: a result, or the function's error.
type InvokeOutput struct {
	RequestID string
	// LogicalID is the function that ran.
	LogicalID string
	// Payload is the function's result (nil when it failed).
	Payload []byte
	// Error is the function's error, a timeout, or a panic, as Lambda reports it.
	Error    *FunctionError
	Duration time.Duration
}

// FunctionError is a failed invocation as Lambda reports it: the body of an Unhandled function error.
type FunctionError struct {
	Message    string                                      `json:"errorMessage"`
	Type       string                                      `json:"errorType"`
	StackTrace []*messages.InvokeResponse_Error_StackFrame `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Invoke runs a function and waits for its outcome. The function gets a context whose deadline is its
// Timeout (or ctx's, if sooner) carrying a lambdacontext.LambdaContext. A function that outlives its
// timeout is reported as Lambda reports it (Sandbox.Timedout) and its late result dropped. The error
// is ErrFunctionNotFound (wrapped), or ctx's if ctx ends first; a function's failure is not an error
// here but out.Error.
func (f *Functions) Invoke(ctx context.Context, in InvokeInput) (InvokeOutput, error) {
	fn, err := f.lookup(in.FunctionName)
	if err != nil {
		return InvokeOutput{}, err
	}
	return f.run(ctx, fn, in)
}

// InvokeAsync starts a function as an Event invocation and returns its request ID at once. Its
// outcome is only logged (Lambda would retry a failed event twice; locally it does not).
func (f *Functions) InvokeAsync(in InvokeInput) (string, error) {
	fn, err := f.lookup(in.FunctionName)
	if err != nil {
		return "", err
	}
	if in.RequestID == "" {
		in.RequestID = newUUID()
	}
	f.async.Add(1)
	go func() {
		defer f.async.Done()
		_, _ = f.run(context.Background(), fn, in) // run logs the outcome
	}()
	return in.RequestID, nil
}

// Wait blocks until every InvokeAsync invocation started so far has finished.
func (f *Functions) Wait() { f.async.Wait() }

// lookup finds a function by logical ID, FunctionName, or ARN, with an optional $LATEST qualifier.
func (f *Functions) lookup(name string) (*function, error) {
	bare, qualifier := splitFunctionName(name)
	fn, ok := f.byName[bare]
	if !ok || (qualifier != "" && qualifier != "$LATEST") {
		return nil, fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
	}
	return fn, nil
}

// splitFunctionName takes a function name in any form Lambda accepts (name, name:qualifier,
// account:function:name, full ARN) apart.
func splitFunctionName(name string) (bare, qualifier string) {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn": // arn:aws:lambda:region:account:function:name[:qualifier]
		if parts[5] != "function" || parts[2] != "lambda" || parts[3] != samtemplate.Region || parts[4] != samtemplate.AccountID {
			return "", ""
		}
		bare = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		} else if len(parts) > 8 {
			return "", ""
		}
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:qualifier]
		if parts[0] != samtemplate.AccountID || len(parts) > 4 {
			return "", ""
		}
		bare = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		}
	case len(parts) == 2:
		bare, qualifier = parts[0], parts[1]
	case len(parts) == 1:
		bare = name
	}
	return bare, qualifier
}

type result struct {
	payload []byte
	err     *FunctionError
}

func (f *Functions) run(ctx context.Context, fn *function, in InvokeInput) (InvokeOutput, error) {
	out := InvokeOutput{RequestID: in.RequestID, LogicalID: fn.def.LogicalID}
	if out.RequestID == "" {
		out.RequestID = newUUID()
	}

	// Wait for the function's one instance; its timeout starts when it begins to run.
	select {
	case fn.slot <- struct{}{}:
	case <-ctx.Done():
		return InvokeOutput{}, ctx.Err()
	}
	start := time.Now()
	// The function's context ends at its own deadline, not when the caller stops waiting: in Lambda
	// a function runs on after API Gateway's timeout or a client's hang-up.
	runCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(fn.def.Timeout))
	lc := &lambdacontext.LambdaContext{
		AwsRequestID:       out.RequestID,
		InvokedFunctionArn: samtemplate.FunctionARN(fn.def.LogicalID),
	}
	if in.ClientContext != nil {
		lc.ClientContext = *in.ClientContext
	}
	runCtx = lambdacontext.NewContext(runCtx, lc)

	done := make(chan result, 1)
	go func() {
		// The slot is released when the handler returns, even after a timeout: the next
		// invocation must not share the handler while this one still runs.
		defer func() { <-fn.slot }()
		defer cancel()
		done <- invokeHandler(runCtx, fn.handler, in.Payload)
	}()

	select {
	case r := <-done:
		out.Payload, out.Error = r.payload, r.err
	case <-ctx.Done():
		select {
		case r := <-done:
			out.Payload, out.Error = r.payload, r.err
		default:
			f.log.Info("invoke: caller stopped waiting", "function", out.LogicalID, "request_id", out.RequestID)
			return InvokeOutput{}, ctx.Err()
		}
	case <-runCtx.Done():
		select {
		case r := <-done: // returned as its deadline passed (or just returned): the result stands
			out.Payload, out.Error = r.payload, r.err
		default:
			out.Error = &FunctionError{
				Type:    "Sandbox.Timedout",
				Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", out.RequestID, fn.def.Timeout.Seconds()),
			}
		}
	}
	out.Duration = time.Since(start)
	f.logInvocation(out)
	return out, nil
}

// invokeHandler calls the handler as the aws-lambda-go runtime loop does: a returned error or a panic
// becomes Lambda's error document.
func invokeHandler(ctx context.Context, h lambda.Handler, payload []byte) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{err: &FunctionError{Message: fmt.Sprint(p), Type: typeName(p)}}
		}
	}()
	b, err := h.Invoke(ctx, payload)
	if err != nil {
		return result{err: toFunctionError(err)}
	}
	if len(b) > MaxResponseSize {
		return result{err: &FunctionError{
			Type:    "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseSize),
		}}
	}
	// Copied: a lambda.NewHandler handler reuses this buffer for its next invocation.
	return result{payload: append([]byte(nil), b...)}
}

func toFunctionError(err error) *FunctionError {
	var ive messages.InvokeResponse_Error
	if errors.As(err, &ive) {
		return &FunctionError{Message: ive.Message, Type: ive.Type, StackTrace: ive.StackTrace}
	}
	var ivp *messages.InvokeResponse_Error
	if errors.As(err, &ivp) && ivp != nil {
		return &FunctionError{Message: ivp.Message, Type: ivp.Type, StackTrace: ivp.StackTrace}
	}
	return &FunctionError{Message: err.Error(), Type: typeName(err)}
}

// typeName is the error type Lambda's Go runtime reports: the (pointed-to) type's name.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func (f *Functions) logInvocation(out InvokeOutput) {
	attrs := []any{
		"function", out.LogicalID,
		"request_id", out.RequestID,
		"duration_ms", float64(out.Duration.Microseconds()) / 1000,
	}
	if out.Error != nil {
		f.log.Warn("invoke failed", append(attrs, "error_type", out.Error.Type)...)
		return
	}
	f.log.Info("invoke", attrs...)
}

// newUUID is a random (version 4) UUID, the form of Lambda's and API Gateway's request IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
