package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS is the part of the KMS client the Encryptor uses; *kms.Client satisfies it. A writer needs only
// kms:GenerateDataKey: Seal never calls Decrypt.
type KMS interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMS = (*kms.Client)(nil)

// Defaults for the zero Options.
const (
	DefaultMaxAge      = 5 * time.Minute
	DefaultMaxMessages = 10_000
	DefaultCacheSize   = 64
)

// maxMessagesLimit is the most messages one AES-GCM key may seal with random 96-bit nonces
// (NIST SP 800-38D, 8.3): beyond it nonce collisions become too likely.
const maxMessagesLimit = 1 << 32

// Options bound the reuse of data keys. The zero value of each field means its default.
type Options struct {
	// MaxAge is how long one data key seals new messages (default 5 minutes).
	MaxAge time.Duration
	// MaxMessages is how many messages one data key seals (default 10,000; at most 2^32).
	MaxMessages int
	// CacheSize is how many unwrapped data keys Open keeps, least recently used evicted first (default 64).
	CacheSize int
	// Now is the clock for MaxAge (default time.Now); it is called from many goroutines. Tests inject one.
	Now func() time.Time
}

// Errors. Their text says what failed, never which record or what it held.
var (
	// ErrCannotDecrypt means the sealed bytes do not open with this AAD: tampered, truncated, moved to
	// another record, or wrapped under another key or encryption context.
	ErrCannotDecrypt = errors.New("envelope: cannot decrypt")
	// ErrMalformed means the sealed bytes do not even parse as a known format. errors.Is(err,
	// ErrCannotDecrypt) holds for it too, so callers need check only that one.
	ErrMalformed = fmt.Errorf("%w: malformed ciphertext", ErrCannotDecrypt)
	// ErrNoAAD means Seal or Open was called without additional authenticated data: every ciphertext
	// must be bound to the identity of its record.
	ErrNoAAD = errors.New("envelope: empty aad: bind each ciphertext to its record")
)

// Format constants (see the package documentation for the byte layout).
const (
	// Version1 is the first byte of every ciphertext Seal writes.
	Version1 byte = 1
	// KeySize is the size of a data key (AES-256).
	KeySize = 32
	// NonceSize and TagSize are AES-GCM's, as laid out after the header.
	NonceSize = 12
	TagSize   = 16
	// MaxWrappedKeySize is the largest wrapped data key accepted: KMS's limit on a CiphertextBlob.
	MaxWrappedKeySize = 6144

	headerFixed = 1 + 2 // version byte, big-endian uint16 length of the wrapped key
)

// Encryption context values. They are logged by CloudTrail in the clear, so they are fixed and say
// nothing about any record; they still bind each wrapped data key to this use, so a
// data key wrapped for another purpose does not unwrap here. An IAM or key policy may require them with
// the condition keys kms:EncryptionContext:purpose and kms:EncryptionContext:key_version.
const (
	ContextPurpose    = "wcbridge-audit"
	ContextKeyVersion = "1"
)

// EncryptionContext returns the KMS encryption context every data key of format version 1 is wrapped
// under. It is a new map on each call.
func EncryptionContext() map[string]string {
	return map[string]string{"purpose": ContextPurpose, "key_version": ContextKeyVersion}
}

// Encryptor seals and opens PHI fields with data keys from one KMS key. It is safe for concurrent use;
// build one per process (per Lambda cold start) and share it, since its caches are what save KMS calls.
type Encryptor struct {
	kms         KMS
	keyID       string
	maxAge      time.Duration
	maxMessages int64
	now         func() time.Time

	mu      sync.Mutex
	current *sealKey           // the data key Seal uses now, or nil
	gen     *flight            // the GenerateDataKey in progress, or nil
	cache   *lru[cipher.AEAD]  // unwrapped data keys for Open, by wrapped blob
	opening map[string]*flight // Decrypts in progress, by wrapped blob
}

// sealKey is a data key in use for sealing: its ready-made header and its cipher.
type sealKey struct {
	header []byte // version | length | wrapped key: the first bytes of every ciphertext under this key
	aead   cipher.AEAD
	born   time.Time
	uses   int64 // guarded by Encryptor.mu
}

// flight is one KMS call that concurrent callers wait for instead of making their own.
type flight struct {
	done chan struct{}
	err  error
	// retry is set when the call failed only because its caller's context ended: waiters, whose own
	// contexts may be live, try again instead of taking that error.
	retry bool
}

// New returns an Encryptor that wraps data keys under keyID (a key ID, ARN or alias of a symmetric
// encryption KMS key). It makes no KMS call.
func New(k KMS, keyID string, opts Options) *Encryptor {
	e := &Encryptor{
		kms:         k,
		keyID:       keyID,
		maxAge:      opts.MaxAge,
		maxMessages: int64(opts.MaxMessages),
		now:         opts.Now,
		opening:     make(map[string]*flight),
	}
	if e.maxAge <= 0 {
		e.maxAge = DefaultMaxAge
	}
	if e.maxMessages <= 0 {
		e.maxMessages = DefaultMaxMessages
	}
	if e.maxMessages > maxMessagesLimit {
		e.maxMessages = maxMessagesLimit
	}
	if e.now == nil {
		e.now = time.Now
	}
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	e.cache = newLRU[cipher.AEAD](size)
	return e
}

// Seal encrypts plaintext bound to aad, which must identify the record (and field) the ciphertext
// belongs to; AAD builds one. Open with any other aad fails. It calls KMS GenerateDataKey only when
// the current data key is used up (MaxMessages) or too old (MaxAge), and never calls Decrypt.
func (e *Encryptor) Seal(ctx context.Context, aad, plaintext []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, ErrNoAAD
	}
	k, err := e.sealKey(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(k.header), len(k.header)+NonceSize+len(plaintext)+TagSize)
	copy(out, k.header)
	// The random-nonce AEAD writes nonce | ciphertext | tag after out, exactly the layout after the header.
	return k.aead.Seal(out, nil, plaintext, gcmAAD(k.header, aad)), nil
}

// Open decrypts what Seal returned for the same aad. Sealed bytes that were altered in any byte, or
// sealed for another aad, fail with an error for which errors.Is(err, ErrCannotDecrypt) holds. A KMS
// failure other than a refused ciphertext (throttling, access denied, network) is returned wrapped, so
// that callers can tell a bad record from an outage. Data keys are cached: opening many records sealed
// under one data key costs one KMS Decrypt.
func (e *Encryptor) Open(ctx context.Context, aad, sealed []byte) ([]byte, error) {
	if len(aad) == 0 {
		return nil, ErrNoAAD
	}
	header, wrapped, body, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	aead, err := e.openKey(ctx, wrapped)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, nil, body, gcmAAD(header, aad))
	if err != nil {
		return nil, ErrCannotDecrypt
	}
	return plaintext, nil
}

// AAD encodes the parts that identify a record and field (for example table, pk, sk and field name)
// as additional authenticated data: each part is preceded by its length as a uvarint, so no two
// different lists of parts encode alike ("a","bc" differs from "ab","c").
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// gcmAAD is what AES-GCM authenticates: the whole header, then the caller's aad. The header is
// self-delimiting (its length prefix says where it ends), so the concatenation is unambiguous.
func gcmAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}

// appendHeader appends version | uint16 length | wrapped key to b.
func appendHeader(b, wrapped []byte) []byte {
	b = append(b, Version1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(wrapped)))
	return append(b, wrapped...)
}

// parse splits sealed bytes into header, the wrapped key inside it, and nonce | ciphertext | tag.
// It only slices: it never allocates by a length read from the input.
func parse(sealed []byte) (header, wrapped, body []byte, err error) {
	if len(sealed) < headerFixed || sealed[0] != Version1 {
		return nil, nil, nil, ErrMalformed
	}
	n := int(binary.BigEndian.Uint16(sealed[1:headerFixed]))
	if n == 0 || n > MaxWrappedKeySize || len(sealed)-headerFixed-n < NonceSize+TagSize {
		return nil, nil, nil, ErrMalformed
	}
	end := headerFixed + n
	return sealed[:end:end], sealed[headerFixed:end:end], sealed[end:], nil
}

// sealKey returns the current data key with one use reserved, generating a new one when it is spent.
// Concurrent callers share one GenerateDataKey.
func (e *Encryptor) sealKey(ctx context.Context) (*sealKey, error) {
	e.mu.Lock()
	for {
		if k := e.current; k != nil && k.uses < e.maxMessages && e.now().Sub(k.born) < e.maxAge {
			k.uses++
			e.mu.Unlock()
			return k, nil
		}
		if f := e.gen; f != nil {
			e.mu.Unlock()
			if err := f.wait(ctx); err != nil {
				return nil, err
			}
			e.mu.Lock()
			continue
		}
		f := &flight{done: make(chan struct{})}
		e.gen = f
		e.mu.Unlock()

		k, err := e.generate(ctx)

		e.mu.Lock()
		e.gen = nil
		if err != nil {
			f.finish(ctx, err)
			e.mu.Unlock()
			return nil, err
		}
		// The key it replaces is dropped, not wiped: see "Key material in memory" in the package doc.
		k.uses = 1 // the caller that paid for the key uses it, however fast the clock runs
		e.current = k
		e.cache.add(string(k.header[headerFixed:]), k.aead)
		f.finish(ctx, nil)
		e.mu.Unlock()
		return k, nil
	}
}

func (e *Encryptor) generate(ctx context.Context) (*sealKey, error) {
	out, err := e.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &e.keyID,
		KeySpec:           kmstypes.DataKeySpecAes256,
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		return nil, fmt.Errorf("envelope: kms GenerateDataKey: %w", err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != KeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > MaxWrappedKeySize {
		return nil, errors.New("envelope: kms GenerateDataKey returned a key of the wrong size")
	}
	aead, err := newAEAD(out.Plaintext)
	if err != nil {
		return nil, err
	}
	return &sealKey{
		header: appendHeader(make([]byte, 0, headerFixed+len(out.CiphertextBlob)), out.CiphertextBlob),
		aead:   aead,
		born:   e.now(),
	}, nil
}

// openKey returns the cipher for a wrapped data key, from the cache or by one KMS Decrypt that
// concurrent callers for the same wrapped key share.
func (e *Encryptor) openKey(ctx context.Context, wrapped []byte) (cipher.AEAD, error) {
	e.mu.Lock()
	for {
		if aead, ok := e.cache.get(wrapped); ok {
			e.mu.Unlock()
			return aead, nil
		}
		if f, ok := e.opening[string(wrapped)]; ok {
			e.mu.Unlock()
			if err := f.wait(ctx); err != nil {
				return nil, err
			}
			e.mu.Lock()
			continue
		}
		key := string(wrapped)
		f := &flight{done: make(chan struct{})}
		e.opening[key] = f
		e.mu.Unlock()

		aead, err := e.unwrap(ctx, wrapped)

		e.mu.Lock()
		delete(e.opening, key)
		if err == nil {
			e.cache.add(key, aead)
		}
		f.finish(ctx, err)
		e.mu.Unlock()
		return aead, err
	}
}

func (e *Encryptor) unwrap(ctx context.Context, wrapped []byte) (cipher.AEAD, error) {
	out, err := e.kms.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob: wrapped,
		// Naming the key makes KMS refuse a blob wrapped under any other key, one an attacker holds
		// included (AWS's advice for symmetric Decrypt).
		KeyId:             &e.keyID,
		EncryptionContext: EncryptionContext(),
	})
	if err != nil {
		var invalid *kmstypes.InvalidCiphertextException
		var incorrect *kmstypes.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, ErrCannotDecrypt
		}
		return nil, fmt.Errorf("envelope: kms Decrypt: %w", err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != KeySize {
		return nil, ErrCannotDecrypt
	}
	return newAEAD(out.Plaintext)
}

// newAEAD builds AES-256-GCM with a random 96-bit nonce per Seal (prepended to the ciphertext).
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return aead, nil
}

// wait blocks until the flight lands or ctx ends. A nil error means: look again (the result is in the
// Encryptor's state, or the flight should be retried).
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("envelope: %w", ctx.Err())
	}
	if f.err != nil && !f.retry {
		return f.err
	}
	return nil
}

// finish records the outcome and releases the waiters. Called with Encryptor.mu held.
func (f *flight) finish(ctx context.Context, err error) {
	f.err = err
	f.retry = err != nil && ctx.Err() != nil
	close(f.done)
}
