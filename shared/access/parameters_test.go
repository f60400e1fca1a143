package access

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ssmServer answers GetParameter with the answers in turn (status, body), recording each request.
func ssmServer(t *testing.T, answers ...[2]string) (*httptest.Server, *[]*http.Request, *atomic.Int32) {
	t.Helper()
	var reqs []*http.Request
	var n atomic.Int32
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		mu.Lock()
		reqs = append(reqs, r.Clone(context.Background()))
		mu.Unlock()
		i := int(n.Add(1)) - 1
		a := answers[min(i, len(answers)-1)]
		var status int
		_ = json.Unmarshal([]byte(a[0]), &status)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, a[1])
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs, &n
}

func testParameters(endpoint string) *Parameters {
	return NewParameters(aws.Config{Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session")}, endpoint)
}

// GetParameter speaks SSM's JSON protocol: a signed POST naming the operation, the parameter's name in
// the body, its value and version from the answer.
func TestParametersGetParameter(t *testing.T) {
	srv, reqs, _ := ssmServer(t, [2]string{"200", `{"Parameter":{"Name":"/p","Type":"String","Value":"permit (principal, action, resource);","Version":7,"ARN":"arn:aws:ssm:eu-west-1:1:parameter/p"}}`})
	value, version, err := testParameters(srv.URL).GetParameter(context.Background(), "/wcbridge/access-policy")
	if err != nil || value != "permit (principal, action, resource);" || version != 7 {
		t.Fatalf("GetParameter = %q, %d, %v", value, version, err)
	}
	r := (*reqs)[0]
	body, _ := io.ReadAll(r.Body)
	for _, c := range []struct{ what, got, want string }{
		{"method", r.Method, http.MethodPost},
		{"target", r.Header.Get("X-Amz-Target"), "AmazonSSM.GetParameter"},
		{"content type", r.Header.Get("Content-Type"), "application/x-amz-json-1.1"},
		{"body", string(body), `{"Name":"/wcbridge/access-policy"}`},
		{"session token", r.Header.Get("X-Amz-Security-Token"), "session"},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.what, c.got, c.want)
		}
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(auth, "/eu-west-1/ssm/aws4_request") || !strings.Contains(auth, "x-amz-target") {
		t.Errorf("Authorization %q is not SigV4 for ssm in eu-west-1 covering the target", auth)
	}
}

func TestParametersRetriesOnlyWhatMayPass(t *testing.T) {
	ok := [2]string{"200", `{"Parameter":{"Value":"v","Version":2}}`}
	for _, tc := range []struct {
		name     string
		answers  [][2]string
		wantErr  string // "" succeeds
		attempts int32
	}{
		{"a server error, then the value", [][2]string{{"500", `{"__type":"InternalServerError","message":"oops"}`}, ok}, "", 2},
		{"throttled, then the value", [][2]string{{"400", `{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}`}, ok}, "", 2},
		{"three server errors", [][2]string{{"503", `{}`}}, "ssm GetParameter: 503", 3},
		{"a missing parameter is answered at once", [][2]string{{"400", `{"__type":"ParameterNotFound","message":"Parameter /p not found."}`}, ok},
			"400 ParameterNotFound: Parameter /p not found.", 1},
		{"access denied is answered at once", [][2]string{{"400", `{"__type":"AccessDeniedException","message":"no"}`}, ok}, "AccessDeniedException", 1},
		{"an answer without a value", [][2]string{{"200", `{"Parameter":{"Version":1}}`}}, "holds no value", 1},
		{"an answer that is not JSON", [][2]string{{"200", `<html>`}}, "not the API's JSON", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answers [][2]string
			answers = append(answers, tc.answers...)
			srv, _, n := ssmServer(t, answers...)
			value, _, err := testParameters(srv.URL).GetParameter(context.Background(), "/p")
			switch {
			case tc.wantErr == "" && (err != nil || value != "v"):
				t.Fatalf("GetParameter = %q, %v; want v", value, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("GetParameter error %v, want one with %q", err, tc.wantErr)
			}
			if got := n.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

func TestParametersEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "https://ssm.us-east-1.amazonaws.com/",
		"us-gov-west-1":  "https://ssm.us-gov-west-1.amazonaws.com/",
		"cn-northwest-1": "https://ssm.cn-northwest-1.amazonaws.com.cn/",
	} {
		if got := (&Parameters{Region: region}).endpoint(); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
	if got := (&Parameters{Region: "us-east-1", Endpoint: "http://127.0.0.1:5000/"}).endpoint(); got != "http://127.0.0.1:5000/" {
		t.Errorf("override: %s", got)
	}
}
