package apigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// identityOf is requestContext.identity of the function's last event.
func identityOf(t *testing.T, rec *recorder) map[string]any {
	t.Helper()
	return rec.lastEvent(t)["requestContext"].(map[string]any)["identity"].(map[string]any)
}

func TestIAMRoutesAcceptSDKSignedRequestsAndNameTheCaller(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	srv := httptest.NewServer(s.gw)
	defer srv.Close()

	tests := []struct {
		name, method, path string
		body               []byte
	}{
		{"GET with an encoded query", http.MethodGet, "/leads?profile_id=1001&email=a%40b.example", nil},
		{"POST with a body (the SDK signs content-length)", http.MethodPost, "/leads", []byte(`{"profile_id":1001,"lead_type":"web_form","send_notification":false}`)},
		{"PATCH on a path parameter", http.MethodPatch, "/leads/42", []byte(`{"profile_id":1001,"quote_value":10}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			sign(t, req, tc.body, testCreds, time.Now())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d (%s), want 200", resp.StatusCode, b)
			}
			id := identityOf(t, s.recorders["LeadsFunction"])
			if id["userArn"] != LocalUserARN || id["accessKey"] != testKeyID || id["accountId"] != "123456789012" {
				t.Errorf("identity = %v, want the local user %s with key %s", id, LocalUserARN, testKeyID)
			}
			if caller, _ := id["caller"].(string); !strings.HasPrefix(caller, "AIDA") || id["user"] != caller {
				t.Errorf("caller, user = %v, %v; want one AIDA… principal ID", id["caller"], id["user"])
			}
		})
	}
}

func TestEachPrincipalIsReportedAsItself(t *testing.T) {
	role := Principal{AccessKeyID: "AKIACRMSYNC000000001", SecretAccessKey: "crm-secret", ARN: "arn:aws:iam::123456789012:role/crm-sync"}
	s := newStack(t, nil, GatewayOptions{
		Now:        func() time.Time { return testNow },
		Principals: []Principal{LocalPrincipal(testKeyID, testSecret), role},
	})
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/leads/7?profile_id=1001", nil)
	sign(t, req, nil, aws.Credentials{AccessKeyID: role.AccessKeyID, SecretAccessKey: role.SecretAccessKey}, testNow)
	w := httptest.NewRecorder()
	s.gw.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s)", w.Code, w.Body)
	}
	id := identityOf(t, s.recorders["LeadsFunction"])
	if id["userArn"] != role.ARN || !strings.HasPrefix(id["caller"].(string), "AROA") {
		t.Errorf("identity = %v, want the role %s with an AROA… ID", id, role.ARN)
	}
}

func TestIAMRoutesRefuseBadSignaturesAsAPIGatewayDoes(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{Now: func() time.Time { return testNow }})
	body := []byte(`{"profile_id":1001,"quote_value":1}`)
	signed := func(method, target string, body []byte, creds aws.Credentials, at time.Time) *http.Request {
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		sign(t, req, body, creds, at)
		return req
	}
	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	tests := []struct {
		name        string
		req         func() *http.Request
		wantType    string
		wantMessage string
	}{
		{
			name: "unsigned",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil)
			},
			wantType: "MissingAuthenticationTokenException", wantMessage: "Missing Authentication Token",
		},
		{
			name: "wrong secret",
			req: func() *http.Request {
				return signed(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil,
					aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: "wrong"}, testNow)
			},
			wantType: "InvalidSignatureException", wantMessage: mismatch,
		},
		{
			name: "unknown access key",
			req: func() *http.Request {
				return signed(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil,
					aws.Credentials{AccessKeyID: "AKIANOBODY0000000000", SecretAccessKey: testSecret}, testNow)
			},
			wantType: "UnrecognizedClientException", wantMessage: "The security token included in the request is invalid.",
		},
		{
			name: "X-Amz-Date six minutes old",
			req: func() *http.Request {
				return signed(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil, testCreds, testNow.Add(-6*time.Minute))
			},
			wantType:    "InvalidSignatureException",
			wantMessage: "Signature expired: 20261128T115400Z is now earlier than 20261128T115500Z (20261128T120000Z - 5 min.)",
		},
		{
			name: "tampered body",
			req: func() *http.Request {
				req := signed(http.MethodPatch, "http://127.0.0.1:3000/leads/42", body, testCreds, testNow)
				req.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(":1}"), []byte(":9}"), 1)))
				return req
			},
			wantType: "InvalidSignatureException", wantMessage: mismatch,
		},
		{
			name: "tampered query",
			req: func() *http.Request {
				req := signed(http.MethodGet, "http://127.0.0.1:3000/leads?profile_id=1001", nil, testCreds, testNow)
				req.URL.RawQuery = "profile_id=1002"
				return req
			},
			wantType: "InvalidSignatureException", wantMessage: mismatch,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.gw.ServeHTTP(w, tc.req())
			assertAPIGatewayError(t, w, http.StatusForbidden, tc.wantType, tc.wantMessage)
		})
	}
	if n := s.recorders["LeadsFunction"].count(); n != 0 {
		t.Errorf("LeadsFunction invoked %d times, want never for a refused request", n)
	}
}

// TestCurlSigV4ClientsWork uses `curl --aws-sigv4`, the client the README shows: it signs only
// host;x-amz-date (and content-type when set).
// botocore (the AWS CLI's and boto3's signer) signs a URL's query as written, only sorted: a raw "@"
// stays an "@". API Gateway accepts such a request, and so does the local one.
func TestBotocoreSignedRequestsWithAwkwardQueriesAnswer200(t *testing.T) {
	s := newStack(t, nil, GatewayOptions{})
	srv := httptest.NewServer(s.gw)
	defer srv.Close()
	names := []string{"an @, a + and a space as parameters", "a raw @ and + in the URL's query"}
	signed := testenv.BotocoreSigned(t, testKeyID, testSecret,
		testenv.BotocoreRequest{Method: http.MethodGet, URL: srv.URL + "/leads",
			Params: [][2]string{{"email", "a@b.example"}, {"q", "x+y z"}, {"profile_id", "1001"}}},
		testenv.BotocoreRequest{Method: http.MethodGet, URL: srv.URL + "/leads?email=a@b.example&q=x+y&profile_id=1001"})
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			req := signed[i]
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d %s, want 200", req.URL.RawQuery, resp.StatusCode, body)
			}
			if id := identityOf(t, s.recorders["LeadsFunction"]); id["userArn"] != LocalUserARN {
				t.Errorf("userArn = %v, want %s", id["userArn"], LocalUserARN)
			}
		})
	}
}

func TestCurlSigV4ClientsWork(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required under CI=true")
		}
		t.Skip("curl not installed")
	}
	s := newStack(t, nil, GatewayOptions{})
	srv := httptest.NewServer(s.gw)
	defer srv.Close()

	tests := []struct {
		name       string
		user       string
		args       []string
		wantStatus int
	}{
		// curl 7.88 signs the query as written: write it sorted and encoded.
		{"GET with a sorted, encoded query", testKeyID + ":" + testSecret,
			[]string{srv.URL + "/leads?email=a%40b.example&profile_id=1001"}, http.StatusOK},
		{"POST with a JSON body", testKeyID + ":" + testSecret,
			[]string{"-H", "Content-Type: application/json", "--data-binary", `{"profile_id":1001,"lead_type":"web_form"}`, srv.URL + "/leads"}, http.StatusOK},
		{"PATCH with a JSON body", testKeyID + ":" + testSecret,
			[]string{"-X", "PATCH", "-H", "Content-Type: application/json", "--data-binary", `{"profile_id":1001,"quotable":"yes"}`, srv.URL + "/leads/42"}, http.StatusOK},
		{"a wrong secret", testKeyID + ":wrong", []string{srv.URL + "/leads?profile_id=1001"}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", tc.user}, tc.args...)
			out, err := exec.Command(curl, args...).Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			i := strings.LastIndexByte(string(out), '\n')
			if i < 0 {
				t.Fatalf("curl output %q has no status line", out)
			}
			body, code := string(out[:i]), string(out[i+1:])
			if code != strconv.Itoa(tc.wantStatus) {
				t.Fatalf("status = %s (%s), want %d", code, body, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				var e apiGatewayError
				if json.Unmarshal([]byte(body), &e) != nil || !strings.HasPrefix(e.Message, "The request signature we calculated does not match") {
					t.Errorf("body = %s, want the signature mismatch message", body)
				}
				return
			}
			if id := identityOf(t, s.recorders["LeadsFunction"]); id["userArn"] != LocalUserARN {
				t.Errorf("userArn = %v, want %s", id["userArn"], LocalUserARN)
			}
		})
	}
}

// A presigned URL (what a browser opens) passes IAM auth until it expires, and the function sees
// the principal that signed it and the query as sent, signature parameters included, as API
// Gateway passes them.
func TestAPresignedURLOpensAnIAMRouteUntilItExpires(t *testing.T) {
	var now time.Time
	s := newStack(t, nil, GatewayOptions{Now: func() time.Time { return now }})
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:3000/leads/7?profile_id=1001&X-Amz-Expires=60", nil)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, req, sha256Hex(nil), "execute-api", "us-east-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		status int
	}{
		{"within its minute", testNow.Add(59 * time.Second), http.StatusOK},
		{"after it", testNow.Add(61 * time.Second), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			w := httptest.NewRecorder()
			s.gw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, signed, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tc.status)
			}
			if tc.status != http.StatusOK {
				if w.Header().Get("X-Amzn-Errortype") != "InvalidSignatureException" {
					t.Fatalf("error type %q", w.Header().Get("X-Amzn-Errortype"))
				}
				return
			}
			if id := identityOf(t, s.recorders["LeadsFunction"]); id["userArn"] != LocalUserARN {
				t.Fatalf("identity %v", id)
			}
			q := s.recorders["LeadsFunction"].lastEvent(t)["queryStringParameters"].(map[string]any)
			if q["profile_id"] != "1001" || q["X-Amz-Signature"] == nil {
				t.Fatalf("query %v", q)
			}
		})
	}
}
