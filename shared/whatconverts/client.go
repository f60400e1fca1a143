package whatconverts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wcbridge/wcbridge/shared/budget"
)

// Daily request limits WhatConverts sets per key kind.
const (
	ProfileKeyDailyLimit int64 = 1_000
	MasterKeyDailyLimit  int64 = 10_000
)

// maxResponseBytes bounds a response read into memory: a page of 2,500 leads is a few MB.
const maxResponseBytes = 256 << 20

// Budget spends one unit of a key's daily request budget, refusing (with an error matching
// budget.ErrExhausted) once limit units are spent. *budget.Store implements it.
type Budget interface {
	Spend(ctx context.Context, keyID string, limit int64) (used int64, err error)
}

var _ Budget = (*budget.Store)(nil)

// RetryPolicy says how failed attempts are retried: up to Retries more attempts, waiting a random time
// between 0 and min(Cap, Base·2^(n-1)) before retry n ("full jitter"). Each attempt is cut after
// AttemptTimeout, or at the context's deadline if that comes first; no retry starts that the deadline
// would cut.
type RetryPolicy struct {
	Retries        int
	Base           time.Duration
	Cap            time.Duration
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy is 3 retries, base 200 ms, cap 2 s, 15 s per attempt (a page of 2,500 leads can take
// seconds; API Gateway gives a function 29 s, room for a slow attempt and a retry).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Retries: 3, Base: 200 * time.Millisecond, Cap: 2 * time.Second, AttemptTimeout: 15 * time.Second}
}

// Client calls the WhatConverts API. It is safe for concurrent use; build one per process.
type Client struct {
	base         string
	http         *http.Client
	budget       Budget
	retry        RetryPolicy
	limiter      *Limiter
	profileLimit int64
	masterLimit  int64
	requests     atomic.Int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (its Timeout should be 0: the client sets per-attempt deadlines).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithBudget spends b before every request (nil, the default, tracks no budget).
func WithBudget(b Budget) Option { return func(c *Client) { c.budget = b } }

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithLimiter sets the in-flight limiter (default: the process-wide one, MaxInFlight per key).
func WithLimiter(l *Limiter) Option { return func(c *Client) { c.limiter = l } }

// WithDailyLimits sets the budget limits this client spends against, per key kind (defaults
// ProfileKeyDailyLimit and MasterKeyDailyLimit). A caller that may spend only a share of a key's day, such
// as the daily report, passes its share: it stops there, and the rest stays for the others.
func WithDailyLimits(profileKey, masterKey int64) Option {
	return func(c *Client) { c.profileLimit, c.masterLimit = profileKey, masterKey }
}

// New returns a client for the API at baseURL, e.g. "https://app.whatconverts.com/api/v1".
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:         strings.TrimRight(baseURL, "/"),
		retry:        DefaultRetryPolicy(),
		limiter:      sharedLimiter,
		profileLimit: ProfileKeyDailyLimit,
		masterLimit:  MasterKeyDailyLimit,
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.limiter == nil {
		c.limiter = sharedLimiter
	}
	return c
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxInFlight // keep a connection per slot instead of redialling
	return &http.Client{
		Transport: t,
		// A redirect is not part of the API; following one could carry the key elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Requests is how many HTTP requests this client has sent (retries included): what WhatConverts counts.
func (c *Client) Requests() int64 { return c.requests.Load() }

// call is one logical API call.
type call struct {
	op     string
	method string
	path   string
	query  url.Values
	form   url.Values
	create bool // not idempotent: retried only where WhatConverts cannot have applied it
	lead   bool // names a lead: 404 and "Invalid lead ID." mean not found
}

// do runs c with retries and returns the body of a 2xx answer.
func (c *Client) do(ctx context.Context, k KeyFor, r call) ([]byte, error) {
	if k.Key.Token == "" || k.Key.Secret == "" {
		return nil, &Error{Kind: KindUnauthorized, Op: r.op, final: true}
	}
	keyID := k.Key.ID()
	sent := 0
	for attempt := 1; ; attempt++ {
		body, didSend, e := c.attempt(ctx, k, keyID, r)
		if didSend {
			sent++
		}
		if e == nil {
			return body, nil
		}
		e.Op = r.op
		e.Attempts = sent
		if attempt > c.retry.Retries || !retryable(e, r) {
			return nil, e
		}
		wait, ok := c.backoff(attempt, e)
		if !ok || !sleep(ctx, wait) {
			return nil, e
		}
	}
}

func retryable(e *Error, r call) bool {
	if e.final {
		return false
	}
	switch e.Kind {
	case KindRateLimited:
		return true // refused before processing: safe even for a create
	case KindServer:
		return !r.create
	case KindTimeout, KindNetwork:
		return !r.create || !e.written
	}
	return false
}

// backoff is the wait before retry n (n ≥ 1); ok is false when a Retry-After exceeds the policy's cap.
func (c *Client) backoff(n int, e *Error) (time.Duration, bool) {
	ceil := min(c.retry.Base, c.retry.Cap)
	for i := 1; i < n && ceil < c.retry.Cap; i++ {
		ceil = min(2*ceil, c.retry.Cap) // doubling stops at the cap, so it cannot overflow
	}
	var wait time.Duration
	if ceil > 0 {
		wait = time.Duration(rand.Int64N(int64(ceil) + 1))
	}
	if e.RetryAfter > 0 {
		if e.RetryAfter > c.retry.Cap {
			return 0, false
		}
		wait = max(wait, e.RetryAfter)
	}
	return wait, true
}

// sleep waits d unless ctx ends first, or its deadline falls before d is over (then waiting is useless).
func sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt makes one request: a slot of the key's in-flight limit, a unit of its budget, then HTTP.
// sent says the request went out (WhatConverts counts it).
func (c *Client) attempt(ctx context.Context, k KeyFor, keyID string, r call) (body []byte, sent bool, e *Error) {
	release, err := c.limiter.Acquire(ctx, keyID)
	if err != nil {
		return nil, false, contextError(err)
	}
	defer release()

	if c.budget != nil {
		limit := c.profileLimit
		if k.Master {
			limit = c.masterLimit
		}
		if _, err := c.budget.Spend(ctx, keyID, limit); err != nil {
			return nil, false, budgetError(ctx, err)
		}
	}

	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout(ctx))
	defer cancel()
	// Whether the request was completely written decides if a failed create may be retried. Without
	// evidence that the transport reports it (GetConn), assume it was written.
	var traced, written atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GetConn: func(string) { traced.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Store(true)
			}
		},
	})
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var reqBody io.Reader
	if r.form != nil {
		reqBody = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, reqBody)
	if err != nil {
		// Only a malformed base URL gets here (a configuration error); the URL itself is not repeated.
		return nil, false, &Error{Kind: KindUnknown, final: true, err: errors.New("the base URL is not a valid URL")}
	}
	req.SetBasicAuth(k.Key.Token, k.Key.Secret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wcbridge")
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}

	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, true, transportError(ctx, actx, err, written.Load() || !traced.Load())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, true, transportError(ctx, actx, err, true)
	}
	if len(b) > maxResponseBytes {
		return nil, true, &Error{Kind: KindDecode, Status: resp.StatusCode, written: true, final: true}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return b, true, nil
	}
	return nil, true, statusError(resp, b, r)
}

// attemptTimeout is the policy's per-attempt timeout, or the time left before ctx's deadline if shorter.
func (c *Client) attemptTimeout(ctx context.Context) time.Duration {
	d := c.retry.AttemptTimeout
	if d <= 0 {
		d = DefaultRetryPolicy().AttemptTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return d
}

func contextError(err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, final: true, err: err}
	}
	return &Error{Kind: KindCanceled, final: true, err: err}
}

func budgetError(ctx context.Context, err error) *Error {
	var ex *budget.ExhaustedError
	if errors.As(err, &ex) {
		return &Error{Kind: KindBudgetExhausted, RetryAfter: ex.RetryAfter, final: true, err: err}
	}
	if errors.Is(err, budget.ErrExhausted) {
		return &Error{Kind: KindBudgetExhausted, RetryAfter: budget.UntilReset(time.Now()), final: true, err: err}
	}
	if ctx.Err() != nil {
		return contextError(ctx.Err())
	}
	// The budget could not be read: do not call WhatConverts blind.
	return &Error{Kind: KindUnknown, final: true, err: err}
}

// transportError classifies a request that got no complete answer. *url.Error is dropped: it quotes the
// URL, query string included.
func transportError(ctx, actx context.Context, err error, written bool) *Error {
	if ctx.Err() != nil {
		e := contextError(ctx.Err())
		e.written = written
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, written: written, err: context.DeadlineExceeded}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, written: written, err: err}
	}
	return &Error{Kind: KindNetwork, written: written, err: err}
}

// statusError classifies a non-2xx answer. WhatConverts' error_message is read to recognise an unknown lead
// and then dropped.
func statusError(resp *http.Response, body []byte, r call) *Error {
	e := &Error{Status: resp.StatusCode, written: true}
	msg := strings.ToLower(errorMessage(body))
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = KindUnauthorized
	case s == http.StatusNotFound && r.lead:
		e.Kind = KindNotFound
	case s == http.StatusBadRequest && r.lead && leadMissing(msg):
		e.Kind = KindNotFound
	case s == http.StatusRequestTimeout:
		e.Kind = KindTimeout
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		// Retried like any 429, whatever its message says: WhatConverts does not document its 429
		// texts, so which limit answered is not read from them. The daily quota is the budget
		// counter's to decide, before the call (KindBudgetExhausted).
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	case s >= 500:
		e.Kind = KindServer
	default:
		e.Kind = KindBadRequest
	}
	return e
}

// errorInBody classifies a 2xx answer that holds only WhatConverts' error envelope.
func errorInBody(status int, msg string, r call) *Error {
	e := &Error{Status: status, written: true, final: true}
	switch m := strings.ToLower(msg); {
	case r.lead && leadMissing(m):
		e.Kind = KindNotFound
	case strings.Contains(m, "authentication"):
		e.Kind = KindUnauthorized
	default:
		e.Kind = KindBadRequest
	}
	return e
}

func leadMissing(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "invalid lead") || strings.Contains(lowerMsg, "not found") ||
		strings.Contains(lowerMsg, "does not exist")
}

func errorMessage(body []byte) string {
	var env struct {
		ErrorMessage json.RawMessage `json:"error_message"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	return asString(env.ErrorMessage)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
