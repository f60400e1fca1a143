package actions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// The action names: audit records, idempotency scopes and logs use them.
const (
	ActionGetLeads   = "get-leads"
	ActionGetLead    = "get-lead"
	ActionCreateLead = "create-lead"
	ActionUpdateLead = "update-lead"
)

// UnauthenticatedActor is the actor of the audit record of a request that arrived without a caller
// identity (refused 403). API Gateway's IAM auth lets none through; the check is defence in depth.
const UnauthenticatedActor = "unauthenticated"

// Defaults of Deps.
const (
	DefaultUpstreamTimeout = 25 * time.Second       // well inside API Gateway's 29 s
	DefaultDeadlineMargin  = deadline.DefaultMargin // left after WhatConverts, to store, audit and answer
	// DefaultMaxResponseBytes is Lambda's limit on a synchronous invocation's response (6 MB).
	DefaultMaxResponseBytes = 6 << 20
)

// maxAuditPayload bounds the sealed part of an action's audit record: with up to 10,000 lead IDs in
// clear the record stays under DynamoDB's 400 KB item limit.
const maxAuditPayload = 256 << 10

// WhatConverts is the part of the WhatConverts client the actions use.
type WhatConverts interface {
	Pages(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error]
	Lead(ctx context.Context, k whatconverts.KeyFor, leadID int64) (whatconverts.Lead, error)
	CreateLead(ctx context.Context, k whatconverts.KeyFor, p whatconverts.CreateParams) (whatconverts.Lead, error)
	EditLead(ctx context.Context, k whatconverts.KeyFor, leadID int64, p whatconverts.EditParams) (whatconverts.Lead, error)
}

var _ WhatConverts = (*whatconverts.Client)(nil)

// Auditor writes audit records (the audit Store is one).
type Auditor interface {
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

var _ Auditor = (*audit.Store)(nil)

// Idempotency keeps Idempotency-Key records (the idempotency Store is one).
type Idempotency interface {
	Begin(ctx context.Context, scope idempotency.Scope, fp [sha256.Size]byte) (*idempotency.Claim, *idempotency.Response, error)
	Complete(ctx context.Context, c *idempotency.Claim, r idempotency.Response) error
	Release(ctx context.Context, c *idempotency.Claim) error
}

var _ Idempotency = (*idempotency.Store)(nil)

// Authorizer decides whether a caller may do an action on a profile (shared/access's Authorizer
// is one). An error is a denial.
type Authorizer interface {
	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
}

var _ Authorizer = (*access.Authorizer)(nil)

// Deps is what a Service needs.
type Deps struct {
	// Access authorizes every API Gateway call once its profile is known; nil denies every one.
	Access Authorizer
	// Origin, when set, is the API that API Gateway events must come through: an event naming
	// another API or account is refused (403, audited) before its identity is believed, so that a
	// principal that may only invoke the function cannot pose as a caller. The builders always set it.
	Origin       *httpapi.Origin
	WhatConverts WhatConverts
	Credentials  whatconverts.Credentials
	Audit        Auditor
	// Idempotency may be nil for the read-only actions; a Call with an idempotency key then fails.
	Idempotency Idempotency
	Logger      *slog.Logger
	Now         func() time.Time
	// UpstreamTimeout caps the time given to WhatConverts (DefaultUpstreamTimeout when zero);
	// DeadlineMargin is kept free before the invocation's deadline (DefaultDeadlineMargin when zero).
	UpstreamTimeout time.Duration
	DeadlineMargin  time.Duration
	// MaxResponseBytes bounds an answer as the Lambda runtime encodes it: Lambda refuses a response
	// over 6 MB, which 10,000 leads (about 20 MB) exceed. Get Leads stops adding leads at the bound
	// and says so (truncated). DefaultMaxResponseBytes when zero; no bound when negative.
	MaxResponseBytes int
	// WorkflowRules are the ARNs of the EventBridge rules that may invoke the function directly
	// (blank entries are ignored; without any, every direct invocation is refused). Defence in depth
	// behind the function's resource policy (see the package doc).
	WorkflowRules []string
}

// Service runs the actions. It is safe for concurrent use.
type Service struct{ d Deps }

// NewService returns a Service over d.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.UpstreamTimeout <= 0 {
		d.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if d.DeadlineMargin <= 0 {
		d.DeadlineMargin = DefaultDeadlineMargin
	}
	if d.MaxResponseBytes == 0 {
		d.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return &Service{d: d}
}

// Call is one invocation of an action: who acts and how it came in, apart from the typed input.
type Call struct {
	// Actor is the IAM principal ARN of the caller, or the ARN of the EventBridge rule that invoked
	// the function directly (checked against the rules the function allows, see direct.go).
	Actor string
	// RequestID is API Gateway's request ID (or the Lambda request ID of a direct invocation).
	RequestID string
	// Request is the request as received, as JSON: it goes only into the sealed PHI part of the
	// audit record.
	Request json.RawMessage
	// IdempotencyKey, when set, makes the call idempotent under Fingerprint (see package doc).
	IdempotencyKey string
	Fingerprint    [sha256.Size]byte
	// PolicyVersion is the version of the access policy that allowed (or refused) the call, for
	// its audit record.
	PolicyVersion string
}

// Result is an action's answer.
type Result struct {
	Status int
	Body   json.RawMessage // JSON: the success body or {"error": {...}}
	// RetryAfter is set with 503 upstream_unavailable.
	RetryAfter time.Duration
	// Replayed says the answer is the stored one of an earlier call with the same idempotency key.
	Replayed bool
	// Err is the failure (nil on success), for logs; it is already rendered in Body.
	Err *apierr.Error
}

// APIGateway is r as an API Gateway proxy response, through the one response writer.
func (r Result) APIGateway() httpapi.Response {
	if r.Err != nil && !r.Replayed {
		return httpapi.Error(r.Err) // the same body as r.Body, with Retry-After when set
	}
	resp := httpapi.Response{
		StatusCode: r.Status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(r.Body),
	}
	if r.Replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp
}

// outcome is what an action produced on success.
type outcome struct {
	status  int
	body    any
	leadIDs []int64
}

// scope is what an audit record says the call was about.
type scope struct {
	action    string
	profileID int64
	leadIDs   []int64
	// outcome overrides the record's outcome (ok below 400, failed otherwise) when set: a direct
	// invocation refused before its payload could be trusted is "rejected".
	outcome audit.Outcome
}

// Refuse answers a call refused before it could execute (no identity, a bad media type, invalid
// input) with err, and audits it.
func (s *Service) Refuse(ctx context.Context, call Call, action string, profileID int64, leadIDs []int64, err error) Result {
	start := s.d.Now()
	res := failure(errorOf(err))
	return s.finish(ctx, call, scope{action: action, profileID: profileID, leadIDs: leadIDs}, start, res)
}

// authorize asks the access policy whether actor may do action on the profile: the policy's
// version, or a 403 naming the action and the profile. No authorizer, an error, and no permit are
// all a denial.
func (s *Service) authorize(ctx context.Context, actor, action string, profileID int64) (string, error) {
	if s.d.Access == nil {
		return "", apierr.Denied(action, profileID)
	}
	ok, version, err := s.d.Access.Authorize(ctx, actor, action, profileID)
	if err != nil {
		s.d.Logger.Warn("access not decided; denied", "action", action, "profile_id", profileID, "error", err.Error())
	}
	if err != nil || !ok {
		return version, apierr.Denied(action, profileID)
	}
	return version, nil
}

// deny answers a call the access policy refused, and audits it as rejected: nothing was done.
func (s *Service) deny(ctx context.Context, call Call, action string, profileID int64, leadIDs []int64, err error) Result {
	start := s.d.Now()
	sc := scope{action: action, profileID: profileID, leadIDs: leadIDs, outcome: audit.OutcomeRejected}
	return s.finish(ctx, call, sc, start, failure(errorOf(err)))
}

// reject answers a direct invocation refused before its payload could be trusted (an unknown shape,
// a rule that may not invoke the function) with err, and audits it as rejected.
func (s *Service) reject(ctx context.Context, call Call, action string, err error) Result {
	start := s.d.Now()
	return s.finish(ctx, call, scope{action: action, outcome: audit.OutcomeRejected}, start, failure(errorOf(err)))
}

// execute runs one action: idempotency, credentials, the WhatConverts calls under a deadline, then
// storage of the answer, the audit record and the log line.
func (s *Service) execute(ctx context.Context, call Call, sc scope, run func(ctx context.Context, k whatconverts.KeyFor) (outcome, error)) Result {
	start := s.d.Now()

	// The profile's key first: a profile without credentials is a refusal, not an outcome to keep
	// under an idempotency key (the retry after the secret is fixed must run).
	key, err := s.d.Credentials.For(sc.profileID)
	if err != nil {
		return s.finish(ctx, call, sc, start, failure(errorOf(err)))
	}

	var claim *idempotency.Claim
	if call.IdempotencyKey != "" {
		if s.d.Idempotency == nil {
			return s.finish(ctx, call, sc, start, failure(apierr.New(apierr.Internal, "internal error")))
		}
		c, stored, err := s.d.Idempotency.Begin(ctx, idempotency.Scope{Action: sc.action, Caller: call.Actor, Key: call.IdempotencyKey}, call.Fingerprint)
		switch {
		case err != nil:
			return s.finish(ctx, call, sc, start, failure(errorOf(err)))
		case stored != nil:
			res := Result{Status: stored.Status, Body: stored.Body, Replayed: true}
			sc.leadIDs = mergeIDs(sc.leadIDs, leadIDsOf(stored.Body))
			return s.finish(ctx, call, sc, start, res)
		}
		claim = c
	}

	res, ids := s.run(ctx, call.Actor, key, run)
	sc.leadIDs = mergeIDs(sc.leadIDs, ids)

	if claim != nil {
		wctx, cancel := deadline.Detach(ctx)
		var err error
		// A create that timed out may have been applied by WhatConverts, which has no idempotency of
		// its own: its 504 is kept, so a retry with the same key cannot create the lead twice.
		outcomeUnknown := sc.action == ActionCreateLead && res.Status == http.StatusGatewayTimeout
		if res.Status < http.StatusInternalServerError || outcomeUnknown {
			err = s.d.Idempotency.Complete(wctx, claim, idempotency.Response{Status: res.Status, Body: res.Body})
		} else {
			err = s.d.Idempotency.Release(wctx, claim)
		}
		cancel()
		if err != nil {
			// The action's answer stands (it happened); only its replay is lost.
			s.d.Logger.Warn("idempotency key not stored", "action", sc.action, "request_id", call.RequestID,
				"error", err.Error())
		}
	}
	return s.finish(ctx, call, sc, start, res)
}

// run runs the action with the profile's key under the upstream deadline, spending the key's
// budget as the caller (its role, for a session: the sessions of a role share one budget).
func (s *Service) run(ctx context.Context, actor string, key whatconverts.KeyFor, run func(ctx context.Context, k whatconverts.KeyFor) (outcome, error)) (Result, []int64) {
	ctx = budget.WithCaller(ctx, access.Principal(actor))
	uctx, cancel := s.upstreamContext(ctx)
	defer cancel()
	out, err := run(uctx, key)
	if err != nil {
		return failure(errorOf(err)), nil
	}
	body, err := json.Marshal(out.body)
	if err != nil {
		return failure(errorOf(err)), nil
	}
	return Result{Status: out.status, Body: body}, out.leadIDs
}

// upstreamContext bounds WhatConverts: min(ctx's deadline − margin, now + UpstreamTimeout).
func (s *Service) upstreamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return deadline.Bound(ctx, s.d.DeadlineMargin, s.d.Now().Add(s.d.UpstreamTimeout))
}

// finish writes the audit record and the log line, and answers. A failed audit write turns any
// answer into 500.
func (s *Service) finish(ctx context.Context, call Call, sc scope, start time.Time, res Result) Result {
	actor := call.Actor
	if actor == "" {
		actor = UnauthenticatedActor
	}
	outcomeOf := audit.OutcomeOK
	if res.Status >= http.StatusBadRequest {
		outcomeOf = audit.OutcomeFailed
	}
	if sc.outcome != "" {
		outcomeOf = sc.outcome
	}
	rec := audit.Record{
		Kind:       audit.KindAction,
		Actor:      actor,
		Action:     sc.action,
		ProfileID:  sc.profileID,
		LeadIDs:    sc.leadIDs,
		Outcome:    outcomeOf,
		Status:     res.Status,
		RequestID:  call.RequestID,
		ReceivedAt: start,

		PolicyVersion: call.PolicyVersion,
	}
	wctx, cancel := deadline.Detach(ctx)
	stored, auditErr := s.d.Audit.Append(wctx, rec, auditPayload(call.Request, res.Body))
	cancel()
	if auditErr != nil {
		res = failure(apierr.Wrap(auditErr, apierr.Internal, "internal error"))
		outcomeOf = audit.OutcomeFailed
	}

	attrs := []any{
		"action", sc.action, "request_id", call.RequestID, "actor", actor, "profile_id", sc.profileID,
		"status", res.Status, "outcome", string(outcomeOf), "leads", len(sc.leadIDs), "replayed", res.Replayed,
		"idempotency_key", call.IdempotencyKey != "", "duration_ms", s.d.Now().Sub(start).Milliseconds(),
	}
	if call.PolicyVersion != "" {
		attrs = append(attrs, "policy_version", call.PolicyVersion)
	}
	if auditErr == nil {
		attrs = append(attrs, "audit_record", stored.ID)
	}
	if res.Err != nil {
		attrs = append(attrs, "code", string(res.Err.Code))
		if res.Err.Code == apierr.InvalidRequest && len(res.Err.Fields) > 0 {
			// The answer names every refused field, as the contract asks; a name chosen by the
			// caller (an unknown body key or query parameter) could itself be PHI, so the log
			// names only the fields wcbridge knows.
			attrs = append(attrs, "fields", knownFields(res.Err.Fields))
		} else {
			attrs = append(attrs, "error", res.Err.Error())
		}
	}
	switch {
	case auditErr != nil:
		s.d.Logger.Error("action not audited", attrs...)
	case res.Status >= http.StatusInternalServerError:
		s.d.Logger.Error("action", attrs...)
	default:
		s.d.Logger.Info("action", attrs...)
	}
	return res
}

// knownFields lists the offending fields for a log line: names wcbridge defines as they are, any other
// name as "(other)".
func knownFields(fs []apierr.FieldProblem) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if loggableFields[f.Field] || whatconverts.IsCreateField(f.Field) {
			out = append(out, f.Field)
		} else {
			out = append(out, "(other)")
		}
	}
	return out
}

var loggableFields = map[string]bool{
	"profile_id": true, "lead_id": true, "email": true, "max_items": true, "lead_type": true,
	"send_notification": true, "additional_fields": true, "custom_fields": true, "body": true,
	IdempotencyHeader: true,
	// A direct invocation's payload (direct.go): its own members and the changes of an update.
	"source": true, "action": true, "rule": true, "event_id": true, "fields": true,
	"fields.quote_value": true, "fields.sales_value": true, "fields.lead_url": true, "fields.quotable": true,
}

// failure renders e with the one response writer.
func failure(e *apierr.Error) Result {
	r := httpapi.Error(e)
	return Result{Status: r.StatusCode, Body: json.RawMessage(r.Body), RetryAfter: e.RetryAfter, Err: e}
}

// auditPayload is the sealed part of an action's record: the request as received and the response
// body. A response too large for one record is kept as its size and SHA-256 (its lead IDs are in
// the record's clear part).
func auditPayload(request, response json.RawMessage) []byte {
	type omitted struct {
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	type payload struct {
		Request         json.RawMessage `json:"request,omitempty"`
		Response        json.RawMessage `json:"response,omitempty"`
		ResponseOmitted *omitted        `json:"response_omitted,omitempty"`
		RequestOmitted  *omitted        `json:"request_omitted,omitempty"`
	}
	digest := func(b []byte) *omitted {
		sum := sha256.Sum256(b)
		return &omitted{Bytes: len(b), SHA256: hex.EncodeToString(sum[:])}
	}
	p := payload{Request: validJSON(request), Response: validJSON(response)}
	b, _ := json.Marshal(p)
	if len(b) > maxAuditPayload && p.Response != nil {
		p.Response, p.ResponseOmitted = nil, digest(response)
		b, _ = json.Marshal(p)
	}
	if len(b) > maxAuditPayload && p.Request != nil {
		p.Request, p.RequestOmitted = nil, digest(request)
		b, _ = json.Marshal(p)
	}
	return b
}

func validJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return b
}

// leadIDsOf reads the lead IDs of a stored success body ({"lead": {...}}), for the audit record of
// a replay.
func leadIDsOf(body []byte) []int64 {
	var v struct {
		Lead *whatconverts.Lead `json:"lead"`
	}
	if json.Unmarshal(body, &v) != nil || v.Lead == nil || v.Lead.LeadID == 0 {
		return nil
	}
	return []int64{v.Lead.LeadID}
}

// mergeIDs appends the IDs of b that a does not hold.
func mergeIDs(a, b []int64) []int64 {
	for _, id := range b {
		found := false
		for _, x := range a {
			if x == id {
				found = true
				break
			}
		}
		if !found {
			a = append(a, id)
		}
	}
	return a
}

// errorOf is the one place that maps a failure to the contract's codes.
func errorOf(err error) *apierr.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, idempotency.ErrInProgress):
		return apierr.Wrap(err, apierr.Conflict, "a request with this Idempotency-Key is still in progress")
	case errors.Is(err, idempotency.ErrMismatch):
		return apierr.Wrap(err, apierr.Conflict, "this Idempotency-Key was used with a different request")
	case whatconverts.KindOf(err) == whatconverts.KindNotFound:
		// One answer for an unknown lead and for another profile's lead: they must not be told apart.
		return apierr.Wrap(err, apierr.NotFound, msgLeadNotFound)
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if whatconverts.KindOf(err) == whatconverts.KindUnknown && errors.Is(err, context.DeadlineExceeded) {
		return apierr.Wrap(err, apierr.UpstreamTimeout, "WhatConverts did not answer in time")
	}
	return whatconverts.APIError(err)
}

const msgLeadNotFound = "lead not found"

// errLeadNotFound is the answer for a lead the profile does not have.
func errLeadNotFound() error { return apierr.New(apierr.NotFound, msgLeadNotFound) }
