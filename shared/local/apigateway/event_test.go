package apigateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestEventIsWhatAPIGatewaySends builds the event of a signed GET with repeated headers and query
// parameters and compares it, field by field, with testdata/event_get_lead.json: the event API
// Gateway's REST proxy integration sends for that request.
func TestEventIsWhatAPIGatewaySends(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{
		Now:       func() time.Time { return testNow },
		RequestID: func() string { return "c0ffee00-0000-4000-8000-000000000001" },
	})
	req := httptest.NewRequest(http.MethodGet, "http://wcbridge.local:3000/leads/42?profile_id=1001&tag=a&tag=b%20c", nil)
	req.RemoteAddr = "192.0.2.10:54321"
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wcbridge-test/1.0")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	sign(t, req, nil, testCreds, testNow)

	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s), want 200", w.Code, w.Body)
	}
	raw := s.recorders["LeadsFunction"].last(t).payload

	wantJSON, err := os.ReadFile("testdata/event_get_lead.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, want events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantJSON, &want); err != nil {
		t.Fatal(err)
	}
	compareFields(t, "", reflect.ValueOf(got), reflect.ValueOf(want))

	// What the struct cannot tell apart: null versus an empty value.
	var rawGot map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rawGot); err != nil {
		t.Fatal(err)
	}
	for field, wantRaw := range map[string]string{"body": "null", "isBase64Encoded": "false", "stageVariables": "null"} {
		if string(rawGot[field]) != wantRaw {
			t.Errorf("%s = %s, want %s as API Gateway sends it", field, rawGot[field], wantRaw)
		}
	}
}

// compareFields reports each differing field of two structs by its path, descending into nested
// structs.
func compareFields(t *testing.T, prefix string, got, want reflect.Value) {
	t.Helper()
	for i := 0; i < got.NumField(); i++ {
		name := prefix + got.Type().Field(i).Name
		g, w := got.Field(i), want.Field(i)
		if g.Kind() == reflect.Struct {
			compareFields(t, name+".", g, w)
			continue
		}
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, g.Interface(), w.Interface())
		}
	}
}

func TestEventWithoutQueryOrPathParametersSendsNulls(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/webhooks/whatconverts", strings.NewReader(`{"lead_id":1}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s)", w.Code, w.Body)
	}
	ev := s.recorders["WebhookFunction"].lastEvent(t)
	for _, field := range []string{"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables"} {
		if v, ok := ev[field]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", field, v, ok)
		}
	}
	if ev["body"] != `{"lead_id":1}` || ev["isBase64Encoded"] != false {
		t.Errorf("body, isBase64Encoded = %v, %v; want the JSON as text", ev["body"], ev["isBase64Encoded"])
	}
	identity := ev["requestContext"].(map[string]any)["identity"].(map[string]any)
	for _, field := range []string{"userArn", "accessKey", "caller", "user", "accountId"} {
		if v, ok := identity[field]; ok && v != nil {
			t.Errorf("identity.%s = %v on a NONE route, want none", field, v)
		}
	}
	if identity["sourceIp"] != "192.0.2.1" {
		t.Errorf("identity.sourceIp = %v, want the client's address", identity["sourceIp"])
	}
	rc := ev["requestContext"].(map[string]any)
	if id, _ := rc["requestId"].(string); len(id) != 36 || w.Header().Get("X-Amzn-Requestid") != id {
		t.Errorf("requestId = %q, x-amzn-RequestId = %q; want one UUID", id, w.Header().Get("X-Amzn-Requestid"))
	}
}

func TestRequestBodiesAreTextOrBase64ByContentType(t *testing.T) {
	binary := []byte{0x00, 0xff, 0xfe, 'P', 'N', 'G', 0x80}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"JSON is text", "application/json", []byte(`{"a":"é"}`), false},
		{"JSON with a charset is text", "application/json; charset=utf-8", []byte(`{}`), false},
		{"text/* is text", "text/plain", []byte("hello"), false},
		{"a form is text", "application/x-www-form-urlencoded", []byte("a=1&b=2"), false},
		{"no content type is text", "", []byte("raw"), false},
		{"octet-stream is base64", "application/octet-stream", binary, true},
		{"an image is base64", "image/png", binary, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, nil, GatewayOptions{})
			req := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:3000/files/upload.bin", bytes.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			s.gw.ServeHTTP(httptest.NewRecorder(), req)
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(s.recorders["FilesFunction"].last(t).payload, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.IsBase64Encoded != tc.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tc.wantBase64)
			}
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				var err error
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
		})
	}
}

func TestDeclaredBinaryMediaTypesDecideAsAPIGatewayDoes(t *testing.T) {
	tests := []struct {
		contentType string
		declared    []string
		want        bool
	}{
		{"application/octet-stream", []string{"application/octet-stream"}, true},
		{"image/png", []string{"image/*"}, true},
		{"application/json", []string{"*/*"}, true},
		{"application/octet-stream", []string{"image/*"}, false}, // declared types only
		{"application/octet-stream", nil, true},                  // none declared: non-text is binary
		{"application/json", nil, false},
	}
	for _, tc := range tests {
		if got := isBinary(tc.contentType, tc.declared); got != tc.want {
			t.Errorf("isBinary(%q, %v) = %v, want %v", tc.contentType, tc.declared, got, tc.want)
		}
	}
}

// A binary body goes to the function base64-encoded and comes back, base64-encoded by the
// function, as the same bytes.
func TestBinaryBodyRoundTrip(t *testing.T) {
	echo := func(payload []byte) ([]byte, error) {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		return json.Marshal(events.APIGatewayProxyResponse{
			StatusCode:      200,
			Headers:         map[string]string{"Content-Type": "application/octet-stream"},
			Body:            ev.Body, // still base64
			IsBase64Encoded: ev.IsBase64Encoded,
		})
	}
	s := newStack(t, map[string]func([]byte) ([]byte, error){"FilesFunction": echo}, GatewayOptions{})
	data := make([]byte, 256)
	for i := range data {
		data[i] = byte(i)
	}
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/files/all-bytes", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, req)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) {
		t.Errorf("status %d, body %d bytes equal=%v; want 200 and the 256 bytes back", w.Code, w.Body.Len(), bytes.Equal(w.Body.Bytes(), data))
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestResponsesAreMappedAsAPIGatewayDoes(t *testing.T) {
	tests := []struct {
		name        string
		answer      string
		wantStatus  int
		wantHeaders http.Header
		wantBody    string
	}{
		{
			name:       "status, headers and body",
			answer:     `{"statusCode":201,"headers":{"Content-Type":"application/json","Location":"/leads/7"},"body":"{\"id\":7}"}`,
			wantStatus: 201, wantHeaders: http.Header{"Content-Type": {"application/json"}, "Location": {"/leads/7"}},
			wantBody: `{"id":7}`,
		},
		{
			name: "multiValueHeaders win over headers for the same name; the rest merge",
			answer: `{"statusCode":200,"headers":{"X-A":"single","X-B":"b"},` +
				`"multiValueHeaders":{"x-a":["1","2"],"Set-Cookie":["a=1","b=2"]},"body":""}`,
			wantStatus:  200,
			wantHeaders: http.Header{"X-A": {"1", "2"}, "X-B": {"b"}, "Set-Cookie": {"a=1", "b=2"}},
		},
		{
			name:       "a base64 body is decoded",
			answer:     `{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"aGVsbG8gd29ybGQ=","isBase64Encoded":true}`,
			wantStatus: 200, wantHeaders: http.Header{"Content-Type": {"text/plain"}}, wantBody: "hello world",
		},
		{
			name:       "no Content-Type is application/json",
			answer:     `{"statusCode":204}`,
			wantStatus: 204, wantHeaders: http.Header{"Content-Type": {"application/json"}},
		},
		{
			name:       "a function's Content-Length is remapped, not trusted",
			answer:     `{"statusCode":200,"headers":{"Content-Length":"999"},"body":"ok"}`,
			wantStatus: 200, wantHeaders: http.Header{"X-Amzn-Remapped-Content-Length": {"999"}, "Content-Length": {"2"}},
			wantBody: "ok",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			answer := func([]byte) ([]byte, error) { return []byte(tc.answer), nil }
			s := newStack(t, map[string]func([]byte) ([]byte, error){"WebhookFunction": answer}, GatewayOptions{})
			w := httptest.NewRecorder()
			s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/webhooks/whatconverts", strings.NewReader("{}")))
			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			for k, want := range tc.wantHeaders {
				if got := w.Header().Values(k); !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if w.Body.String() != tc.wantBody {
				t.Errorf("body = %q, want %q", w.Body.String(), tc.wantBody)
			}
		})
	}
}

func TestFailuresAnswer502InternalServerError(t *testing.T) {
	tests := []struct {
		name   string
		answer func([]byte) ([]byte, error)
	}{
		{"the handler returns an error", func([]byte) ([]byte, error) { return nil, errors.New("boom") }},
		{"the handler panics", func([]byte) ([]byte, error) { panic("boom") }},
		{"not JSON", answerWith(`hello`)},
		{"a JSON array", answerWith(`[1,2]`)},
		{"no statusCode", answerWith(`{"body":"x"}`)},
		{"statusCode as a string", answerWith(`{"statusCode":"200"}`)},
		{"statusCode out of range", answerWith(`{"statusCode":700}`)},
		{"body as an object", answerWith(`{"statusCode":200,"body":{"a":1}}`)},
		{"a header value that is not a string", answerWith(`{"statusCode":200,"headers":{"X-N":1}}`)},
		{"a field API Gateway does not know", answerWith(`{"statusCode":200,"cookies":["a=1"]}`)},
		{"isBase64Encoded with a body that is not base64", answerWith(`{"statusCode":200,"body":"%%%","isBase64Encoded":true}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, map[string]func([]byte) ([]byte, error){"WebhookFunction": tc.answer}, GatewayOptions{})
			w := httptest.NewRecorder()
			s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/webhooks/whatconverts", strings.NewReader("{}")))
			assertAPIGatewayError(t, w, http.StatusBadGateway, "InternalServerErrorException", "Internal server error")
		})
	}
}

func TestAFunctionPastItsTimeoutAnswers502(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func([]byte) ([]byte, error) {
		<-release // ignores its deadline, as a stuck function would
		return okAnswer(nil)
	}
	s := newStack(t, map[string]func([]byte) ([]byte, error){"FailFunction": slow}, GatewayOptions{})
	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/fail", nil))
	assertAPIGatewayError(t, w, http.StatusBadGateway, "InternalServerErrorException", "Internal server error")
}

// API Gateway stops waiting after its integration timeout (29 s) even when the function's own
// timeout is longer, and the function runs on.
func TestAFunctionPastTheIntegrationTimeoutAnswers504(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	slow := func([]byte) ([]byte, error) {
		<-release
		close(finished)
		return okAnswer(nil)
	}
	s := newStack(t, map[string]func([]byte) ([]byte, error){"WebhookFunction": slow}, GatewayOptions{})
	s.gw.timeout = 50 * time.Millisecond // WebhookFunction's own timeout is 3 s
	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/webhooks/whatconverts", strings.NewReader("{}")))
	assertAPIGatewayError(t, w, http.StatusGatewayTimeout, "InternalServerErrorException", "Endpoint request timed out")
	if err := s.recorders["WebhookFunction"].last(t).ctx.Err(); err != nil {
		t.Errorf("the function's context ended with API Gateway's wait (%v); want it to run on to its own timeout", err)
	}
	close(release)
	<-finished // the function is left to run to its end; wait for it so nothing outlives the test
}

func answerWith(s string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return []byte(s), nil }
}

// assertAPIGatewayError checks an answer API Gateway gives for itself.
func assertAPIGatewayError(t *testing.T, w *httptest.ResponseRecorder, status int, errorType, message string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status = %d, want %d", w.Code, status)
	}
	var body apiGatewayError
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Message != message {
		t.Errorf("body = %s, want {\"message\":%q}", w.Body, message)
	}
	if got := w.Header().Get("X-Amzn-Errortype"); got != errorType {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, errorType)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}
