package envelope_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// Integration tests against local-kms (run through scripts/with-services.sh). KMS calls are counted by
// envelope.CountCalls on the real SDK client.

const phi = `{"name":"Jane Q. Synthetic","email":"jane.synthetic@example.test","phone":"+1-555-0100"}`

// localKMS returns a counted client for local-kms and a fresh symmetric key's ARN. Creating the key is
// not counted.
func localKMS(t testing.TB) (*kms.Client, string, *envelope.CallCounter) {
	t.Helper()
	opt, calls := envelope.CountCalls()
	client := testenv.KMS(t, opt)
	key := testenv.SymmetricKey(t, client)
	calls.Reset()
	return client, key, calls
}

func recordAAD(i int) []byte {
	return envelope.AAD("audit", fmt.Sprintf("LEAD#%d", i), "2026-01-02T03:04:05Z#req", "payload")
}

func TestLocalKMSRoundTrip(t *testing.T) {
	client, key, calls := localKMS(t)
	ctx := context.Background()
	sealed, err := envelope.New(client, key, envelope.Options{}).Seal(ctx, recordAAD(1), []byte(phi))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Synthetic")) {
		t.Fatal("sealed bytes contain the plaintext")
	}
	got, err := envelope.New(client, key, envelope.Options{}).Open(ctx, recordAAD(1), sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != phi {
		t.Fatal("opened to other bytes than were sealed")
	}
	if g, d := calls.Count("GenerateDataKey"), calls.Count("Decrypt"); g != 1 || d != 1 {
		t.Errorf("KMS calls: GenerateDataKey %d, Decrypt %d; want 1 and 1", g, d)
	}
}

func TestLocalKMSAlteredOrMovedCiphertextDoesNotOpen(t *testing.T) {
	client, key, _ := localKMS(t)
	ctx := context.Background()
	sealed, err := envelope.New(client, key, envelope.Options{}).Seal(ctx, recordAAD(1), []byte(phi))
	if err != nil {
		t.Fatal(err)
	}
	n := 3 + int(binary.BigEndian.Uint16(sealed[1:3]))
	for _, tc := range []struct {
		name string
		at   int // byte flipped, or -1
		aad  []byte
	}{
		{"version byte", 0, recordAAD(1)},
		{"length prefix", 2, recordAAD(1)},
		{"wrapped key", 3 + (n-3)/2, recordAAD(1)},
		{"nonce", n, recordAAD(1)},
		{"ciphertext", n + envelope.NonceSize, recordAAD(1)},
		{"tag", len(sealed) - 1, recordAAD(1)},
		{"copied into another record", -1, recordAAD(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(sealed)
			if tc.at >= 0 {
				b[tc.at] ^= 0x01
			}
			got, err := envelope.New(client, key, envelope.Options{}).Open(ctx, tc.aad, b)
			if !errors.Is(err, envelope.ErrCannotDecrypt) || got != nil {
				t.Fatalf("Open = (%d bytes, %v), want ErrCannotDecrypt", len(got), err)
			}
		})
	}
}

func TestLocalKMSRefusesTheWrappedKeyUnderAnotherContext(t *testing.T) {
	client, key, _ := localKMS(t)
	ctx := context.Background()
	sealed, err := envelope.New(client, key, envelope.Options{}).Seal(ctx, recordAAD(1), []byte(phi))
	if err != nil {
		t.Fatal(err)
	}
	wrapped := sealed[3 : 3+int(binary.BigEndian.Uint16(sealed[1:3]))]

	for _, tc := range []struct {
		name    string
		context map[string]string
		wantOK  bool
	}{
		{"the envelope's context", envelope.EncryptionContext(), true},
		{"another purpose", map[string]string{"purpose": "other", "key_version": "1"}, false},
		{"another version", map[string]string{"purpose": "wcbridge-audit", "key_version": "2"}, false},
		{"no context", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: tc.context})
			if tc.wantOK {
				if err != nil || len(out.Plaintext) != envelope.KeySize {
					t.Fatalf("Decrypt = %v, want the 32-byte data key", err)
				}
				return
			}
			var invalid *kmstypes.InvalidCiphertextException
			if !errors.As(err, &invalid) {
				t.Fatalf("Decrypt = %v, want InvalidCiphertextException", err)
			}
		})
	}
}

func TestLocalKMSAnotherKeyCannotOpen(t *testing.T) {
	client, key, _ := localKMS(t)
	otherKey := testenv.SymmetricKey(t, client)
	ctx := context.Background()
	sealed, err := envelope.New(client, key, envelope.Options{}).Seal(ctx, recordAAD(1), []byte(phi))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.New(client, otherKey, envelope.Options{}).Open(ctx, recordAAD(1), sealed); !errors.Is(err, envelope.ErrCannotDecrypt) {
		t.Fatalf("Open under another KMS key = %v, want ErrCannotDecrypt", err)
	}
}

func TestLocalKMS10kRecordsCostOneCallToSealAndOneToOpen(t *testing.T) {
	client, key, calls := localKMS(t)
	ctx := context.Background()
	const records = 10_000
	sealed := make([][]byte, records)
	w := envelope.New(client, key, envelope.Options{})
	for i := range sealed {
		var err error
		if sealed[i], err = w.Seal(ctx, recordAAD(i), []byte(phi)); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Total(); got > 2 || calls.Count("Decrypt") != 0 {
		t.Errorf("sealing %d records cost %v KMS calls, want ≤ 2 and no Decrypt", records, calls.Counts())
	}

	calls.Reset()
	r := envelope.New(client, key, envelope.Options{})
	for i, s := range sealed {
		got, err := r.Open(ctx, recordAAD(i), s)
		if err != nil || string(got) != phi {
			t.Fatalf("record %d does not open: %v", i, err)
		}
	}
	if got := calls.Count("Decrypt"); got > 2 || calls.Total() != got {
		t.Errorf("opening %d records with a fresh Encryptor cost %v KMS calls, want ≤ 2 Decrypts only", records, calls.Counts())
	}
}

func TestLocalKMSDataKeyRotates(t *testing.T) {
	client, key, calls := localKMS(t)
	ctx := context.Background()

	t.Run("after MaxMessages", func(t *testing.T) {
		calls.Reset()
		e := envelope.New(client, key, envelope.Options{MaxMessages: 100})
		for i := range 250 {
			if _, err := e.Seal(ctx, recordAAD(i), []byte(phi)); err != nil {
				t.Fatal(err)
			}
		}
		if got := calls.Count("GenerateDataKey"); got != 3 {
			t.Errorf("250 messages at 100 per key cost %d GenerateDataKey, want 3", got)
		}
	})
	t.Run("after MaxAge", func(t *testing.T) {
		calls.Reset()
		var mu sync.Mutex
		now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e := envelope.New(client, key, envelope.Options{MaxAge: time.Minute, Now: clock})
		var sealed [][]byte
		for _, step := range []time.Duration{0, 30 * time.Second, 29 * time.Second, time.Second, 59 * time.Second, time.Second} {
			mu.Lock()
			now = now.Add(step)
			mu.Unlock()
			s, err := e.Seal(ctx, recordAAD(1), []byte(phi))
			if err != nil {
				t.Fatal(err)
			}
			sealed = append(sealed, s)
		}
		// Keys born at 0s, 60s and 120s.
		if got := calls.Count("GenerateDataKey"); got != 3 {
			t.Errorf("messages over 2 minutes at MaxAge 1m cost %d GenerateDataKey, want 3", got)
		}
		r := envelope.New(client, key, envelope.Options{})
		for i, s := range sealed {
			if _, err := r.Open(ctx, recordAAD(1), s); err != nil {
				t.Fatalf("message %d does not open: %v", i, err)
			}
		}
		if got := calls.Count("Decrypt"); got != 3 {
			t.Errorf("opening messages under 3 data keys cost %d Decrypt, want 3", got)
		}
	})
}

func TestLocalKMSConcurrentSealsShareOneDataKey(t *testing.T) {
	client, key, calls := localKMS(t)
	e := envelope.New(client, key, envelope.Options{})
	const goroutines = 50
	var start sync.WaitGroup
	var done sync.WaitGroup
	start.Add(1)
	errs := make([]error, goroutines)
	for i := range goroutines {
		done.Go(func() {
			start.Wait()
			_, errs[i] = e.Seal(context.Background(), recordAAD(i), []byte(phi))
		})
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if got := calls.Counts(); got["GenerateDataKey"] != 1 || calls.Total() != 1 {
		t.Errorf("%d concurrent Seals cost %v KMS calls, want 1 GenerateDataKey", goroutines, got)
	}
}

func TestCountCallsCountsEachOperationByName(t *testing.T) {
	client, key, calls := localKMS(t)
	ctx := context.Background()
	for range 3 {
		if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("not a blob")}); err == nil {
		t.Fatal("local-kms decrypted garbage")
	}
	want := map[string]int{"DescribeKey": 3, "Decrypt": 1}
	if got := calls.Counts(); len(got) != len(want) || got["DescribeKey"] != 3 || got["Decrypt"] != 1 {
		t.Errorf("counts = %v, want %v (a failed call counts too)", got, want)
	}
}
