// Package reliability is wcbridge's reliability suite (make reliability): the whole local stack in
// process (shared/local/devstack: API Gateway, the functions, the bus, the WhatConverts simulator) on
// dynalite and local-kms, driven over loopback HTTP the way WhatConverts and IAM callers drive the
// deployed one, and checked from outside: answers, the raw table, the bus, the logs.
//
//   - Load: 5,000 webhooks (10% redeliveries, 5% invalid) from 50 concurrent senders. Every 200 has
//     its audit record and exactly one bus event; no event is recorded twice; every delivery, refused
//     ones included, leaves one audit record; p50/p99 latency as the senders saw it.
//   - Faults, one at a time, then cleared: DynamoDB answering 500, throttling, losing the answer to
//     a write that took effect, or never answering (a fault-injecting proxy in front of dynalite);
//     KMS unreachable (a proxy in front of local-kms that drops connections); PutEvents failing (the
//     local bus's fault knobs); WhatConverts answering 429, 5xx or never (the simulator's faults).
//     For each: what the callers saw (a contract error, never a 200 without a durable record, never
//     API Gateway's own error for a function that ran out of time), and, once the fault is cleared,
//     the deliveries WhatConverts would retry are retried and the outbox publisher runs: nothing
//     acknowledged is lost, nothing is recorded twice.
//   - PHI: every payload carries synthetic PHI (the simulator's synthetic patients, plus a unique
//     canary per delivery and per action); every log line of the run (the functions' stderr, the
//     gateway's log, slog's default), every raw table item (a plain Scan), every bus event and every
//     answer is scanned for it: 0 hits.
//
// It prints a closing table. The tests run only when WCBRIDGE_RELIABILITY=1 (make reliability sets
// it, under scripts/with-services.sh): they take minutes, and make test already covers each package's
// behaviour; this is the stack's behaviour under load and failure.
package reliability
