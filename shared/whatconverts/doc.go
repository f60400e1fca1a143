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
// Leads. A Lead decodes tolerantly (numbers as strings, [] for empty maps, nulls) into typed fields and keeps
// the JSON object exactly as WhatConverts sent it: MarshalJSON writes it back unchanged, with every field,
// known or not. Responses carry display values ("Phone Call", "Not Set"); requests take request values
// ("phone_call", "not_set"); LeadType, Quotable and LeadStatus map between the two.
//
// PHI. Query strings (emails, phones) and WhatConverts' error texts can hold PHI: no error of this package
// contains a URL, a query, a request or response body, or WhatConverts' error_message. Errors name the
// operation, the HTTP status and the field, never a value. APIError turns them into the contract's codes.
package whatconverts
