package access

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Parameters reads Systems Manager parameters with GetParameter, the one SSM operation access control
// makes (the policy, the API's ID), over the SSM API's JSON protocol, signed with SigV4 by the SDK's
// signer under the function's credentials. It stands in for the SDK's SSM client, whose package (the
// generated schemas of some 150 operations and their package initialisation) is about 1.2 MB of every
// IAM route's binary and part of each of its cold starts, for a read per cold start and refresh.
//
// Like the SDK's client it retries a throttled, failed (5xx) or unanswered request, up to three
// attempts with jittered backoff; any other error is answered at once.
type Parameters struct {
	Credentials aws.CredentialsProvider
	Region      string
	Endpoint    string           // the local override ("http://127.0.0.1:5000"); "" for the region's own
	HTTP        aws.HTTPClient   // nil: the SDK's default client
	Now         func() time.Time // nil: time.Now (the signature's time)
}

// NewParameters reads parameters with the credentials and region of ac, at endpoint when it is set.
func NewParameters(ac aws.Config, endpoint string) *Parameters {
	return &Parameters{Credentials: ac.Credentials, Region: ac.Region, Endpoint: endpoint, HTTP: ac.HTTPClient}
}

// defaultHTTP is the SDK's default HTTP client (its transport built on first use), shared by every
// read so that a refresh reuses the cold start's connection.
var defaultHTTP aws.HTTPClient = awshttp.NewBuildableClient()

// maxParameterAnswer bounds a GetParameter answer: a parameter holds at most 8 KB (advanced tier),
// JSON-escaped at most six times as long, with its metadata.
const maxParameterAnswer = 64 << 10

const parameterAttempts = 3

// GetParameter returns the parameter's current value and version.
func (p *Parameters) GetParameter(ctx context.Context, name string) (string, int64, error) {
	body, err := json.Marshal(struct{ Name string }{name})
	if err != nil {
		return "", 0, err
	}
	var last error
	for attempt := range parameterAttempts {
		if attempt > 0 {
			// 50-100 ms, then 100-200 ms: within a cold start's budget, as the SDK's standard retries.
			d := time.Duration(50<<(attempt-1)) * time.Millisecond
			select {
			case <-ctx.Done():
				return "", 0, errors.Join(last, ctx.Err())
			case <-time.After(d + rand.N(d)):
			}
		}
		value, version, retry, err := p.getOnce(ctx, body)
		if err == nil {
			return value, version, nil
		}
		if last = err; !retry {
			break
		}
	}
	return "", 0, last
}

// getOnce makes one signed request; retry says whether its failure may pass on a second try.
func (p *Parameters) getOnce(ctx context.Context, body []byte) (value string, version int64, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint(), bytes.NewReader(body))
	if err != nil {
		return "", 0, false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	creds, err := p.Credentials.Retrieve(ctx)
	if err != nil {
		return "", 0, false, fmt.Errorf("ssm GetParameter: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", p.Region, now()); err != nil {
		return "", 0, false, fmt.Errorf("ssm GetParameter: sign: %w", err)
	}
	client := p.HTTP
	if client == nil {
		client = defaultHTTP
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, ctx.Err() == nil, fmt.Errorf("ssm GetParameter: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxParameterAnswer+1))
	switch {
	case err != nil:
		return "", 0, true, fmt.Errorf("ssm GetParameter: read the answer: %w", err)
	case len(answer) > maxParameterAnswer:
		return "", 0, false, errors.New("ssm GetParameter: the answer is larger than any parameter")
	case resp.StatusCode != http.StatusOK:
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(answer, &e)
		code := e.Type[strings.LastIndex(e.Type, "#")+1:]
		retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || strings.Contains(code, "Throttling")
		return "", 0, retry, fmt.Errorf("ssm GetParameter: %d %s: %s", resp.StatusCode, code, e.Message)
	}
	var out struct {
		Parameter *struct {
			Value   *string
			Version int64
		}
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		return "", 0, false, fmt.Errorf("ssm GetParameter: the answer is not the API's JSON: %w", err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", 0, false, errors.New("ssm GetParameter: the answer holds no value")
	}
	return *out.Parameter.Value, out.Parameter.Version, false, nil
}

// endpoint is the override, or the region's SSM endpoint (China's regions are under amazonaws.com.cn).
func (p *Parameters) endpoint() string {
	if p.Endpoint != "" {
		return strings.TrimSuffix(p.Endpoint, "/") + "/"
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(p.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://ssm." + p.Region + "." + domain + "/"
}
