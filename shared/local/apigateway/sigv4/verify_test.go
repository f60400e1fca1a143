package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/sigv4"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

const (
	keyID  = "AKIAWCBRIDGELOCAL001"
	secret = "local-secret-0123456789abcdefghijklmnop"
)

// verdict is what the test server answers: the verifier's outcome for the request it received.
type verdict struct {
	OK      bool   `json:"ok"`
	KeyID   string `json:"key_id"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// newServer serves a verifier at a clock the test controls.
func newServer(t *testing.T, now func() time.Time) *httptest.Server {
	t.Helper()
	v := &sigv4.Verifier{
		Region:      "us-east-1",
		Service:     "execute-api",
		Credentials: []sigv4.Credential{{AccessKeyID: keyID, SecretAccessKey: secret}},
		Now:         now,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out verdict
		cred, err := v.Verify(r, body)
		if err != nil {
			e, ok := err.(*sigv4.Error)
			if !ok {
				http.Error(w, "not a *sigv4.Error: "+err.Error(), http.StatusInternalServerError)
				return
			}
			out = verdict{Type: e.Type(), Message: e.Message}
		} else {
			out = verdict{OK: true, KeyID: cred.AccessKeyID}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) verdict {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v verdict
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("decode verdict (status %d): %v", resp.StatusCode, err)
	}
	return v
}

func payloadHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sdkSigned builds a request signed by the AWS SDK's own v4 signer (which also signs content-length).
func sdkSigned(t *testing.T, method, url string, body []byte, creds aws.Credentials, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), "execute-api", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

var goodCreds = aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}

func TestSDKSignedRequestsAreAccepted(t *testing.T) {
	srv := newServer(t, nil)
	tests := []struct {
		name, method, path string
		body               []byte
	}{
		{"GET with a query that needs encoding", http.MethodGet, "/leads?profile_id=1001&email=a%40b.example&max_items=5", nil},
		{"GET with a repeated parameter and a space", http.MethodGet, "/leads?b=2&a=x+y&a=1", nil},
		{"POST with a JSON body (content-length signed)", http.MethodPost, "/leads", []byte(`{"profile_id":1001,"lead_type":"web_form"}`)},
		{"PATCH on a path parameter", http.MethodPatch, "/leads/42", []byte(`{"profile_id":1001,"quote_value":12.5}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := sdkSigned(t, tc.method, srv.URL+tc.path, tc.body, goodCreds, time.Now())
			if !strings.Contains(req.Header.Get("Authorization"), "content-length") && tc.body != nil {
				t.Fatalf("the SDK was expected to sign content-length: %s", req.Header.Get("Authorization"))
			}
			if v := do(t, req); !v.OK || v.KeyID != keyID {
				t.Errorf("verdict = %+v, want accepted as %s", v, keyID)
			}
		})
	}
}

// The canonical query is rebuilt from the parameters, not taken as written: a query sent in another
// order or with "@" unencoded is the same signed query.
func TestTheQueryIsCanonicalizedNotTakenAsWritten(t *testing.T) {
	srv := newServer(t, nil)
	req := sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001&email=a%40b.example", nil, goodCreds, time.Now())
	if req.URL.RawQuery != "email=a%40b.example&profile_id=1001" {
		t.Fatalf("the SDK signer was expected to rewrite the query sorted; got %q", req.URL.RawQuery)
	}
	req.URL.RawQuery = "profile_id=1001&email=a@b.example"
	if v := do(t, req); !v.OK {
		t.Errorf("verdict = %+v, want accepted", v)
	}
}

func TestBadRequestsAreRefusedWithAPIGatewaysMessages(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, func() time.Time { return now })
	body := []byte(`{"profile_id":1001,"quote_value":1}`)

	tests := []struct {
		name        string
		req         func() *http.Request
		wantType    string
		wantMessage string
	}{
		{
			name: "unsigned",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads?profile_id=1001", nil)
				return r
			},
			wantType: "MissingAuthenticationTokenException", wantMessage: "Missing Authentication Token",
		},
		{
			name: "wrong secret",
			req: func() *http.Request {
				return sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil,
					aws.Credentials{AccessKeyID: keyID, SecretAccessKey: "not-the-secret"}, now)
			},
			wantType: "InvalidSignatureException", wantMessage: sigv4.MsgMismatch,
		},
		{
			name: "unknown access key",
			req: func() *http.Request {
				return sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil,
					aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: secret}, now)
			},
			wantType: "UnrecognizedClientException", wantMessage: "The security token included in the request is invalid.",
		},
		{
			name: "a session token the server does not know",
			req: func() *http.Request {
				return sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil,
					aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: "forged"}, now)
			},
			wantType: "UnrecognizedClientException", wantMessage: "The security token included in the request is invalid.",
		},
		{
			name: "X-Amz-Date six minutes old",
			req: func() *http.Request {
				return sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil, goodCreds, now.Add(-6*time.Minute))
			},
			wantType:    "InvalidSignatureException",
			wantMessage: "Signature expired: 20261128T115400Z is now earlier than 20261128T115500Z (20261128T120000Z - 5 min.)",
		},
		{
			name: "X-Amz-Date six minutes ahead",
			req: func() *http.Request {
				return sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil, goodCreds, now.Add(6*time.Minute))
			},
			wantType:    "InvalidSignatureException",
			wantMessage: "Signature not yet current: 20261128T120600Z is still later than 20261128T120500Z (20261128T120000Z + 5 min.)",
		},
		{
			name: "tampered body of the same length",
			req: func() *http.Request {
				r := sdkSigned(t, http.MethodPatch, srv.URL+"/leads/42", body, goodCreds, now)
				tampered := bytes.Replace(body, []byte(`:1}`), []byte(`:9}`), 1)
				r.Body = io.NopCloser(bytes.NewReader(tampered))
				return r
			},
			wantType: "InvalidSignatureException", wantMessage: sigv4.MsgMismatch,
		},
		{
			name: "tampered body under a claimed X-Amz-Content-Sha256 of the original",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodPatch, srv.URL+"/leads/42", bytes.NewReader(body))
				r.Header.Set("X-Amz-Content-Sha256", payloadHash(body))
				if err := v4.NewSigner().SignHTTP(context.Background(), goodCreds, r, payloadHash(body), "execute-api", "us-east-1", now); err != nil {
					t.Fatal(err)
				}
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(`:1}`), []byte(`:9}`), 1)))
				return r
			},
			wantType: "InvalidSignatureException", wantMessage: sigv4.MsgMismatch,
		},
		{
			name: "tampered query",
			req: func() *http.Request {
				r := sdkSigned(t, http.MethodGet, srv.URL+"/leads?profile_id=1001", nil, goodCreds, now)
				r.URL.RawQuery = "profile_id=1002"
				return r
			},
			wantType: "InvalidSignatureException", wantMessage: sigv4.MsgMismatch,
		},
		{
			name: "signed for another service",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads", nil)
				_ = v4.NewSigner().SignHTTP(context.Background(), goodCreds, r, payloadHash(nil), "lambda", "us-east-1", now)
				return r
			},
			wantType: "InvalidSignatureException", wantMessage: "Credential should be scoped to correct service: 'execute-api'. ",
		},
		{
			name: "signed for another region",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads", nil)
				_ = v4.NewSigner().SignHTTP(context.Background(), goodCreds, r, payloadHash(nil), "execute-api", "eu-west-2", now)
				return r
			},
			wantType: "InvalidSignatureException", wantMessage: "Credential should be scoped to a valid region, not 'eu-west-2'. ",
		},
		{
			name: "a bearer token instead of a signature",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads", nil)
				r.Header.Set("Authorization", "Bearer abc")
				return r
			},
			wantType: "IncompleteSignatureException",
			wantMessage: "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): " +
				"'" + sha256Base64("Bearer abc") + "'.",
		},
		{
			name: "a SigV4 header without its signature or a date",
			req: func() *http.Request {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads", nil)
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+keyID+"/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host")
				return r
			},
			wantType: "IncompleteSignatureException",
			wantMessage: "Authorization header requires 'Signature' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=AWS4-HMAC-SHA256 Credential=" + keyID + "/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := do(t, tc.req())
			if v.OK {
				t.Fatalf("accepted; want refused with %s", tc.wantType)
			}
			if v.Type != tc.wantType || v.Message != tc.wantMessage {
				t.Errorf("refused with\n %s: %q\nwant\n %s: %q", v.Type, v.Message, tc.wantType, tc.wantMessage)
			}
		})
	}
}

func sha256Base64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64Std(sum[:])
}

// TestCurlSignedRequestsAreAccepted uses curl's own SigV4 signer: it signs fewer headers than the SDK
// (host;x-amz-date, plus content-type when set), so a verifier that re-signed with the SDK would
// refuse it.
func TestCurlSignedRequestsAreAccepted(t *testing.T) {
	curl := requireCurl(t)
	srv := newServer(t, nil)
	tests := []struct {
		name   string
		user   string
		args   []string
		wantOK bool
	}{
		// curl 7.88 signs the query as written: write it sorted and encoded.
		{"GET with a sorted, encoded query", keyID + ":" + secret, []string{srv.URL + "/leads?email=a%40b.example&profile_id=1001"}, true},
		{"POST with a JSON body", keyID + ":" + secret, []string{"-H", "Content-Type: application/json", "--data-binary", `{"profile_id":1001}`, srv.URL + "/leads"}, true},
		{"a wrong secret", keyID + ":wrong", []string{srv.URL + "/leads?profile_id=1001"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", tc.user}, tc.args...)
			out, err := exec.Command(curl, args...).Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			var v verdict
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("curl output %q: %v", out, err)
			}
			if v.OK != tc.wantOK {
				t.Errorf("verdict = %+v, want ok=%v", v, tc.wantOK)
			}
			if !tc.wantOK && v.Message != sigv4.MsgMismatch {
				t.Errorf("message = %q, want the mismatch message", v.Message)
			}
		})
	}
}

func requireCurl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is required under CI=true")
		}
		t.Skip("curl not installed")
	}
	return path
}

func TestCanonicalQuerySortsAfterEncoding(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"sorted by name", "profile_id=1001&email=a%40b.example", "email=a%40b.example&profile_id=1001"},
		{"unencoded @ is encoded", "email=a@b.example", "email=a%40b.example"},
		{"plus is a space, written %20", "q=a+b", "q=a%20b"},
		{"repeated names sorted by value", "a=2&a=1", "a=1&a=2"},
		{"a name without a value", "flag&a=1", "a=1&flag="},
		{"sorted after encoding: %2F sorts before -", "v=a-b&v=a/b", "v=a%2Fb&v=a-b"},
		{"unreserved characters stay", "k=A-z_0.9~", "k=A-z_0.9~"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sigv4.CanonicalQuery(tc.raw); got != tc.want {
				t.Errorf("CanonicalQuery(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// The values SigV4's canonicalisation must carry through: reserved characters, spaces, "+",
// unicode, repeated keys and empty values.
var awkwardParams = []struct {
	name   string
	params [][2]string
}{
	{"an @, a + and a space", [][2]string{{"email", "a@b.example"}, {"q", "x+y z"}, {"profile_id", "1001"}}},
	{"every reserved character", [][2]string{{"r", "!*'();:@&=+$,/?#[]%"}}},
	{"unicode", [][2]string{{"name", "Zoë 東京"}, {"ключ", "значение"}}},
	{"repeated keys, sorted by value", [][2]string{{"a", "2"}, {"a", "1"}, {"a", "10"}}},
	{"empty values", [][2]string{{"e", ""}, {"f", ""}, {"g", "1"}}},
}

func TestBotocoreSignedRequestsAreAccepted(t *testing.T) {
	srv := newServer(t, nil)
	type tcase struct {
		name string
		req  testenv.BotocoreRequest
		ok   bool
	}
	var cases []tcase
	for _, tc := range awkwardParams {
		cases = append(cases, tcase{tc.name + ", as the AWS CLI passes parameters",
			testenv.BotocoreRequest{Method: http.MethodGet, URL: srv.URL + "/leads", Params: tc.params}, true})
	}
	// botocore signs a URL's own query as written, only sorted: these are the bytes it sends.
	for _, tc := range []struct{ name, path string }{
		{"a raw @ in the URL's query", "/leads?email=a@b.example&profile_id=1001"},
		{"a raw @, + and : in the URL's query", "/leads?q=x+y&email=a@b.example&t=12:30"},
		{"reserved characters in the path", "/leads/a@b:c!$'()*,;="},
		{"an encoded path", "/leads/%C3%A9%20x"},
	} {
		cases = append(cases, tcase{tc.name, testenv.BotocoreRequest{Method: http.MethodGet, URL: srv.URL + tc.path}, true})
	}
	cases = append(cases, tcase{"a POST with a body",
		testenv.BotocoreRequest{Method: http.MethodPost, URL: srv.URL + "/leads", Body: []byte(`{"profile_id":1001}`)}, true})
	reqs := make([]testenv.BotocoreRequest, len(cases))
	for i, c := range cases {
		reqs[i] = c.req
	}
	signed := testenv.BotocoreSigned(t, keyID, secret, reqs...)
	wrong := testenv.BotocoreSigned(t, keyID, "wrong", testenv.BotocoreRequest{Method: http.MethodGet, URL: srv.URL + "/leads?email=a@b.example"})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if v := do(t, signed[i]); !v.OK {
				t.Errorf("%s %s: verdict = %+v, want accepted", signed[i].Method, signed[i].URL, v)
			}
		})
	}
	t.Run("a wrong secret is still refused", func(t *testing.T) {
		if v := do(t, wrong[0]); v.OK || v.Message != sigv4.MsgMismatch {
			t.Errorf("verdict = %+v, want the mismatch", v)
		}
	})
}

func TestGoSDKSignedRequestsWithAwkwardQueriesAreAccepted(t *testing.T) {
	srv := newServer(t, nil)
	for _, tc := range awkwardParams {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for _, p := range tc.params {
				q.Add(p[0], p[1])
			}
			req := sdkSigned(t, http.MethodGet, srv.URL+"/leads/a@b:c?"+q.Encode(), nil, goodCreds, time.Now())
			if v := do(t, req); !v.OK {
				t.Errorf("GET %s: verdict = %+v, want accepted", req.URL.RawQuery, v)
			}
		})
	}
}

// curl 7.88 signs the query as written, in the order written; API Gateway sorts the parameters
// before it compares, so such a signature over an unsorted query does not match.
func TestAQuerySignedUnsortedIsRefused(t *testing.T) {
	srv := newServer(t, nil)
	at := time.Now().UTC()
	for _, tc := range []struct {
		name, query string
		ok          bool
	}{
		{"signed in the order written, unsorted", "profile_id=1001&email=a%40b.example", false},
		{"signed in the order written, which is sorted", "email=a%40b.example&profile_id=1001", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/leads?"+tc.query, nil)
			signAsWritten(req, at)
			if v := do(t, req); v.OK != tc.ok {
				t.Errorf("verdict = %+v, want ok=%v", v, tc.ok)
			}
		})
	}
}

// signAsWritten signs req as curl 7.88 does: host and x-amz-date, the query exactly as written.
func signAsWritten(req *http.Request, at time.Time) {
	amzDate, day := at.Format("20060102T150405Z"), at.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	canonical := strings.Join([]string{req.Method, req.URL.EscapedPath(), req.URL.RawQuery,
		"host:" + req.URL.Host, "x-amz-date:" + amzDate, "", "host;x-amz-date", payloadHash(nil)}, "\n")
	scope := day + "/us-east-1/execute-api/aws4_request"
	toSign := strings.Join([]string{sigv4.Algorithm, amzDate, scope, payloadHash([]byte(canonical))}, "\n")
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secret), day), "us-east-1"), "execute-api"), "aws4_request")
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=host;x-amz-date, Signature=%x",
		sigv4.Algorithm, keyID, scope, mac(k, toSign)))
}
