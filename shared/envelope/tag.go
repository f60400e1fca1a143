package envelope

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Tag key encryption context: like the data keys' (see EncryptionContext), fixed and free of record
// content, with another purpose so that a tag key never unwraps as a data key or the other way round.
const (
	TagContextPurpose    = "wcbridge-audit-tag"
	TagContextKeyVersion = "1"
)

// MACSize is the size of a tag: HMAC-SHA-256.
const MACSize = sha256.Size

// TagEncryptionContext returns the KMS encryption context every tag key is wrapped under.
func TagEncryptionContext() map[string]string {
	return map[string]string{"purpose": TagContextPurpose, "key_version": TagContextKeyVersion}
}

// Tagger computes and checks HMAC-SHA-256 tags under tag keys: random 256-bit keys that KMS generates
// and wraps under a KMS key of their own (the tag key), never the data key, so that a verifier allowed
// kms:Decrypt on the tag key unwraps tag keys and never a PHI data key.
//
// Tag reuses one tag key with the same bounds as Seal's data keys (Options.MaxAge, MaxMessages): one
// KMS GenerateDataKey per 10,000 tags or 5 minutes, never a KMS call per tag. Check unwraps a tag key
// with KMS Decrypt (naming the key) and keeps Options.CacheSize of them, so checking a period's tags
// costs one Decrypt per tag key. A writer needs only kms:GenerateDataKey on the tag key.
type Tagger struct {
	kms         KMS
	keyID       string
	maxAge      time.Duration
	maxMessages int64
	now         func() time.Time

	genMu   sync.Mutex // held while a new tag key is generated: one GenerateDataKey for all waiting
	mu      sync.Mutex
	current *tagKey
	cache   *lru[[]byte] // unwrapped tag keys for Check, by wrapped blob
}

type tagKey struct {
	wrapped []byte
	key     []byte
	born    time.Time
	uses    int64 // guarded by Tagger.mu
}

// NewTagger returns a Tagger whose keys KMS wraps under keyID (a symmetric encryption KMS key other
// than the data key). It makes no KMS call.
func NewTagger(k KMS, keyID string, opts Options) *Tagger {
	e := New(k, keyID, opts) // the same defaults and limits as the Encryptor's
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Tagger{kms: k, keyID: keyID, maxAge: e.maxAge, maxMessages: e.maxMessages, now: e.now, cache: newLRU[[]byte](size)}
}

// Tag returns HMAC-SHA-256(tag key, msg) and the tag key's wrapped form, which is stored with the tag
// so that a verifier can unwrap it. It calls KMS only when the current tag key is spent or too old.
func (t *Tagger) Tag(ctx context.Context, msg []byte) (wrapped, tag []byte, err error) {
	k := t.fresh()
	if k == nil {
		if k, err = t.rotate(ctx); err != nil {
			return nil, nil, err
		}
	}
	m := hmac.New(sha256.New, k.key)
	m.Write(msg)
	return k.wrapped, m.Sum(nil), nil
}

// fresh returns the current tag key with one use reserved, or nil when it is spent or too old.
func (t *Tagger) fresh() *tagKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k := t.current; k != nil && k.uses < t.maxMessages && t.now().Sub(k.born) < t.maxAge {
		k.uses++
		return k
	}
	return nil
}

func (t *Tagger) rotate(ctx context.Context) (*tagKey, error) {
	t.genMu.Lock()
	defer t.genMu.Unlock()
	if k := t.fresh(); k != nil { // another caller rotated while this one waited
		return k, nil
	}
	out, err := t.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &t.keyID,
		KeySpec:           kmstypes.DataKeySpecAes256,
		EncryptionContext: TagEncryptionContext(),
	})
	if err != nil {
		return nil, fmt.Errorf("envelope: kms GenerateDataKey (tag key): %w", err)
	}
	if len(out.Plaintext) != KeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > MaxWrappedKeySize {
		return nil, errors.New("envelope: kms GenerateDataKey returned a tag key of the wrong size")
	}
	k := &tagKey{wrapped: out.CiphertextBlob, key: out.Plaintext, born: t.now(), uses: 1}
	t.mu.Lock()
	t.current = k
	t.cache.add(string(k.wrapped), k.key)
	t.mu.Unlock()
	return k, nil
}

// Check reports whether tag is HMAC-SHA-256 of msg under the tag key wrapped in wrapped. A wrapped key
// that KMS refuses (altered, wrapped under another key or context) is a tag that does not verify
// (false, nil); a KMS failure otherwise (throttling, access denied) is an error, so that an outage is
// never taken for tampering, nor tampering for an outage.
func (t *Tagger) Check(ctx context.Context, wrapped, msg, tag []byte) (bool, error) {
	if len(wrapped) == 0 || len(wrapped) > MaxWrappedKeySize || len(tag) != MACSize {
		return false, nil
	}
	t.mu.Lock()
	key, ok := t.cache.get(wrapped)
	t.mu.Unlock()
	if !ok {
		out, err := t.kms.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob:    wrapped,
			KeyId:             &t.keyID,
			EncryptionContext: TagEncryptionContext(),
		})
		if err != nil {
			var invalid *kmstypes.InvalidCiphertextException
			var incorrect *kmstypes.IncorrectKeyException
			if errors.As(err, &invalid) || errors.As(err, &incorrect) {
				return false, nil
			}
			return false, fmt.Errorf("envelope: kms Decrypt (tag key): %w", err)
		}
		if len(out.Plaintext) != KeySize {
			return false, nil
		}
		key = out.Plaintext
		t.mu.Lock()
		t.cache.add(string(wrapped), key)
		t.mu.Unlock()
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return hmac.Equal(m.Sum(nil), tag), nil
}
