package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// actionCounter counts the action calls the suite made: each must leave one audit record.
type actionCounter struct{ calls atomic.Int64 }

// call is one answer of an IAM route.
type call struct {
	status     int
	code       string
	retryAfter string
	replayed   bool // Idempotent-Replayed: the stored answer of an earlier call with the same key
	body       []byte
	err        error
}

// callAction sends a SigV4-signed request (the local IAM caller's key) to an IAM route of the stack,
// as an AWS SDK caller would, and scans an error answer for PHI.
func (s *suite) callAction(ctx context.Context, method, path string, body []byte, idempotencyKey string) call {
	s.actions.calls.Add(1)
	req, err := http.NewRequestWithContext(ctx, method, s.stack.APIURL+path, bytes.NewReader(body))
	if err != nil {
		return call{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.stack.Options.AccessKeyID, SecretAccessKey: s.stack.Options.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", region, time.Now()); err != nil {
		return call{err: err}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return call{err: err}
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return call{err: err}
	}
	c := call{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: answer,
		replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if resp.StatusCode >= 400 {
		// A success answers the lead to the IAM caller who asked for it (PHI by design); an error
		// answer must hold none.
		s.phi.scan("action error answer", string(answer))
		c.code = errorCode(answer)
	}
	return c
}

// createLeadBody is a Create Lead request carrying synthetic PHI (canary n).
func createLeadBody(n int) []byte {
	return fmt.Appendf(nil, `{"profile_id": 1001, "lead_type": "web_form", "send_notification": false,
		"email_address": "canary-create%05d@phi-canary.example", "phone_number": "+1555010%04d",
		"caller_name": "Canary Patient %05d", "ip_address": "198.51.100.%d", "form_name": "Book a visit",
		"message": "Canary message %05d: asks about a knee replacement", "quote_value": 120.5}`, n, n%10_000, n, 1+n%254, n)
}

// wantCall fails unless the call was answered with status and, for an error, the contract's code.
func wantCall(t *testing.T, what string, c call, status int, code string) {
	t.Helper()
	if c.err != nil {
		t.Errorf("%s: no answer: %v", what, c.err)
		return
	}
	if c.status != status || c.code != code {
		t.Errorf("%s: %d %q, want %d %q", what, c.status, c.code, status, code)
	}
}
