// Package whatconverts is wcbridge's client for the WhatConverts REST API (v1): list, get, create and edit
// leads, within WhatConverts' limits, without leaking PHI.
//
// Limits. WhatConverts allows 20 requests in flight per API key and 1,000 (profile key) or 10,000 (master
// key) requests a day, reset at 00:00 UTC. The client holds a per-key semaphore shared by every Client in the
// process (or a Limiter passed in), and, given a Budget, spends one unit of the key's daily budget before each
// request, so that an exhausted budget is answered before WhatConverts is called.
//
// Retries. 429, 5xx, timeouts of one attempt and connection failures are retried with exponential backoff and
// full jitter (by default 3 retries, base 200 ms, cap 2 s), within the context's deadline. Creating a lead is
// not idempotent (WhatConverts has no idempotency keys), so a create is retried only when WhatConverts cannot
// have applied it: on 429, and on a failure before the request was completely written. A create that timed out
// or met a 5xx is returned as an error, not repeated, since repeating it may duplicate the lead. Edits set
// absolute values and are retried like reads.
//
// Quota. The per-key budget counter (package budget) decides when a key's day is spent: past its limit the
// client answers KindBudgetExhausted without calling WhatConverts. A 429 is never read for its wording
// (WhatConverts does not document its texts; "daily" in one is only what the simulator says): every 429 is
// retried as above, and one that outlives the retries is KindRateLimited, which APIError answers 503 with a
// Retry-After until the budget's reset (00:00 UTC), unless WhatConverts sent its own.
//
// Dates. start_date and end_date are sent as dates only (YYYY-MM-DD, the UTC date of the time given). The
// API documentation shows both "2015-11-10" and "2015-11-10T00:00:00Z", but every independent client that
// calls it (a Singer tap, a Ruby gem, a WordPress plugin, an MCP server, an Activepieces piece, reporting
// apps) sends dates only, and nothing says how the API reads a time, or in which time zone it reads a date.
// A caller that needs an exact window (the daily report) asks for a day more on each side and filters on
// date_created itself.
//
// Master-key edits. POST /leads/{id} carries only the changed fields. profile_id is not among the
// documented editable fields and no independent client sends it; the GET before a master key's edit is
// what checks the lead's profile.
//
// Leads. A Lead decodes tolerantly (numbers as strings, [] for empty maps, nulls) into typed fields and keeps
// the JSON object exactly as WhatConverts sent it: MarshalJSON writes it back unchanged, with every field,
// known or not. Responses carry display values ("Phone Call", "Not Set"); requests take request values
// ("phone_call", "not_set"); LeadType, Quotable and LeadStatus map between the two.
//
// PHI. Query strings (emails, phones) and WhatConverts' error texts can hold PHI: no error of this package
// contains a URL, a query, a request or response body, or WhatConverts' error_message. Errors name the
// operation, the HTTP status and the field, never a value. APIError turns them into the contract's codes.
package whatconverts
