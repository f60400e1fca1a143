// Package wcsim simulates the WhatConverts REST API v1 (its leads resource) and its webhooks, so that
// wcbridge's client, functions and `make dev` run against something that behaves like WhatConverts
// without an account, a network or real PHI. It follows WhatConverts' API documentation;
// where that is silent it picks a
// behaviour, listed below, so that tests pin it and a reader knows what is the simulator's invention
// rather than WhatConverts' documented behaviour.
//
// A *Sim is an http.Handler serving under /api/v1: serve it with httptest.NewServer and point a
// client at server.URL + "/api/v1". New gives an empty simulator; NewSeeded gives account 2001 with
// profiles 1001 and 1002, SeededLeadsPerProfile synthetic leads each and the keys ProfileKey1001,
// ProfileKey1002 and MasterKey2001. All generated data comes from Options.Seed and Options.Now: the
// same options give the same leads. Every contact is obviously synthetic ("Synthetic Patient 0042",
// patient0042@example.test, +15550100042), so tests can scan output for leaked PHI.
//
// What it serves (documented behaviour):
//   - HTTP Basic auth with the API token and secret; 401 {"error_message":"Authentication not provided."}
//     or {"error_message":"Authentication failed."}.
//   - Profile keys see and create leads of their profile only, and ignore account_id/profile_id; master
//     (agency) keys see every profile of their accounts and must name profile_id to create a lead.
//   - GET /leads with its documented filters and the envelope {page_number, leads_per_page, total_pages,
//     total_leads, leads}; leads_per_page 25 by default, at most 2500; order by date_created, desc by
//     default; start_date..end_date at most 400 days apart.
//   - GET /leads/{id}: the same envelope holding one lead.
//   - POST /leads creates a lead from form, multipart or JSON parameters (lead_type in snake_case,
//     additional_fields[Name]=value) and answers the bare lead; POST /leads/{id} edits quotable,
//     quote_value, sales_value, lead_url, additional_fields and custom_fields and answers the bare lead.
//   - Responses carry display values ("Phone Call", "Not Set", "Unique"); requests carry request
//     values (phone_call, not_set, unique).
//   - Errors are {"error_message": "..."}; unknown paths are a 404 HTML page, not JSON.
//   - Daily quotas (1,000 requests for a profile key, 10,000 for a master key, reset at 00:00 UTC by
//     the simulator's clock) and at most 20 requests of a key in flight; beyond either, 429.
//   - Webhooks: a JSON POST of the flat lead plus "trigger": "new" on create and "update" on edit.
//
// For tests: SetFaults injects latency, 5xx answers, 429 answers and hanging requests; Requests,
// RequestsByToken and InFlight count requests; RequestLog shows what clients sent (method, path,
// query and form parameters: the client's choices of dates and fields); SetDailyQuota lowers a key's quota; Lead, LeadIDs and
// NotificationSent expose the state; SetWebhookURL, FireWebhook, WaitWebhooks and Webhooks drive and
// observe webhook deliveries.
//
// # Undocumented behaviour chosen here
//
// Requests and limits:
//   - A request is handled in this order: counted (Requests, RequestsByToken); routed (an unknown path
//     is the HTML 404 page, whatever the credentials); authenticated (401); the key's concurrency slot
//     (429); injected Latency and Hang; injected 429 and 5xx; the key's daily quota (429); the resource.
//   - Unknown paths include other methods on known paths (DELETE /leads/{id}, PUT /leads), sub-paths
//     (/leads/1/x) and every resource the simulator does not model (/accounts, /tracking, /recording,
//     /users, /roles). A trailing slash is accepted (/leads/ is /leads).
//   - A missing Authorization header, or one with another scheme than Basic, is "Authentication not
//     provided."; undecodable Basic credentials, an unknown token or a wrong secret is "Authentication
//     failed.".
//   - The daily quota counts requests that reach a resource, 400s and lead-not-found answers included;
//     401s, 404 pages, refused concurrency and injected faults do not count. Over quota:
//     429 {"error_message":"Daily API request limit reached. The limit resets at midnight UTC."}.
//   - The 21st concurrent request of a key is refused at once with 429 {"error_message":"Too many
//     concurrent requests. Please try again later."}; other keys are unaffected. The documented rate of
//     one request per millisecond is not modelled. No answer carries Retry-After or X-RateLimit headers.
//   - Injected 429s answer {"error_message":"Too many requests. Please try again later."}; injected
//     500s answer {"error_message":"An unexpected error occurred."}; injected 502, 503 and 504 answer an
//     HTML page, as a load balancer in front of the API would. Force429 counts down before Fail5xx.
//     SetFaults frees requests held by Latency or Hang, which are then answered normally.
//
// GET /leads:
//   - Without start_date there is no lower bound and without end_date no upper bound (no default
//     window). A date-only end_date includes that whole day; a date-time end_date is inclusive. The
//     400-day limit applies when both are given, to end − start with dates read as midnight UTC; start
//     after end is 400. Dates are YYYY-MM-DD or RFC 3339 date-times (offsets converted to UTC).
//   - Without spam (or duplicate) both spam and non-spam leads are listed; spam=false lists non-spam only.
//   - email_address matches the lead's email_address or contact_email_address, ignoring case;
//     phone_number matches phone_number or contact_phone_number exactly; lead_source, lead_medium,
//     lead_campaign, lead_content and lead_keyword match whole values, ignoring case; user_id matches
//     exactly.
//   - quote_value/sales_value=has_value means not null (0 is a value); no_value means null.
//     quotable=not_set also matches leads without a quotable value.
//   - Invalid values are 400 with an error_message that names the parameter, never echoes the value:
//     leads_per_page outside 1..2500 or not a number, page_number below 1, an unknown lead_type (display
//     names such as "Phone Call" included), lead_status, quotable, quote_value, sales_value or order, a
//     bool other than true/false, an unparsable date.
//   - A master key's account_id or profile_id outside its accounts (or not existing: the two are
//     indistinguishable) is 400 {"error_message":"Invalid account ID."} / "Invalid profile ID.".
//   - An empty parameter is as if absent; a repeated parameter counts by its first value; unknown
//     parameters (page, per_page, from_date, ...) are ignored.
//   - leads_per_page echoes the requested page size; total_pages is ceil(total_leads / leads_per_page),
//     0 when nothing matches; a page past the last answers 200 with an empty leads array.
//   - Leads created at the same second are ordered by lead_id, in the same direction as date_created.
//   - customer_journey=true adds "customer_journey": [] to each lead (the element shape is undocumented).
//
// GET and POST /leads/{id}:
//   - An unknown id, a malformed id and another profile's (or account's) lead are answered identically:
//     400 {"error_message":"Invalid lead ID."}, the only behaviour seen in the sources (a client gem's
//     stub). SetUnknownLeadStatus(404) switches to 404 {"error_message":"Lead not found."} so that
//     clients can be tested against both.
//
// POST /leads (create):
//   - Answers 200 with the bare lead. Parameters are read from the body only (urlencoded, multipart or
//     JSON; a POST's query string is ignored); another Content-Type with a body, an unparsable body or
//     a body over 1 MiB is 400.
//   - A profile key's lead goes to its profile and any profile_id is ignored. A master key without
//     profile_id is 400 "Profile ID is required."; with a profile outside its accounts, 400 "Invalid
//     profile ID.".
//   - Unknown parameters are ignored, and so is wc_client_current (the simulator cannot read the
//     cookie). fbclid and fbpid are stored as facebook_click_id and facebook_browser_id.
//   - send_notification is optional (default false), true/false/1/0, else 400; NotificationSent
//     reports it. date_created must be RFC 3339 (default Now); quote_value, sales_value,
//     transaction_tax and transaction_shipping must be numbers ≥ 0 ("" means null); call_duration_seconds
//     a whole number ≥ 0 (call_duration is derived from it).
//   - The new lead: last_updated Now; lead_status "Repeat" when the profile already has a lead with
//     the same phone_number or email_address, else "Unique"; lead_state "Completed" (and call_status or
//     chat_status for calls and chats); lead_score 0; lead_analysis []; spam and duplicate false;
//     unset attribution fields null; unset contact, page and device strings ""; contact_email_address,
//     contact_phone_number and contact_name copied from email_address, phone_number and caller_name
//     (or sender_name); additional_fields [] when none were given; a user_id "<profile_id>-<uuid>"
//     when none was given.
//
// POST /leads/{id} (edit):
//   - Parameters other than quotable, quote_value, sales_value, lead_url, additional_fields and
//     custom_fields are ignored (not refused), as unknown parameters are elsewhere.
//   - The lead is looked up first (unknown → as above), then the values are checked: quotable must be
//     yes/no/pending/not_set and quote_value/sales_value numbers ≥ 0, else 400 and nothing changes.
//   - quote_value or sales_value "" (or JSON null) sets null; additional_fields and custom_fields are merged into the
//     lead's (an [] becomes an object). lead_url is stored as given.
//   - Every accepted edit sets last_updated to Now and sends the "update" webhook, even if no value
//     changed (as saving a lead in the WhatConverts UI would).
//
// Webhooks:
//   - The payload is the whole lead as the API serves it, with "trigger" first; it is not reduced to the
//     changed fields (the documentation allows partial update payloads; receivers must not need them).
//   - One URL (SetWebhookURL) receives every profile's webhooks. No signature and no custom headers
//     (WhatConverts sends none); Content-Type application/json; a 10 s timeout; no retries.
//   - Deliveries run one at a time, in the order they were queued, on a goroutine; the API queues a
//     delivery before it answers, so after the answer WaitWebhooks waits for it. FireWebhook queues one
//     and waits for it, returning an error unless the receiver answered 2xx. Leads added with AddLead or
//     AddLeads send no webhook.
//
// Generated data:
//   - Leads are spread evenly (with jitter) over the GeneratedWindow (96 h) before Now, the newest at
//     least 5 minutes old; about 20% were edited later (last_updated hours after date_created). Calls
//     and chats of the last hour may be "In Progress". Lead ids are sequential from 9000001 in creation
//     order.
//   - Click and visitor ids (gclid, hubspot_visitor_id, vwo_*, ...) are present on about half the
//     leads, often as empty strings; field_mappings and custom_fields on some.
package wcsim
