package reliability

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// faultMode is what the proxy does to a request it injects a fault into.
type faultMode int

const (
	faultNone faultMode = iota
	// fault500 answers 500 with the service's internal error, without forwarding.
	fault500
	// faultThrottle answers 400 with the service's throttling error, without forwarding.
	faultThrottle
	// faultRefuse closes the connection without an answer (the service is unreachable).
	faultRefuse
	// faultLostAnswer forwards the request (it takes effect) and answers 500: the answer was lost.
	faultLostAnswer
	// faultHang holds the request, unanswered and not forwarded, until the client gives up.
	faultHang
)

func (m faultMode) String() string {
	return [...]string{"none", "500", "throttle", "refuse", "lost-answer", "hang"}[m]
}

// fault is the proxy's injected failure: mode, on which operations (X-Amz-Target's operation name,
// e.g. "PutItem"; none = every operation), and on every nth matching request (1 = all of them).
type fault struct {
	mode  faultMode
	ops   []string
	every int
	typ   string // the error's __type, when not the service's default for the mode
}

// faultProxy is an HTTP proxy in front of an AWS JSON-protocol service (dynalite, local-kms) that
// injects faults into the requests that match. The SDK clients of the stack under test point at it,
// so what they see is what they would see of the service failing. Safe for concurrent use.
type faultProxy struct {
	name      string // for messages
	throttle  string // the service's throttling error type
	internal  string // the service's internal error type
	srv       *httptest.Server
	rp        *httputil.ReverseProxy
	mu        sync.Mutex
	f         fault
	seen      int // matching requests since the fault was set
	injected  atomic.Int64
	forwarded atomic.Int64
}

func newFaultProxy(name, target, throttle, internal string) (*faultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("%s proxy: %w", name, err)
	}
	p := &faultProxy{name: name, throttle: throttle, internal: internal, rp: httputil.NewSingleHostReverseProxy(u)}
	p.srv = httptest.NewServer(p)
	return p, nil
}

// URL is where the stack's clients should point.
func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) Close() { p.srv.Close() }

// set replaces the fault (faultNone clears it).
func (p *faultProxy) set(f fault) {
	if f.every <= 0 {
		f.every = 1
	}
	p.mu.Lock()
	p.f, p.seen = f, 0
	p.mu.Unlock()
}

func (p *faultProxy) clear() { p.set(fault{}) }

// pick decides whether this request gets the fault, and which mode.
func (p *faultProxy) pick(op string) faultMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f.mode == faultNone {
		return faultNone
	}
	if len(p.f.ops) > 0 {
		match := false
		for _, o := range p.f.ops {
			match = match || o == op
		}
		if !match {
			return faultNone
		}
	}
	p.seen++
	if p.seen%p.f.every != 0 {
		return faultNone
	}
	return p.f.mode
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	mode := p.pick(op)
	switch mode {
	case faultNone:
		p.forwarded.Add(1)
		p.rp.ServeHTTP(w, r)
		return
	case faultLostAnswer:
		p.forwarded.Add(1)
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
	case faultHang:
		p.injected.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done() // the client's deadline, or its connection closed
		return
	default:
		_, _ = io.Copy(io.Discard, r.Body)
	}
	p.injected.Add(1)
	p.mu.Lock()
	typ := p.f.typ
	p.mu.Unlock()
	switch mode {
	case faultThrottle:
		awsError(w, http.StatusBadRequest, or(typ, p.throttle), "injected: rate of requests exceeds the allowed throughput")
	case faultRefuse:
		// As an unreachable endpoint looks to a client: the connection ends without an answer.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		awsError(w, http.StatusServiceUnavailable, p.internal, "injected: unavailable")
	default:
		awsError(w, http.StatusInternalServerError, or(typ, p.internal), "injected: internal server error")
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// awsError answers in the AWS JSON protocol's error shape.
func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
}
