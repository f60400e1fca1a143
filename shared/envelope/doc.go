// Package envelope encrypts PHI fields of audit records: envelope encryption
// with data keys from the customer's KMS key, AES-256-GCM, each ciphertext bound to its record.
//
// # Use
//
//	enc := envelope.New(kmsClient, keyARN, envelope.Options{}) // once per process
//	aad := envelope.AAD(table, pk, sk, "payload")               // the record's identity and the field
//	sealed, err := enc.Seal(ctx, aad, payload)
//	payload, err = enc.Open(ctx, aad, sealed)                    // errors.Is(err, ErrCannotDecrypt) if tampered or moved
//
// The aad is required and should name the record (its key) and the field: a ciphertext copied into
// another record or another field of the same record does not open. It is authenticated, not
// encrypted, and not stored: the reader rebuilds it from the record.
//
// # Keys and KMS calls
//
// Seal asks KMS GenerateDataKey (KeySpec AES_256) for a data key under the customer key and reuses it
// for at most Options.MaxMessages messages (default 10,000) and Options.MaxAge (default 5 minutes),
// so a warm instance sealing 10,000 records makes one KMS call instead of 10,000 (docs/performance.md, P2).
// Concurrent Seals that find the key spent share one GenerateDataKey. Seal never calls Decrypt, so a
// role with kms:GenerateDataKey alone can write.
//
// Open unwraps a data key with KMS Decrypt, naming the key ID, and keeps it in an LRU cache of
// Options.CacheSize keys (default 64) keyed by the wrapped blob: records sealed under one data key
// cost one Decrypt however many are read; concurrent Opens of one uncached key share it. The data key
// an Encryptor seals with is in that cache too. Because Decrypt names the configured key, records
// sealed under another KMS key (not a rotation of this one: KMS's automatic rotation keeps the key ID)
// do not open with this Encryptor; a reader of such records needs an Encryptor for that key.
//
// The KMS encryption context is fixed: {"purpose": "wcbridge-audit", "key_version": "1"}. CloudTrail
// logs it in the clear, so it holds nothing about any record; it binds the wrapped keys to this use,
// and key policies may require it (kms:EncryptionContext:purpose). key_version changes with the format
// version below.
//
// # Format, version 1
//
// Seal returns, byte by byte:
//
//	offset   size  field
//	0        1     version, 0x01
//	1        2     L, the length of the wrapped data key, unsigned big-endian, 1 to 6144
//	3        L     the wrapped data key: KMS's CiphertextBlob from GenerateDataKey (140 bytes from
//	               local-kms, about 180 from AWS KMS)
//	3+L      12    nonce, random for each message
//	15+L     n     AES-256-GCM ciphertext of the n-byte plaintext
//	15+L+n   16    GCM tag
//
// so a sealed field is 31+L+n bytes. The header is bytes [0, 3+L). GCM's additional authenticated
// data is the header followed by the caller's aad (the header is self-delimiting, so header||aad is
// unambiguous). So no part of the header can be changed or swapped: KMS refuses an altered wrapped
// key, and even the intact header of another data key (one that KMS would unwrap) fails the tag check,
// as a change to the nonce, ciphertext or tag does. Open refuses any other version, L = 0, L > 6144,
// and input too short to hold L bytes, a nonce and a tag, with ErrMalformed before any KMS call; it
// never allocates by a length read from its input.
//
// Random 96-bit nonces are safe for 2^32 messages per key (NIST SP 800-38D); MaxMessages is capped
// there. GCM is not key-committing; that matters when an attacker can choose keys, and here every
// data key comes from KMS under the customer key and its wrapped form is authenticated with the
// ciphertext.
//
// # Errors
//
// ErrCannotDecrypt (and ErrMalformed, which is also ErrCannotDecrypt) say that the bytes do not open,
// never why in detail, and nothing about the record. A KMS failure other than a refused ciphertext
// (throttling, access denied, a network error) comes back wrapped, not as ErrCannotDecrypt, so a
// caller can tell an outage from a bad record. No error text holds plaintext, aad or key material.
//
// # Key material in memory
//
// The plaintext data key that KMS returns is zeroed as soon as the AES key schedule is built from it,
// before the key is used, not only at eviction. What Go does not let this package wipe: the expanded
// key inside crypto/aes (no API clears it; an evicted or replaced key is merely dropped for the
// garbage collector, which does not overwrite freed memory), the SDK's HTTP response buffers (the key
// arrives base64-encoded in JSON), and copies the runtime may make when it moves stacks. Go 1.26's
// experimental runtime/secret (GOEXPERIMENT=runtimesecret) erases memory used inside secret.Do, which
// does not fit keys that must outlive the call. So the limit is: no long-lived plaintext copy of a
// data key that this package owns, and at most CacheSize+1 data keys reachable at once.
//
// # Why not the AWS Encryption SDK for Go
//
// Measured on this machine (2 cores, Go 1.26.8, local-kms), in a throwaway module outside the repo
// with two programs that seal 1.5 KiB messages: one with this package, one with
// github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk v0.4.0 and its Material Providers
// Library v0.4.0 (KMS keyring), both built with CGO_ENABLED=0 -trimpath -ldflags='-s -w', both
// counting KMS calls with CountCalls on the same SDK client:
//
//	                                    this package        Encryption SDK
//	binary, linux/amd64                 7.73 MB             12.44 MB (above P4's 12 MB)
//	binary, linux/arm64                 7.21 MB             11.80 MB
//	  (a program with only the KMS client: 7.71 MB amd64, 7.21 MB arm64)
//	first build, 2 cores                23 s                8 min 18 s (Dafny-generated code)
//	package init (GODEBUG=inittrace)    1.7 ms              4.3 ms
//	exec to exit, seal 1 message        9.8 ms              18.3 ms (median of 21; the KMS-only
//	                                                        program making one call: 8.8 ms)
//	KMS calls, 10,000 messages          1 GenerateDataKey   10,000 GenerateDataKey (measured)
//	time, 10,000 messages               0.2 s               23.7 s (committing suite without
//	                                                        signatures); 1,000 messages with the
//	                                                        default ECDSA P-384 suite: 11.9 s
//
// The Go Encryption SDK has no data-key caching materials manager (its MPL v0.4.0 offers keyrings, a
// default and a required-encryption-context CMM, and a materials cache for the hierarchical keyring,
// which needs a DynamoDB branch-key store: another design), so every Encrypt costs a GenerateDataKey
// and every Decrypt a KMS Decrypt, 10,000 of each per 10,000 records against P2's target of 2. Its
// gains (a standard message format, key commitment, per-message signatures, multi-keyrings) do not
// outweigh that, a 60% larger binary and nearly twice the cold start here. Decision: this package. The ESDK
// is not a dependency of wcbridge.
package envelope
