package sigv4_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/sigv4"
)

// presigned is a URL presigned by the AWS SDK's own v4 signer (PresignHTTP) at a time, valid for
// expires, over the hash of an empty body (a GET).
func presigned(t *testing.T, rawURL string, creds aws.Credentials, at time.Time, expires time.Duration) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payloadHash(nil), "execute-api", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// setParam replaces one query parameter of a URL, keeping the rest as written.
func setParam(t *testing.T, rawURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPresignedURLsAreAcceptedUntilTheyExpire(t *testing.T) {
	signedAt := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var now time.Time
	srv := newServer(t, func() time.Time { return now })
	good := presigned(t, srv.URL+"/reports/2026-11-28?format=html", goodCreds, signedAt, 15*time.Minute)

	for _, tc := range []struct {
		name    string
		url     func() string
		at      time.Time
		wantOK  bool
		errType string
		message string
	}{
		{"at once", func() string { return good }, signedAt, true, "", ""},
		{"a second before it expires", func() string { return good }, signedAt.Add(15*time.Minute - time.Second), true, "", ""},
		{"at its expiry", func() string { return good }, signedAt.Add(15 * time.Minute), true, "", ""},
		{"a second after it expires", func() string { return good }, signedAt.Add(15*time.Minute + time.Second), false, "InvalidSignatureException", "Signature expired"},
		{"within the clock skew before it was signed", func() string { return good }, signedAt.Add(-4 * time.Minute), true, "", ""},
		{"beyond the clock skew before it was signed", func() string { return good }, signedAt.Add(-6 * time.Minute), false, "InvalidSignatureException", "Signature not yet current"},
		{"another date in the path", func() string { return strings.Replace(good, "2026-11-28", "2026-11-27", 1) }, signedAt, false, "InvalidSignatureException", sigv4.MsgMismatch},
		{"another format in the query", func() string { return setParam(t, good, "format", "csv") }, signedAt, false, "InvalidSignatureException", sigv4.MsgMismatch},
		{"a parameter added", func() string { return good + "&profile_id=1002" }, signedAt, false, "InvalidSignatureException", sigv4.MsgMismatch},
		{"a longer life written in", func() string { return setParam(t, good, "X-Amz-Expires", "604800") }, signedAt.Add(time.Hour), false, "InvalidSignatureException", sigv4.MsgMismatch},
		{"a wrong secret", func() string {
			return presigned(t, srv.URL+"/reports/2026-11-28", aws.Credentials{AccessKeyID: keyID, SecretAccessKey: "wrong"}, signedAt, time.Minute)
		}, signedAt, false, "InvalidSignatureException", sigv4.MsgMismatch},
		{"an unknown key", func() string {
			return presigned(t, srv.URL+"/reports/2026-11-28", aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: secret}, signedAt, time.Minute)
		}, signedAt, false, "UnrecognizedClientException", sigv4.MsgInvalidToken},
		{"a session token the key does not have", func() string {
			return presigned(t, srv.URL+"/reports/2026-11-28", aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: "tok"}, signedAt, time.Minute)
		}, signedAt, false, "UnrecognizedClientException", sigv4.MsgInvalidToken},
		{"more than a week", func() string {
			return presigned(t, srv.URL+"/reports/2026-11-28", goodCreds, signedAt, 7*24*time.Hour+time.Second)
		}, signedAt, false, "IncompleteSignatureException", "X-Amz-Expires"},
		{"no signature", func() string {
			u, _ := url.Parse(good)
			q := u.Query()
			q.Del("X-Amz-Signature")
			u.RawQuery = q.Encode()
			return u.String()
		}, signedAt, false, "IncompleteSignatureException", "must include"},
		{"another algorithm", func() string { return setParam(t, good, "X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, signedAt, false, "IncompleteSignatureException", "X-Amz-Algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			req, err := http.NewRequest(http.MethodGet, tc.url(), nil)
			if err != nil {
				t.Fatal(err)
			}
			v := do(t, req)
			if v.OK != tc.wantOK || (!tc.wantOK && (v.Type != tc.errType || !strings.Contains(v.Message, tc.message))) {
				t.Fatalf("verdict %+v, want ok=%t %s %q", v, tc.wantOK, tc.errType, tc.message)
			}
			if tc.wantOK && v.KeyID != keyID {
				t.Fatalf("key %q", v.KeyID)
			}
		})
	}
}

// TestBotocorePresignedURLsAreAccepted: a URL presigned by botocore (the AWS CLI's and boto3's
// signer) in the image's python3, as a Python user would make one.
func TestBotocorePresignedURLsAreAccepted(t *testing.T) {
	python := requirePython(t)
	srv := newServer(t, nil)
	const script = `
import sys
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
req = AWSRequest(method="GET", url=sys.argv[1])
SigV4QueryAuth(Credentials(sys.argv[2], sys.argv[3]), "execute-api", "us-east-1", expires=300).add_auth(req)
print(req.prepare().url)
`
	for _, tc := range []struct {
		name, path, secret string
		wantOK             bool
	}{
		{"a report page", "/reports/2026-11-28?format=html", secret, true},
		{"a range with an encoded value", "/reports?from=2026-11-01&to=2026-11-30&note=a%40b%20c", secret, true},
		{"a wrong secret", "/reports/2026-11-28", "wrong", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(python, "-c", script, srv.URL+tc.path, keyID, tc.secret).Output()
			if err != nil {
				t.Fatalf("botocore: %v", err)
			}
			signed := strings.TrimSpace(string(out))
			if !strings.Contains(signed, "X-Amz-Signature=") {
				t.Fatalf("botocore did not presign: %s", signed)
			}
			req, err := http.NewRequest(http.MethodGet, signed, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v := do(t, req); v.OK != tc.wantOK {
				t.Fatalf("verdict %+v, want ok=%t", v, tc.wantOK)
			}
		})
	}
}

func requirePython(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(path, "-c", "import botocore.auth").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with botocore is required under CI=true: %v", err)
		}
		t.Skipf("python3 with botocore not available: %v", err)
	}
	return path
}
