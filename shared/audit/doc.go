// Package audit is wcbridge's audit trail: one write-once record per webhook delivery, action call,
// PHI read and report run, in the project's DynamoDB table, with the PHI sealed field-level and every
// hour's records made tamper-evident by a signed, chained, anchored digest. HIPAA asks for audit
// controls and integrity (45 CFR 164.312(b), (c)); the webhook path also uses the store for
// de-duplication and as the outbox of the bus, so that one conditional write does all three.
//
// # Records
//
// A Record's metadata is kept in clear so it can be queried and counted without kms:Decrypt: IDs,
// kind, actor, action, outcome, status, request ID, times and, for webhook events, the bus detail
// (trigger, event_id, account_id, lead_type, last_updated). The PHI part (lead payload, request and
// response bodies) is arbitrary bytes, sealed by a Sealer with the record's identity as additional
// authenticated data, AAD = "wcbridge-audit/v1|audit#<record_id>", so it opens only in its own record.
// Nothing else identifying is stored in clear. The item (key schema in package table):
//
//	pk, sk                 audit#<id>, audit
//	kind, actor, action, outcome, request_id, trigger, event_id, lead_type      S (absent when empty)
//	profile_id, account_id, status                                              N (absent when 0)
//	lead_ids               L of N, the caller's order
//	received_at            S, table.TimeLayout (fixed-width UTC, nanoseconds)
//	last_updated           S, RFC 3339 UTC
//	quotable               S, the lead's quotable display value (webhook events; bus detail)
//	has_quote_value, has_sales_value   BOOL, present only when true (webhook events; bus detail)
//	changed_fields         L of S, names (never values) of watched fields an update carried
//	replay_id              S, a replay's ID (replay records)
//	window_from, window_to S, RFC 3339 UTC, the window a replay covered (replay records)
//	events                 N, the events a replay counted or published (absent when 0)
//	dry_run                BOOL, present only when true (a replay that only counted)
//	phi                    B, the sealed PHI part (absent when none)
//	writer                 S, the Store that wrote it: "w_<YYYYMMDDThhmmssZ>_<16 base32>" (its start, random)
//	seq                    N, the record's number in its writer's sequence: 1, 2, 3…
//	skipped                L of N, earlier numbers of the writer whose writes did not certainly succeed,
//	                       inclusive ranges as pairs, ascending ([5, 5, 9, 12] is 5 and 9-12; absent when none)
//	day_pk, day_sk         by-day index, every record
//	trig_pk, trig_sk       by-trigger index, accepted events only
//	outbox_pk, outbox_sk   outbox index, accepted events until MarkPublished
//	expires_at             N, received_at + six years (table.AuditRetention)
//	hash                   S, "sha256:<hex>", see below
//
// Records are only ever created: PutItem with the condition attribute_not_exists(pk), widened by
// table.OrOwnRetry with the record's hash so that the SDK's retry of a write whose answer was lost is
// told its record is stored rather than that the ID is taken. The condition needs only
// dynamodb:PutItem, so the writing roles (the webhook's above all) cannot read records back. The one
// change the store makes to an existing item is MarkPublished's REMOVE of outbox_pk and outbox_sk,
// which are therefore outside the hash. Nothing in this package deletes an audit item.
//
// # Webhook events: de-duplication and outbox
//
// An accepted event's record ID is EventID(key), derived from the de-duplication key (profile, lead,
// trigger, last_updated, body hash: no PHI), so RecordIfNew's conditional put is the whole
// de-duplication: one DynamoDB request decides new or duplicate, race-free, and the duplicate knows the
// event's ID. It holds as long as records are kept (six years ≥ the 72 hours required). A request
// none of whose attempts is answered before it gives up fails with its record stored; the redelivery
// is then answered as a duplicate with that record's event ID, and
// the sweep publishes the event. The event is written on the outbox index; the publisher calls
// MarkPublished after the bus accepted it, and a sweeper republishes PendingEvents, so an
// acknowledged event is published at least once.
// Events recorded before the body hash joined the key are named by its legacy form (without it);
// RecordIfNew looks there first, with a conditional UpdateItem that changes nothing, for keys whose
// last_updated is before Config.LegacyKeysBefore, so what they de-duplicated stays de-duplicated.
// Per new webhook: 1 write (RecordIfNew) + 1 update (MarkPublished), and 1 look-up under the legacy
// key when last_updated is before LegacyKeysBefore. Per redelivery: 1 write (refused)
// and the duplicate's own small record.
//
// # Record hash
//
// hash = "sha256:" + hex(SHA-256(canonical)), where canonical is, with every length a 4-byte big-endian
// unsigned integer:
//
//	"wcbridge-audit-record/v1\n"
//	count of attributes
//	for each attribute but hash, outbox_pk, outbox_sk, sorted by name (bytewise):
//	    len(name) name value
//	value = 'S' len bytes | 'N' len digits (as stored) | 'B' len bytes | 'T' | 'F' | '0' (NULL)
//	      | 'L' count value… | 'M' count (len key value)… sorted by key
//	      | 's' / 'n' / 'b' count (len member)… members sorted bytewise (string, number, binary sets)
//
// Every attribute counts, also one the store never writes, so an attribute added by hand is an edit.
// The hash covers the ciphertext, the index keys and the TTL.
//
// # Record tags
//
// Every record is tagged at write time: tag = HMAC-SHA-256(k, "wcbridge-audit-tag/v1\n" || hash), with
// k a tag key that KMS generates under the tag key (TAG_KEY_ID, not the data key) and that the writer
// reuses with the data keys' bounds (Config.Tagger, shared/envelope's Tagger). The item carries tag
// (B) and tag_key (B, the wrapped k), both outside the hash. Someone who can write the table but not
// use the tag key cannot tag an inserted or re-hashed record. A store without a Tagger writes nothing.
//
// # Writers and sequence numbers
//
// Each Store is a writer (one per Lambda execution environment) with an ID fixed at New that carries
// its start time. It numbers every record it builds, under a mutex, 1, 2, 3…; writer and seq are in
// the hash and so under the tag, so nobody without the tag key can forge or renumber them. A number
// whose write did not certainly succeed (any error: a refused duplicate, ErrExists, a timeout whose
// outcome is unknown, a failed tag) is declared in skipped by the writer's following records until
// one that declares it is stored (at most 32 ranges a record; the rest follow). Rejection counts
// carry none. VerifyPeriods checks every writer of the range: each number from 1 to the highest in
// the range is carried by exactly one record or declared skipped by a later record of the writer
// whose hash and tag verify; otherwise missing-record (naming writer and numbers) or duplicate-seq.
// It reads back before the range for a writer's earlier numbers, to the hour before the writer
// started but at most SequenceLookback (24 hours), and one period past the range to fill a hole (a
// record's received_at is its request's arrival, so a lower number can arrive later, by at most a
// function's timeout). So a record deleted before its period is digested is still a finding, once a
// later record of its writer is in the range verified. Memory grows with the writers of a range,
// not its records. Records from before writers numbered them are not sequence-checked.
//
// A writer's last records have no later record to give them away, so every writer also logs each
// record it stored (Config.Log, writelog.go: one line of writer, seq and period), which Lambda
// delivers to CloudWatch Logs, outside the table. A verifier with Config.WriteLog reports each
// number logged as stored that no record carries.
//
// # Period digests
//
// Every hour (period "YYYY-MM-DDTHH", UTC) is digested once it has been over SettleTime, empty hours
// too, by AuditDigestFunction alone (BuildDue, BuildPeriod): the Merkle root over the period's
// leaves SHA-256(0x00 || "<received_at>#<record_id>" || 0x00 || record_hash), in key order, a
// statement (PeriodDigest.Statement) naming the previous period's digest, signed with an
// ECC_NIST_P256 KMS key, written once to the table (digest#<period>, conditional) and to the Anchor
// (an S3 Object Lock bucket, package anchor). The builder refuses to rebuild a period that has a
// digest in either, and to restart the chain once started. VerifyPeriods checks a range with the
// public key alone, table against anchor, tags, leaves and records, streaming records and leaves side
// by side, and every writer's numbers; AuditDigestFunction, `make verify-audit` and the daily
// report's integrity section all verify with it. Building and verifying hold one page of records, one
// chunk of leaves, the O(log n) Merkle frontier and a few numbers per writer, whatever the period's
// size (a page of records a shard, 200 each). Refused webhooks are counted per minute and status
// (CountRejection), not recorded one by one. docs/audit.md says what this proves and how an auditor
// checks it.
//
// # Daily digests (legacy)
//
// Before the hourly chain, the daily report built one digest per UTC day: the RFC 6962 Merkle tree
// hash over the day's records in key order, leaves SHA-256(0x00 || record_id || 0x00 ||
// record_hash), nodes SHA-256(0x01 || left || right), the empty tree SHA-256(""); a statement (see
// Digest.Statement) naming the day, the record count, the root and the previous day's digest value;
// Value = "sha256:" + hex(SHA-256(statement)) and MAC = KMS GenerateMac(HMAC_SHA_256) over the
// statement. Nothing builds them any more (no role may MAC); the existing ones stay in the table and
// stay verifiable:
//
//	digest#<day>  digest        day, records (N), root, previous_digest (absent at a chain's start),
//	                            digest (Value), mac (B), mac_key_id, mac_algorithm, leaf_chunks (N), expires_at
//	digest#<day>  leaves#NNNN   first (N, index of its first leaf), leaves ("<record_id> <hex hash>\n" each,
//	                            LeavesPerChunk a chunk, in key order), expires_at
//
// Verify recomputes everything with kms:VerifyMac under DIGEST_KEY_ID and names each record edited,
// deleted, inserted or reordered, and a digest whose MAC fails (forged), whose leaves do not match
// its root, or whose previous_digest is not the previous day's digest (chain break); scripts/
// verify-audit -legacy-date runs it. It reads leaf chunks with the period verifier's reader and
// reports with the same record checks and findings; because a legacy leaf names its record by ID
// only, not by its place in the key order, it holds the day's leaves in memory and finds reordered
// records as those outside the longest run in leaf order.
package audit
