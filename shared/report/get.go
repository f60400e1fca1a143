package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/access"
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

// Authorizer is the access policy as the report route asks it (shared/access's Authorizer is one):
// may the caller get-report on a profile, on any profile, on every profile.
type Authorizer interface {
	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
	Anywhere(ctx context.Context, principalARN, action string) (allowed bool, policyVersion string, err error)
	Everywhere(ctx context.Context, principalARN, action string) (allowed bool, policyVersion string, err error)
}

var _ Authorizer = (*access.Authorizer)(nil)

// Get answers GET /reports/{date}. Every request is audited (kind report, action get-report, the
// caller's ARN): a report holds no PHI, so reading one is not a PHI read, but who looked at the
// compliance trail is itself worth keeping.
//
// The access policy decides what of a report a caller sees (see Filter): a caller who may
// get-report on no profile is refused (403, audited).
type Get struct {
	Reports Reader
	Audit   Appender
	// Access is the access policy; nil denies every request (never fail open).
	Access Authorizer
	// Origin, when set, is the API the events must come through (BuildGet sets it).
	Origin *httpapi.Origin
	Now    func() time.Time // time.Now when nil
	Log    *slog.Logger     // slog.Default() when nil
}

// Handle answers one request: 200 with the report, 404 not_found when the date has none, 400
// invalid_request naming "date" for a malformed date, 403 forbidden without a caller identity. A
// failed audit write answers 500: nothing is given out unaudited.
func (g *Get) Handle(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	rec := audit.Record{
		Kind: audit.KindReport, Action: ActionGetReport, RequestID: httpapi.RequestID(req), ReceivedAt: g.now(),
	}
	callerOf := httpapi.Caller
	if g.Origin != nil {
		callerOf = g.Origin.Caller
	}
	caller, err := callerOf(req)
	if err != nil {
		rec.Actor = UnauthenticatedActor
		return g.finish(ctx, rec, "", audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	rec.Actor = caller
	date := req.PathParameters["date"]
	if _, err := ParseDate(date); err != nil {
		return g.finish(ctx, rec, "", audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	view, err := g.view(ctx, &rec)
	if err != nil {
		return g.finish(ctx, rec, date, audit.OutcomeRejected, httpapi.Error(err)), nil
	}
	body, err := g.Reports.Get(ctx, date)
	if err == nil {
		body, err = view.Filter(body)
	}
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

// view is what the caller may see of reports, or 403 when it may get-report on no profile.
func (g *Get) view(ctx context.Context, rec *audit.Record) (View, error) {
	deny := access.ForbiddenAnywhere(ActionGetReport)
	if g.Access == nil {
		return View{}, deny
	}
	some, version, err := g.Access.Anywhere(ctx, rec.Actor, ActionGetReport)
	rec.PolicyVersion = version
	if err != nil || !some {
		return View{}, deny
	}
	all, _, err := g.Access.Everywhere(ctx, rec.Actor, ActionGetReport)
	if err != nil {
		return View{}, deny
	}
	return View{All: all, Profile: func(id int64) bool {
		ok, _, err := g.Access.Authorize(ctx, rec.Actor, ActionGetReport, id)
		return err == nil && ok
	}}, nil
}

// View is what one caller may see of a report.
type View struct {
	// All: the caller may get-report on every profile, so the report is shown whole.
	All bool
	// Profile says whether the caller may get-report on a profile.
	Profile func(profileID int64) bool
}

// Filter is the stored report body as the caller may see it: whole for All; otherwise only the
// profiles it may see, without the sections that count every profile's records (audit,
// integrity, whatconverts), and with "filtered": true. Members it does not know are kept as they
// are, so that a report format that grows keeps working.
func (v View) Filter(body []byte) ([]byte, error) {
	if v.All {
		return body, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("report: stored report is not a JSON object: %w", err)
	}
	var profiles []json.RawMessage
	if raw, ok := top["profiles"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &profiles); err != nil {
			return nil, fmt.Errorf("report: stored profiles are not a list: %w", err)
		}
	}
	kept := make([]json.RawMessage, 0, len(profiles))
	for _, p := range profiles {
		var id struct {
			ProfileID int64 `json:"profile_id"`
		}
		if err := json.Unmarshal(p, &id); err != nil {
			return nil, fmt.Errorf("report: a stored profile has no profile_id: %w", err)
		}
		if v.Profile != nil && v.Profile(id.ProfileID) {
			kept = append(kept, p)
		}
	}
	top["profiles"], _ = json.Marshal(kept)
	for _, stackWide := range []string{"audit", "integrity", "whatconverts"} {
		delete(top, stackWide)
	}
	top["filtered"] = json.RawMessage("true")
	return json.Marshal(top)
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
