// Package webhook is wcbridge's trigger side: WhatConverts' New Lead and Updated Lead webhooks in,
// lead events out on the customer's EventBridge bus, and the trigger samples a workflow is built
// against. It holds the handlers of three functions (IngestWebhookFunction, PublishOutboxFunction,
// TriggerSamplesFunction); their main packages only wire them (shared/wiring).
//
// # Ingest (POST /webhooks/whatconverts?token=TOKEN)
//
// In this order, so that nothing of an unauthenticated body is looked at:
//
//  1. the token query parameter, compared in constant time with the (one or two, while rotating)
//     live tokens by their SHA-256 digests: 401;
//  2. Content-Type application/json (a charset parameter of utf-8 allowed): 415;
//  3. the body at most 256 KiB after base64 decoding (API Gateway's binary bodies): 413;
//  4. the body through shared/validate: one JSON object; trigger new|update, lead_id and profile_id
//     positive integers, date_created and last_updated RFC 3339 when they hold a value (WhatConverts
//     sends "" for unknown values, read as absent); one 400 names every bad field, no value.
//     Everything else is tolerated as WhatConverts sends it ([] for {}, null money, empty strings,
//     unknown fields).
//  5. one conditional write (audit.Store.RecordIfNew) whose key is the event ID derived from the
//     de-duplication key: profile_id, lead_id, trigger, last_updated (when present) and the SHA-256
//     of the canonical body (keys sorted at every depth, no whitespace). A redelivery is the same
//     state sent again; another state is another event even within one second of last_updated
//     (whole seconds: a workflow's edit comes back within milliseconds). No field is left out of the
//     hash: nothing in WhatConverts' payloads changes between deliveries of one state. An event
//     recorded before the body hash joined the key is found under the old key (see
//     LegacyKeyMargin). The body is stored as received (unknown fields included), sealed with a
//     KMS data key (AES-256-GCM, bound to the record's identity). The answer, 200
//     {"event_id","trigger","duplicate"}, comes only after this write; a failed write answers 500
//     and acknowledges nothing.
//  6. a redelivery (the write found its event) is audited as its own record (outcome duplicate, no
//     body) and answered 200 with the first event_id and "duplicate": true: no second event record,
//     no second bus event, for as long as the event record is kept (six years).
//
// Every table write of a delivery, and the inline publish, end DeadlineMargin (1 s) before the
// invocation's deadline (package deadline says why).
//
// Rejections (401, 400, 413, 415) are audited too, without their bodies. Logs carry request and
// event IDs, lead and profile IDs, codes and field names, never the request (its query holds the
// token) nor a value from the body.
//
// # The bus, at least once
//
// Each new event is put on the bus inline right after the durable write (Source
// wcbridge.whatconverts, DetailType "Lead Created" or "Lead Updated", Detail as type Detail says),
// then taken off the outbox (audit.Store.MarkPublished). When the bus call fails or reports the entry
// failed, the event stays on the outbox and the request still succeeds: the record is durable. The
// Publisher (every minute) publishes what has been pending for more than 30 seconds and takes it off
// the outbox. An event can reach the bus twice only when the bus took it but the marker could not be
// cleared; its Detail.event_id is stable, so consumers that must act once de-duplicate on it.
//
// The bus detail holds no PHI. Besides the contract's fields it carries what workflows route on:
// quotable (the display value), has_quote_value and has_sales_value (a number above 0), and for
// Updated Lead changed_fields, the sorted names of the WatchedFields the update carried with a value
// (WhatConverts does not say which fields changed; an update carries the changed fields along with
// the common ones). The detail is built from the audit record's clear metadata alone, so the inline
// publish and the sweep send the same event.
//
// # Trigger samples (GET /triggers/{trigger}/samples)
//
// For the IAM caller only (403 without one); trigger new-lead or updated-lead (404 otherwise). The
// events of that trigger received in the last 5 minutes, newest first, at most 500, each opened
// (kms:Decrypt) and returned as received. Every call is audited as a PHI read by the caller, with the
// lead IDs read in clear and the event IDs sealed, before any data is answered; a record that does
// not open fails the call (500) rather than shortening the list silently.
package webhook
