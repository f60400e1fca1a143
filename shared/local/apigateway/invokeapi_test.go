package apigateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// invokeReq is a call of Lambda's Invoke API as the AWS CLI and SDKs make it.
func invokeReq(name, body string, headers map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3001/2015-03-31/functions/"+name+"/invocations", strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

type lambdaAPIError struct {
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

func TestInvokeReturnsTheFunctionsResult(t *testing.T) {
	report := func(payload []byte) ([]byte, error) {
		var in struct{ Date string }
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"date": in.Date, "status": "stored"})
	}
	s := newStack(t, map[string]func([]byte) ([]byte, error){"DailyReportFunction": report}, GatewayOptions{})
	w := httptest.NewRecorder()
	s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", `{"date":"2026-11-28"}`, nil))

	if w.Code != http.StatusOK || w.Body.String() != `{"date":"2026-11-28","status":"stored"}` {
		t.Fatalf("answer = %d %s, want 200 and the function's result", w.Code, w.Body)
	}
	if w.Header().Get("X-Amz-Function-Error") != "" || w.Header().Get("X-Amz-Executed-Version") != "$LATEST" {
		t.Errorf("headers = %v", w.Header())
	}
	call := s.recorders["DailyReportFunction"].last(t)
	if call.lc == nil || call.lc.AwsRequestID != w.Header().Get("X-Amzn-Requestid") {
		t.Errorf("LambdaContext = %+v, want AwsRequestID = the answer's x-amzn-RequestId %q", call.lc, w.Header().Get("X-Amzn-Requestid"))
	}
	if call.lc != nil && call.lc.InvokedFunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:DailyReportFunction" {
		t.Errorf("InvokedFunctionArn = %q", call.lc.InvokedFunctionArn)
	}
}

func TestInvokeAcceptsEveryNameLambdaAccepts(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	for _, tc := range []struct{ name, query string }{
		{"DailyReportFunction", ""},
		{"wcbridge-daily-report", ""}, // its FunctionName
		{"arn:aws:lambda:us-east-1:123456789012:function:DailyReportFunction", ""},
		{"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3ADailyReportFunction", ""}, // as the SDK escapes it
		{"DailyReportFunction:$LATEST", ""},
		{"123456789012:function:wcbridge-daily-report", ""},
		{"DailyReportFunction", "Qualifier=%24LATEST"},
	} {
		t.Run(tc.name+"?"+tc.query, func(t *testing.T) {
			w := httptest.NewRecorder()
			req := invokeReq(tc.name, `{}`, nil)
			req.URL.RawQuery = tc.query
			s.invoke.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Errorf("status = %d (%s), want 200", w.Code, w.Body)
			}
		})
	}
}

func TestAFunctionErrorIsReportedAsLambdaReportsIt(t *testing.T) {
	tests := []struct {
		name     string
		answer   func([]byte) ([]byte, error)
		wantType string
		wantMsg  string
	}{
		{"a returned error", func([]byte) ([]byte, error) { return nil, errors.New("report failed") }, "errorString", "report failed"},
		{"a panic", func([]byte) ([]byte, error) { panic("nil map") }, "string", "nil map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, map[string]func([]byte) ([]byte, error){"DailyReportFunction": tc.answer}, GatewayOptions{})
			w := httptest.NewRecorder()
			s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", `{}`, nil))
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want 200 (a function error is not an API error)", w.Code)
			}
			if got := w.Header().Get("X-Amz-Function-Error"); got != "Unhandled" {
				t.Errorf("X-Amz-Function-Error = %q, want Unhandled", got)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["errorType"] != tc.wantType || body["errorMessage"] != tc.wantMsg {
				t.Errorf("body = %s, want errorType %q and errorMessage %q", w.Body, tc.wantType, tc.wantMsg)
			}
		})
	}
}

func TestAFunctionPastItsTimeoutIsReportedAsTimedOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := func([]byte) ([]byte, error) { <-release; return []byte(`{}`), nil }
	s := newStack(t, map[string]func([]byte) ([]byte, error){"DailyReportFunction": stuck}, GatewayOptions{})
	w := httptest.NewRecorder()
	s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", `{}`, nil))
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := "RequestId: " + w.Header().Get("X-Amzn-Requestid") + " Error: Task timed out after 1.00 seconds"
	if w.Header().Get("X-Amz-Function-Error") != "Unhandled" || body["errorType"] != "Sandbox.Timedout" || body["errorMessage"] != want {
		t.Errorf("answer = %v %s, want Unhandled Sandbox.Timedout %q", w.Header(), w.Body, want)
	}
}

func TestAnUnknownFunctionIsResourceNotFound(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	tests := []struct{ name, path, wantARN string }{
		{"an unknown name", "NoSuchFunction", "arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction"},
		{"a qualifier that is not $LATEST", "DailyReportFunction:prod", "arn:aws:lambda:us-east-1:123456789012:function:DailyReportFunction:prod"},
		{"another account's ARN", "arn:aws:lambda:us-east-1:999999999999:function:DailyReportFunction", "arn:aws:lambda:us-east-1:999999999999:function:DailyReportFunction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.invoke.ServeHTTP(w, invokeReq(tc.path, `{}`, nil))
			if w.Code != http.StatusNotFound || w.Header().Get("X-Amzn-Errortype") != "ResourceNotFoundException" {
				t.Errorf("answer = %d %s, want 404 ResourceNotFoundException", w.Code, w.Header().Get("X-Amzn-Errortype"))
			}
			var e lambdaAPIError
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type != "User" || e.Message != "Function not found: "+tc.wantARN {
				t.Errorf("body = %s, want {\"Type\":\"User\",\"Message\":\"Function not found: %s\"}", w.Body, tc.wantARN)
			}
		})
	}
}

func TestAnEventInvocationAnswers202AndRunsInTheBackground(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	w := httptest.NewRecorder()
	s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", `{"date":"2026-11-27"}`, map[string]string{"X-Amz-Invocation-Type": "Event"}))
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 {
		t.Fatalf("answer = %d %q, want 202 with no body", w.Code, w.Body)
	}
	s.fns.Wait()
	call := s.recorders["DailyReportFunction"].last(t)
	if string(call.payload) != `{"date":"2026-11-27"}` || call.lc.AwsRequestID != w.Header().Get("X-Amzn-Requestid") {
		t.Errorf("the background invocation got %s as %s, want the payload as request %s", call.payload, call.lc.AwsRequestID, w.Header().Get("X-Amzn-Requestid"))
	}
}

func TestInvokeRequestsLambdaRefuses(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantType   string
	}{
		{"a payload that is not JSON", invokeReq("DailyReportFunction", `{not json`, nil), http.StatusBadRequest, "InvalidRequestContentException"},
		{"an unknown invocation type", invokeReq("DailyReportFunction", `{}`, map[string]string{"X-Amz-Invocation-Type": "Later"}), http.StatusBadRequest, "InvalidParameterValueException"},
		{"an event payload over 256 KiB", invokeReq("DailyReportFunction", `"`+strings.Repeat("a", MaxAsyncPayload)+`"`, map[string]string{"X-Amz-Invocation-Type": "Event"}), http.StatusRequestEntityTooLarge, "RequestTooLargeException"},
		{"another operation", httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3001/2015-03-31/functions/", nil), http.StatusNotFound, "UnknownOperationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.invoke.ServeHTTP(w, tc.req)
			if w.Code != tc.wantStatus || w.Header().Get("X-Amzn-Errortype") != tc.wantType {
				t.Errorf("answer = %d %s (%s), want %d %s", w.Code, w.Header().Get("X-Amzn-Errortype"), w.Body, tc.wantStatus, tc.wantType)
			}
		})
	}
	if n := s.recorders["DailyReportFunction"].count(); n != 0 {
		t.Errorf("invoked %d times, want never", n)
	}
}

func TestInvokeExtras(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})

	t.Run("no payload is an empty object", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", "", nil))
		if got := string(s.recorders["DailyReportFunction"].last(t).payload); w.Code != 200 || got != "{}" {
			t.Errorf("status %d, payload %q; want 200 and {}", w.Code, got)
		}
	})
	t.Run("DryRun answers 204 without running", func(t *testing.T) {
		before := s.recorders["DailyReportFunction"].count()
		w := httptest.NewRecorder()
		s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", "{}", map[string]string{"X-Amz-Invocation-Type": "DryRun"}))
		if w.Code != http.StatusNoContent || s.recorders["DailyReportFunction"].count() != before {
			t.Errorf("status %d, invocations %d→%d; want 204 and none", w.Code, before, s.recorders["DailyReportFunction"].count())
		}
	})
	t.Run("--log-type Tail returns the invocation's log lines", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", "{}", map[string]string{"X-Amz-Log-Type": "Tail"}))
		log, err := base64.StdEncoding.DecodeString(w.Header().Get("X-Amz-Log-Result"))
		if err != nil || !strings.HasPrefix(string(log), "START RequestId: "+w.Header().Get("X-Amzn-Requestid")) {
			t.Errorf("X-Amz-Log-Result = %q (%v)", log, err)
		}
	})
	t.Run("a client context reaches the LambdaContext", func(t *testing.T) {
		cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"caller":"make-dev"}}`))
		w := httptest.NewRecorder()
		s.invoke.ServeHTTP(w, invokeReq("DailyReportFunction", "{}", map[string]string{"X-Amz-Client-Context": cc}))
		if lc := s.recorders["DailyReportFunction"].last(t).lc; w.Code != 200 || lc.ClientContext.Custom["caller"] != "make-dev" {
			t.Errorf("status %d, client context %+v", w.Code, lc.ClientContext)
		}
	})
}

// TestTheAWSCLIInvokesAFunction runs the command the README shows, when the AWS CLI is installed.
func TestTheAWSCLIInvokesAFunction(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	s := newStack(t, map[string]func([]byte) ([]byte, error){"DailyReportFunction": answerWith(`{"date":"2026-11-28"}`)}, GatewayOptions{})
	srv := httptest.NewServer(s.invoke)
	defer srv.Close()
	outFile := filepath.Join(t.TempDir(), "out.json")
	cmd := exec.Command(aws, "lambda", "invoke", "--endpoint-url", srv.URL, "--function-name", "DailyReportFunction", outFile)
	// Only these credentials and region: no profile of the machine's may leak in.
	env := []string{"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	stdout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws lambda invoke: %v\n%s", err, stdout)
	}
	var answer struct{ StatusCode int }
	if err := json.Unmarshal(stdout, &answer); err != nil || answer.StatusCode != 200 {
		t.Errorf("CLI output %s, want StatusCode 200", stdout)
	}
	if got, _ := os.ReadFile(outFile); string(got) != `{"date":"2026-11-28"}` {
		t.Errorf("out.json = %s, want the function's result", got)
	}
}
