package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/sigv4"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

var signedAt = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// verify checks a printed URL with the local stack's own verifier at a time.
func verify(t *testing.T, raw, region string, cred sigv4.Credential, at time.Time) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Region: region, Service: "execute-api", Credentials: []sigv4.Credential{cred}, Now: func() time.Time { return at }}
	_, err = v.Verify(req, nil)
	return err
}

func TestItPrintsAURLTheAPIAccepts(t *testing.T) {
	credentialSource = func(context.Context) (aws.Credentials, string, error) {
		return aws.Credentials{AccessKeyID: "AKIADEPLOYED00000001", SecretAccessKey: "deployed-secret", SessionToken: "session"}, "us-west-2", nil
	}
	local := sigv4.Credential{AccessKeyID: devstack.DefaultAccessKeyID, SecretAccessKey: devstack.DefaultSecretAccessKey}
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantURL  string
		region   string
		cred     sigv4.Credential
		validFor time.Duration
	}{
		{"locally, on the default port with the default key", []string{"-date", "2026-11-28"}, nil,
			"http://127.0.0.1:3000/reports/2026-11-28?", "us-east-1", local, 15 * time.Minute},
		{"locally, on PORT with the key make dev was given", []string{"-date", "2026-11-28", "-format", "csv", "-expires", "2m"},
			map[string]string{"PORT": "3150", "WCBRIDGE_LOCAL_ACCESS_KEY_ID": "AKIAOTHER", "WCBRIDGE_LOCAL_SECRET_ACCESS_KEY": "s3"},
			"http://127.0.0.1:3150/reports/2026-11-28?", "us-east-1", sigv4.Credential{AccessKeyID: "AKIAOTHER", SecretAccessKey: "s3"}, 2 * time.Minute},
		{"deployed: the default chain, the region of the API's host, the stage kept", []string{"-date", "2026-11-28"},
			map[string]string{"WCBRIDGE_API_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/"},
			"https://abc123.execute-api.eu-west-1.amazonaws.com/prod/reports/2026-11-28?", "eu-west-1",
			sigv4.Credential{AccessKeyID: "AKIADEPLOYED00000001", SecretAccessKey: "deployed-secret", SessionToken: "session"}, 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, env(tc.env), &out, &errOut, func() time.Time { return signedAt }); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			printed := strings.TrimSpace(out.String())
			if !strings.HasPrefix(printed, tc.wantURL) || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("printed %q, want one line starting %s", out.String(), tc.wantURL)
			}
			if err := verify(t, printed, tc.region, tc.cred, signedAt.Add(tc.validFor)); err != nil {
				t.Fatalf("the URL is refused before it expires: %v", err)
			}
			var se *sigv4.Error
			if err := verify(t, printed, tc.region, tc.cred, signedAt.Add(tc.validFor+time.Second)); !errors.As(err, &se) || !strings.Contains(se.Message, "expired") {
				t.Fatalf("the URL is not refused once expired: %v", err)
			}
			u, _ := url.Parse(printed)
			if want := map[bool]string{true: "csv", false: "html"}[strings.Contains(strings.Join(tc.args, " "), "csv")]; u.Query().Get("format") != want {
				t.Fatalf("format %q, want %q", u.Query().Get("format"), want)
			}
		})
	}
}

func TestBadArgumentsPrintNothingAndExit2(t *testing.T) {
	for _, args := range [][]string{
		{"-date", "2026-11-31"},
		{"-date", "2026-11-28", "-format", "pdf"},
		{"-date", "2026-11-28", "-expires", "200h"},
		{"-date", "2026-11-28", "-api", "ftp://example.com"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, env(nil), &out, &errOut, time.Now); code != 2 || out.Len() != 0 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errOut.String())
		}
	}
}
