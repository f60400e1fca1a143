package apigateway

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/sigv4"
)

// LocalUserARN is the IAM principal of the local access key: what the functions see as the caller.
const LocalUserARN = "arn:aws:iam::" + samtemplate.AccountID + ":user/wcbridge-local"

// DefaultStage is the stage name in the events the gateway builds.
const DefaultStage = "local"

// MaxRequestBody is API Gateway's payload limit.
const MaxRequestBody = 10 * 1024 * 1024

// IntegrationTimeout is how long API Gateway waits for a function before answering 504; the
// function itself runs on to its own timeout.
const IntegrationTimeout = 29 * time.Second

// Principal is an IAM identity whose access key the AWS_IAM routes accept.
type Principal struct {
	AccessKeyID     string
	SecretAccessKey string
	// ARN is reported to functions as requestContext.identity.userArn: the caller.
	ARN string
	// ID is IAM's unique ID of the principal (AIDA…), reported as identity.caller and identity.user;
	// derived from ARN when empty.
	ID string
}

// LocalPrincipal is the one local IAM user, LocalUserARN, with the given key.
func LocalPrincipal(accessKeyID, secretAccessKey string) Principal {
	return Principal{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, ARN: LocalUserARN}
}

// GatewayOptions configures NewGateway.
type GatewayOptions struct {
	// Principals are the identities whose SigV4 signatures AWS_IAM routes accept.
	Principals []Principal
	// Stage is requestContext.stage (DefaultStage when empty).
	Stage string
	// Now is the clock for SigV4's window and the events' request time (time.Now when nil).
	Now func() time.Time
	// RequestID makes API Gateway request IDs (random UUIDs when nil).
	RequestID func() string
	// Logger gets one line per request: method, the route's template path (never the request's path
	// or query), status, function, duration. Discarded when nil.
	Logger *slog.Logger
}

// Gateway is the local REST API: an http.Handler serving the template's Api events.
type Gateway struct {
	fns        *Functions
	routes     *routeTable
	verifier   *sigv4.Verifier
	principals map[string]Principal // by access key ID
	stage      string
	now        func() time.Time
	requestID  func() string
	log        *slog.Logger
	timeout    time.Duration // IntegrationTimeout; shorter in tests
}

// NewGateway serves the Api events of fns' template. It refuses a template it cannot serve as API
// Gateway would: a route with an authorizer other than NONE or AWS_IAM, a malformed path, or one
// method of one path claimed by two functions.
func NewGateway(fns *Functions, opts GatewayOptions) (*Gateway, error) {
	routes, err := newRouteTable(fns.Template())
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		fns:        fns,
		routes:     routes,
		principals: map[string]Principal{},
		stage:      opts.Stage,
		now:        opts.Now,
		requestID:  opts.RequestID,
		log:        opts.Logger,
		timeout:    IntegrationTimeout,
	}
	if g.stage == "" {
		g.stage = DefaultStage
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.requestID == nil {
		g.requestID = newUUID
	}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g.verifier = &sigv4.Verifier{Region: samtemplate.Region, Service: "execute-api", Now: g.now}
	for _, p := range opts.Principals {
		if p.AccessKeyID == "" || p.SecretAccessKey == "" || p.ARN == "" {
			return nil, errors.New("apigateway: a principal needs an access key ID, a secret and an ARN")
		}
		if p.ID == "" {
			p.ID = principalID(p.ARN)
		}
		g.principals[p.AccessKeyID] = p
		g.verifier.Credentials = append(g.verifier.Credentials, sigv4.Credential{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey})
	}
	return g, nil
}

// principalID makes an IAM-style unique ID for a principal ARN: AIDA (a user) or AROA (a role)
// and 17 characters, stable for the ARN.
func principalID(arn string) string {
	prefix := "AIDA"
	if strings.Contains(arn, ":role/") || strings.Contains(arn, ":assumed-role/") {
		prefix = "AROA"
	}
	sum := sha256.Sum256([]byte(arn))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// ServeHTTP answers one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := g.now()
	requestID := g.requestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("X-Amz-Apigw-Id", extendedRequestID(requestID)[:16])

	rt, params, ok := g.routes.match(r.Method, r.URL.EscapedPath())
	if !ok {
		status, errType := g.refuse(w, http.StatusForbidden, "MissingAuthenticationTokenException", sigv4.MsgMissingToken)
		g.logRequest(r.Method, "", "", status, errType, start)
		return
	}
	status, errType := g.serve(w, r, rt, params, requestID, now)
	g.logRequest(r.Method, rt.resource.path, rt.fn.LogicalID, status, errType, start)
}

// serve answers a request that matched a route, returning the status and, for an answer of API
// Gateway's own, its error type.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rt *route, params map[string]string, requestID string, now time.Time) (int, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return g.refuse(w, http.StatusRequestEntityTooLarge, "RequestTooLongException", "Request Too Long")
		}
		return g.refuse(w, http.StatusBadRequest, "BadRequestException", "Could not read the request body")
	}

	info := requestInfo{route: rt, params: params, body: body, requestID: requestID, stage: g.stage, now: now}
	if rt.event.Authorizer == samtemplate.AuthIAM {
		cred, err := g.verifier.Verify(r, body)
		if err != nil {
			var se *sigv4.Error
			if !errors.As(err, &se) {
				return g.refuse(w, http.StatusForbidden, "MissingAuthenticationTokenException", sigv4.MsgMissingToken)
			}
			return g.refuse(w, http.StatusForbidden, se.Type(), se.Message)
		}
		info.caller = &callerIdentity{accessKey: cred.AccessKeyID, principal: g.principals[cred.AccessKeyID]}
	}

	payload, err := marshalEvent(proxyRequest(r, info))
	if err != nil {
		return g.internalError(w)
	}
	// API Gateway waits up to its integration timeout, whether or not the client is still there;
	// the function runs on to its own timeout either way (see Functions.run).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.timeout)
	defer cancel()
	out, err := g.fns.run(ctx, g.fns.byID[rt.fn.LogicalID], InvokeInput{Payload: payload})
	switch {
	case err != nil:
		return g.refuse(w, http.StatusGatewayTimeout, "InternalServerErrorException", "Endpoint request timed out")
	case out.Error != nil:
		return g.internalError(w)
	}
	resp, err := parseProxyResponse(out.Payload)
	if err != nil {
		g.log.Warn("malformed Lambda proxy response", "function", rt.fn.LogicalID, "request_id", requestID)
		return g.internalError(w)
	}

	h := w.Header()
	for k, vs := range resp.headers {
		name := http.CanonicalHeaderKey(k)
		if remapped[name] {
			// API Gateway keeps these for itself and passes the function's as x-amzn-Remapped-…
			name = "X-Amzn-Remapped-" + name
		}
		for _, v := range vs {
			h.Add(name, v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
	return resp.status, ""
}

// remapped are the response headers API Gateway does not take from an integration as they are.
var remapped = map[string]bool{
	"Connection": true, "Content-Length": true, "Date": true, "Server": true,
	"Transfer-Encoding": true, "Www-Authenticate": true, "Authorization": true,
}

// internalError is API Gateway's answer to a failed function or a malformed response.
func (g *Gateway) internalError(w http.ResponseWriter) (int, string) {
	return g.refuse(w, http.StatusBadGateway, "InternalServerErrorException", "Internal server error")
}

// refuse answers as API Gateway answers for itself: {"message": …} with x-amzn-ErrorType.
func (g *Gateway) refuse(w http.ResponseWriter, status int, errorType, message string) (int, string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", errorType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status, errorType
}

func (g *Gateway) logRequest(method, resourcePath, function string, status int, errorType string, start time.Time) {
	attrs := []any{
		"method", method,
		"resource", resourcePath, // the template's path, e.g. /leads/{lead_id}: no values
		"function", function,
		"status", status,
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
	}
	if errorType != "" {
		// Why API Gateway answered for itself (e.g. InvalidSignatureException); never the message.
		attrs = append(attrs, "error_type", errorType)
	}
	g.log.Info("api", attrs...)
}
