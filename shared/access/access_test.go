package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	crmRole    = "arn:aws:iam::123456789012:role/crm-sync"
	crmSession = "arn:aws:sts::123456789012:assumed-role/crm-sync/i-0abc123"
	operator   = "arn:aws:iam::123456789012:role/wcbridge-operator"
	localUser  = "arn:aws:iam::123456789012:user/wcbridge-local"
	stranger   = "arn:aws:iam::123456789012:user/someone-else"
)

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("cedar", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// examplesPolicy is both shipped examples in one document, as an operator would deploy them.
func examplesPolicy(t *testing.T) []byte {
	return append(readExample(t, "integration-read-1001.cedar"), readExample(t, "operator.cedar")...)
}

func static(t *testing.T, text []byte) *Authorizer {
	t.Helper()
	a := New(context.Background(), BuiltinSource{Text: text}, Options{Logger: discard()})
	if v, _ := a.Version(); v == "" {
		t.Fatal("the test's policy was refused")
	}
	return a
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestShippedPoliciesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("cedar", "examples", "*.cedar"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want the shipped examples, got %v %v", files, err)
	}
	files = append(files, filepath.Join("cedar", "local.cedar"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePolicy(f, b, "file")
			if err != nil {
				t.Fatalf("a shipped policy must validate against the schema: %v", err)
			}
			if p.Statements == 0 {
				t.Fatal("a shipped example that permits nothing shows nothing")
			}
		})
	}
	if !bytes.Equal(LocalPolicy, must(os.ReadFile(filepath.Join("cedar", "local.cedar")))) {
		t.Fatal("LocalPolicy is not cedar/local.cedar")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The shipped examples decide as their comments say: the integration may only read profile 1001,
// the operator may do everything, anyone else nothing.
func TestExamplePoliciesDecide(t *testing.T) {
	a := static(t, examplesPolicy(t))
	tests := []struct {
		name      string
		principal string
		action    string
		profile   int64
		want      bool
	}{
		{"integration reads its profile's leads", crmRole, ActionGetLeads, 1001, true},
		{"integration reads one lead of its profile", crmRole, ActionGetLead, 1001, true},
		{"a session of the integration's role is the role", crmSession, ActionGetLead, 1001, true},
		{"integration may not read another profile", crmRole, ActionGetLeads, 1002, false},
		{"integration may not create", crmRole, ActionCreateLead, 1001, false},
		{"integration may not update", crmRole, ActionUpdateLead, 1001, false},
		{"integration may not see samples", crmRole, ActionTriggerSamples, 1001, false},
		{"integration may not read reports", crmRole, ActionGetReport, 1001, false},
		{"integration may not replay", crmRole, ActionReplay, 1001, false},
		{"operator creates anywhere", operator, ActionCreateLead, 1002, true},
		{"operator replays", operator, ActionReplay, 77, true},
		{"operator reads reports", operator, ActionGetReport, 1001, true},
		{"a stranger may do nothing", stranger, ActionGetLeads, 1001, false},
		{"the local user is not granted by the examples", localUser, ActionGetLeads, 1001, false},
		{"a role's session in another account is not the role", "arn:aws:sts::999999999999:assumed-role/crm-sync/x", ActionGetLeads, 1001, false},
		{"a user named like the role is not the role", "arn:aws:iam::123456789012:user/crm-sync", ActionGetLeads, 1001, false},
		{"a principal that tries to inject Cedar is data", crmRole + `", action, resource); permit(principal`, ActionGetLeads, 1001, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, version, err := a.Authorize(context.Background(), tt.principal, tt.action, tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Authorize(%s, %s, %d) = %v, want %v", tt.principal, tt.action, tt.profile, got, tt.want)
			}
			if !strings.HasPrefix(version, "builtin@sha256:") {
				t.Fatalf("version %q does not name the policy", version)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	tests := []struct{ in, want string }{
		{crmSession, crmRole},
		{"arn:aws-us-gov:sts::123456789012:assumed-role/r/s", "arn:aws-us-gov:iam::123456789012:role/r"},
		{"arn:aws:sts::123456789012:assumed-role/r/session/with/slashes", "arn:aws:iam::123456789012:role/r"},
		{"arn:aws:iam::123456789012:user/path/alice", "arn:aws:iam::123456789012:user/path/alice"},
		{"arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:role/r"},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"},
		{"arn:aws:sts::123456789012:federated-user/bob", "arn:aws:sts::123456789012:federated-user/bob"},
		// Malformed session ARNs are left as they are (no policy names them), never widened to a role.
		{"arn:aws:sts::123456789012:assumed-role/r", "arn:aws:sts::123456789012:assumed-role/r"},
		{"arn:aws:sts::123456789012:assumed-role//s", "arn:aws:sts::123456789012:assumed-role//s"},
		{"arn:aws:sts:::assumed-role/r/s", "arn:aws:sts:::assumed-role/r/s"},
		{"arn:aws:sts:us-east-1:123456789012:assumed-role/r/s", "arn:aws:sts:us-east-1:123456789012:assumed-role/r/s"},
		{"not-an-arn", "not-an-arn"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Principal(tt.in); got != tt.want {
				t.Fatalf("Principal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	tests := []struct {
		name, text string
	}{
		{"syntax error", `permit(principal, action, resource`},
		{"an entity type outside the schema", `permit(principal == User::"alice", action, resource);`},
		{"an action the schema does not have", `permit(principal, action == Wcbridge::Action::"delete-lead", resource);`},
		{"the action without its namespace", `permit(principal, action == Action::"get-leads", resource);`},
		{"a profile as principal", `permit(principal == Wcbridge::Profile::"1001", action, resource);`},
		{"an attribute that does not exist", `permit(principal, action, resource) when { principal.department == "x" };`},
		{"a condition that is not boolean", `permit(principal, action, resource) when { 1 };`},
		{"larger than the bound", "// " + strings.Repeat("x", MaxPolicyBytes) + "\n"},
		{"not UTF-8", "permit(principal, action, resource); // \xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy("test.cedar", []byte(tt.text), "file")
			if err == nil || p != nil {
				t.Fatalf("ParsePolicy accepted it: %v", err)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v is not ErrInvalidPolicy", err)
			}
		})
	}
}

func TestDefaultDenyAndForbidWins(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{"an empty policy permits nothing", ``, false},
		{"a policy of comments permits nothing", "// nothing granted yet\n", false},
		{"a forbid alone permits nothing", `forbid(principal, action, resource);`, false},
		{"a forbid wins over a permit", `permit(principal, action, resource);
			forbid(principal == Wcbridge::Caller::"` + crmRole + `", action == Wcbridge::Action::"get-leads", resource == Wcbridge::Profile::"1001");`, false},
		{"a forbid for another profile leaves the permit", `permit(principal, action, resource);
			forbid(principal, action, resource == Wcbridge::Profile::"1002");`, true},
		{"a permit with a false condition permits nothing", `permit(principal, action, resource) when { false };`, false},
		{"a forbid whose condition cannot be evaluated denies", `permit(principal, action, resource);
			forbid(principal, action, resource) when { 9223372036854775807 + 1 > 0 };`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := static(t, []byte(tt.policy))
			got, _, err := a.Authorize(context.Background(), crmSession, ActionGetLeads, 1001)
			if err != nil || got != tt.want {
				t.Fatalf("Authorize = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestInvalidRequestsAreDenied(t *testing.T) {
	a := static(t, []byte(`permit(principal, action, resource);`))
	tests := []struct {
		name, principal, action string
		profile                 int64
	}{
		{"unknown action", operator, "delete-everything", 1001},
		{"no principal", "", ActionGetLeads, 1001},
		{"profile zero", operator, ActionGetLeads, 0},
		{"negative profile", operator, ActionGetLeads, -1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := a.Authorize(context.Background(), tt.principal, tt.action, tt.profile)
			if got || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Authorize = %v, %v; want false, ErrInvalidRequest", got, err)
			}
		})
	}
}

func TestAnywhere(t *testing.T) {
	policy := string(examplesPolicy(t)) + `
		permit(principal == Wcbridge::Caller::"` + stranger + `", action == Wcbridge::Action::"get-report", resource)
		unless { resource == Wcbridge::Profile::"1001" };`
	a := static(t, []byte(policy))
	tests := []struct {
		name, principal, action string
		want                    bool
	}{
		{"integration may get-leads somewhere", crmSession, ActionGetLeads, true},
		{"integration may trigger-samples nowhere", crmRole, ActionTriggerSamples, false},
		{"operator may trigger-samples", operator, ActionTriggerSamples, true},
		{"a permit on every profile but one counts", stranger, ActionGetReport, true},
		{"a stranger may get-leads nowhere", stranger, ActionGetLeads, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := a.Anywhere(context.Background(), tt.principal, tt.action)
			if err != nil || got != tt.want {
				t.Fatalf("Anywhere = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestEverywhere(t *testing.T) {
	policy := string(examplesPolicy(t)) + `
		permit(principal == Wcbridge::Caller::"` + stranger + `", action == Wcbridge::Action::"get-report", resource)
		unless { resource == Wcbridge::Profile::"1001" };
		permit(principal == Wcbridge::Caller::"` + localUser + `", action, resource);
		forbid(principal == Wcbridge::Caller::"` + localUser + `", action == Wcbridge::Action::"get-report", resource == Wcbridge::Profile::"1002");`
	a := static(t, []byte(policy))
	tests := []struct {
		name, principal, action string
		want                    bool
	}{
		{"the operator may get-report everywhere", operator, ActionGetReport, true},
		{"one profile is not everywhere", crmRole, ActionGetLeads, false},
		{"every profile but one is not everywhere", stranger, ActionGetReport, false},
		{"a forbid on one profile is not everywhere", localUser, ActionGetReport, false},
		{"without that forbid it is", localUser, ActionGetLeads, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := a.Everywhere(context.Background(), tt.principal, tt.action)
			if err != nil || got != tt.want {
				t.Fatalf("Everywhere = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logLines collects JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logLines) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func (l *logLines) metricCount(t *testing.T) int {
	n := 0
	for _, m := range l.lines(t) {
		if m[MetricPolicyErrors] == float64(1) && m["_aws"] != nil {
			n++
		}
	}
	return n
}

// The local policy file: a changed file is in force after the refresh, without a restart; a
// broken one never is, so it can never widen access, and it is logged and counted.
func TestFileSourceHotReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.cedar")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readOnly := string(readExample(t, "integration-read-1001.cedar"))
	write(readOnly)
	clk := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	logs := &logLines{}
	a := New(context.Background(), FileSource{Path: path}, Options{
		Refresh: FileRefresh, Now: clk.now, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	ask := func(action string, profile int64) (bool, string) {
		t.Helper()
		ok, v, err := a.Authorize(context.Background(), crmSession, action, profile)
		if err != nil {
			t.Fatal(err)
		}
		return ok, v
	}
	ok, v1 := ask(ActionGetLeads, 1001)
	if !ok || !strings.HasPrefix(v1, "file@sha256:") {
		t.Fatalf("the first policy is not in force: %v %q", ok, v1)
	}

	// A broken policy that would grant everything if it were read leniently: a syntax error after a
	// permit-all statement.
	write(`permit(principal, action, resource); permit(`)
	clk.add(2 * FileRefresh)
	if ok, v := ask(ActionCreateLead, 1002); ok || v != v1 {
		t.Fatalf("a broken file widened access or replaced the policy: %v %q", ok, v)
	}
	if ok, _ := ask(ActionGetLeads, 1001); !ok {
		t.Fatal("the last good policy is no longer in force")
	}
	// One that parses but does not validate (an action the schema does not have) fails the same way.
	write(`permit(principal, action == Wcbridge::Action::"everything", resource);`)
	clk.add(2 * FileRefresh)
	if ok, v := ask(ActionGetLeads, 1001); !ok || v != v1 {
		t.Fatalf("an invalid file replaced the policy: %v %q", ok, v)
	}
	if n := logs.metricCount(t); n < 2 {
		t.Fatalf("want each refused policy counted in %s, got %d data points", MetricPolicyErrors, n)
	}

	// A file that goes away keeps the last good policy too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * FileRefresh)
	if ok, v := ask(ActionGetLeads, 1001); !ok || v != v1 {
		t.Fatalf("a missing file replaced the policy: %v %q", ok, v)
	}

	// A good change is in force after one refresh, with no restart.
	write(readOnly + "\n" + `permit(principal == Wcbridge::Caller::"` + crmRole + `", action == Wcbridge::Action::"create-lead", resource == Wcbridge::Profile::"1002");`)
	if ok, _ := ask(ActionCreateLead, 1002); ok {
		t.Fatal("the change was in force before the refresh interval passed")
	}
	clk.add(2 * FileRefresh)
	ok, v2 := ask(ActionCreateLead, 1002)
	if !ok || v2 == v1 {
		t.Fatalf("the changed file is not in force: %v %q", ok, v2)
	}
	// Narrowing works the same way.
	write(readOnly)
	clk.add(2 * FileRefresh)
	if ok, v := ask(ActionCreateLead, 1002); ok || v != v1 {
		t.Fatalf("the narrowed file is not in force: %v %q", ok, v)
	}

	for _, m := range logs.lines(t) {
		if s, _ := m["error"].(string); strings.Contains(s, crmRole) && m["msg"] != nil && strings.Contains(s, "permit(") {
			t.Fatalf("the error log repeats the policy text: %v", m)
		}
	}
}

// A broken policy at start is never used: everything is denied until a good one is read.
func TestBrokenPolicyAtStartDeniesEverything(t *testing.T) {
	for name, src := range map[string]Source{
		"syntax error":               BuiltinSource{Text: []byte(`permit(principal, action, resource`)},
		"missing file":               FileSource{Path: filepath.Join(t.TempDir(), "absent.cedar")},
		"invalid against the schema": BuiltinSource{Text: []byte(`permit(principal == User::"x", action, resource);`)},
	} {
		t.Run(name, func(t *testing.T) {
			a := New(context.Background(), src, Options{Logger: discard()})
			for _, action := range Actions {
				ok, v, err := a.Authorize(context.Background(), operator, action, 1001)
				if ok || v != "" || err != nil {
					t.Fatalf("Authorize(%s) = %v, %q, %v; want a denial with no policy version", action, ok, v, err)
				}
			}
			if ok, _, _ := a.Anywhere(context.Background(), operator, ActionTriggerSamples); ok {
				t.Fatal("Anywhere allowed with no policy")
			}
		})
	}
}

type fakeSSM struct {
	mu      sync.Mutex
	value   string
	version int64
	err     error
	calls   int
}

func (f *fakeSSM) GetParameter(_ context.Context, _ string) (string, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return "", 0, f.err
	}
	return f.value, f.version, nil
}

func (f *fakeSSM) set(value string, version int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.version, f.err = value, version, err
}

// The deployed policy: read once per refresh interval (not per request), a new version in force
// within it, the parameter's version in the policy version, the last good one kept on errors.
func TestParameterSourceRefresh(t *testing.T) {
	fake := &fakeSSM{value: string(readExample(t, "operator.cedar")), version: 3}
	clk := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	a := New(context.Background(), ParameterSource{Client: fake, Parameter: "/wcbridge/test/access-policy"},
		Options{Now: clk.now, Logger: discard()})
	for range 100 {
		if ok, v, _ := a.Authorize(context.Background(), operator, ActionCreateLead, 1001); !ok || !strings.HasPrefix(v, "ssm:3@sha256:") {
			t.Fatalf("Authorize = %v %q", ok, v)
		}
	}
	if fake.calls != 1 {
		t.Fatalf("the parameter was read %d times for 100 requests within the refresh interval", fake.calls)
	}
	fake.set("", 4, errors.New("throttled"))
	clk.add(DefaultRefresh + time.Second)
	if ok, v, _ := a.Authorize(context.Background(), operator, ActionCreateLead, 1001); !ok || !strings.HasPrefix(v, "ssm:3@") {
		t.Fatalf("a failed read dropped the last good policy: %v %q", ok, v)
	}
	fake.set(string(readExample(t, "integration-read-1001.cedar")), 5, nil)
	clk.add(DefaultRefresh + time.Second)
	if ok, v, _ := a.Authorize(context.Background(), operator, ActionCreateLead, 1001); ok || !strings.HasPrefix(v, "ssm:5@") {
		t.Fatalf("version 5 is not in force after the refresh: %v %q", ok, v)
	}
	if DefaultRefresh > 5*time.Minute {
		t.Fatal("a change must be in force within five minutes")
	}
}
