package wcsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/wcsim"
)

// testNow is the simulator's "now" in tests: a fixed instant, so generated data never changes.
var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// seeded returns a seeded simulator at testNow, served by an httptest server.
func seeded(t *testing.T) (*wcsim.Sim, *httptest.Server) {
	t.Helper()
	s := wcsim.NewSeeded(wcsim.Options{Now: func() time.Time { return testNow }, Seed: 7})
	return s, serve(t, s)
}

func serve(t *testing.T, s *wcsim.Sim) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		s.SetFaults(wcsim.Faults{}) // free held requests before closing
		srv.Close()
	})
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorMessage decodes an {"error_message": "..."} body, failing unless that is its only field.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.body)
	}
	msg, ok := m["error_message"].(string)
	if !ok || msg == "" || len(m) != 1 {
		t.Fatalf(`error body is not {"error_message": "..."}: %s`, r.body)
	}
	return msg
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %.200s", err, r.body)
	}
	return m
}

type envelope struct {
	PageNumber   *int             `json:"page_number"`
	LeadsPerPage *int             `json:"leads_per_page"`
	TotalPages   *int             `json:"total_pages"`
	TotalLeads   *int             `json:"total_leads"`
	Leads        []map[string]any `json:"leads"`
}

func (r response) envelope(t *testing.T) envelope {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %.300s", r.status, r.body)
	}
	var e envelope
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		t.Fatalf("not a list envelope: %v: %.300s", err, r.body)
	}
	if e.PageNumber == nil || e.LeadsPerPage == nil || e.TotalPages == nil || e.TotalLeads == nil || e.Leads == nil {
		t.Fatalf("envelope misses a field: %.300s", r.body)
	}
	return e
}

// do sends a request with the key (a zero Key sends no Authorization header).
func do(t *testing.T, srv *httptest.Server, k wcsim.Key, method, path string, body io.Reader, contentType string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if k != (wcsim.Key{}) {
		req.SetBasicAuth(k.Token, k.Secret)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func get(t *testing.T, srv *httptest.Server, k wcsim.Key, path string) response {
	t.Helper()
	return do(t, srv, k, http.MethodGet, path, nil, "")
}

func postForm(t *testing.T, srv *httptest.Server, k wcsim.Key, path string, v url.Values) response {
	t.Helper()
	return do(t, srv, k, http.MethodPost, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

func postJSON(t *testing.T, srv *httptest.Server, k wcsim.Key, path string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, srv, k, http.MethodPost, path, bytes.NewReader(b), "application/json")
}

func postMultipart(t *testing.T, srv *httptest.Server, k wcsim.Key, path string, v url.Values) response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, vals := range v {
		for _, val := range vals {
			if err := mw.WriteField(name, val); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return do(t, srv, k, http.MethodPost, path, &b, mw.FormDataContentType())
}

// all lists every lead the key sees with the extra query (one page of 2500).
func all(t *testing.T, srv *httptest.Server, k wcsim.Key, query string) []map[string]any {
	t.Helper()
	e := get(t, srv, k, "/api/v1/leads?leads_per_page=2500&"+query).envelope(t)
	if *e.TotalLeads != len(e.Leads) {
		t.Fatalf("total_leads %d but %d leads on the only page", *e.TotalLeads, len(e.Leads))
	}
	return e.Leads
}

func leadID(t *testing.T, l map[string]any) int64 {
	t.Helper()
	f, ok := l["lead_id"].(float64)
	if !ok {
		t.Fatalf("lead_id is %T, want a number", l["lead_id"])
	}
	return int64(f)
}

func ids(t *testing.T, leads []map[string]any) []int64 {
	t.Helper()
	out := make([]int64, len(leads))
	for i, l := range leads {
		out[i] = leadID(t, l)
	}
	return out
}

func createdAt(t *testing.T, l map[string]any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, l["date_created"].(string))
	if err != nil {
		t.Fatalf("date_created: %v", err)
	}
	return ts
}

// waitFor polls cond until it holds (the test's own timeout bounds it).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 60000 {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// equalJSON compares two decoded JSON values.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
