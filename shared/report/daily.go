package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// AuditTrail is the part of the audit store the daily report uses: it reads a day's records,
// verifies the day's hourly digests (never builds one: only AuditDigestFunction signs), and records
// the run.
type AuditTrail interface {
	Day(ctx context.Context, day string, fn func(audit.Record) error) error
	VerifyPeriods(ctx context.Context, first, last string, onFinding func(audit.Finding), progress func(period string, records int)) (audit.RangeReport, error)
	Digested(ctx context.Context, period string) (bool, error)
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

var _ AuditTrail = (*audit.Store)(nil)

// Leads is the part of the WhatConverts client the daily report uses.
type Leads interface {
	Pages(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error]
	Requests() int64
}

var _ Leads = (*whatconverts.Client)(nil)

// DefaultActor is the actor of a run's audit record when neither the schedule nor Lambda names one.
const DefaultActor = "wcbridge-daily-report"

// DefaultUpstreamReserve is the time a run keeps, before its deadline, for the audit summary, the
// verification and storing the report once WhatConverts has had its turn.
const DefaultUpstreamReserve = 2 * time.Minute

// DefaultDigestWait is how long a run waits for the digest of the day's last hour when that hour is
// due but not digested yet: the schedule starts the report (00:15 UTC) as AuditDigestFunction (a
// quarter past every hour) digests that hour.
const DefaultDigestWait = 10 * time.Minute

// digestPoll is how often a waiting run looks for the day's last digest.
var digestPoll = 20 * time.Second

// Daily builds, stores and audits the daily compliance report. Build it once per cold start
// (shared/wiring); Handle is the Lambda handler. Runs in one process are serialized: a run's request
// count is the difference of the client's counter before and after it.
type Daily struct {
	Audit        AuditTrail
	Reports      *Store
	WhatConverts Leads // nil when no profile is configured
	Credentials  whatconverts.Credentials
	Profiles     []int64 // cfg.ReportProfiles
	// TopSources is how many "source / medium" pairs a profile names (DefaultTopSources when 0).
	TopSources int
	// UpstreamReserve is kept before the deadline for what follows WhatConverts
	// (DefaultUpstreamReserve when 0; at most half of the time left).
	UpstreamReserve time.Duration
	// DigestWait bounds the wait for the day's last hourly digest (DefaultDigestWait when 0; no
	// wait when negative). The wait never fails a run: a period still not digested is reported so.
	DigestWait time.Duration
	Now        func() time.Time // time.Now when nil
	Log        *slog.Logger     // slog.Default() when nil

	mu sync.Mutex
}

// Result is what a run answers its invoker: IDs and counts only.
type Result struct {
	Date                 string  `json:"date"`
	GeneratedAt          string  `json:"generated_at"`
	Profiles             int     `json:"profiles"`
	PartialProfiles      []int64 `json:"partial_profiles"`
	WhatConvertsRequests int64   `json:"whatconverts_requests"`
	AuditRecords         int     `json:"audit_records"`
	Verified             bool    `json:"verified"`
	UnverifiedReason     string  `json:"unverified_reason,omitempty"`
	AuditRecord          string  `json:"audit_record"` // the ID of the run's own audit record
}

// Handle is the Lambda handler: it resolves the date the payload asks for (see ResolveInvocation)
// and runs the report for it. A failed run returns an error, so that Lambda's retries and the
// dead-letter queue apply; a profile that could not be read completely does not fail the run (it is
// marked partial in the report).
func (d *Daily) Handle(ctx context.Context, payload json.RawMessage) (Result, error) {
	by := Caller{Actor: DefaultActor}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		by.RequestID = lc.AwsRequestID
		if validARN(lc.InvokedFunctionArn) {
			by.Actor = lc.InvokedFunctionArn
		}
	}
	target, err := ResolveInvocation(payload, d.now())
	if target.Actor != "" {
		by.Actor = target.Actor
	}
	if err != nil {
		rec, aerr := d.record(ctx, by, d.now(), audit.OutcomeRejected)
		d.log().WarnContext(ctx, "daily report refused", "request_id", by.RequestID, "error", err.Error(), "audit_record", rec.ID)
		return Result{}, both(err, aerr)
	}
	return d.Run(ctx, target.Date, by)
}

// Caller is who asked for a run: the schedule's ARN or the function's, and the Lambda request ID.
type Caller struct {
	Actor     string
	RequestID string
}

// Run builds the report of date (YYYY-MM-DD), stores it (replacing the date's report) and audits
// the run (kind report, action daily-report, by.Actor). Any error means no new report was stored or
// the run could not be audited; either way the run is to be retried.
func (d *Daily) Run(ctx context.Context, date string, by Caller) (Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	start := d.now().UTC()
	by.Actor = cmp.Or(by.Actor, DefaultActor)

	rep, err := d.build(ctx, date, start)
	if err == nil {
		_, err = d.Reports.Put(ctx, rep, start)
	}
	outcome := audit.OutcomeOK
	if err != nil {
		outcome = audit.OutcomeFailed
		if apierr.CodeOf(err) == apierr.InvalidRequest {
			outcome = audit.OutcomeRejected
		}
	}
	rec, aerr := d.record(ctx, by, start, outcome)
	if err != nil || aerr != nil {
		err = both(err, aerr)
		d.log().ErrorContext(ctx, "daily report failed", "date", safeDate(date), "request_id", by.RequestID,
			"outcome", string(outcome), "error", err.Error(), "audit_record", rec.ID)
		return Result{}, err
	}

	res := Result{
		Date: rep.Date, GeneratedAt: rep.GeneratedAt, Profiles: len(rep.Profiles), PartialProfiles: []int64{},
		WhatConvertsRequests: rep.WhatConverts.Requests, AuditRecords: rep.Integrity.Records,
		Verified: rep.Integrity.Verified, UnverifiedReason: rep.Integrity.UnverifiedReason, AuditRecord: rec.ID,
	}
	for _, p := range rep.Profiles {
		if p.Partial {
			res.PartialProfiles = append(res.PartialProfiles, p.ProfileID)
		}
	}
	d.log().InfoContext(ctx, "daily report stored", "date", rep.Date, "request_id", by.RequestID,
		"profiles", res.Profiles, "partial_profiles", len(res.PartialProfiles), "whatconverts_requests", res.WhatConvertsRequests,
		"audit_records", res.AuditRecords, "verified", res.Verified, "unverified_reason", res.UnverifiedReason,
		"duration_ms", d.now().Sub(start).Milliseconds(), "audit_record", rec.ID)
	return res, nil
}

// record writes the run's audit record, also when the run failed or ran out of time (deadline.Detach).
func (d *Daily) record(ctx context.Context, by Caller, at time.Time, outcome audit.Outcome) (audit.Record, error) {
	wctx, cancel := deadline.Detach(ctx)
	defer cancel()
	rec, err := d.Audit.Append(wctx, audit.Record{
		Kind: audit.KindReport, Actor: cmp.Or(by.Actor, DefaultActor), Action: ActionDailyReport,
		Outcome: outcome, RequestID: by.RequestID, ReceivedAt: at,
	}, nil)
	if err != nil {
		return audit.Record{}, fmt.Errorf("report: audit the run: %w", err)
	}
	return rec, nil
}

// build computes the report of date: the profiles' leads (WhatConverts), the audit summary and the
// integrity of the day's records.
func (d *Daily) build(ctx context.Context, date string, now time.Time) (Report, error) {
	day, err := ParseDate(date)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Date: date, GeneratedAt: now.Format(time.RFC3339), Profiles: []Profile{}}

	if len(d.Profiles) > 0 {
		if d.WhatConverts == nil {
			return Report{}, errors.New("report: profiles are configured but no WhatConverts client")
		}
		before := d.WhatConverts.Requests()
		uctx, cancel := d.upstreamContext(ctx)
		seen := map[int64]bool{}
		for _, id := range d.Profiles {
			if seen[id] {
				continue
			}
			seen[id] = true
			rep.Profiles = append(rep.Profiles, d.profile(uctx, id, day))
		}
		cancel()
		rep.WhatConverts.Requests = d.WhatConverts.Requests() - before
	}

	at := newAuditTally()
	if err := d.Audit.Day(ctx, date, func(r audit.Record) error { at.add(r); return nil }); err != nil {
		return Report{}, fmt.Errorf("report: read the audit records of %s: %w", date, err)
	}
	rep.Audit = at.s
	if rep.Integrity, err = d.integrity(ctx, day); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// profile reads one profile's leads of day, a page (2,500 leads) at a time, counting each page and
// letting it go: memory holds one page, whatever the day's volume, and L leads cost ⌈L/2500⌉
// requests. Oldest first, so that leads arriving while it reads (a report of today) land on later
// pages instead of shifting earlier ones. A failure stops the profile, which is then marked partial.
func (d *Daily) profile(ctx context.Context, id int64, day time.Time) Profile {
	t := newTally(id)
	n := d.TopSources
	if n <= 0 {
		n = DefaultTopSources
	}
	log := d.log().With("date", table.Day(day), "profile_id", id)
	key, err := d.Credentials.For(id)
	if err != nil {
		p := t.finish(n)
		p.Partial, p.PartialReason = true, ReasonNoCredentials
		log.WarnContext(ctx, "report profile partial", "partial_reason", p.PartialReason)
		return p
	}
	end := day.Add(24 * time.Hour)
	// Dates as every independent client sends them (whole days), with a day's margin on each side:
	// whether WhatConverts reads them in UTC or in the account's time zone, the day's leads are in
	// the window, and the date_created filter below keeps exactly them (whatconverts doc.go, Dates).
	params := whatconverts.ListParams{
		LeadsPerPage: whatconverts.MaxLeadsPerPage,
		StartDate:    day.Add(-24 * time.Hour),
		EndDate:      end,
		Order:        whatconverts.OrderAsc,
	}
	before := d.WhatConverts.Requests()
	pages, outside := 0, 0
	var failure error
	for page, err := range d.WhatConverts.Pages(ctx, key, params) {
		if err != nil {
			failure = err
			break
		}
		pages++
		for _, l := range page.Leads {
			// The window holds three days; the report counts exactly the UTC day's leads.
			if c, ok := l.Created(); ok && (c.Before(day) || !c.Before(end)) {
				outside++
				continue
			}
			t.add(l)
		}
	}
	p := t.finish(n)
	attrs := []any{"leads", p.LeadsTotal, "pages", pages, "requests", d.WhatConverts.Requests() - before}
	if outside > 0 {
		attrs = append(attrs, "outside_day", outside)
	}
	if failure != nil {
		p.Partial, p.PartialReason = true, partialReason(failure)
		// The client's errors name the operation, kind and status, never a URL, query or body.
		log.WarnContext(ctx, "report profile partial", append(attrs, "partial_reason", p.PartialReason, "error", failure.Error())...)
		return p
	}
	log.InfoContext(ctx, "report profile read", attrs...)
	return p
}

// partialReason is the fixed code of why a profile stopped.
func partialReason(err error) string {
	if errors.Is(err, whatconverts.ErrNoCredentials) {
		return ReasonNoCredentials
	}
	switch whatconverts.KindOf(err) {
	case whatconverts.KindBudgetExhausted:
		return ReasonBudgetExhausted
	case whatconverts.KindRateLimited:
		return ReasonRateLimited
	case whatconverts.KindTimeout, whatconverts.KindCanceled:
		return ReasonUpstreamTimeout
	case whatconverts.KindUnknown:
		return ReasonInternalError
	default:
		return ReasonUpstreamError
	}
}

// integrity verifies the day's 24 hourly periods, and the chain into them, as `make verify-audit`
// does (audit.Store.VerifyPeriods: signatures with the public key, table against anchor, tags,
// leaves and records). It never builds a digest. A period not digested yet is reported as pending,
// not as a failure of the run; an error means the verification could not be made.
func (d *Daily) integrity(ctx context.Context, day time.Time) (Integrity, error) {
	first, last := audit.PeriodOf(day), audit.PeriodOf(day.Add(24*time.Hour-audit.PeriodLength))
	d.awaitDigest(ctx, last)
	findings := map[string]int{}
	rep, err := d.Audit.VerifyPeriods(ctx, first, last, func(f audit.Finding) { findings[string(f.Kind)]++ }, nil)
	if err != nil {
		return Integrity{}, fmt.Errorf("report: verify the audit digests of %s: %w", table.Day(day), err)
	}
	in := Integrity{
		Records: rep.Records, Digest: rep.HeadDigest, PreviousDigest: rep.ChainedFrom,
		PeriodsVerified: rep.Digested, PeriodsPending: rep.Pending, PeriodsBeforeChain: rep.BeforeChain,
	}
	switch {
	case rep.Findings > 0:
		in.UnverifiedReason, in.Findings = IntegrityFindings, findings
	case rep.Pending > 0:
		in.UnverifiedReason = IntegrityPending
	case rep.BeforeChain > 0:
		in.UnverifiedReason = IntegrityBeforeChain
	default:
		in.Verified = rep.Digested == rep.Periods
	}
	return in, nil
}

// awaitDigest waits, at most DigestWait and never past the run's deadline, while the period last is
// due but has no digest yet (AuditDigestFunction runs as the schedule starts the report). Once the
// period's digest deadline has passed, a missing digest is the verification's to report: a report
// of an older day does not wait.
func (d *Daily) awaitDigest(ctx context.Context, last string) {
	wait := cmp.Or(d.DigestWait, DefaultDigestWait)
	start, _ := audit.ParsePeriod(last)
	now := d.now()
	if wait < 0 || now.Before(start.Add(audit.PeriodLength+audit.SettleTime)) {
		return
	}
	until := now.Add(wait)
	if deadline := audit.DigestDeadline(start); deadline.Before(until) {
		until = deadline
	}
	for {
		if !d.now().Before(until) {
			return
		}
		digested, err := d.Audit.Digested(ctx, last)
		if err != nil || digested {
			return
		}
		t := time.NewTimer(digestPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// upstreamContext is ctx with a deadline that keeps UpstreamReserve (at most half the time left)
// for what follows WhatConverts.
func (d *Daily) upstreamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := d.UpstreamReserve
	if reserve <= 0 {
		reserve = DefaultUpstreamReserve
	}
	reserve = min(reserve, time.Until(dl)/2)
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

func (d *Daily) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Daily) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// both is err and aerr together, or the one that is not nil as it is (so that Lambda reports its type).
func both(err, aerr error) error {
	switch {
	case aerr == nil:
		return err
	case err == nil:
		return aerr
	}
	return errors.Join(err, aerr)
}

// safeDate is date if it is a well-formed date, for logs (a malformed one could be anything).
func safeDate(date string) string {
	if _, err := ParseDate(date); err != nil {
		return "(invalid)"
	}
	return date
}
