package wcsim

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Limits of the real API, as WhatConverts documents them, enforced by the simulator.
const (
	ProfileKeyDailyQuota  = 1000  // requests per UTC day for a profile key
	MasterKeyDailyQuota   = 10000 // requests per UTC day for a master (agency) key
	MaxConcurrentRequests = 20    // requests of one key in flight at once; the 21st is refused
	DefaultLeadsPerPage   = 25
	MaxLeadsPerPage       = 2500
	MaxDateRangeDays      = 400 // largest start_date..end_date span of GET /leads
)

// Options configures a Sim.
type Options struct {
	// Now is the simulator's clock: lead timestamps, the generated leads' window and the daily quota's
	// UTC day all follow it. nil means time.Now.
	Now func() time.Time
	// Seed drives every generated value. Two sims built with the same Seed and the same clock hold the
	// same data.
	Seed int64
}

// Profile is a WhatConverts profile (a tracked business); every lead belongs to one.
type Profile struct {
	ID, AccountID int64
	Name          string
}

// Key is an API key pair: the token is the Basic-auth user name, the secret the password.
type Key struct {
	Token, Secret string
}

// Faults are failures injected into API requests, for testing clients. SetFaults replaces them.
type Faults struct {
	// Latency is added to every request (after authentication, while it counts as in flight).
	Latency time.Duration
	// Fail5xx makes the next N requests answer FailStatus.
	Fail5xx int
	// FailStatus is the status of the Fail5xx answers: 500, 502, 503 or 504; 0 means 503.
	FailStatus int
	// Force429 makes the next N requests answer 429, as when WhatConverts throttles. Counted down before Fail5xx.
	Force429 int
	// Hang holds every request until its context ends (the client gives up) or SetFaults is called again.
	Hang bool
}

// Sim is a WhatConverts API v1 simulator: an http.Handler serving under /api/v1, plus methods to
// populate it, inject faults, count requests and emit webhooks. It is safe for concurrent use.
type Sim struct {
	now func() time.Time

	mu          sync.Mutex
	rng         *rand.Rand
	accounts    map[int64]string // account names
	profiles    map[int64]*profile
	keys        map[string]*apiKey
	leads       map[int64]*lead
	ordered     []*lead // by (created, id), ascending
	nextLeadID  int64
	nextPatient int
	notified    map[int64]bool
	unknownLead int // status for an unknown lead id

	faults  Faults
	release chan struct{} // closed when the faults are replaced, to free held requests

	requests int
	byToken  map[string]int
	log      []LoggedRequest
	inFlight map[string]int
	usage    map[string]usage
	quota    map[string]int // per-token overrides of the daily quota

	hooks *emitter
}

type profile struct {
	Profile
	patients []int          // synthetic patients who contacted this profile, for repeat leads
	visitors map[int]string // patient → user_id, so a returning patient keeps its visitor id
}

type apiKey struct {
	Key
	master    bool
	profileID int64          // profile key: its profile
	accounts  map[int64]bool // master key: its accounts
}

type usage struct {
	day  string
	used int
}

// firstLeadID is where lead ids start; real ids are large integers.
const firstLeadID = 9000001

// New returns an empty simulator: no profiles, no keys, no leads.
func New(opts Options) *Sim {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Sim{
		now:         now,
		rng:         rand.New(rand.NewPCG(uint64(opts.Seed), 0x77632d73696d)),
		accounts:    map[int64]string{},
		profiles:    map[int64]*profile{},
		keys:        map[string]*apiKey{},
		leads:       map[int64]*lead{},
		nextLeadID:  firstLeadID,
		notified:    map[int64]bool{},
		unknownLead: http.StatusBadRequest,
		release:     make(chan struct{}),
		byToken:     map[string]int{},
		inFlight:    map[string]int{},
		usage:       map[string]usage{},
		quota:       map[string]int{},
		hooks:       newEmitter(),
	}
}

// SetAccountName names an account (the "account" field of its leads). Unnamed accounts are called
// "Account <id>".
func (s *Sim) SetAccountName(accountID int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[accountID] = name
}

// AddProfile adds a profile, or renames it if it exists.
func (s *Sim) AddProfile(p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.profiles[p.ID]; ok {
		old.Profile = p
		return
	}
	s.profiles[p.ID] = &profile{Profile: p, visitors: map[int]string{}}
}

// AddProfileKey adds a profile key: it sees and creates leads of that profile only. It panics if the
// profile was not added.
func (s *Sim) AddProfileKey(profileID int64, k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProfileLocked(profileID)
	s.keys[k.Token] = &apiKey{Key: k, profileID: profileID}
}

// AddMasterKey adds a master (agency) key for an account: it sees every profile of that account,
// including profiles added later. Adding the same key again for another account widens its scope.
func (s *Sim) AddMasterKey(accountID int64, k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[k.Token]; ok && old.master && old.Secret == k.Secret {
		old.accounts[accountID] = true
		return
	}
	s.keys[k.Token] = &apiKey{Key: k, master: true, accounts: map[int64]bool{accountID: true}}
}

// SetDailyQuota overrides the daily quota of a key (to exercise quota handling without a thousand
// requests); n <= 0 restores the documented quota.
func (s *Sim) SetDailyQuota(token string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.quota, token)
		return
	}
	s.quota[token] = n
}

// QuotaUsed is how many requests of the key counted against its quota on the sim's current UTC day.
func (s *Sim) QuotaUsed(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.usage[token]
	if u.day != s.dayLocked() {
		return 0
	}
	return u.used
}

// SetUnknownLeadStatus chooses how GET/POST /leads/{id} answers an unknown or foreign lead:
// 400 {"error_message":"Invalid lead ID."} (the default) or 404 {"error_message":"Lead not found."}.
// The real status is undocumented; a client should handle both.
func (s *Sim) SetUnknownLeadStatus(status int) {
	if status != http.StatusBadRequest && status != http.StatusNotFound {
		panic(fmt.Sprintf("wcsim: unknown-lead status must be 400 or 404, got %d", status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unknownLead = status
}

// SetFaults replaces the injected faults. It also frees every request held by the previous Latency
// or Hang: those go on to be answered normally. It panics on a FailStatus other than 0, 500, 502,
// 503 or 504.
func (s *Sim) SetFaults(f Faults) {
	switch f.FailStatus {
	case 0, 500, 502, 503, 504:
	default:
		panic(fmt.Sprintf("wcsim: FailStatus must be 500, 502, 503 or 504, got %d", f.FailStatus))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	close(s.release)
	s.release = make(chan struct{})
}

// Faults returns the faults in force, with the remaining Fail5xx and Force429 counts.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Requests is the number of requests received, whatever their answer (refused, failed, 404 included).
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// RequestsByToken is the number of requests received with this token as Basic-auth user name,
// whatever their answer (a wrong secret included).
func (s *Sim) RequestsByToken(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byToken[token]
}

// InFlight is the number of requests of the key being served right now (held by Latency or Hang
// included). Tests use it to wait for requests to arrive without timing assumptions.
func (s *Sim) InFlight(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[token]
}

// LoggedRequest is a request as the simulator received it: what a client sent, for tests that check
// its parameters (the real API's reading of them is what the evidence is about).
type LoggedRequest struct {
	Method string
	Path   string     // as received, /api/v1 included
	Query  url.Values // the query string's parameters
	Form   url.Values // a form-encoded body's parameters; nil for any other body
}

// requestLogSize bounds RequestLog, so that a long make dev session does not grow without end.
const requestLogSize = 10_000

// RequestLog is the requests received since the start (or ResetCounters), oldest first: at least the
// last requestLogSize/2 of them.
func (s *Sim) RequestLog() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoggedRequest(nil), s.log...)
}

// ResetCounters zeroes Requests and RequestsByToken and empties RequestLog (not the daily quota).
func (s *Sim) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = 0
	s.byToken = map[string]int{}
	s.log = nil
}

// ServeHTTP serves the API under /api/v1: a client's base URL is server.URL + "/api/v1".
//
// A request goes through, in order: counting; routing (unknown path → 404 HTML); authentication
// (401); the key's concurrency limit (429); injected Latency and Hang; injected 429 and 5xx; the
// key's daily quota (429); the resource.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count(r)

	rt, id := matchRoute(r.Method, r.URL.Path)
	if rt == routeNone {
		writeNotFoundPage(w)
		return
	}

	k, msg := s.authenticate(r)
	if k == nil {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}

	if !s.acquire(k) {
		writeError(w, http.StatusTooManyRequests, msgTooManyConcurrent)
		return
	}
	defer s.releaseSlot(k)

	if !s.applyFaults(w, r) {
		return
	}
	if !s.spendQuota(k) {
		writeError(w, http.StatusTooManyRequests, msgQuotaExceeded)
		return
	}

	switch rt {
	case routeListLeads:
		s.handleList(w, r, k)
	case routeGetLead:
		s.handleGet(w, r, k, id)
	case routeCreateLead:
		s.handleCreate(w, r, k)
	case routeEditLead:
		s.handleEdit(w, r, k, id)
	}
}

func (s *Sim) count(r *http.Request) {
	token, _, ok := r.BasicAuth()
	logged := LoggedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" && r.Body != nil {
		// Read for the log, then put back for the handler.
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		r.Body = io.NopCloser(bytes.NewReader(body))
		logged.Form, _ = url.ParseQuery(string(body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if len(s.log) == requestLogSize { // drop the older half: amortised O(1) per request
		s.log = append(s.log[:0], s.log[requestLogSize/2:]...)
	}
	s.log = append(s.log, logged)
	if ok {
		s.byToken[token]++
	}
}

// authenticate returns the request's key, or nil and the documented 401 message.
func (s *Sim) authenticate(r *http.Request) (*apiKey, string) {
	h := r.Header.Get("Authorization")
	if len(h) < len("Basic ") || !strings.EqualFold(h[:len("Basic ")], "Basic ") {
		return nil, msgAuthNotProvided
	}
	token, secret, ok := r.BasicAuth()
	if !ok {
		return nil, msgAuthFailed
	}
	s.mu.Lock()
	k := s.keys[token]
	s.mu.Unlock()
	if k == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(k.Secret)) != 1 {
		return nil, msgAuthFailed
	}
	return k, ""
}

func (s *Sim) acquire(k *apiKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[k.Token] >= MaxConcurrentRequests {
		return false
	}
	s.inFlight[k.Token]++
	return true
}

func (s *Sim) releaseSlot(k *apiKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[k.Token]--
}

// applyFaults applies the injected faults. It reports whether the request should go on; when it
// should not, it has answered it (or the client is gone).
func (s *Sim) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f, release := s.faults, s.release
	s.mu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-release:
			t.Stop()
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if f.Hang {
		select {
		case <-release:
		case <-r.Context().Done():
			return false
		}
	}

	s.mu.Lock()
	status := 0
	switch {
	case s.faults.Force429 > 0:
		s.faults.Force429--
		status = http.StatusTooManyRequests
	case s.faults.Fail5xx > 0:
		s.faults.Fail5xx--
		status = s.faults.FailStatus
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
	}
	s.mu.Unlock()

	switch status {
	case 0:
		return true
	case http.StatusTooManyRequests:
		writeError(w, status, msgRateLimited)
	case http.StatusInternalServerError:
		writeError(w, status, msgServerError)
	default:
		writeGatewayPage(w, status)
	}
	return false
}

func (s *Sim) dayLocked() string {
	return s.now().UTC().Format(time.DateOnly)
}

func (s *Sim) spendQuota(k *apiKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit, ok := s.quota[k.Token]
	if !ok {
		limit = ProfileKeyDailyQuota
		if k.master {
			limit = MasterKeyDailyQuota
		}
	}
	day := s.dayLocked()
	u := s.usage[k.Token]
	if u.day != day {
		u = usage{day: day}
	}
	if u.used >= limit {
		s.usage[k.Token] = u
		return false
	}
	u.used++
	s.usage[k.Token] = u
	return true
}

// canSee reports whether the key may see leads of the profile.
func (s *Sim) canSeeLocked(k *apiKey, profileID int64) bool {
	if !k.master {
		return k.profileID == profileID
	}
	p, ok := s.profiles[profileID]
	return ok && k.accounts[p.AccountID]
}

func (s *Sim) mustProfileLocked(profileID int64) *profile {
	p, ok := s.profiles[profileID]
	if !ok {
		panic(fmt.Sprintf("wcsim: profile %d was not added", profileID))
	}
	return p
}

func (s *Sim) accountNameLocked(accountID int64) string {
	if n, ok := s.accounts[accountID]; ok {
		return n
	}
	return fmt.Sprintf("Account %d", accountID)
}
