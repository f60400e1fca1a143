package report

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// Reader reads stored reports' JSON (*Store is one).
type Reader interface {
	Get(ctx context.Context, date string) ([]byte, error)
	GetRange(ctx context.Context, dates []string) ([]Stored, error)
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

// ActionListReports is the action of the audit record of GET /reports (kind report).
const ActionListReports = "list-reports"

// ListResource is the template path of the list route; every other request is GET /reports/{date}.
const ListResource = "/reports"

// Get answers GET /reports/{date} and GET /reports?from=…&to=…. Every request is audited (kind
// report, the caller's ARN): a report holds no PHI, so reading one is not a PHI read, but who looked
// at the compliance trail is itself worth keeping.
type Get struct {
	Reports Reader
	Audit   Appender
	// Access decides which profiles' reports a caller may read (action get-report). Nil refuses
	// every request.
	Access Authorizer
	Now    func() time.Time // time.Now when nil
	Log    *slog.Logger     // slog.Default() when nil
}

// Handle answers one request. GET /reports/{date}: 200 with the report in the negotiated format,
// 404 not_found when the date has none, 400 invalid_request naming "date" or "format", 403
// forbidden without a caller identity or when the access policy lets the caller see no profile of
// the report (or fails). GET /reports: 200 with the summaries, 400 naming "from" or "to". A failed
// audit write answers 500: nothing is given out unaudited.
func (g *Get) Handle(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	rec := audit.Record{Kind: audit.KindReport, Action: ActionGetReport, RequestID: httpapi.RequestID(req), ReceivedAt: g.now()}
	if req.Resource == ListResource {
		rec.Action = ActionListReports
	}
	caller, err := httpapi.Caller(req)
	if err != nil {
		rec.Actor = UnauthenticatedActor
		return g.finish(ctx, rec, nil, audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	rec.Actor = caller
	if rec.Action == ActionListReports {
		return g.list(ctx, rec, req), nil
	}
	return g.one(ctx, rec, req), nil
}

// one answers GET /reports/{date}.
func (g *Get) one(ctx context.Context, rec audit.Record, req httpapi.Request) httpapi.Response {
	date := req.PathParameters["date"]
	day, err := ParseDate(date)
	if err != nil {
		return g.finish(ctx, rec, nil, audit.OutcomeRejected, httpapi.Error(err))
	}
	logAttrs := []any{"date", date}
	format := Negotiate(httpapi.Header(req, "Accept"))
	if f, given := req.QueryStringParameters["format"]; given {
		if format, err = ParseFormat(f); err != nil {
			return g.finish(ctx, rec, logAttrs, audit.OutcomeRejected, httpapi.Error(err))
		}
	}
	logAttrs = append(logAttrs, "format", string(format))
	body, err := g.Reports.Get(ctx, date)
	switch {
	case errors.Is(err, ErrNotFound):
		return g.finish(ctx, rec, logAttrs, audit.OutcomeFailed, httpapi.Error(apierr.New(apierr.NotFound, "no report for that date")))
	case err != nil:
		return g.fail(ctx, rec, logAttrs, err)
	}
	r, err := decodeReport(body)
	if err != nil {
		return g.fail(ctx, rec, logAttrs, err)
	}
	acc := newAccess(g.Access, rec.Actor)
	v, ok, err := acc.view(ctx, r)
	if err != nil || !ok {
		return g.deny(ctx, rec, logAttrs, err)
	}
	logAttrs = append(logAttrs, "profiles_shown", len(v.Profiles), "withheld", len(v.Withheld))

	var res httpapi.Response
	switch format {
	case FormatHTML:
		trend, err := g.summaries(ctx, acc, TrendRange(day))
		if err != nil { // the page is still worth having; it says the trend is missing
			trend = nil
			g.log().WarnContext(ctx, "report trend not read", "request_id", rec.RequestID, "date", date, "error", err.Error())
		}
		page, err := renderHTML(v, trend)
		if err != nil {
			return g.fail(ctx, rec, logAttrs, err)
		}
		res = text(page, "text/html; charset=utf-8")
		res.Headers["Content-Security-Policy"] = ContentSecurityPolicy
		res.Headers["X-Frame-Options"] = "DENY"
		res.Headers["Referrer-Policy"] = "no-referrer"
	case FormatCSV:
		sheet, err := renderCSV(v)
		if err != nil {
			return g.fail(ctx, rec, logAttrs, err)
		}
		res = text(sheet, "text/csv; charset=utf-8; header=present")
		res.Headers["Content-Disposition"] = `attachment; filename="wcbridge-report-` + date + `.csv"`
	default:
		if v.Full() {
			res = text(body, "application/json") // as stored
		} else {
			res = httpapi.JSON(http.StatusOK, v)
		}
	}
	res.Headers["Vary"] = "Accept"
	res.Headers["Cache-Control"] = "no-store"
	res.Headers["X-Content-Type-Options"] = "nosniff"
	return g.finish(ctx, rec, logAttrs, audit.OutcomeOK, res)
}

// List is GET /reports' answer: the summaries of the stored reports of the range the caller may
// see, oldest first.
type List struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Reports []Summary `json:"reports"`
}

// list answers GET /reports?from=…&to=….
func (g *Get) list(ctx context.Context, rec audit.Record, req httpapi.Request) httpapi.Response {
	q := req.QueryStringParameters
	rng, err := ParseRange(q["from"], q["to"])
	if err != nil {
		return g.finish(ctx, rec, nil, audit.OutcomeRejected, httpapi.Error(err))
	}
	out := List{From: rng.From.Format(dateLayout), To: rng.To.Format(dateLayout), Reports: []Summary{}}
	logAttrs := []any{"from", out.From, "to", out.To}
	days, err := g.summaries(ctx, newAccess(g.Access, rec.Actor), rng)
	if err != nil {
		var denied *accessError
		if errors.As(err, &denied) {
			return g.deny(ctx, rec, logAttrs, denied.err)
		}
		return g.fail(ctx, rec, logAttrs, err)
	}
	for _, d := range days {
		if d.Summary != nil {
			out.Reports = append(out.Reports, *d.Summary)
		}
	}
	logAttrs = append(logAttrs, "reports", len(out.Reports))
	res := httpapi.JSON(http.StatusOK, out)
	res.Headers["Cache-Control"] = "no-store"
	return g.finish(ctx, rec, logAttrs, audit.OutcomeOK, res)
}

// accessError is a failure of the access policy: the request is refused, not failed.
type accessError struct{ err error }

func (e *accessError) Error() string { return e.err.Error() }

// summaries are the days of rng, each with the summary of its stored report as the caller may see
// it (nil when there is none, or none the caller may see).
func (g *Get) summaries(ctx context.Context, acc *access, rng Range) ([]trendDay, error) {
	dates := rng.Dates()
	stored, err := g.Reports.GetRange(ctx, dates)
	if err != nil {
		return nil, err
	}
	byDate := make(map[string][]byte, len(stored))
	for _, s := range stored {
		byDate[s.Date] = s.Body
	}
	days := make([]trendDay, len(dates))
	for i, d := range dates {
		days[i].Date = d
		body, ok := byDate[d]
		if !ok {
			continue
		}
		r, err := decodeReport(body)
		if err != nil {
			return nil, err
		}
		v, ok, err := acc.view(ctx, r)
		if err != nil {
			return nil, &accessError{err}
		}
		if ok {
			s := Summarize(v)
			days[i].Summary = &s
		}
	}
	return days, nil
}

// deny answers 403: the access policy lets the caller see nothing, or it failed (never fail open).
func (g *Get) deny(ctx context.Context, rec audit.Record, logAttrs []any, cause error) httpapi.Response {
	if cause != nil {
		g.log().ErrorContext(ctx, "access policy failed: request refused", "request_id", rec.RequestID, "error", cause.Error())
	}
	return g.finish(ctx, rec, logAttrs, audit.OutcomeRejected, httpapi.Error(errDenied))
}

// fail answers 500, logging the cause.
func (g *Get) fail(ctx context.Context, rec audit.Record, logAttrs []any, err error) httpapi.Response {
	g.log().ErrorContext(ctx, "report not read", append([]any{"request_id", rec.RequestID, "error", err.Error()}, logAttrs...)...)
	return g.finish(ctx, rec, logAttrs, audit.OutcomeFailed, httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error")))
}

func text(body []byte, contentType string) httpapi.Response {
	return httpapi.Response{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": contentType}, Body: string(body)}
}

// finish audits the request and logs it; a failed audit write turns the answer into 500. logAttrs
// hold only validated values (a date, a format), never what a caller sent that failed validation.
func (g *Get) finish(ctx context.Context, rec audit.Record, logAttrs []any, outcome audit.Outcome, res httpapi.Response) httpapi.Response {
	rec.Outcome, rec.Status = outcome, res.StatusCode
	wctx, cancel := deadline.Detach(ctx)
	stored, err := g.Audit.Append(wctx, rec, nil)
	cancel()
	attrs := append([]any{"action", rec.Action, "request_id", rec.RequestID, "actor", rec.Actor, "outcome", string(outcome)}, logAttrs...)
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
