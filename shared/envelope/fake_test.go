package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fakeKMS is a function-field fake of the KMS interface.
type fakeKMS struct {
	GenerateDataKeyFn func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error)
	DecryptFn         func(ctx context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error)
}

var _ KMS = (*fakeKMS)(nil)

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	return f.GenerateDataKeyFn(ctx, in)
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return f.DecryptFn(ctx, in)
}

// memKMS is an in-memory KMS: it wraps data keys with AES-GCM under a master key, authenticating the
// key ID and encryption context as KMS does, and counts its calls.
type memKMS struct {
	fakeKMS
	generates, decrypts atomic.Int64
}

func newMemKMS(tb testing.TB) *memKMS {
	tb.Helper()
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	block, err := aes.NewCipher(master)
	if err != nil {
		tb.Fatal(err)
	}
	wrap, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		tb.Fatal(err)
	}
	m := &memKMS{}
	m.GenerateDataKeyFn = func(_ context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		m.generates.Add(1)
		if in.KeySpec != kmstypes.DataKeySpecAes256 {
			return nil, &kmstypes.InvalidKeyUsageException{Message: aws.String("want AES_256")}
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		blob := wrap.Seal(nil, nil, key, binding(aws.ToString(in.KeyId), in.EncryptionContext))
		return &kms.GenerateDataKeyOutput{Plaintext: key, CiphertextBlob: blob, KeyId: in.KeyId}, nil
	}
	m.DecryptFn = func(_ context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		m.decrypts.Add(1)
		key, err := wrap.Open(nil, nil, in.CiphertextBlob, binding(aws.ToString(in.KeyId), in.EncryptionContext))
		if err != nil {
			return nil, &kmstypes.InvalidCiphertextException{Message: aws.String("bad blob")}
		}
		return &kms.DecryptOutput{Plaintext: key, KeyId: in.KeyId}, nil
	}
	return m
}

// binding encodes a key ID and an encryption context as the wrap's AAD.
func binding(keyID string, ec map[string]string) []byte {
	parts := []string{keyID}
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k, ec[k])
	}
	return AAD(parts...)
}
