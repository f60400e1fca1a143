package replay

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// Action is the replay's name in audit records and in the access policy.
const Action = "replay"

// The bounds of a replay (see the package documentation for why these).
const (
	// MaxWindow is the longest window one replay may cover.
	MaxWindow = 7 * 24 * time.Hour
	// MaxEvents is the most events one replay may publish.
	MaxEvents = 500_000
	// DefaultRate is how many events a second a replay publishes unless configured otherwise.
	DefaultRate = 50
	// chunkMargin is what an invocation keeps before its deadline to save its progress and hand on.
	chunkMargin = 30 * time.Second
)

// Authorizer decides whether a caller may do an action on a profile: the access policy's
// (shared/access) method, declared here so that this package depends on its shape only. An error, or
// no Authorizer at all, is a refusal: a replay never fails open.
type Authorizer interface {
	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
}

// EventSource is the part of the audit store a replay reads: accepted events counted, and walked in
// the order received.
type EventSource interface {
	CountEvents(ctx context.Context, q audit.EventQuery, limit int64) (perProfile map[int64]int64, more bool, err error)
	Events(ctx context.Context, q audit.EventQuery, fn func(audit.Record) error) error
}

// Auditor writes audit records.
type Auditor interface {
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

// JobStore keeps replays' progress (Jobs is one).
type JobStore interface {
	Create(ctx context.Context, job Job, now time.Time) error
	Claim(ctx context.Context, id, owner string, until, now time.Time) (Job, error)
	Save(ctx context.Context, id, owner, position string, published int64, release, done bool) error
}

// Invoker starts the next invocation of the replay function with payload, asynchronously (Lambda's
// Event invocation of the function itself).
type Invoker interface {
	InvokeAsync(ctx context.Context, payload []byte) error
}

var (
	_ EventSource = (*audit.Store)(nil)
	_ Auditor     = (*audit.Store)(nil)
	_ JobStore    = (*Jobs)(nil)
)

// Handler is ReplayFunction: POST /replays, and the invocations that publish a replay chunk by chunk.
type Handler struct {
	Events     EventSource
	Audit      Auditor
	Jobs       JobStore
	Bus        Bus
	EventBus   string
	Next       Invoker
	Authorizer Authorizer // nil refuses every replay
	// Origin, when set, is the API the events must come through: an event naming another API or
	// account is refused before its identity is believed (shared/wiring sets it).
	Origin *httpapi.Origin
	Log    *slog.Logger

	Rate      int           // events a second; DefaultRate when 0
	ChunkTime time.Duration // how long one invocation publishes; 0: until chunkMargin before its deadline
	Now       func() time.Time
}

// Request is the body of POST /replays.
type Request struct {
	From      time.Time
	To        time.Time
	Trigger   string
	ProfileID int64
	DryRun    bool
}

// Answer is the body of a 200 to POST /replays.
type Answer struct {
	ReplayID string `json:"replay_id"`
	Events   int64  `json:"events"`
	DryRun   bool   `json:"dry_run"`
}

// Continue is the payload of a chunk invocation: only the replay's ID. Everything else is read from
// the job the API stored.
type Continue struct {
	ReplayID string `json:"replay_id"`
}

// Handle is the function's entry point. An API Gateway proxy request (httpMethod and requestContext)
// is POST /replays; a payload of exactly {"replay_id": "rpl_…"} publishes the next chunk of that
// replay; anything else is an error.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(payload, &top) == nil {
		_, method := top["httpMethod"]
		_, reqCtx := top["requestContext"]
		if _, id := top["replay_id"]; id && len(top) == 1 {
			var c Continue
			if json.Unmarshal(payload, &c) == nil && validID(c.ReplayID) {
				res, err := h.RunChunk(ctx, c.ReplayID)
				if err != nil {
					return nil, err
				}
				return json.Marshal(res)
			}
		}
		if method && reqCtx {
			var req events.APIGatewayProxyRequest
			if json.Unmarshal(payload, &req) == nil {
				return json.Marshal(h.HandleAPIGateway(ctx, req))
			}
		}
	}
	return nil, errors.New("replay: the payload is neither an API Gateway proxy request nor {\"replay_id\": \"rpl_…\"}")
}

func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "rpl_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID is a fresh replay ID: "rpl_" and 26 lowercase base32 characters (130 bits).
func NewID() string {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return "rpl_" + strings.ToLower(b32.EncodeToString(b[:]))[:26]
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// HandleAPIGateway answers POST /replays (see the package documentation). Every request is audited,
// refusals included; an audit write that fails turns the answer into 500.
func (h *Handler) HandleAPIGateway(ctx context.Context, req events.APIGatewayProxyRequest) httpapi.Response {
	start := h.now()
	rec := audit.Record{
		Kind: audit.KindAction, Action: Action, RequestID: httpapi.RequestID(req), ReceivedAt: start,
		Actor: "unauthenticated",
	}
	ans, err := h.replay(ctx, req, &rec)
	status := http.StatusOK
	if err != nil {
		status = apierr.From(err).Code.Status()
	}
	rec.Status, rec.Outcome = status, audit.OutcomeOK
	if status >= http.StatusBadRequest {
		rec.Outcome = audit.OutcomeFailed
	}
	if _, aerr := h.Audit.Append(context.WithoutCancel(ctx), rec, nil); aerr != nil {
		h.log().ErrorContext(ctx, "replay not audited", "request_id", rec.RequestID, "error", aerr.Error())
		return httpapi.Error(apierr.Wrap(aerr, apierr.Internal, "internal error"))
	}
	attrs := []any{"request_id", rec.RequestID, "actor", rec.Actor, "replay_id", rec.ReplayID,
		"status", status, "events", rec.Events, "dry_run", rec.DryRun}
	if err != nil {
		h.log().WarnContext(ctx, "replay refused", append(attrs, "code", string(apierr.From(err).Code), "error", err.Error())...)
		return httpapi.Error(err)
	}
	if rec.ReplayID != "" && !rec.DryRun && rec.Events > 0 {
		// The first chunk starts once the replay is audited: nothing is published unaudited.
		if err := h.Next.InvokeAsync(ctx, mustJSON(Continue{ReplayID: rec.ReplayID})); err != nil {
			h.log().ErrorContext(ctx, "replay not started", append(attrs, "error", err.Error())...)
			return httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))
		}
	}
	h.log().InfoContext(ctx, "replay", attrs...)
	return httpapi.JSON(http.StatusOK, ans)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// replay checks, plans and authorises one request, filling rec as it learns.
func (h *Handler) replay(ctx context.Context, req events.APIGatewayProxyRequest, rec *audit.Record) (Answer, error) {
	callerOf := httpapi.Caller
	if h.Origin != nil {
		callerOf = h.Origin.Caller
	}
	actor, err := callerOf(req)
	if err != nil {
		return Answer{}, err
	}
	rec.Actor = actor
	if ct := httpapi.Header(req, "Content-Type"); !isJSON(ct) {
		return Answer{}, apierr.New(apierr.UnsupportedMediaType, "the body must be application/json")
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		return Answer{}, apierr.New(apierr.UnsupportedMediaType, "the body must be application/json")
	}
	in, err := parse(body, h.now())
	if err != nil {
		return Answer{}, err
	}
	rec.WindowFrom, rec.WindowTo, rec.Trigger, rec.ProfileID, rec.DryRun = in.From, in.To, in.Trigger, in.ProfileID, in.DryRun

	// The plan: count the window's events and the profiles they touch, before anything is published.
	perProfile, tooMany, err := h.Events.CountEvents(ctx, audit.EventQuery{From: in.From, To: in.To, Trigger: in.Trigger, ProfileID: in.ProfileID}, MaxEvents)
	if err != nil {
		return Answer{}, apierr.Wrap(err, apierr.Internal, "internal error")
	}
	if tooMany {
		return Answer{}, apierr.Invalid(apierr.FieldProblem{Field: "to", Problem: fmt.Sprintf(
			"the window holds more than %d events, the most one replay publishes: split it into shorter windows", MaxEvents)})
	}
	var total int64
	for _, n := range perProfile {
		total += n
	}
	if in.ProfileID != 0 {
		perProfile[in.ProfileID] += 0 // the profile asked for is authorised even when the window has none of it
	}
	if err := h.authorize(ctx, actor, perProfile); err != nil {
		return Answer{}, err
	}

	rec.ReplayID, rec.Events = NewID(), total
	ans := Answer{ReplayID: rec.ReplayID, Events: total, DryRun: in.DryRun}
	if in.DryRun || total == 0 {
		return ans, nil
	}
	job := Job{ID: rec.ReplayID, Actor: actor, From: in.From, To: in.To, Trigger: in.Trigger, ProfileID: in.ProfileID, Events: total}
	if err := h.Jobs.Create(ctx, job, h.now()); err != nil {
		return Answer{}, apierr.Wrap(err, apierr.Internal, "internal error")
	}
	return ans, nil
}

// authorize needs "replay" on every profile the replay touches; the refusal names the first profile
// refused (an ID, never PHI).
func (h *Handler) authorize(ctx context.Context, actor string, profiles map[int64]int64) error {
	ids := make([]int64, 0, len(profiles))
	for p := range profiles {
		ids = append(ids, p)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		allowed := false
		if h.Authorizer != nil {
			ok, _, err := h.Authorizer.Authorize(ctx, actor, Action, p)
			if err != nil {
				h.log().ErrorContext(ctx, "access policy failed; refusing", "action", Action, "profile_id", p, "error", err.Error())
			}
			allowed = ok && err == nil
		}
		if !allowed {
			return apierr.New(apierr.Forbidden, "the caller may not replay profile %d", p)
		}
	}
	return nil
}

func isJSON(ct string) bool {
	mt, params, _ := strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	if strings.TrimSpace(mt) != "application/json" {
		return false
	}
	params = strings.TrimSpace(params)
	return params == "" || strings.ReplaceAll(params, " ", "") == "charset=utf-8"
}

var allowedFields = validate.NewFieldSet("from", "to", "trigger", "profile_id", "dry_run")

// parse validates the body: every problem named, none of its values echoed.
func parse(body []byte, now time.Time) (Request, error) {
	obj, err := validate.DecodeObject(body)
	if err != nil {
		return Request{}, err
	}
	var p validate.Problems
	var in Request
	p.OnlyFields(obj, allowedFields)
	p.Require(obj, "from", "to")
	from, okFrom := p.DateTimeField(obj, "from")
	to, okTo := p.DateTimeField(obj, "to")
	in.From, in.To = from.UTC(), to.UTC()
	if obj.Has("trigger") {
		in.Trigger, _ = p.OneOfField(obj, "trigger", audit.TriggerNewLead, audit.TriggerUpdatedLead)
	}
	if obj.Has("profile_id") {
		in.ProfileID, _ = p.IDField(obj, "profile_id")
	}
	if obj.Has("dry_run") {
		in.DryRun, _ = p.BoolField(obj, "dry_run")
	}
	if okFrom && okTo {
		switch {
		case !in.From.Before(in.To):
			p.Add("to", "must be after from")
		case in.To.After(now):
			p.Add("to", "must not be in the future")
		case in.To.Sub(in.From) > MaxWindow:
			p.Add("to", fmt.Sprintf("must be at most %d days (%s) after from: replay a longer period as several windows", int(MaxWindow/(24*time.Hour)), MaxWindow))
		}
	}
	return in, p.Err()
}

// Progress is what a chunk invocation returns (and logs).
type Progress struct {
	ReplayID  string `json:"replay_id"`
	Published int64  `json:"published"`
	Events    int64  `json:"events"`
	Done      bool   `json:"done"`
	Busy      bool   `json:"busy,omitempty"` // another invocation holds the replay; this one did nothing
}

// errChunkOver stops a chunk's walk when its time is up.
var errChunkOver = errors.New("replay: chunk time is over")

// RunChunk publishes the next part of a replay: from the job's position, in the order received, at
// the configured rate, until the window is done or the chunk's time is up; then it saves the
// position and invokes the function again for the rest. An error (the bus refused events after
// retries, the table failed, the next invocation could not be started) is returned to Lambda, whose
// retry of this invocation resumes from the last saved position.
func (h *Handler) RunChunk(ctx context.Context, replayID string) (Progress, error) {
	owner := replayID
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		owner = lc.AwsRequestID
	}
	start := h.now()
	end := start.Add(15 * time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		end = dl.Add(-chunkMargin)
		if end.Before(start.Add(time.Second)) {
			end = dl.Add(-(dl.Sub(start) / 4)) // a short timeout (tests): keep a quarter for saving
		}
	}
	lastEnd := end // the invocation's own bound
	leaseUntil := end.Add(chunkMargin)
	if dl, ok := ctx.Deadline(); ok {
		leaseUntil = dl
	}
	job, err := h.Jobs.Claim(ctx, replayID, owner, leaseUntil, start)
	switch {
	case errors.Is(err, ErrJobDone):
		return Progress{ReplayID: replayID, Published: job.Published, Events: job.Events, Done: true}, nil
	case errors.Is(err, ErrJobBusy):
		h.log().WarnContext(ctx, "replay chunk skipped: another invocation holds the replay", "replay_id", replayID)
		return Progress{ReplayID: replayID, Published: job.Published, Events: job.Events, Busy: true}, nil
	case err != nil:
		return Progress{}, err
	}

	rate := h.Rate
	if rate <= 0 {
		rate = DefaultRate
	}
	pace := &pacer{rate: float64(rate)}
	position, published := job.Position, job.Published
	lastSave := h.now()
	var batch []audit.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := pace.wait(ctx, len(batch)); err != nil {
			return err
		}
		done, err := putBatch(ctx, h.Bus, h.EventBus, replayID, batch)
		if done > 0 {
			position, published = audit.Position(batch[done-1]), published+int64(done)
		}
		batch = batch[:0]
		if err != nil {
			return err
		}
		if h.now().Sub(lastSave) >= time.Second { // a checkpoint a second bounds what a crash sends twice
			lastSave = h.now()
			return h.Jobs.Save(ctx, replayID, owner, position, published, false, false)
		}
		return nil
	}
	q := audit.EventQuery{From: job.From, To: job.To, Trigger: job.Trigger, ProfileID: job.ProfileID, After: job.Position}
	started := false
	walkErr := h.Events.Events(ctx, q, func(r audit.Record) error {
		if !started {
			// The chunk's time counts from its first event, so that each chunk publishes for
			// ChunkTime however long the claim and the walk's first pages took.
			started = true
			if h.ChunkTime > 0 && h.now().Add(h.ChunkTime).Before(lastEnd) {
				end = h.now().Add(h.ChunkTime)
			}
		}
		batch = append(batch, r)
		if len(batch) < BatchSize {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		if !h.now().Before(end) {
			return errChunkOver
		}
		return nil
	})
	if walkErr == nil {
		walkErr = flush()
	}
	saveCtx := context.WithoutCancel(ctx)
	prog := Progress{ReplayID: replayID, Published: published, Events: job.Events}
	attrs := []any{"replay_id", replayID, "published", published, "events", job.Events}
	switch {
	case errors.Is(walkErr, errChunkOver):
		if err := h.Jobs.Save(saveCtx, replayID, owner, position, published, true, false); err != nil {
			return prog, err
		}
		if err := h.Next.InvokeAsync(saveCtx, mustJSON(Continue{ReplayID: replayID})); err != nil {
			return prog, fmt.Errorf("replay: start the next chunk of %s: %w", replayID, err)
		}
		h.log().InfoContext(ctx, "replay chunk", attrs...)
		return prog, nil
	case walkErr != nil:
		// Keep what was published; the lease stays this invocation's, which Lambda's retry (the same
		// request ID) takes back.
		if err := h.Jobs.Save(saveCtx, replayID, owner, position, published, false, false); err != nil {
			walkErr = errors.Join(walkErr, err)
		}
		h.log().ErrorContext(ctx, "replay chunk failed", append(attrs, "error", walkErr.Error())...)
		return prog, walkErr
	}
	if err := h.Jobs.Save(saveCtx, replayID, owner, position, published, true, true); err != nil {
		return prog, err
	}
	prog.Done = true
	rec := audit.Record{
		Kind: audit.KindAction, Action: Action, Actor: job.Actor, Outcome: audit.OutcomeOK,
		RequestID: owner, ReplayID: replayID, WindowFrom: job.From, WindowTo: job.To,
		Trigger: job.Trigger, ProfileID: job.ProfileID, Events: published,
	}
	if _, err := h.Audit.Append(saveCtx, rec, nil); err != nil {
		return prog, fmt.Errorf("replay: audit the end of %s: %w", replayID, err)
	}
	h.log().InfoContext(ctx, "replay done", attrs...)
	return prog, nil
}
