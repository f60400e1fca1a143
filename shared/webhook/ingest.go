package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// DefaultPublishTimeout bounds the inline publish after the durable write: past it the event is left
// on the outbox for the sweep, so a slow bus never holds the acknowledgement for long.
const DefaultPublishTimeout = 3 * time.Second

// DefaultDeadlineMargin is kept free before the invocation's deadline to answer: the table writes and
// the inline publish end by then.
const DefaultDeadlineMargin = deadline.DefaultMargin

// LegacyKeyMargin widens the window of deliveries that are also looked for under the de-duplication
// key's legacy form (audit.Config.LegacyKeysBefore): an instance looks there for every delivery whose
// last_updated is before its cold start plus this margin. A record under a legacy key was written by
// the code this replaced, so before any instance of this code started, give or take the previous
// version's invocations still running (at most the function's 10 s timeout); its state's
// last_updated is WhatConverts' clock, which the margin also allows to run ahead of Lambda's.
const LegacyKeyMargin = time.Minute

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

	// The delivery's writes end DeadlineMargin before the invocation does (package deadline).
	invocation := ctx
	ctx, cancel := deadline.Bound(ctx, h.margin(), time.Time{})
	defer cancel()

	// The credential first, before anything of the body is looked at.
	if !h.Tokens.Valid(queryToken(req)) {
		return h.reject(ctx, reqID, receivedAt, delivery{}, apierr.New(apierr.Unauthorized, "missing or invalid webhook token")), nil
	}
	body, err := httpapi.JSONBody(req)
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
		return h.fail(invocation, reqID, receivedAt, d, err), nil
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
// WhatConverts delivers it again. The failure itself is audited when the table still takes writes,
// a timeout's too: ctx is the invocation's, and the record's write is detached (deadline.Detach).
func (h *Ingest) fail(ctx context.Context, reqID string, at time.Time, d delivery, err error) events.APIGatewayProxyResponse {
	h.logger().ErrorContext(ctx, "webhook not recorded", "request_id", reqID, "trigger", d.trigger,
		"profile_id", d.profileID, "lead_id", d.leadID, "status", http.StatusInternalServerError, "error", err.Error())
	rec := audit.Record{
		Kind: audit.KindWebhook, Actor: audit.WebhookActor, Action: d.trigger, Outcome: audit.OutcomeFailed,
		Status: http.StatusInternalServerError, RequestID: reqID, ReceivedAt: at, Trigger: d.trigger,
		ProfileID: d.profileID, LeadIDs: []int64{d.leadID},
	}
	wctx, cancel := deadline.Detach(ctx)
	defer cancel()
	if _, aerr := h.Store.Append(wctx, rec, nil); aerr != nil {
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
