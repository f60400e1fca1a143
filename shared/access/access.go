package access

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The Cedar entity types (contract: "Access policy").
const (
	TypeCaller  = "Wcbridge::Caller"
	TypeAction  = "Wcbridge::Action"
	TypeProfile = "Wcbridge::Profile"
)

// The actions a policy grants.
const (
	ActionGetLeads       = "get-leads"
	ActionGetLead        = "get-lead"
	ActionCreateLead     = "create-lead"
	ActionUpdateLead     = "update-lead"
	ActionTriggerSamples = "trigger-samples"
	ActionGetReport      = "get-report"
	ActionReplay         = "replay"
)

// Actions are every action of the schema.
var Actions = []string{
	ActionGetLeads, ActionGetLead, ActionCreateLead, ActionUpdateLead, ActionTriggerSamples, ActionGetReport, ActionReplay,
}

var knownAction = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range Actions {
		m[a] = true
	}
	return m
}()

// Defaults of Options.
const (
	// DefaultRefresh is how often a deployed policy is read again: a change is in force within it
	// (the contract allows five minutes).
	DefaultRefresh = time.Minute
	// FileRefresh is how often a local policy file is read again (hot reload).
	FileRefresh = time.Second
	// DefaultLoadTimeout bounds one read of the source, so that a slow source delays one request
	// at most this long; the last good policy answers meanwhile.
	DefaultLoadTimeout = 2 * time.Second
)

// MetricPolicyErrors is the CloudWatch metric (namespace MetricNamespace) counted each time a policy
// cannot be read or is refused; template.yaml alarms on it.
// Its one dimension, PolicySource, is the source's Name ("ssm:/<stack>/access-policy" deployed).
const (
	MetricNamespace    = "wcbridge"
	MetricPolicyErrors = "AccessPolicyErrors"
	MetricDimension    = "PolicySource"
)

// Source is where the policy document lives.
type Source interface {
	// Load reads the document, and what the source calls this version of it ("ssm:7", "file").
	Load(ctx context.Context) (text []byte, version string, err error)
	// Name says which source it is, for logs and the local banner (never a secret).
	Name() string
}

// Options configures New. The zero value is the deployed default.
type Options struct {
	Refresh     time.Duration // DefaultRefresh when zero
	LoadTimeout time.Duration // DefaultLoadTimeout when zero
	Now         func() time.Time
	Logger      *slog.Logger
}

// Authorizer decides, with the Cedar policy of its source, whether a caller may do an action on a
// profile. It reads the source at New and again when Refresh has passed since the last read, on the
// first call after that; a document that cannot be read, does not parse or does not validate is
// never used: the last good policy stays (none at all: everything is denied), the error is logged
// and counted (MetricPolicyErrors). Safe for concurrent use.
type Authorizer struct {
	src         Source
	refresh     time.Duration
	loadTimeout time.Duration
	now         func() time.Time
	log         *slog.Logger

	state atomic.Pointer[state]
	mu    sync.Mutex // one reload at a time; others go on with the current policy
}

type state struct {
	policy   *Policy  // nil until a good one is read
	textSum  [32]byte // of the document in force, to skip parsing an unchanged one
	rejected [32]byte // of the last refused document, logged once
	next     time.Time
}

// New returns an Authorizer over src, having read it once. A failed first read is logged, not
// returned: the Authorizer then denies everything until a good policy is read (never fail open).
func New(ctx context.Context, src Source, opts Options) *Authorizer {
	a := &Authorizer{src: src, refresh: opts.Refresh, loadTimeout: opts.LoadTimeout, now: opts.Now, log: opts.Logger}
	if a.refresh <= 0 {
		a.refresh = DefaultRefresh
	}
	if a.loadTimeout <= 0 {
		a.loadTimeout = DefaultLoadTimeout
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.state.Store(&state{})
	a.mu.Lock()
	a.reload(ctx)
	a.mu.Unlock()
	return a
}

// ErrInvalidRequest is matched by the error of a request the policy cannot be asked about: an
// unknown action, a profile ID that is not positive, no principal. Callers deny.
var ErrInvalidRequest = errors.New("access: invalid authorization request")

// Authorize says whether the IAM principal (as API Gateway reports it; an assumed-role session is
// its role, see Principal) may do action on the profile, and the version of the policy that
// decided (empty while there is none). Default deny: no policy, or no permit that matches, is
// false. An error is a request that could not be asked (ErrInvalidRequest); it is also a denial.
func (a *Authorizer) Authorize(ctx context.Context, principalARN, action string, profileID int64) (bool, string, error) {
	if err := checkRequest(principalARN, action); err != nil {
		return false, "", err
	}
	if profileID <= 0 {
		return false, "", fmt.Errorf("%w: profile ID %d is not positive", ErrInvalidRequest, profileID)
	}
	p := a.policy(ctx)
	if p == nil {
		return false, "", nil
	}
	return p.allows(Principal(principalARN), action, strconv.FormatInt(profileID, 10)), p.Version, nil
}

// Anywhere says whether the principal may do action on at least one profile, and the policy's
// version. Routes that filter by profile (trigger samples, reports) answer 403 when it is false,
// and otherwise leave out what Authorize refuses.
//
// It is exact: without entity attributes or parents, a policy can tell profiles apart only by the
// profiles it names, so asking about each named profile and one it does not name covers them all.
func (a *Authorizer) Anywhere(ctx context.Context, principalARN, action string) (bool, string, error) {
	if err := checkRequest(principalARN, action); err != nil {
		return false, "", err
	}
	p := a.policy(ctx)
	if p == nil {
		return false, "", nil
	}
	who := Principal(principalARN)
	for _, id := range p.profiles {
		if p.allows(who, action, id) {
			return true, p.Version, nil
		}
	}
	return false, p.Version, nil
}

// Everywhere says whether the principal may do action on every profile, named or not (an operator),
// and the policy's version. Reports show their stack-wide sections (audit counts, integrity) only
// to such a caller: those count every profile's records.
func (a *Authorizer) Everywhere(ctx context.Context, principalARN, action string) (bool, string, error) {
	if err := checkRequest(principalARN, action); err != nil {
		return false, "", err
	}
	p := a.policy(ctx)
	if p == nil {
		return false, "", nil
	}
	who := Principal(principalARN)
	for _, id := range p.profiles {
		if !p.allows(who, action, id) {
			return false, p.Version, nil
		}
	}
	return true, p.Version, nil
}

func checkRequest(principalARN, action string) error {
	if !knownAction[action] {
		return fmt.Errorf("%w: unknown action %q", ErrInvalidRequest, action)
	}
	if principalARN == "" {
		return fmt.Errorf("%w: no principal", ErrInvalidRequest)
	}
	return nil
}

// Version is the version of the policy in force ("" when there is none), and the source's name.
func (a *Authorizer) Version() (version, source string) {
	if p := a.state.Load().policy; p != nil {
		return p.Version, a.src.Name()
	}
	return "", a.src.Name()
}

// policy is the policy in force, read again first when Refresh has passed.
func (a *Authorizer) policy(ctx context.Context) *Policy {
	st := a.state.Load()
	if a.now().Before(st.next) || !a.mu.TryLock() {
		return st.policy
	}
	defer a.mu.Unlock()
	if st = a.state.Load(); a.now().Before(st.next) {
		return st.policy
	}
	a.reload(ctx)
	return a.state.Load().policy
}

// reload reads the source and puts a good, changed document in force. Callers hold mu.
func (a *Authorizer) reload(ctx context.Context) {
	old := a.state.Load()
	next := *old
	next.next = a.now().Add(a.refresh)
	defer func() { a.state.Store(&next) }()

	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.loadTimeout)
	text, version, err := a.src.Load(lctx)
	cancel()
	if err != nil {
		a.fail("access policy not read", err)
		return
	}
	sum := sha256.Sum256(append([]byte(version+"\x00"), text...))
	if old.policy != nil && sum == old.textSum {
		return
	}
	if sum == old.rejected {
		a.count() // still broken: counted again, logged once
		return
	}
	p, err := ParsePolicy(a.src.Name(), text, version)
	if err != nil {
		next.rejected = sum
		a.fail("access policy refused; the last good policy stays in force", err)
		return
	}
	next.policy, next.textSum, next.rejected = p, sum, [32]byte{}
	a.log.Info("access policy in force", "source", a.src.Name(), "policy_version", p.Version, "statements", p.Statements)
}

// fail logs a policy error with the metric the template alarms on (CloudWatch embedded metric
// format: the log line is the data point). Errors name positions and problems, never secrets.
func (a *Authorizer) fail(msg string, err error) {
	inForce := ""
	if p := a.state.Load().policy; p != nil {
		inForce = p.Version
	}
	a.log.Error(msg, "source", a.src.Name(), "error", err.Error(), "policy_version", inForce,
		"_aws", emf(a.now()), MetricDimension, a.src.Name(), MetricPolicyErrors, 1)
}

// count emits the metric alone.
func (a *Authorizer) count() {
	a.log.Warn("access policy still refused", "source", a.src.Name(),
		"_aws", emf(a.now()), MetricDimension, a.src.Name(), MetricPolicyErrors, 1)
}

// emf is the CloudWatch embedded-metric-format directive of a MetricPolicyErrors data point, with
// the source (which names the stack's parameter) as its dimension.
func emf(now time.Time) map[string]any {
	return map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricNamespace,
			"Dimensions": [][]string{{MetricDimension}},
			"Metrics":    []any{map[string]string{"Name": MetricPolicyErrors, "Unit": "Count"}},
		}},
	}
}

// profileRef finds the profiles a policy names, in its canonical text.
var profileRef = regexp.MustCompile(`Wcbridge::Profile::"([^"\\]*)"`)

// unnamedProfile stands for every profile the policy does not name (see Anywhere).
const unnamedProfile = "0"

// namedProfiles are the profile IDs p names, and unnamedProfile. An ID with escapes in it is not a
// decimal profile ID and is left out: Anywhere can then only say false, never wrongly true.
func namedProfiles(p *Policy) []string {
	seen := map[string]bool{unnamedProfile: true}
	out := []string{unnamedProfile}
	for _, m := range profileRef.FindAllSubmatch(p.set.MarshalCedar(), -1) {
		if id := string(m[1]); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
