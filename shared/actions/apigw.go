package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// IdempotencyHeader is the header that makes POST /leads and PATCH /leads/{lead_id} idempotent.
const IdempotencyHeader = "Idempotency-Key"

// Handler is one action's Lambda entry point: Handle takes what the function is invoked with and
// dispatches it to the API Gateway (REST API, Lambda proxy integration) adapter, HandleAPIGateway,
// or to the direct invocation of a workflow rule (direct.go).
type Handler struct {
	svc   *Service
	route route
	// rules are the ARNs of the EventBridge rules allowed to invoke the function directly.
	rules map[string]bool
	// directAllowed are the members of the route's direct-invocation payload.
	directAllowed validate.FieldSet
}

// route describes one action's ways in: its HTTP shape and its direct-invocation form.
type route struct {
	action string
	// body: the route takes a JSON body (POST, PATCH), and honours the Idempotency-Key header.
	body bool
	// parse validates the request into the action's typed input and returns the core call to make.
	// On failure it still returns the profile and lead IDs it could read, for the audit record.
	parse func(req httpapi.Request, body []byte) (exec func(ctx context.Context, s *Service, c Call) Result, profileID int64, leadIDs []int64, err error)
	// direct is the action's direct-invocation form; nil when it has none.
	direct *directForm
}

// HandleAPIGateway answers one API Gateway proxy request. It never returns an error: every failure
// is an answer of the contract (a Lambda error would reach the caller as API Gateway's own 502).
func (h *Handler) HandleAPIGateway(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return h.serve(ctx, req).APIGateway(), nil
}

func (h *Handler) serve(ctx context.Context, req httpapi.Request) Result {
	call := Call{RequestID: httpapi.RequestID(req)}
	if call.RequestID == "" {
		call.RequestID = lambdaRequestID(ctx)
	}
	body, bodyErr := httpapi.JSONBody(req) // body: what could be read, for the audit record
	call.Request = requestRecord(req, body)

	actor, err := httpapi.Caller(req)
	if err != nil {
		return h.svc.Refuse(ctx, call, h.route.action, 0, nil, err)
	}
	call.Actor = actor

	if h.route.body && bodyErr != nil {
		return h.svc.Refuse(ctx, call, h.route.action, 0, nil, bodyErr)
	}

	exec, profileID, leadIDs, err := h.route.parse(req, body)
	if err == nil && h.route.body {
		if key, ok := headerValue(req, IdempotencyHeader); ok {
			if !idempotency.ValidKey(key) {
				err = apierr.Invalid(apierr.FieldProblem{Field: IdempotencyHeader, Problem: "must be 1 to 255 printable ASCII characters"})
			} else {
				call.IdempotencyKey = key
				call.Fingerprint = fingerprint(req.HTTPMethod, req.Path, body)
			}
		}
	}
	if err != nil {
		return h.svc.Refuse(ctx, call, h.route.action, profileID, leadIDs, err)
	}
	return exec(ctx, h.svc, call)
}

// lambdaRequestID is the invocation's Lambda request ID ("" outside Lambda).
func lambdaRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// headerValue is a request header by case-insensitive name, and whether it was sent at all (an
// empty Idempotency-Key is refused, not ignored).
func headerValue(req httpapi.Request, name string) (string, bool) {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

// requestRecord is the request as received, for the sealed part of the audit record: method, path,
// query and body. Headers are left out (they carry credentials, not lead data).
func requestRecord(req httpapi.Request, body []byte) json.RawMessage {
	rec := struct {
		Method string              `json:"method"`
		Path   string              `json:"path"`
		Query  map[string][]string `json:"query,omitempty"`
		Body   json.RawMessage     `json:"body,omitempty"`
		Text   string              `json:"body_text,omitempty"` // a body that is not JSON
	}{Method: req.HTTPMethod, Path: req.Path, Query: queryValues(req)}
	switch {
	case len(body) == 0:
	case json.Valid(body):
		rec.Body = body
	default:
		rec.Text = strings.ToValidUTF8(string(body), "\uFFFD")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil
	}
	return b
}

// queryValues merges API Gateway's single- and multi-value query parameters.
func queryValues(req httpapi.Request) map[string][]string {
	if len(req.QueryStringParameters) == 0 && len(req.MultiValueQueryStringParameters) == 0 {
		return nil
	}
	q := make(map[string][]string, len(req.QueryStringParameters))
	for k, vs := range req.MultiValueQueryStringParameters {
		q[k] = vs
	}
	for k, v := range req.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q[k] = []string{v}
		}
	}
	return q
}

// query reads the query parameters of a GET route: each of allowed at most once, nothing else.
// Unknown and repeated parameters are recorded as problems, by name.
func query(req httpapi.Request, p *validate.Problems, allowed ...string) map[string]string {
	all := queryValues(req)
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(map[string]string, len(all))
	for _, k := range names {
		vs := all[k]
		switch {
		case !contains(allowed, k):
			p.Add(k, validate.ProblemNotAllowed)
		case len(vs) != 1:
			p.Add(k, "must be given once")
		default:
			out[k] = vs[0]
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fingerprint is the SHA-256 of the canonical request: method, path, and the body re-encoded with
// sorted keys and no insignificant whitespace. Bodies have been validated as JSON objects before.
func fingerprint(method, path string, body []byte) [32]byte {
	return idempotency.Fingerprint([]byte(method), []byte(path), canonicalJSON(body))
}

func canonicalJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers keep their text: 10 and 10.0 stay two requests, as sent
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	b, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return b
}
