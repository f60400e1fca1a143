package report

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// Reader reads a stored report's JSON (*Store is one).
type Reader interface {
	Get(ctx context.Context, date string) ([]byte, error)
}

var _ Reader = (*Store)(nil)

// Appender writes one audit record (*audit.Store is one).
type Appender interface {
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

var _ Appender = (*audit.Store)(nil)

// UnauthenticatedActor is the actor of the audit record of a request without a caller identity
// (as shared/actions names it).
const UnauthenticatedActor = "unauthenticated"

// Get answers GET /reports/{date}. Every request is audited (kind report, action get-report, the
// caller's ARN): a report holds no PHI, so reading one is not a PHI read, but who looked at the
// compliance trail is itself worth keeping.
type Get struct {
	Reports Reader
	Audit   Appender
	Now     func() time.Time // time.Now when nil
	Log     *slog.Logger     // slog.Default() when nil
}

// Handle answers one request: 200 with the report, 404 not_found when the date has none, 400
// invalid_request naming "date" for a malformed date, 403 forbidden without a caller identity. A
// failed audit write answers 500: nothing is given out unaudited.
func (g *Get) Handle(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	rec := audit.Record{
		Kind: audit.KindReport, Action: ActionGetReport, RequestID: httpapi.RequestID(req), ReceivedAt: g.now(),
	}
	caller, err := httpapi.Caller(req)
	if err != nil {
		rec.Actor = UnauthenticatedActor
		return g.finish(ctx, rec, "", audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	rec.Actor = caller
	date := req.PathParameters["date"]
	if _, err := ParseDate(date); err != nil {
		return g.finish(ctx, rec, "", audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	body, err := g.Reports.Get(ctx, date)
	switch {
	case errors.Is(err, ErrNotFound):
		return g.finish(ctx, rec, date, audit.OutcomeFailed, httpapi.Error(apierr.New(apierr.NotFound, "no report for that date"))), nil
	case err != nil:
		g.log().ErrorContext(ctx, "report not read", "request_id", rec.RequestID, "date", date, "error", err.Error())
		return g.finish(ctx, rec, date, audit.OutcomeFailed, httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))), nil
	}
	return g.finish(ctx, rec, date, audit.OutcomeOK, httpapi.JSON(http.StatusOK, json.RawMessage(body))), nil
}

// finish audits the request and logs it; a failed audit write turns the answer into 500.
func (g *Get) finish(ctx context.Context, rec audit.Record, date string, outcome audit.Outcome, res httpapi.Response) httpapi.Response {
	rec.Outcome, rec.Status = outcome, res.StatusCode
	wctx, cancel := deadline.Detach(ctx)
	stored, err := g.Audit.Append(wctx, rec, nil)
	cancel()
	attrs := []any{"action", ActionGetReport, "request_id", rec.RequestID, "actor", rec.Actor, "outcome", string(outcome)}
	if date != "" { // only a well-formed date is logged
		attrs = append(attrs, "date", date)
	}
	if err != nil {
		res = httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))
		g.log().ErrorContext(ctx, "report read not audited", append(attrs, "status", res.StatusCode, "error", err.Error())...)
		return res
	}
	g.log().InfoContext(ctx, "report read", append(attrs, "status", res.StatusCode, "audit_record", stored.ID)...)
	return res
}

func (g *Get) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Get) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}
