// Package idempotency keeps the Idempotency-Key records of Create Lead and Update Lead in the
// project's DynamoDB table, so that a caller that retries a request (a timeout, a lost answer)
// gets the first answer back instead of a second lead in WhatConverts.
//
// The model is Stripe's idempotency keys, with Powertools' conditional write to claim a key:
//
//   - Begin claims a key with one conditional PutItem: the item is written "in progress" with a
//     fingerprint of the request (a SHA-256 of the canonical request, computed by the caller) and a
//     fresh claim token. The condition lets it through only if the key is free: never used, expired,
//     released, or claimed by a request that outlived its lease (a crashed instance).
//   - If the key is taken, one strongly consistent GetItem says why: a request with the key still in
//     progress (ErrInProgress, answered 409), a completed request with another fingerprint
//     (ErrMismatch, 409), or a completed request with the same fingerprint, whose stored response
//     Begin returns for replay without calling WhatConverts again.
//   - Complete stores the response of the request that holds the claim; Release gives the key up
//     after a failure worth retrying, so that the retry runs again.
//
// Which outcomes are stored is the caller's decision. Stripe stores the first result of every
// request that started executing, 500s included, and nothing for a request refused by validation;
// package actions stores statuses below 500 and releases the key after a 5xx, so that a retry of an
// upstream failure runs again.
//
// PHI. Request and response bodies hold lead data. The stored response is sealed with the envelope
// encryptor, its AAD bound to the item's key and claim token, so it cannot be spliced into another
// item or into a later claim of the same key. The fingerprint is sealed too: a plain hash of a small
// body (an email address and a few known fields) could be confirmed by guessing, and the table is
// readable by more principals than may read PHI. The client's key itself is stored as a hash (a
// careless client might build it from a patient's name). A raw scan of the table shows the action,
// the caller's ARN, key hashes, states, statuses and times only. Keys are scoped to the action and
// the caller, and expire after table.IdempotencyRetention (24 hours).
//
// Items are never deleted by the functions (their roles have no DeleteItem): release and expiry are
// states that the next claim's condition accepts, and the table's TTL removes the items later.
package idempotency
