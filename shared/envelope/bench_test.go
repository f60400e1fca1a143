package envelope_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/envelope"
)

// A webhook's lead payload is about 1-2 KiB of JSON.
var payload = make([]byte, 1536)

var benchAAD = envelope.AAD("audit", "LEAD#123456789", "2026-01-02T03:04:05.123456789Z#webhook#0123456789abcdef", "payload")

// BenchmarkSeal10k seals 10,000 records on one Encryptor against local-kms per iteration and reports
// the KMS calls they cost (docs/performance.md, P2: naive envelope encryption makes 10,000).
func BenchmarkSeal10k(b *testing.B) {
	client, key, calls := localKMS(b)
	ctx := context.Background()
	for b.Loop() {
		e := envelope.New(client, key, envelope.Options{})
		for range 10_000 {
			if _, err := e.Seal(ctx, benchAAD, payload); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(calls.Total())/float64(b.N), "kms-calls/10k")
}

// BenchmarkOpen10k opens 10,000 records sealed under one data key with a fresh Encryptor (cold
// cache) per iteration against local-kms, and reports the KMS calls they cost.
func BenchmarkOpen10k(b *testing.B) {
	client, key, calls := localKMS(b)
	ctx := context.Background()
	w := envelope.New(client, key, envelope.Options{})
	sealed := make([][]byte, 10_000)
	for i := range sealed {
		var err error
		if sealed[i], err = w.Seal(ctx, benchAAD, payload); err != nil {
			b.Fatal(err)
		}
	}
	calls.Reset()
	for b.Loop() {
		r := envelope.New(client, key, envelope.Options{})
		for _, s := range sealed {
			if _, err := r.Open(ctx, benchAAD, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(calls.Total())/float64(b.N), "kms-calls/10k")
}

// BenchmarkSeal is the warm per-record cost of Seal with a zero-latency in-memory KMS.
func BenchmarkSeal(b *testing.B) {
	e := envelope.New(zeroLatencyKMS(b), "k", envelope.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := e.Seal(ctx, benchAAD, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is the warm per-record cost of Open (data key cached).
func BenchmarkOpen(b *testing.B) {
	e := envelope.New(zeroLatencyKMS(b), "k", envelope.Options{})
	ctx := context.Background()
	sealed, err := e.Seal(ctx, benchAAD, payload)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := e.Open(ctx, benchAAD, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGCMFloor is the irreducible work Seal does: one AES-256-GCM seal of the same payload and
// aad with a random nonce, into a fresh buffer. Seal's ns/op over this is the envelope's overhead.
func BenchmarkGCMFloor(b *testing.B) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCMWithRandomNonce(block)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		out := make([]byte, 0, aead.Overhead()+len(payload))
		_ = aead.Seal(out, nil, payload, benchAAD)
	}
}

// zeroLatencyKMS hands out random data keys with a fixed fake blob; only Seal's path uses it.
func zeroLatencyKMS(b *testing.B) envelope.KMS {
	return kmsFunc(func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return &kms.GenerateDataKeyOutput{Plaintext: key, CiphertextBlob: make([]byte, 184)}, nil
	})
}

// kmsFunc is a KMS whose GenerateDataKey is a function and whose Decrypt is never expected.
type kmsFunc func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)

func (f kmsFunc) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	return f(ctx, in, o...)
}

func (f kmsFunc) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	panic("Decrypt is not expected in this benchmark")
}
