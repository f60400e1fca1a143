// Package report is wcbridge's daily compliance report: what WhatConverts recorded for each
// configured profile on a UTC day, what wcbridge's audit trail recorded that day, and whether that
// trail is still intact. DailyReportFunction builds it on a schedule (Daily); GetReportFunction reads
// it back (Get). A report holds counts, sums and IDs only, never PHI.
//
// # Runs
//
// The schedule (EventBridge Scheduler, 00:15 UTC, template.yaml) invokes the function with its
// context attributes (see Invocation); the run builds the UTC day before the scheduled time, so a
// retry after midnight still builds the day meant. {"date": "YYYY-MM-DD"} (re)builds that date: a
// real calendar date, not after today; a bad one fails the run with invalid_request naming "date".
// Scheduler invokes Lambda asynchronously: a failed run returns an error, Lambda retries it, and a
// run that still fails lands in the report's dead-letter queue, whose alarm tells the operator to
// rerun the date. Every run, failed or refused ones included, is one audit record (kind report,
// action daily-report, the schedule's ARN or else the function's own as actor, no payload).
//
// One report per date: the report is one item (table.ReportKey), written by a single PutItem that
// replaces the date's previous report whole, kept table.AuditRetention. The JSON must fit one
// item (400 KB): each profile names its top 25 "source / medium" pairs (by count, then name) and sums
// the others under "(other)"; should the report still be too large (around a hundred profiles with
// many sources each) it names 10, then 3, then none. While a profile is read at most 1,000 distinct
// pairs are counted by name (the rest under "(other)"), so memory does not grow with the leads.
//
// # Profiles (WhatConverts)
//
// For each profile of REPORT_PROFILE_IDS the run lists the day's leads, oldest first, in pages of
// 2,500, the maximum. It asks for the day with a day's margin on each side, as dates only
// (start_date=D-1, end_date=D+1: how WhatConverts reads a date's time zone is not documented, see
// package whatconverts), and keeps the leads whose date_created is in the UTC day: L leads on a day
// whose neighbours hold N cost ⌈(L+N)/2500⌉ requests. It counts each
// page and lets it go, so memory holds one page whatever the day's volume. It counts leads_total,
// by_type and by_status (WhatConverts' display names; an unknown value is "(other)", an empty one
// "(not set)"), by_source ("source / medium", a part that looks like it could hold PHI — an "@", a
// query string, seven digits or more — is "(redacted)"), quotable (Yes, No, Pending, Not Set; empty
// or unknown is Not Set), quote_value_total and sales_value_total (summed in cents, exact), spam and
// duplicates (the flags WhatConverts sets). A lead whose date_created falls outside the day is not
// counted.
//
// Quota. REPORT_BUDGET_SHARE of each key's daily budget is reserved for the report: the actions'
// callers together never spend it (budget.WithShares). The report spends the same per-key counters
// without a caller, so it may use its share and whatever the actions left. A profile that cannot be read to the end is
// "partial": true with a fixed "partial_reason" (no_credentials, budget_exhausted, rate_limited,
// upstream_timeout, upstream_error, internal_error), its counts covering the leads read before it
// stopped; the other profiles go on, and the run succeeds (rerun the date once the budget resets).
// WhatConverts gets the run's time minus a reserve (2 minutes, at most half the time left) kept for
// the audit part and storing. whatconverts.requests is every HTTP request the run sent, retries
// included.
//
// # Audit summary
//
// The day's audit records (by received_at, streamed from the by-day index) are counted:
//
//   - webhooks: accepted events by trigger (new-lead, updated-lead); duplicates (redeliveries);
//     rejected: deliveries not accepted, refused (token, body) or not recorded because of an internal
//     failure (WhatConverts delivers those again).
//   - actions: get-leads, get-lead, create-lead, update-lead, each ok or failed (any other outcome).
//   - phi_reads, by caller ARN: every successful request that gave lead data out of wcbridge. That is
//     a phi-read record with outcome ok (trigger samples), and an ok record of any of the four actions:
//     each answers with lead data, Create and Update Lead included (their answer is the whole lead as
//     WhatConverts holds it, more than the caller sent). Failed or refused requests disclosed nothing
//     and are not counted.
//
// Report runs and report reads (kind report) are counted only in integrity.records.
//
// # Integrity
//
// The run verifies the day's 24 hourly periods and the chain into them with the verifier of `make
// verify-audit` (audit.Store.VerifyPeriods: each digest's signature with the signing key's public
// key, the table's copy against the write-once bucket's, record tags, leaves and records). It never
// builds a digest: only AuditDigestFunction signs. The section holds records (checked against their
// digests), digest (the day's last digest, its head), previous_digest (what the day's first digest
// chains to; "" at the chain's start), periods_verified, and verified: true only when all 24
// periods were digested and nothing was found. Otherwise unverified_reason says why: "findings"
// (counted by kind in findings: edited, deleted, inserted, reordered, tag, forged, leaves,
// chain-break, chain-restart, missing-period, digest-deleted, digest-differs, not-anchored,
// second-digest), "periods_pending" (periods_pending hours not digested yet: a report of today, or
// one run before the day's last hour was digested) or "before_chain" (periods_before_chain hours
// before the chain's first digest). A period not digested yet is never a failure of the run; a
// verification that cannot be made (a service error) is, and the run is retried.
//
// The schedule starts the report at 00:15 UTC, when AuditDigestFunction digests the day's last
// hour: a run waits for that digest up to DigestWait (10 minutes), then reports what it has.
//
// # Reading a report
//
// GET /reports/{date} answers the report as JSON (the stored bytes), HTML or CSV, as the Accept
// header (Negotiate) or the format query parameter asks: the page is written in Go (page.go, every
// value escaped as html/template would; no template engine, whose reflection would keep every
// method of the binary) with inline CSS and SVG charts drawn here (charts.go, report.css) under a
// Content-Security-Policy that allows only its own stylesheet, by hash; the CSV is one figure a row,
// safe from spreadsheet formulas. GET /reports?from=…&to=… lists the Summary of each stored report of at most MaxRangeDays
// days (read with one BatchGetItem); the page's 30-day trend is the same summaries. Errors:
// not_found (404) when the date has none, invalid_request (400) naming date, format, from or to,
// forbidden (403) without a caller identity or when the access policy shows the caller nothing.
//
// The access policy (Authorizer, action get-report per profile) decides which profiles a caller
// sees; the account-wide sections (the audit summary, WhatConverts' usage) only to a caller allowed
// on every profile of the report (View). A nil or failing policy refuses: never fail open.
//
// A report holds no PHI, so a read is not a PHI read: it is audited as kind report, action
// get-report (or list-reports), with the caller's ARN (or "unauthenticated"), the status and the
// outcome (ok; rejected for 400 and 403; failed for 404 and 500). The record does not name the date
// (audit records have no field for it); the log line of the read, with the same request ID, does. A
// failed audit write answers 500.
package report
