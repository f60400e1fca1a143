// Package eventbus is `make dev`'s EventBridge: an in-memory bus that speaks EventBridge's JSON
// protocol for PutEvents, so the functions' real SDK client (eventbridge.NewFromConfig with
// BaseEndpoint) publishes to it unchanged, and the events can be listed (GET /_local/bus).
//
// It answers as EventBridge does: an EventId per accepted entry, per-entry ErrorCode/ErrorMessage and
// FailedEntryCount for refused ones. Its fault knobs (fail whole calls with a 500, or fail the next N
// entries with InternalFailure) let reliability tests exercise a publisher's retry and outbox paths.
// Subscribers see every accepted event, for a rule engine to evaluate patterns against.
//
// Accepted events are kept in the shape EventBridge delivers to targets ({"version": "0", "id",
// "detail-type", "source", "account", "time", "region", "resources", "detail"}). Nothing here logs
// an event: details may be PHI-free by contract, but the bus does not rely on it.
package eventbus
