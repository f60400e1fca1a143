// Package apierr is wcbridge's one error type: every route answers failures with it, so callers see
// the contract's codes and never an internal error's text.
//
// A *Error carries a contract code, a message safe to show (it names fields, never values), the
// offending fields, and for upstream_unavailable how long to wait. The cause, kept for logs, is never
// rendered to callers.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Code is an error code of the contract.
type Code string

// The contract's error codes.
const (
	InvalidRequest       Code = "invalid_request"
	Unauthorized         Code = "unauthorized"
	Forbidden            Code = "forbidden"
	NotFound             Code = "not_found"
	Conflict             Code = "conflict"
	PayloadTooLarge      Code = "payload_too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	UpstreamError        Code = "upstream_error"
	UpstreamUnavailable  Code = "upstream_unavailable"
	UpstreamTimeout      Code = "upstream_timeout"
	Internal             Code = "internal"
)

// Status is the HTTP status the contract gives a code.
func (c Code) Status() int {
	switch c {
	case InvalidRequest:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case PayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case UpstreamError:
		return http.StatusBadGateway
	case UpstreamUnavailable:
		return http.StatusServiceUnavailable
	case UpstreamTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// FieldProblem names one offending field and what is wrong with it, without its value.
type FieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Error is a failure as callers see it.
type Error struct {
	Code       Code
	Message    string
	Fields     []FieldProblem
	RetryAfter time.Duration // upstream_unavailable only: how long until trying again makes sense
	cause      error         // for logs; never shown to callers
}

// Error describes the failure for logs: code, message, fields and the cause's type-level text.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// New is an error with a code and a caller-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Denied is the answer to a request the access policy refuses: 403 forbidden naming the action and
// the profile. (Here rather than in shared/access so that a handler answering it need not link the
// policy engine.)
func Denied(action string, profileID int64) *Error {
	return New(Forbidden, "the caller may not %s on profile %d", action, profileID)
}

// DeniedAnywhere is the answer when the caller may do action on no profile at all.
func DeniedAnywhere(action string) *Error {
	return New(Forbidden, "the caller may not %s on any profile", action)
}

// Wrap is an error with a code and a caller-safe message, keeping cause for logs. The cause must
// itself hold no PHI: wrap only errors whose text the code controls (SDK errors, client errors).
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), cause: cause}
}

// Invalid is an invalid_request naming every offending field. The message names the first field's
// problem, or counts them when there are several.
func Invalid(fields ...FieldProblem) *Error {
	e := &Error{Code: InvalidRequest, Fields: fields}
	switch len(fields) {
	case 0:
		e.Message = "the request is invalid"
	case 1:
		e.Message = fields[0].Field + " " + fields[0].Problem
	default:
		e.Message = fmt.Sprintf("%d fields are invalid: %s", len(fields), fieldNames(fields))
	}
	return e
}

func fieldNames(fs []FieldProblem) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return strings.Join(names, ", ")
}

// From turns any error into an *Error: an *Error anywhere in the chain is returned as it is,
// anything else becomes internal with a message that says nothing about internals.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", cause: err}
}

// CodeOf is the contract code of err (internal for a plain error).
func CodeOf(err error) Code { return From(err).Code }
