// Package httpapi is the one response writer of every API Gateway route, and the request helpers the
// handlers share (headers, the caller's identity).
package httpapi

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// Response is what a handler returns to API Gateway.
type Response = events.APIGatewayProxyResponse

// Request is what API Gateway's REST proxy integration sends.
type Request = events.APIGatewayProxyRequest

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) Response {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (an unencodable type); say nothing more to the caller.
		slog.Error("encode response", "error", err.Error())
		return Error(apierr.New(apierr.Internal, "internal error"))
	}
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apierr.Code           `json:"code"`
	Message string                `json:"message"`
	Fields  []apierr.FieldProblem `json:"fields,omitempty"`
}

// Error answers err as the contract says: its code's status and the body
// {"error": {"code", "message", "fields"}}, with Retry-After (whole seconds, rounded up) when set.
// Anything that is not an *apierr.Error is answered as internal.
func Error(err error) Response {
	e := apierr.From(err)
	r := JSON(e.Code.Status(), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + 999_999_999) / 1_000_000_000)
		r.Headers["Retry-After"] = strconv.FormatInt(secs, 10)
	}
	return r
}

// Header returns a request header by case-insensitive name (API Gateway keeps the client's case).
func Header(req Request, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// Caller is the authenticated IAM principal of a request (API Gateway's IAM auth sets it), or a
// forbidden error when there is none: defence in depth behind the gateway.
func Caller(req Request) (string, error) {
	if arn := req.RequestContext.Identity.UserArn; arn != "" {
		return arn, nil
	}
	return "", apierr.New(apierr.Forbidden, "no authenticated caller identity")
}

// RequestID is the API Gateway request ID, for audit records and logs.
func RequestID(req Request) string { return req.RequestContext.RequestID }
