// Command report-url prints a short-lived presigned URL of a compliance report, for opening in a
// browser: a browser cannot sign a request, so the URL carries the SigV4 signature in its query
// (as API Gateway's IAM auth accepts), valid for -expires.
//
//	go run ./scripts/report-url -date 2026-11-28      (or: make report-url DATE=2026-11-28)
//
// Locally (the API is on a loopback address: the default, http://127.0.0.1:$PORT) it signs with the
// local stack's key, WCBRIDGE_LOCAL_ACCESS_KEY_ID / WCBRIDGE_LOCAL_SECRET_ACCESS_KEY or their
// defaults. Deployed (-api or WCBRIDGE_API_URL: the stack's API URL with its stage, e.g.
// https://abc123.execute-api.eu-west-1.amazonaws.com/prod) it signs with the AWS SDK's default
// credential chain, in the region of the API's host name (else AWS_REGION). A URL signed with
// temporary credentials stops working when they expire, whatever -expires says.
//
// Only the URL goes to stdout; errors go to stderr with exit status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/report"
)

// emptyPayloadHash is SigV4's hash of an empty body: a GET's.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now))
}

// credentialSource gives the signing credentials of the default chain (replaced in tests).
var credentialSource = func(ctx context.Context) (aws.Credentials, string, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Credentials{}, "", err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	return creds, cfg.Region, err
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("report-url", flag.ContinueOnError)
	fs.SetOutput(stderr)
	date := fs.String("date", now().UTC().AddDate(0, 0, -1).Format("2006-01-02"), "the report's UTC date, YYYY-MM-DD (default yesterday)")
	format := fs.String("format", "html", "html, csv or json")
	expires := fs.Duration("expires", 15*time.Minute, "how long the URL works: 1s to 168h")
	api := fs.String("api", "", "the API's base URL with its stage (default $WCBRIDGE_API_URL, else http://127.0.0.1:$PORT)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	u, err := presign(ctx, options{date: *date, format: *format, expires: *expires, api: *api}, getenv, now())
	if err != nil {
		fmt.Fprintln(stderr, "report-url:", err)
		return 2
	}
	fmt.Fprintln(stdout, u)
	return 0
}

type options struct {
	date, format, api string
	expires           time.Duration
}

func presign(ctx context.Context, o options, getenv func(string) string, at time.Time) (string, error) {
	if _, err := report.ParseDate(o.date); err != nil {
		return "", errors.New("-date must be a calendar date, YYYY-MM-DD")
	}
	if _, err := report.ParseFormat(o.format); err != nil {
		return "", errors.New("-format must be html, csv or json")
	}
	if o.expires < time.Second || o.expires > 7*24*time.Hour || o.expires%time.Second != 0 {
		return "", errors.New("-expires must be whole seconds from 1s to 168h")
	}
	base := o.api
	if base == "" {
		base = getenv("WCBRIDGE_API_URL")
	}
	if base == "" {
		port := getenv("PORT")
		if port == "" {
			port = strconv.Itoa(devstack.DefaultAPIPort)
		}
		base = "http://127.0.0.1:" + port
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the API URL must be an absolute http(s) URL")
	}
	u.Path += "/reports/" + o.date
	u.RawQuery = url.Values{"format": {o.format}, "X-Amz-Expires": {strconv.Itoa(int(o.expires / time.Second))}}.Encode()

	creds, region, err := signer(ctx, u, getenv)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, emptyPayloadHash, "execute-api", region, at)
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	return signed, nil
}

// signer picks the key and region: the local stack's on a loopback API, else the default chain's.
func signer(ctx context.Context, u *url.URL, getenv func(string) string) (aws.Credentials, string, error) {
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		id, secret := getenv("WCBRIDGE_LOCAL_ACCESS_KEY_ID"), getenv("WCBRIDGE_LOCAL_SECRET_ACCESS_KEY")
		if id == "" && secret == "" {
			id, secret = devstack.DefaultAccessKeyID, devstack.DefaultSecretAccessKey
		}
		if id == "" || secret == "" {
			return aws.Credentials{}, "", errors.New("set both WCBRIDGE_LOCAL_ACCESS_KEY_ID and WCBRIDGE_LOCAL_SECRET_ACCESS_KEY, or neither")
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, samtemplate.Region, nil
	}
	creds, region, err := credentialSource(ctx)
	if err != nil {
		return aws.Credentials{}, "", fmt.Errorf("AWS credentials (the default chain): %w", err)
	}
	// <api-id>.execute-api.<region>.amazonaws.com names its region; a custom domain does not.
	if parts := strings.Split(u.Hostname(), "."); len(parts) >= 5 && parts[1] == "execute-api" {
		region = parts[2]
	}
	if region == "" {
		return aws.Credentials{}, "", errors.New("no region: set AWS_REGION (the API's host name does not name one)")
	}
	return creds, region, nil
}
