package sigv4_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/sigv4"
)

// FuzzVerify: an Authorization header and query of the fuzzer's making are refused with an *Error,
// never accepted and never a panic.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential="+keyID+"/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "a=1&b=%zz", "20261128T120000Z")
	f.Add("AWS4-HMAC-SHA256 ,,,=", "", "")
	f.Fuzz(func(t *testing.T, authz, query, date string) {
		v := &sigv4.Verifier{
			Region: "us-east-1", Service: "execute-api",
			Credentials: []sigv4.Credential{{AccessKeyID: keyID, SecretAccessKey: secret}},
			Now:         func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) },
		}
		r := httptest.NewRequest("GET", "http://h/leads", nil)
		r.URL.RawQuery = query
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Amz-Date"] = []string{date}
		_, err := v.Verify(r, nil)
		if _, ok := err.(*sigv4.Error); !ok {
			t.Fatalf("Verify = %v, want a *sigv4.Error", err)
		}
	})
}
