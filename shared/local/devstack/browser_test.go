package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

// The report page in a real browser: headless Chromium, JavaScript off, loads the page the way a
// user does (make dev, invoke the report, make report-url, open the URL), and every request it makes
// goes through a loopback proxy that counts them. The page must render its charts from that one
// request, with no Content-Security-Policy violation. Two control pages first prove that the test
// would see an external request and a CSP violation if the page made one.
//
// WCBRIDGE_REPORT_SCREENSHOT=path saves the screenshot there too (docs/report-screenshot.png is made
// so).

// browser is headless Chromium with JavaScript off, every request through a counting proxy.
type browser struct {
	bin        string
	proxy      *countingProxy
	background map[string]bool // hosts Chromium contacts on its own, learnt from a page with nothing to load
}

// requireChromium finds Chromium, skipping without it (failing under CI=true, where .ci/run
// installs it).
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required under CI=true (.ci/run installs the Debian package)")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// countingProxy is the browser's HTTP proxy: it forwards requests for the allowed hosts and refuses
// every other, recording all of them.
type countingProxy struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []string // "METHOD host path"
	allowed map[string]bool
}

func newCountingProxy(t *testing.T) *countingProxy {
	p := &countingProxy{allowed: map[string]bool{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = "http", r.In.Host
		r.Out.Host = r.In.Host // the presigned URL signed this host
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if r.Method == http.MethodConnect {
			host = r.RequestURI
		}
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+host+" "+r.URL.Path)
		allowed := p.allowed[host]
		p.mu.Unlock()
		if !allowed || r.Method == http.MethodConnect {
			http.Error(w, "not allowed by the test", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) allow(rawURL string) {
	u, _ := url.Parse(rawURL)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allowed[u.Host] = true
}

// take returns the requests seen since the last take.
func (p *countingProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.seen
	p.seen = nil
	return s
}

// load opens rawURL in a fresh headless Chromium with JavaScript off; with screenshot set it saves
// one (width x height) instead of printing the DOM. It returns the DOM (or nothing), Chromium's log
// and the requests it made.
func (b *browser) load(t *testing.T, rawURL, screenshot string, width, height int) (dom, log string, requests []string) {
	t.Helper()
	dir := t.TempDir()
	// JavaScript off as a user turns it off: the profile's content setting (Chromium's
	// --blink-settings=scriptEnabled=false also stops --dump-dom and --screenshot from working).
	profile := filepath.Join(dir, "profile")
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o755); err != nil {
		t.Fatal(err)
	}
	prefs := `{"profile":{"default_content_setting_values":{"javascript":2}}}`
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
		"--proxy-server=" + b.proxy.URL, "--proxy-bypass-list=<-loopback>", // every request, loopback too, through the proxy
		"--enable-logging=stderr", "--v=0",
		// The browser's own background traffic (time, updates, metrics) is not the page's: off.
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
		"--disable-client-side-phishing-detection", "--disable-breakpad", "--no-pings", "--metrics-recording-only",
		"--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
		fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars",
	}
	if screenshot != "" {
		args = append(args, "--screenshot")
	} else {
		args = append(args, "--dump-dom")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, append(args, rawURL)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	b.proxy.take()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	if screenshot != "" {
		png, err := os.ReadFile(filepath.Join(dir, "screenshot.png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
		}
		if err := os.WriteFile(screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return stdout.String(), stderr.String(), b.proxy.take()
}

// cspViolation is how Chromium logs a Content-Security-Policy refusal to its console.
var cspViolation = regexp.MustCompile(`(?i)content security policy|refused to (load|apply|execute|connect|frame)`)

func TestTheReportPageInABrowser(t *testing.T) {
	b := &browser{bin: requireChromium(t)}
	b.proxy = newCountingProxy(t)

	t.Run("control: JavaScript is off", func(t *testing.T) {
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><link rel="icon" href="data:,"><p id="x">static</p><script>document.getElementById("x").textContent = "script ran"</script>`)
		}))
		defer page.Close()
		b.proxy.allow(page.URL)
		dom, _, requests := b.load(t, page.URL+"/", "", 800, 600)
		if !strings.Contains(dom, `<p id="x">static</p>`) || len(pageRequests(requests, page.URL)) != 1 {
			t.Fatalf("the script ran, or the page did not load (requests %v): %s", requests, dom)
		}
		b.learnBackground(requests, page.URL)
	})
	t.Run("control: an external image is a request the test sees", func(t *testing.T) {
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><link rel="icon" href="data:,"><p>control</p><img src="http://images.example.invalid/pixel.png">`)
		}))
		defer page.Close()
		b.proxy.allow(page.URL)
		_, _, requests := b.load(t, page.URL+"/", "", 800, 600)
		if others := b.beyond(requests, page.URL); len(others) != 1 || !strings.Contains(others[0], "images.example.invalid") {
			t.Fatalf("requests beyond the page %v: want the external image's alone", others)
		}
	})
	t.Run("control: a CSP violation is logged where the test looks", func(t *testing.T) {
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			fmt.Fprint(w, `<!doctype html><link rel="icon" href="data:,"><style>p{color:red}</style><p>control</p>`)
		}))
		defer page.Close()
		b.proxy.allow(page.URL)
		_, log, _ := b.load(t, page.URL+"/", "", 800, 600)
		if !cspViolation.MatchString(log) {
			t.Fatalf("no CSP violation in Chromium's log:\n%s", log)
		}
	})

	// As `make dev`, with the digest chain started before the trend's first day: the page says how
	// many of today's hours were verified so far.
	st := startStack(t, devstack.Options{DisableSchedules: true, ChainSince: time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)})
	b.proxy.allow(st.APIURL)
	// Some of the day's activity, so that every chart has something: webhooks accepted, redelivered
	// and refused; reads of leads (PHI reads and actions ok); a read of a lead that does not exist
	// (an action failed).
	ids := st.Sim.LeadIDs(1001)
	for i, id := range ids[:4] {
		for _, trigger := range []string{"new", "new", "update"}[:1+i%3] {
			if err := st.Sim.FireWebhook(id, trigger); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := do(t, st, http.MethodPost, st.APIURL+"/webhooks/whatconverts?token=not-the-token", []byte(`{}`), false); r.status != http.StatusUnauthorized {
		t.Fatalf("a wrong webhook token: %d", r.status)
	}
	for _, path := range []string{"/leads?profile_id=1001&max_items=5", "/leads?profile_id=1002&max_items=1", "/leads/999999999?profile_id=1001"} {
		do(t, st, http.MethodGet, st.APIURL+path, nil, true)
	}
	today := time.Now().UTC()
	var date string
	for back := 3; back >= 0; back-- { // the trend: the last four days, today last
		date = today.AddDate(0, 0, -back).Format("2006-01-02")
		invokeReport(t, st, date)
	}

	out, err := exec.Command("go", "run", "../../../scripts/report-url", "-api", st.APIURL, "-date", date).Output()
	if err != nil {
		t.Fatalf("report-url: %v", err)
	}
	pageURL := strings.TrimSpace(string(out))

	dom, log, requests := b.load(t, pageURL, "", 1000, 800)
	t.Run("one request: the page", func(t *testing.T) {
		own := pageRequests(requests, st.APIURL)
		if len(own) != 1 || !strings.HasPrefix(own[0], "GET "+strings.TrimPrefix(st.APIURL, "http://")+" /reports/"+date) {
			t.Fatalf("requests to the API %v, want the page's alone", own)
		}
		if others := b.beyond(requests, st.APIURL); len(others) != 0 {
			t.Fatalf("requests beyond the page: %v", others)
		}
	})
	t.Run("no CSP violation", func(t *testing.T) {
		for _, line := range strings.Split(log, "\n") {
			if cspViolation.MatchString(line) {
				t.Fatalf("Chromium logged: %s", line)
			}
		}
	})
	t.Run("the charts and their tables render", func(t *testing.T) {
		if n := strings.Count(dom, "<svg"); n != 7 {
			t.Errorf("%d charts in the DOM, want 7", n)
		}
		for _, s := range []string{"Leads by type", "Leads by source", "Webhooks", "Actions by outcome", "PHI reads by principal",
			"WhatConverts budget used", "Leads per day, 30 days", "Audit trail integrity", "wcbridge-local", "<rect class=\"ok\""} {
			if !strings.Contains(dom, s) {
				t.Errorf("the page lacks %q", s)
			}
		}
		if strings.Contains(dom, "<script") {
			t.Error("a script in the DOM")
		}
	})

	shot := filepath.Join(t.TempDir(), "report.png")
	_, log, requests = b.load(t, pageURL, shot, 1100, 2400)
	if len(pageRequests(requests, st.APIURL)) != 1 || len(b.beyond(requests, st.APIURL)) != 0 || cspViolation.MatchString(log) {
		t.Fatalf("the screenshot's load: requests %v, log %s", requests, log)
	}
	phone := filepath.Join(t.TempDir(), "phone.png")
	b.load(t, pageURL, phone, 390, 1600)
	if dst := os.Getenv("WCBRIDGE_REPORT_SCREENSHOT"); dst != "" {
		for src, to := range map[string]string{shot: dst, phone: strings.TrimSuffix(dst, ".png") + "-phone.png"} {
			png, _ := os.ReadFile(src)
			if err := os.WriteFile(to, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pageRequests are the requests to the page's own host.
func pageRequests(requests []string, pageURL string) []string {
	host := strings.TrimPrefix(pageURL, "http://")
	var out []string
	for _, r := range requests {
		if strings.Fields(r)[1] == host {
			out = append(out, r)
		}
	}
	return out
}

// learnBackground records the hosts Chromium itself contacts while it loads a page that refers to
// nothing (component updates, account checks): the browser's traffic, not a page's.
func (b *browser) learnBackground(requests []string, pageURL string) {
	if b.background == nil {
		b.background = map[string]bool{}
	}
	for _, r := range requests {
		if len(pageRequests([]string{r}, pageURL)) == 0 {
			b.background[strings.Fields(r)[1]] = true
		}
	}
}

// beyond are the requests to neither the page's host nor one of the browser's own.
func (b *browser) beyond(requests []string, pageURL string) []string {
	var out []string
	for _, r := range requests {
		if len(pageRequests([]string{r}, pageURL)) == 0 && !b.background[strings.Fields(r)[1]] {
			out = append(out, r)
		}
	}
	return out
}

// invokeReport runs the daily report of date through the Invoke API, as `aws lambda invoke` does.
func invokeReport(t *testing.T, st *devstack.Stack, date string) {
	t.Helper()
	resp, err := http.Post(st.LambdaURL+"/2015-03-31/functions/DailyReportFunction/invocations", "application/json",
		strings.NewReader(`{"date": "`+date+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var result map[string]any
	if err := json.Unmarshal(body, &result); err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || result["date"] != date {
		t.Fatalf("report of %s: %d %s", date, resp.StatusCode, body)
	}
}
