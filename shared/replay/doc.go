// Package replay is ReplayFunction: POST /replays publishes again, onto the lead bus, the accepted
// webhook events that the audit trail holds for a time window, for the consumer that was down,
// misconfigured or added later.
//
// # The request
//
// {"from", "to" (RFC 3339), "trigger" (new-lead | updated-lead, optional), "profile_id" (optional),
// "dry_run" (optional)}: the events received in [from, to), of that trigger and profile when given.
// The answer is 200 {"replay_id": "rpl_…", "events": n, "dry_run": b}, once the replay is planned,
// authorised and audited; the events follow at the replay's rate. Refused with a 400 that names the
// field: a window longer than MaxWindow (7 days), reaching into the future, or holding more than
// MaxEvents (500,000) events. The plan (a count of the window's index entries and the profiles they
// touch, 16 partitions at a time, before the answer) must end inside API Gateway's 29 seconds; the
// bounds keep it small, and one replay under three hours at the default rate. A longer period is
// several replays.
//
// # Access and audit
//
// The caller needs the access policy's "replay" on every profile the window's events touch (and on
// profile_id when given, even if the window has none of it): an Authorizer that refuses, fails or is
// missing refuses the replay (403 naming the profile). Every request is audited (Action "replay", the
// caller as actor, the window, the filters, the count, dry_run; refusals too), and so is the end of
// each replay (the count published). Replays read only the events' clear metadata, which is the bus
// detail (package audit): the function has no key permission at all and never sees PHI.
//
// # What is published
//
// Each event as the webhook published it (Source, DetailType, Detail with its original event_id,
// Time its received_at) plus detail.replay_id, in the order received (received_at, then event_id).
// Consumers that de-duplicate on event_id see nothing twice, whether a replay is resumed, rerun, or
// overlaps the live publication. The shipped workflows' rules ignore events with a replay_id (their
// effect happened the first time); a consumer that wants replays matches them in its own rule.
//
// # Rate
//
// DefaultRate is 50 events a second (REPLAY_RATE, 1-10,000), in PutEvents batches of BatchSize (10).
// Why not faster: PutEvents is throttled per account and Region (10,000 requests a second in
// us-east-1, 2,400 in us-east-2, fewer elsewhere) and so are rule invocations (1,100 a second in
// most Regions), both shared with live webhooks, which must not be throttled by a replay; and 50 a
// second is the webhook route's own steady rate (WebhookRateLimit), so consumers sized for live
// traffic keep up. A batch's failed entries are sent again, alone, with backoff (putAttempts);
// entries that still fail stop the chunk at the first of them, so nothing is skipped.
//
// # Long windows: chunked self-invocation
//
// A replay is published by a chain of Event invocations of the function itself, each handed only
// {"replay_id"}: it claims the replay's job (table.ReplayKey: window, filters, position, lease),
// publishes from the saved position until the window is done or its chunk time is over
// (REPLAY_CHUNK_SECONDS, default 840 of the 900-second timeout), saves the position (also every
// second on the way), and invokes the function again for the rest. Why this and not a Step
// Functions state machine or a queue of chunks: order is what a replay promises, and a chain is in
// order by construction (a queue's chunks run concurrently unless it is FIFO with one group, a state
// machine needs a loop and a second resource); it needs nothing new but lambda:InvokeFunction on
// itself; and the local stack runs it as deployed (its Invoke API takes Event invocations), where no
// Step Functions emulator exists.
//
// Failure and resumption. A chunk that fails (the bus refusing after retries, the table, the next
// invocation not starting) returns an error: Lambda retries it twice, each retry resuming from the
// saved position (the job's lease is the invocation's request ID, which a retry keeps), then sends
// {"replay_id"} to ReplayFailureQueue, which alarms; invoking the function with that payload resumes
// the replay. A second copy of an Event invocation finds the lease held and does nothing. At most the
// events after the last saved position (a second's worth) are published twice on resume: consumers
// de-duplicate them by event_id, and a rerun of the whole window is as safe.
package replay
