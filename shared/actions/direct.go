package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// WorkflowSource is the "source" of a direct invocation's payload (docs/workflows.md):
//
//	{"source": "wcbridge.workflow", "action": "update-lead", "rule": "<rule ARN>",
//	 "event_id": "<the bus event's detail.event_id>", "lead_id": 123, "profile_id": 1001,
//	 "fields": {"quotable": "yes"}}
const WorkflowSource = "wcbridge.workflow"

// UnverifiedRuleActor is the actor of the audit record of a direct invocation refused before its
// payload could be trusted. When the payload claims a well-formed rule ARN, the record's actor is
// UnverifiedRuleActor + ":" + that ARN, so the refusal says what was claimed; the claim is never an
// identity, and is used for nothing else.
const UnverifiedRuleActor = "unverified-rule"

func newHandler(svc *Service, r route) *Handler {
	h := &Handler{svc: svc, route: r, rules: map[string]bool{}}
	if r.direct != nil {
		h.directAllowed = validate.NewFieldSet(append(append([]string{}, directMembers...), r.direct.members...)...)
	}
	for _, a := range svc.d.WorkflowRules {
		if a != "" {
			h.rules[a] = true
		}
	}
	return h
}

// ruleARN is an EventBridge rule's ARN: rule/NAME on the default bus, rule/BUS/NAME on another.
var ruleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:events:[a-z0-9-]+:[0-9]{12}:rule/([A-Za-z0-9._/-]{1,256}/)?[A-Za-z0-9._-]{1,64}$`)

// ValidRuleARN reports whether s has the form of an EventBridge rule's ARN.
func ValidRuleARN(s string) bool { return len(s) <= 1600 && ruleARN.MatchString(s) }

// InvocationError is the error of a direct invocation, or of a payload of no known shape, that is
// returned to Lambda rather than answered: its message is the action, the status and the contract
// code, never anything of the payload or of WhatConverts' answer.
type InvocationError struct {
	Action string
	Status int
	Code   apierr.Code
}

func (e *InvocationError) Error() string {
	return e.Action + ": " + strconv.Itoa(e.Status) + " " + string(e.Code)
}

// directForm is an action's direct-invocation form: its members of the payload besides the common
// ones, and how to read them into the core call to make. parse records its problems in p and returns
// what it could read for the audit record.
type directForm struct {
	members []string
	parse   func(obj validate.Object, p *validate.Problems) (exec func(ctx context.Context, s *Service, c Call) Result, profileID int64, leadIDs []int64)
}

// directMembers are the payload members every direct invocation has.
var directMembers = []string{"source", "action", "rule", "event_id"}

const (
	problemNoDirectForm = "is not available by direct invocation"
	problemEventID      = "must be a string of 1 to 255 printable ASCII characters"
)

// Handle is the function's entry point (lambda.Start(h.Handle)). It dispatches on the payload's
// shape:
//
//   - an API Gateway proxy request (members httpMethod and requestContext, no source) goes to
//     HandleAPIGateway, and its response is returned; never an error;
//   - a workflow rule's direct invocation ("source": WorkflowSource, neither httpMethod nor
//     requestContext) is checked and run as the route's action (see below);
//   - anything else is refused: audited as rejected (actor UnauthenticatedActor, 400
//     invalid_request) and returned as an *InvocationError, without calling WhatConverts.
//
// A direct invocation is refused, audited as rejected and returned as an *InvocationError (403
// forbidden) unless its "rule" is one of the ARNs the handler allows (Deps.WorkflowRules); nothing else of
// the payload is read before that. Then it is validated with the rules of the action's API route
// (Update Lead: "fields" holds exactly the PATCH body's changes, each refused one named as
// fields.NAME), run through the same core method, and audited with the rule's ARN as the actor.
// Its "event_id" is the Idempotency-Key, scoped to the action and the rule, so a redelivered event
// replays the first answer instead of calling WhatConverts again.
//
// What a direct invocation returns. EventBridge invokes a function asynchronously, and Lambda retries
// an invocation that returns an error (twice by default, then its on-failure destination or
// dead-letter queue, when the function has one). So the answer decides the retry:
//
//   - an answer below 500 is returned as a result, {"status": S, ...the API route's body...}, e.g.
//     {"status": 200, "lead": {...}} or {"status": 400, "error": {...}}, plus "replayed": true when
//     it is the stored answer of an earlier delivery: retrying a validation failure, a 404 or an
//     idempotency mismatch would only get the same answer again;
//   - a 5xx (WhatConverts failed or is out of budget, a timeout, a failed audit write) and a 409
//     because an earlier delivery of the same event is still running are returned as an
//     *InvocationError, so that the retry runs (the key is released after a 5xx; the running
//     delivery's answer is replayed to the retry);
//   - refusals before the payload is trusted (the rule, an undecodable payload) are errors too: they
//     are not answers for a caller but invocations that should not happen, and an error shows in the
//     function's Errors metric.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(payload, &top) == nil {
		switch shapeOf(top) {
		case shapeAPIGateway:
			var req events.APIGatewayProxyRequest
			if json.Unmarshal(payload, &req) == nil {
				resp, err := h.HandleAPIGateway(ctx, req)
				if err != nil {
					return nil, err
				}
				return json.Marshal(resp)
			}
		case shapeWorkflow:
			return h.direct(ctx, payload)
		}
	}
	call := Call{RequestID: lambdaRequestID(ctx), Request: payload}
	res := h.svc.reject(ctx, call, h.route.action, apierr.New(apierr.InvalidRequest,
		"the payload is neither an API Gateway proxy request nor a %s invocation", WorkflowSource))
	return nil, h.invocationError(res)
}

type shape int

const (
	shapeUnknown shape = iota
	shapeAPIGateway
	shapeWorkflow
)

// shapeOf tells an API Gateway proxy request from a direct invocation by the payload's top-level
// members (names compared exactly: encoding/json would match struct fields ignoring case).
func shapeOf(top map[string]json.RawMessage) shape {
	_, method := top["httpMethod"]
	_, reqCtx := top["requestContext"]
	rawSource, hasSource := top["source"]
	switch {
	case method && reqCtx && !hasSource:
		return shapeAPIGateway
	case hasSource && !method && !reqCtx:
		var source string
		if json.Unmarshal(rawSource, &source) == nil && source == WorkflowSource {
			return shapeWorkflow
		}
	}
	return shapeUnknown
}

// direct runs a workflow rule's direct invocation.
func (h *Handler) direct(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	call := Call{RequestID: lambdaRequestID(ctx), Request: payload, Actor: UnverifiedRuleActor}
	// The strict decoder: a payload with two "rule" members (which one would a check read?) or
	// invalid UTF-8 is refused before any member is believed.
	obj, err := validate.DecodeObject(payload)
	if err != nil {
		return nil, h.invocationError(h.svc.reject(ctx, call, h.route.action, err))
	}
	var rule string
	if json.Unmarshal(obj["rule"], &rule) != nil || !h.rules[rule] {
		if ValidRuleARN(rule) {
			call.Actor = UnverifiedRuleActor + ":" + rule
		}
		return nil, h.invocationError(h.svc.reject(ctx, call, h.route.action,
			apierr.New(apierr.Forbidden, "this rule may not invoke the function")))
	}
	call.Actor = rule

	var p validate.Problems
	form := h.route.direct
	if form == nil {
		p.Add("action", problemNoDirectForm)
		return h.answer(h.svc.Refuse(ctx, call, h.route.action, 0, nil, p.Err()))
	}
	p.OnlyFields(obj, h.directAllowed)
	p.Require(obj, "action", "event_id")
	if action, ok := p.StringField(obj, "action"); ok && action != h.route.action {
		p.Add("action", "must be "+h.route.action)
	}
	eventID, ok := p.StringField(obj, "event_id")
	if ok && !idempotency.ValidKey(eventID) {
		p.Add("event_id", problemEventID)
	}
	exec, profileID, leadIDs := form.parse(obj, &p)
	if err := p.Err(); err != nil {
		return h.answer(h.svc.Refuse(ctx, call, h.route.action, profileID, leadIDs, err))
	}
	call.IdempotencyKey = eventID
	call.Fingerprint = idempotency.Fingerprint([]byte("direct"), []byte(h.route.action), canonicalJSON(payload))
	return h.answer(exec(ctx, h.svc, call))
}

// answer is a direct invocation's result: the answer below 500, an error otherwise (see Handle).
func (h *Handler) answer(res Result) (json.RawMessage, error) {
	if res.Status >= 500 || (res.Err != nil && errors.Is(res.Err, idempotency.ErrInProgress)) {
		return nil, h.invocationError(res)
	}
	out := fmt.Appendf(nil, `{"status":%d`, res.Status)
	if res.Replayed {
		out = append(out, `,"replayed":true`...)
	}
	// The route's body is a JSON object written by the one response writer (or stored from one).
	if b := bytes.TrimSpace(res.Body); len(b) >= 2 && b[0] == '{' && json.Valid(b) {
		if inner := bytes.TrimSpace(b[1 : len(b)-1]); len(inner) > 0 {
			out = append(append(out, ','), inner...)
		}
	}
	return append(out, '}'), nil
}

func (h *Handler) invocationError(res Result) error {
	code := apierr.Internal
	if res.Err != nil {
		code = res.Err.Code
	}
	return &InvocationError{Action: h.route.action, Status: res.Status, Code: code}
}
