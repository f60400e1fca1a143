package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
)

// MaxBody is the largest webhook body accepted (contract: 413 above 256 KiB).
const MaxBody = 256 << 10

// DefaultPublishTimeout bounds the inline publish after the durable write: past it the event is left
// on the outbox for the sweep, so a slow bus never holds the acknowledgement for long.
const DefaultPublishTimeout = 3 * time.Second

// DefaultDeadlineMargin is kept free before the invocation's deadline to answer: the table writes and
// the inline publish end by then.
const DefaultDeadlineMargin = deadline.DefaultMargin

// Recorder is the part of the audit store the webhook writes with. It has no way to read a record
// back or to open one: the webhook function's role allows neither.
type Recorder interface {
	RecordIfNew(ctx context.Context, key audit.DedupeKey, r audit.Record, payload []byte) (eventID string, isNew bool, err error)
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
	MarkPublished(ctx context.Context, eventID string) error
	CountRejection(ctx context.Context, at time.Time, status int) (int64, error)
}

var _ Recorder = (*audit.Store)(nil)

// Ingest handles POST /webhooks/whatconverts: WhatConverts' New Lead and Updated Lead deliveries.
//
// A delivery is acknowledged (200) only once its audit record, holding the body sealed as received,
// is durable. It is then published to the bus inline; if that fails the event stays on the outbox
// and the publisher function sends it later, so every acknowledged event reaches the bus at least
// once. A redelivery is answered 200 with the first event's ID and is neither stored nor published
// again. Every accepted or duplicate delivery leaves one audit record; refused ones are counted in
// one audit item per minute and status (see reject).
type Ingest struct {
	Tokens   Tokens
	Store    Recorder
	Bus      Bus
	EventBus string       // the bus name or ARN
	Log      *slog.Logger // IDs, codes and field names only, never the request, its query or its body (nil: slog.Default)

	Now            func() time.Time // defaults to time.Now
	PublishTimeout time.Duration    // defaults to DefaultPublishTimeout
	// DeadlineMargin is kept free before the invocation's deadline (ctx's): every table write and the
	// inline publish of a delivery end that long before it. DefaultDeadlineMargin when zero.
	DeadlineMargin time.Duration
}

// Response is the body of a 200 answer.
type Response struct {
	EventID   string `json:"event_id"`
	Trigger   string `json:"trigger"`
	Duplicate bool   `json:"duplicate"`
}

// Handle answers one delivery. It returns a nil error for everything the caller should see; the
// request is never logged (its query string holds the token, its body PHI).
func (h *Ingest) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	receivedAt := h.now()
	reqID := httpapi.RequestID(req)

	// Every table write of the delivery, and the inline publish, end DeadlineMargin before the
	// invocation does. The SDK's retries against a throttled or failing table can back off for longer
	// than the function's timeout; bounded, they fail in time for the contract's 500 (nothing is
	// acknowledged, WhatConverts delivers again), instead of Lambda ending the invocation unanswered
	// and API Gateway answering its own 502.
	ctx, cancel := deadline.Bound(ctx, h.margin(), time.Time{})
	defer cancel()

	// The credential first, before anything of the body is looked at.
	if !h.Tokens.Valid(queryToken(req)) {
		return h.reject(ctx, reqID, receivedAt, delivery{}, apierr.New(apierr.Unauthorized, "missing or invalid webhook token")), nil
	}
	body, err := readBody(req)
	if err != nil {
		return h.reject(ctx, reqID, receivedAt, delivery{}, err), nil
	}
	d, err := parseDelivery(body)
	if err != nil {
		return h.reject(ctx, reqID, receivedAt, d, err), nil
	}

	rec := audit.Record{
		Kind:          audit.KindWebhook,
		Actor:         audit.WebhookActor,
		Action:        d.trigger,
		Status:        http.StatusOK,
		RequestID:     reqID,
		ReceivedAt:    receivedAt,
		AccountID:     d.accountID,
		LeadType:      d.leadType,
		LastUpdated:   d.lastUpdated,
		Quotable:      d.quotable,
		HasQuoteValue: d.hasQuoteValue,
		HasSalesValue: d.hasSalesValue,
		ChangedFields: d.changedFields,
	}
	// One conditional write decides new or redelivery and makes the sealed body durable.
	eventID, isNew, err := h.Store.RecordIfNew(ctx, d.key(), rec, body)
	if err != nil {
		return h.fail(ctx, reqID, receivedAt, d, err), nil
	}
	if !isNew {
		return h.duplicate(ctx, rec, d, eventID), nil
	}

	rec.ID, rec.EventID = eventID, eventID
	rec.Trigger, rec.ProfileID, rec.LeadIDs = d.trigger, d.profileID, []int64{d.leadID}
	published := h.publishInline(ctx, rec)
	h.logger().InfoContext(ctx, "webhook accepted", "request_id", reqID, "event_id", eventID, "trigger", d.trigger,
		"profile_id", d.profileID, "lead_id", d.leadID, "published", published, "status", http.StatusOK)
	return httpapi.JSON(http.StatusOK, Response{EventID: eventID, Trigger: d.trigger}), nil
}

// duplicate audits a redelivery as its own small record (no body) and answers with the first event.
func (h *Ingest) duplicate(ctx context.Context, rec audit.Record, d delivery, eventID string) events.APIGatewayProxyResponse {
	rec.Outcome = audit.OutcomeDuplicate
	rec.EventID = eventID
	rec.Trigger, rec.ProfileID, rec.LeadIDs = d.trigger, d.profileID, []int64{d.leadID}
	if _, err := h.Store.Append(ctx, rec, nil); err != nil {
		h.logger().ErrorContext(ctx, "webhook duplicate not audited", "request_id", rec.RequestID, "event_id", eventID,
			"status", http.StatusInternalServerError, "error", err.Error())
		return httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))
	}
	h.logger().InfoContext(ctx, "webhook duplicate", "request_id", rec.RequestID, "event_id", eventID, "trigger", d.trigger,
		"profile_id", d.profileID, "lead_id", d.leadID, "status", http.StatusOK)
	return httpapi.JSON(http.StatusOK, Response{EventID: eventID, Trigger: d.trigger, Duplicate: true})
}

// publishInline puts a just-recorded event on the bus and takes it off the outbox. Neither failing
// fails the request: the record is durable and still on the outbox, which the sweep publishes.
func (h *Ingest) publishInline(ctx context.Context, rec audit.Record) bool {
	timeout := h.PublishTimeout
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	// The acknowledgement must not wait on a slow bus, nor be lost to a caller that went away after
	// the write: the publish gets its own deadline, detached from the request's cancellation, and
	// still ends with the request's writes (ctx's deadline), before the invocation does.
	ctx, cancel := deadline.Detached(ctx, 0, time.Now().Add(timeout))
	defer cancel()
	ok, _, err := publish(ctx, h.Bus, h.EventBus, []audit.Record{rec})
	if err != nil || len(ok) == 0 {
		attrs := []any{"request_id", rec.RequestID, "event_id", rec.ID}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		h.logger().WarnContext(ctx, "webhook publish deferred to the outbox", attrs...)
		return false
	}
	if err := h.Store.MarkPublished(ctx, rec.ID); err != nil {
		// Published but still marked: the sweep publishes it again (at least once; consumers
		// de-duplicate on event_id).
		h.logger().WarnContext(ctx, "webhook outbox marker not cleared", "request_id", rec.RequestID, "event_id", rec.ID,
			"error", err.Error())
	}
	return true
}

// reject audits a refused delivery (without its body) and answers err. Refused deliveries are
// unauthenticated or malformed, so they are counted, not recorded one by one: one audit item per
// minute and status holds their exact count and first and last times (audit.Store.CountRejection),
// so a flood cannot make the table hold a six-year record per request. The log line keeps the
// request ID, the profile and lead IDs and the fields at fault.
func (h *Ingest) reject(ctx context.Context, reqID string, at time.Time, d delivery, err error) events.APIGatewayProxyResponse {
	e := apierr.From(err)
	attrs := []any{"request_id", reqID, "status", e.Code.Status(), "code", string(e.Code), "trigger", d.trigger,
		"profile_id", d.profileID, "lead_id", d.leadID}
	if len(e.Fields) > 0 {
		attrs = append(attrs, "fields", fieldNames(e.Fields))
	}
	if _, aerr := h.Store.CountRejection(ctx, at, e.Code.Status()); aerr != nil {
		// An audit write that fails fails the request.
		h.logger().ErrorContext(ctx, "webhook rejection not audited", append(attrs, "error", aerr.Error())...)
		return httpapi.Error(apierr.Wrap(aerr, apierr.Internal, "internal error"))
	}
	h.logger().InfoContext(ctx, "webhook rejected", attrs...)
	return httpapi.Error(e)
}

// fail answers a delivery that could not be recorded with 500: nothing is acknowledged, so
// WhatConverts delivers it again. The failure itself is audited when the table still takes writes.
func (h *Ingest) fail(ctx context.Context, reqID string, at time.Time, d delivery, err error) events.APIGatewayProxyResponse {
	h.logger().ErrorContext(ctx, "webhook not recorded", "request_id", reqID, "trigger", d.trigger,
		"profile_id", d.profileID, "lead_id", d.leadID, "status", http.StatusInternalServerError, "error", err.Error())
	rec := audit.Record{
		Kind: audit.KindWebhook, Actor: audit.WebhookActor, Action: d.trigger, Outcome: audit.OutcomeFailed,
		Status: http.StatusInternalServerError, RequestID: reqID, ReceivedAt: at, Trigger: d.trigger,
		ProfileID: d.profileID, LeadIDs: []int64{d.leadID},
	}
	if _, aerr := h.Store.Append(ctx, rec, nil); aerr != nil {
		h.logger().ErrorContext(ctx, "webhook failure not audited", "request_id", reqID, "error", aerr.Error())
	}
	return httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))
}

func (h *Ingest) logger() *slog.Logger { return loggerOr(h.Log) }

func (h *Ingest) margin() time.Duration {
	if h.DeadlineMargin > 0 {
		return h.DeadlineMargin
	}
	return DefaultDeadlineMargin
}

func (h *Ingest) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC().Round(0)
	}
	return time.Now().UTC().Round(0)
}

// queryToken is the token query parameter. More than one token parameter is ambiguous and refused.
func queryToken(req events.APIGatewayProxyRequest) string {
	if vs := req.MultiValueQueryStringParameters["token"]; len(vs) > 1 {
		return ""
	} else if len(vs) == 1 {
		return vs[0]
	}
	return req.QueryStringParameters["token"]
}

// readBody checks the media type and the size and returns the body's bytes (API Gateway base64-
// encodes bodies it treats as binary; the limit applies to the decoded body).
func readBody(req events.APIGatewayProxyRequest) ([]byte, error) {
	if !isJSON(httpapi.Header(req, "Content-Type")) {
		return nil, apierr.New(apierr.UnsupportedMediaType, "the body must be application/json")
	}
	tooLarge := apierr.New(apierr.PayloadTooLarge, "the body must be at most 256 KiB")
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBody {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	// Refuse by the encoded length before decoding anything large.
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody+2 {
		return nil, tooLarge
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apierr.Wrap(errors.New("webhook: body is not valid base64"), apierr.InvalidRequest, validate.MessageNotObject)
	}
	if len(body) > MaxBody {
		return nil, tooLarge
	}
	return body, nil
}

// isJSON reports whether a Content-Type is application/json, with at most a UTF-8 charset parameter
// (JSON is UTF-8, RFC 8259).
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// loggerOr is l, or the default logger for a handler built without one.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

func fieldNames(fs []apierr.FieldProblem) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Field
	}
	return names
}
