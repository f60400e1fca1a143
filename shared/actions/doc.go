// Package actions is wcbridge's four WhatConverts actions, Get Leads, Get Lead, Create Lead and
// Update Lead, as the contract's "Actions" section defines them.
//
// It has a core and two ways in, so that the same action can be invoked by more than API Gateway, and
// one entry point per function, Handler.Handle, which tells the ways in apart:
//
//   - The core, Service: one method per action taking who acts (a Call: the actor's ARN, a request
//     ID, the request as received for the audit record, an optional idempotency key) and a typed,
//     validated input, and returning a Result (status, JSON body). It picks the profile's
//     WhatConverts key, bounds the WhatConverts calls by a deadline, honours the idempotency key,
//     maps every failure to the contract's codes (errorOf, the one place), writes the audit record of
//     the call (a failed audit write fails the call), and logs one line without PHI.
//   - The API Gateway adapter, Handler.HandleAPIGateway: the caller's IAM identity (403 without
//     one), media type (415), body size (413), query, path and body validation (400, every field
//     named), the Idempotency-Key header, then the core, then the one response writer (httpapi).
//     Requests refused here are audited through the core too (Service.Refuse), so every call leaves
//     a record.
//   - The direct invocation by an EventBridge rule (direct.go), with the payload of
//     docs/workflows.md ({"source": "wcbridge.workflow", "rule": ..., "event_id": ..., ...}): accepted only
//     from the rules the function is configured with (WORKFLOW_RULE_ARNS, Deps.WorkflowRules), validated
//     with the API route's field rules, run through the same core method with the rule's ARN as the
//     actor and the event_id as the idempotency key. Update Lead has this form; the other actions
//     refuse it.
//
// Handle takes the raw payload: an API Gateway proxy request (httpMethod and requestContext) goes to
// the adapter, a workflow payload (source wcbridge.workflow) to the direct path, anything else is
// refused, audited as rejected, and returned as an error without calling WhatConverts.
//
// Who may invoke a function directly is decided by its resource policy (the template's
// AWS::Lambda::Permission: events.amazonaws.com with SourceArn the rule) and by IAM
// (lambda:InvokeFunction). The rule check in code is defence in depth: a principal allowed to invoke
// the function can write any payload, an allowed rule's ARN included, as it can write any API
// Gateway event. The claimed rule of a refused payload is only recorded (UnverifiedRuleActor).
//
// A direct invocation's answer below 500 is returned as the result ({"status": S, ...body}) and
// never retried; a 5xx, or a redelivery of an event whose first delivery is still running, is
// returned as an error (InvocationError: action, status and code, no PHI) so that Lambda's
// asynchronous retries run it again. See Handler.Handle.
//
// Audit records. Each call, success or failure, is one record: kind "action", actor, action name,
// profile, the lead IDs touched, outcome (ok below status 400, failed otherwise; rejected for a
// direct invocation refused before its payload was trusted), HTTP status and request ID in clear;
// the request as received and the response body in the record's sealed PHI part only. A Get Leads
// answer too large for one record keeps its lead IDs in clear and, in the sealed part, the
// response's size and SHA-256 instead of the body.
//
// Idempotency. POST /leads and PATCH /leads/{lead_id} honour Idempotency-Key (1 to 255 printable
// ASCII characters) with package idempotency, scoped to the action and the caller, for 24 hours. A
// direct invocation's event_id is its key, scoped to the action and the rule: EventBridge and the
// outbox deliver at least once. The fingerprint is the SHA-256 of the canonical request: method,
// path, and the body re-encoded with sorted keys and no insignificant whitespace (so key order and
// spacing do not make another request); for a direct invocation, the whole payload so re-encoded.
// Validation failures (400, 413, 415) are answered before the key is claimed and never stored. The
// first attempt's answer is stored when its status is below 500: a success, and a 404 for a lead
// that is not the profile's, replay as they were. Stripe also stores 5xx answers; here a 5xx (an
// upstream error, an exhausted budget, a timeout, an internal error) releases the key so that the
// caller's retry, which is what such a failure asks for, runs again instead of replaying it for 24
// hours. The exception is a create that timed out (504): WhatConverts may have applied it after the
// deadline (the client does not repeat it for that reason), so its 504 is stored and replayed like a
// success — a retry with the same key cannot create the lead twice; the caller checks with Get Leads
// (email filter) and, if the lead is not there, creates it under a new key. The
// response is stored before the audit record is written: if the audit write then fails (500), a
// retry replays the stored answer and is audited, instead of creating the lead again.
//
// Deadlines. WhatConverts is given until min(the invocation's deadline − 1 s, now + 25 s), inside API
// Gateway's 29 s, so that there is time left to store, audit and answer 504 upstream_timeout.
//
// Response size. Lambda refuses a synchronous response over 6 MB, and a WhatConverts lead is about
// 2 KB: max_items = 10,000 (about 20 MB) cannot be answered whole through API Gateway. Get Leads
// fills the answer newest first up to that bound (Deps.MaxResponseBytes), fetches no page it could
// not answer, and then says "truncated": true (the member is absent otherwise). About 2,850 leads
// of the simulator's size fit.
//
// Update Lead checks that the lead is the profile's: with the profile's own key WhatConverts' key
// scope does it at no cost; with the master key the client reads the lead first (one more request).
// A create or an edit answered with less than the lead is completed with one read.
package actions
