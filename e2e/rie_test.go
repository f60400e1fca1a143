package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// requireEnv returns a variable's value, or skips the test (fails it under CI=true) without it.
func requireEnv(t *testing.T, name, why string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: " + why + "; run through `make test` (scripts/with-services.sh)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

// shippedFunctions reads the Makefile's FUNCTIONS, "the one list of functions": LogicalID:folder.
func shippedFunctions(t *testing.T, root string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FUNCTIONS\s*:=((?:.*\\\n)*.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Makefile has no FUNCTIONS := list")
	}
	out := map[string]string{}
	for _, f := range strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " ")) {
		id, dir, ok := strings.Cut(f, ":")
		if !ok {
			t.Fatalf("Makefile FUNCTIONS entry %q is not LogicalID:folder", f)
		}
		out[id] = dir
	}
	return out
}

// buildBootstraps builds the functions (LogicalID → folder) in one `go build`, which compiles their
// shared packages once and in parallel, with make build's flags but the host's GOARCH (the emulator
// runs the host's binaries). It returns each function's bootstrap path.
func buildBootstraps(t *testing.T, root string, fns map[string]string) map[string]string {
	t.Helper()
	out := t.TempDir()
	var pkgs []string
	for _, dir := range fns {
		pkgs = append(pkgs, "./functions/"+dir)
	}
	sort.Strings(pkgs)
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b)
	}
	t.Logf("built %d bootstraps in %s", len(pkgs), time.Since(start).Round(time.Millisecond))
	paths := map[string]string{}
	for id, dir := range fns {
		p := filepath.Join(out, id, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, dir), p); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err == nil {
			t.Logf("%s: bootstrap %.1f MiB", id, float64(fi.Size())/(1<<20))
		}
		paths[id] = p
	}
	return paths
}

// emulator is one function's bootstrap running under aws-lambda-rie.
type emulator struct {
	name string
	url  string // the invocations endpoint
	cmd  *exec.Cmd
	logs *testenv.Logs // the emulator's and the function's output
}

// startEmulator runs bootstrap under the emulator on a free loopback port with exactly env (plus
// the variables Lambda itself sets from the template: name and timeout), and stops it at the end
// of the test. Its output is logged when the test fails, and also goes to deliver unless it is nil
// (the function's local log group, as Lambda delivers a function's output).
func startEmulator(t *testing.T, rie, bootstrap string, fn *samtemplate.Function, env map[string]string, deliver io.Writer) *emulator {
	t.Helper()
	full := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":    fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(fn.Timeout / time.Second)),
	}
	for k, v := range env {
		full[k] = v
	}
	var list []string
	for k, v := range full {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and use
		// Its Runtime API (the bootstrap's side) defaults to 127.0.0.1:9001: one per emulator here.
		addr, runtimeAddr := freeAddr(t), freeAddr(t)
		e := &emulator{name: fn.LogicalID, url: "http://" + addr + "/2015-03-31/functions/function/invocations", logs: &testenv.Logs{}}
		e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, "./bootstrap")
		e.cmd.Dir = filepath.Dir(bootstrap)
		e.cmd.Env = list
		var out io.Writer = e.logs
		if deliver != nil {
			out = io.MultiWriter(e.logs, deliver)
		}
		e.cmd.Stdout, e.cmd.Stderr = out, out
		if err := e.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", rie, err)
		}
		exited := make(chan struct{})
		go func() { _ = e.cmd.Wait(); close(exited) }()
		if lastErr = waitListening(addr, exited); lastErr == nil {
			t.Cleanup(func() {
				_ = e.cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = e.cmd.Process.Kill()
					<-exited
				}
				if t.Failed() {
					t.Logf("%s under the emulator logged:\n%s", fn.LogicalID, e.logs.String())
				}
			})
			return e
		}
		_ = e.cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%w; its log:\n%s", lastErr, e.logs.String())
	}
	t.Fatalf("the emulator did not start for %s: %v", fn.LogicalID, lastErr)
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("the emulator exited at start")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after 15 s", addr)
}

// invoke sends one event and returns the function's result.
func (e *emulator) invoke(t *testing.T, event []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", e.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: the emulator answered %d: %s", e.name, resp.StatusCode, b)
	}
	return b
}

// apiResponse is a REST proxy integration's answer, its body decoded.
type apiResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// invokeAPI sends an API Gateway event and returns the status and decoded JSON body.
func (e *emulator) invokeAPI(t *testing.T, event []byte) (int, map[string]any) {
	t.Helper()
	raw := e.invoke(t, event)
	var r apiResponse
	if err := json.Unmarshal(raw, &r); err != nil || r.StatusCode == 0 {
		t.Fatalf("%s answered %s, not an API Gateway proxy response", e.name, raw)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("%s answered %d with a body that is not a JSON object: %s", e.name, r.StatusCode, r.Body)
	}
	return r.StatusCode, body
}

// readEvent reads events/<name>.json.
func readEvent(t *testing.T, root, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withQueryParam returns an API Gateway event with a query parameter replaced in both its forms.
func withQueryParam(t *testing.T, event []byte, name, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(event, &m); err != nil {
		t.Fatal(err)
	}
	m["queryStringParameters"].(map[string]any)[name] = value
	m["multiValueQueryStringParameters"].(map[string]any)[name] = []string{value}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queryParam reads a query parameter of an API Gateway event.
func queryParam(t *testing.T, event []byte, name string) string {
	t.Helper()
	var m struct {
		Query map[string]string `json:"queryStringParameters"`
	}
	if err := json.Unmarshal(event, &m); err != nil {
		t.Fatal(err)
	}
	return m.Query[name]
}

// phiOf collects the contact values of the events' bodies (names, emails, phones, IPs): none may
// appear in any function's output.
func phiOf(t *testing.T, events ...[]byte) []string {
	t.Helper()
	fields := []string{"contact_name", "caller_name", "sender_name", "email_address", "contact_email_address",
		"phone_number", "contact_phone_number", "ip_address", "caller_number"}
	var out []string
	for _, ev := range events {
		var e struct {
			Body *string `json:"body"`
		}
		if json.Unmarshal(ev, &e) != nil || e.Body == nil {
			continue
		}
		var body map[string]any
		if json.Unmarshal([]byte(*e.Body), &body) != nil {
			continue
		}
		for _, f := range fields {
			if s, ok := body[f].(string); ok && len(s) >= 5 {
				out = append(out, s)
			}
		}
	}
	return out
}

// jsonNumber reads a JSON number decoded either way (float64, or json.Number as the simulator keeps).
func jsonNumber(t *testing.T, v any) float64 {
	t.Helper()
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, err := n.Float64()
		if err == nil {
			return f
		}
	}
	t.Fatalf("%v is not a number", v)
	return 0
}
