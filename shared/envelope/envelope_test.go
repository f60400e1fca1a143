package envelope

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Synthetic PHI: no test output or error may contain it.
const phi = `{"name":"Jane Q. Synthetic","email":"jane.synthetic@example.test","phone":"+1-555-0100"}`

const testKey = "arn:aws:kms:us-east-1:111122223333:key/test"

var recordAAD = AAD("audit", "LEAD#1001", "2026-01-02T03:04:05Z#req-1", "payload")

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustSeal(t testing.TB, e *Encryptor, aad []byte, plaintext string) []byte {
	t.Helper()
	sealed, err := e.Seal(context.Background(), aad, []byte(plaintext))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

func TestSealedBytesOpenToThePlaintext(t *testing.T) {
	for _, tc := range []struct {
		name      string
		plaintext string
	}{
		{"empty", ""},
		{"one byte", "x"},
		{"a lead payload", phi},
		{"64 KiB", strings.Repeat("a", 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemKMS(t)
			sealed := mustSeal(t, New(m, testKey, Options{}), recordAAD, tc.plaintext)
			// (Short plaintexts may occur in random bytes by chance.)
			if len(tc.plaintext) >= 16 && bytes.Contains(sealed, []byte(tc.plaintext)) {
				t.Fatal("the sealed bytes contain the plaintext")
			}
			// A fresh Encryptor (another process) opens it through KMS.
			got, err := New(m, testKey, Options{}).Open(context.Background(), recordAAD, sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(got) != tc.plaintext {
				t.Fatal("Open returned other bytes than were sealed")
			}
		})
	}
}

func TestSealedBytesFollowTheDocumentedFormat(t *testing.T) {
	m := newMemKMS(t)
	var blob []byte
	gen := m.GenerateDataKeyFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		out, err := gen(ctx, in)
		if err == nil {
			blob = bytes.Clone(out.CiphertextBlob)
		}
		return out, err
	}
	sealed := mustSeal(t, New(m, testKey, Options{}), recordAAD, phi)

	if sealed[0] != Version1 {
		t.Errorf("byte 0 = %d, want version %d", sealed[0], Version1)
	}
	n := int(binary.BigEndian.Uint16(sealed[1:3]))
	if n != len(blob) {
		t.Fatalf("bytes 1-2 say the wrapped key has %d bytes; KMS returned %d", n, len(blob))
	}
	if !bytes.Equal(sealed[3:3+n], blob) {
		t.Error("bytes 3.. are not the KMS CiphertextBlob")
	}
	if want := 3 + n + NonceSize + len(phi) + TagSize; len(sealed) != want {
		t.Errorf("sealed length = %d, want %d (header + nonce + ciphertext + tag)", len(sealed), want)
	}
}

func TestDataKeyRequestCarriesNoRecordData(t *testing.T) {
	var got *kms.GenerateDataKeyInput
	m := newMemKMS(t)
	gen := m.GenerateDataKeyFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		got = in
		return gen(ctx, in)
	}
	mustSeal(t, New(m, testKey, Options{}), recordAAD, phi)

	if aws.ToString(got.KeyId) != testKey || got.KeySpec != kmstypes.DataKeySpecAes256 {
		t.Errorf("GenerateDataKey(KeyId=%q, KeySpec=%q), want the customer key and AES_256", aws.ToString(got.KeyId), got.KeySpec)
	}
	want := map[string]string{"purpose": "wcbridge-audit", "key_version": "1"}
	if !maps.Equal(got.EncryptionContext, want) {
		t.Errorf("encryption context = %v, want the fixed %v", got.EncryptionContext, want)
	}
}

func TestAlteredOrMisboundCiphertextDoesNotOpen(t *testing.T) {
	m := newMemKMS(t)
	e := New(m, testKey, Options{MaxMessages: 1}) // two messages, two data keys
	sealed := mustSeal(t, e, recordAAD, phi)
	other := mustSeal(t, e, recordAAD, phi)
	n := 3 + int(binary.BigEndian.Uint16(sealed[1:3]))
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte { b[i] ^= 0x01; return b }
	}

	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
		aad    []byte
	}{
		{"version byte", flip(0), recordAAD},
		{"length prefix", flip(2), recordAAD},
		{"wrapped key, first byte", flip(3), recordAAD},
		{"wrapped key, last byte", flip(n - 1), recordAAD},
		{"nonce", flip(n), recordAAD},
		{"ciphertext", flip(n + NonceSize), recordAAD},
		{"tag", flip(len(sealed) - 1), recordAAD},
		{"truncated tag", func(b []byte) []byte { return b[:len(b)-1] }, recordAAD},
		{"a byte appended", func(b []byte) []byte { return append(b, 0) }, recordAAD},
		{"header of another data key", func(b []byte) []byte {
			m := 3 + int(binary.BigEndian.Uint16(other[1:3]))
			return append(bytes.Clone(other[:m]), b[n:]...)
		}, recordAAD},
		{"copied into another record", nil, AAD("audit", "LEAD#1002", "2026-01-02T03:04:05Z#req-1", "payload")},
		{"copied into another field", nil, AAD("audit", "LEAD#1001", "2026-01-02T03:04:05Z#req-1", "response")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(sealed)
			if tc.mutate != nil {
				b = tc.mutate(b)
			}
			// Both the Encryptor that sealed (data key cached) and a fresh one (through KMS) refuse it.
			for _, opener := range []*Encryptor{e, New(m, testKey, Options{})} {
				got, err := opener.Open(context.Background(), tc.aad, b)
				if !errors.Is(err, ErrCannotDecrypt) {
					t.Fatalf("Open = %v, want ErrCannotDecrypt", err)
				}
				if got != nil {
					t.Fatal("Open returned bytes with its error")
				}
			}
		})
	}
}

func TestTheHeaderIsAuthenticatedEvenWhenItUnwrapsToTheSameKey(t *testing.T) {
	// A KMS that would unwrap an altered blob to the same data key: only GCM's aad, which covers the
	// header, can catch the change.
	key := make([]byte, KeySize)
	careless := &fakeKMS{
		GenerateDataKeyFn: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
			return &kms.GenerateDataKeyOutput{Plaintext: bytes.Clone(key), CiphertextBlob: []byte("wrapped-key-v1")}, nil
		},
		DecryptFn: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
			return &kms.DecryptOutput{Plaintext: bytes.Clone(key)}, nil
		},
	}
	sealed := mustSeal(t, New(careless, testKey, Options{}), recordAAD, phi)
	if _, err := New(careless, testKey, Options{}).Open(context.Background(), recordAAD, sealed); err != nil {
		t.Fatalf("the untouched message does not open: %v", err)
	}
	altered := bytes.Clone(sealed)
	altered[3+len("wrapped-key-")] = '2' // "wrapped-key-v1" becomes "wrapped-key-21": same length
	if _, err := New(careless, testKey, Options{}).Open(context.Background(), recordAAD, altered); !errors.Is(err, ErrCannotDecrypt) {
		t.Fatalf("Open with an altered wrapped key = %v, want ErrCannotDecrypt", err)
	}
}

func TestMalformedInputIsRefusedWithoutCallingKMS(t *testing.T) {
	e := New(&fakeKMS{
		DecryptFn: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
			t.Error("Decrypt called for input that does not parse")
			return nil, errors.New("unreachable")
		},
	}, testKey, Options{})
	header := func(version byte, n uint16) []byte {
		return binary.BigEndian.AppendUint16([]byte{version}, n)
	}
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version only", []byte{Version1}},
		{"half a length", []byte{Version1, 0}},
		{"zero-length wrapped key", append(header(Version1, 0), make([]byte, 64)...)},
		{"wrapped key longer than KMS allows", append(header(Version1, MaxWrappedKeySize+1), make([]byte, MaxWrappedKeySize+64)...)},
		{"huge length prefix, short input", append(header(Version1, 0xFFFF), make([]byte, 100)...)},
		{"no room for nonce and tag", append(header(Version1, 4), make([]byte, 4+NonceSize+TagSize-1)...)},
		{"unknown version", append(header(2, 4), make([]byte, 4+NonceSize+TagSize)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Open(context.Background(), recordAAD, tc.input)
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrCannotDecrypt) {
				t.Fatalf("Open = %v, want ErrMalformed (which is also ErrCannotDecrypt)", err)
			}
		})
	}
}

func TestEmptyAADIsRefused(t *testing.T) {
	m := newMemKMS(t)
	e := New(m, testKey, Options{})
	if _, err := e.Seal(context.Background(), nil, []byte(phi)); !errors.Is(err, ErrNoAAD) {
		t.Errorf("Seal without aad = %v, want ErrNoAAD", err)
	}
	if _, err := e.Open(context.Background(), AAD(), mustSeal(t, e, recordAAD, phi)); !errors.Is(err, ErrNoAAD) {
		t.Errorf("Open without aad = %v, want ErrNoAAD", err)
	}
	if m.generates.Load() != 1 {
		t.Errorf("GenerateDataKey calls = %d, want 1 (only for the valid Seal)", m.generates.Load())
	}
}

func TestAADEncodingIsUnambiguous(t *testing.T) {
	for _, tc := range []struct{ a, b []string }{
		{[]string{"a", "bc"}, []string{"ab", "c"}},
		{[]string{"ab"}, []string{"a", "b"}},
		{[]string{""}, []string{}},
		{[]string{"", ""}, []string{""}},
	} {
		if bytes.Equal(AAD(tc.a...), AAD(tc.b...)) {
			t.Errorf("AAD(%q) = AAD(%q)", tc.a, tc.b)
		}
	}
}

func TestSealNeverCallsDecrypt(t *testing.T) {
	// A writer's role has kms:GenerateDataKey only.
	m := newMemKMS(t)
	m.DecryptFn = func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
		t.Error("Seal called Decrypt")
		return nil, errors.New("AccessDeniedException")
	}
	e := New(m, testKey, Options{MaxMessages: 10})
	for i := range 100 {
		mustSeal(t, e, AAD("audit", "LEAD#"+string(rune('a'+i%26))), phi)
	}
	if got := m.generates.Load(); got != 10 {
		t.Errorf("GenerateDataKey calls = %d, want 10 for 100 messages at 10 per key", got)
	}
}

func TestDataKeysAreReusedWithinBounds(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          Options
		messages      int
		advance       time.Duration // clock step after each message
		wantGenerates int64
	}{
		{"defaults: 10,000 messages, 1 data key", Options{}, 10_000, 0, 1},
		{"10,001 messages: the 10,001st needs a new key", Options{}, 10_001, 0, 2},
		{"MaxMessages 3: 7 messages, 3 keys", Options{MaxMessages: 3}, 7, 0, 3},
		{"MaxMessages 1: one key per message", Options{MaxMessages: 1}, 5, 0, 5},
		{"default MaxAge: a message a minute, a key per 5", Options{}, 10, time.Minute, 2},
		{"MaxAge 1s: a message a second, a key per message", Options{MaxAge: time.Second}, 4, time.Second, 4},
		{"MaxAge 1s: just under it, one key", Options{MaxAge: time.Second}, 4, 300 * time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemKMS(t)
			clock := newClock()
			tc.opts.Now = clock.Now
			e := New(m, testKey, tc.opts)
			sealed := make([][]byte, tc.messages)
			for i := range sealed {
				sealed[i] = mustSeal(t, e, recordAAD, phi)
				clock.Advance(tc.advance)
			}
			if got := m.generates.Load(); got != tc.wantGenerates {
				t.Errorf("GenerateDataKey calls = %d, want %d", got, tc.wantGenerates)
			}
			if got := distinctHeaders(sealed); int64(got) != tc.wantGenerates {
				t.Errorf("messages carry %d distinct wrapped keys, want %d", got, tc.wantGenerates)
			}
			// Every message, under whichever key, still opens.
			reader := New(m, testKey, Options{})
			for i, s := range sealed {
				if _, err := reader.Open(context.Background(), recordAAD, s); err != nil {
					t.Fatalf("message %d does not open: %v", i, err)
				}
			}
		})
	}
}

func distinctHeaders(sealed [][]byte) int {
	seen := map[string]bool{}
	for _, s := range sealed {
		h, _, _, err := parse(s)
		if err != nil {
			panic(err)
		}
		seen[string(h)] = true
	}
	return len(seen)
}

func TestOpenCachesDataKeysUpToCacheSize(t *testing.T) {
	m := newMemKMS(t)
	writer := New(m, testKey, Options{MaxMessages: 1})
	var sealed [][]byte // three messages, each under its own data key
	for range 3 {
		sealed = append(sealed, mustSeal(t, writer, recordAAD, phi))
	}
	reader := New(m, testKey, Options{CacheSize: 2})
	open := func(i int) {
		t.Helper()
		if _, err := reader.Open(context.Background(), recordAAD, sealed[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		open         int
		wantDecrypts int64
	}{
		{0, 1}, {0, 1}, // cached after the first
		{1, 2}, {0, 2}, // key 0 is now the most recent
		{2, 3}, // evicts key 1, the least recently used
		{0, 3}, // still cached
		{1, 4}, // was evicted: KMS again
	} {
		open(step.open)
		if got := m.decrypts.Load(); got != step.wantDecrypts {
			t.Fatalf("after opening message %d: Decrypt calls = %d, want %d", step.open, got, step.wantDecrypts)
		}
		if reader.cache.len() > 2 {
			t.Fatalf("cache holds %d keys, above its size 2", reader.cache.len())
		}
	}
}

func TestTheSealingEncryptorOpensWithoutKMS(t *testing.T) {
	m := newMemKMS(t)
	e := New(m, testKey, Options{})
	for range 100 {
		sealed := mustSeal(t, e, recordAAD, phi)
		if _, err := e.Open(context.Background(), recordAAD, sealed); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.decrypts.Load(); got != 0 {
		t.Errorf("Decrypt calls = %d, want 0: the sealing key is cached", got)
	}
}

func TestKMSFailuresPropagateWithoutPlaintext(t *testing.T) {
	throttled := &kmstypes.KMSInternalException{Message: aws.String("try later")}
	t.Run("GenerateDataKey fails", func(t *testing.T) {
		e := New(&fakeKMS{GenerateDataKeyFn: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
			return nil, throttled
		}}, testKey, Options{})
		out, err := e.Seal(context.Background(), recordAAD, []byte(phi))
		var got *kmstypes.KMSInternalException
		if !errors.As(err, &got) || out != nil {
			t.Fatalf("Seal = (%d bytes, %v), want no bytes and the KMS error", len(out), err)
		}
		assertNoPHI(t, err)
	})
	for _, tc := range []struct {
		name      string
		key       func() *kms.GenerateDataKeyOutput
		wantError string
	}{
		{"a 16-byte key", func() *kms.GenerateDataKeyOutput {
			return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 16), CiphertextBlob: []byte("blob")}
		}, "wrong size"},
		{"no wrapped key", func() *kms.GenerateDataKeyOutput {
			return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 32)}
		}, "wrong size"},
		{"a wrapped key too long to frame", func() *kms.GenerateDataKeyOutput {
			return &kms.GenerateDataKeyOutput{Plaintext: make([]byte, 32), CiphertextBlob: make([]byte, MaxWrappedKeySize+1)}
		}, "wrong size"},
	} {
		t.Run("GenerateDataKey returns "+tc.name, func(t *testing.T) {
			e := New(&fakeKMS{GenerateDataKeyFn: func(context.Context, *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
				return tc.key(), nil
			}}, testKey, Options{})
			if out, err := e.Seal(context.Background(), recordAAD, []byte(phi)); err == nil || !strings.Contains(err.Error(), tc.wantError) || out != nil {
				t.Fatalf("Seal = (%d bytes, %v), want an error saying %q", len(out), err, tc.wantError)
			}
		})
	}

	m := newMemKMS(t)
	sealed := mustSeal(t, New(m, testKey, Options{}), recordAAD, phi)
	for _, tc := range []struct {
		name    string
		err     error
		wantIs  error // nil: the KMS error itself must come through
		wantKMS bool
	}{
		{"Decrypt is throttled", &kmstypes.KMSInternalException{Message: aws.String("try later")}, nil, true},
		{"Decrypt refuses the ciphertext", &kmstypes.InvalidCiphertextException{Message: aws.String("no")}, ErrCannotDecrypt, false},
		{"Decrypt names another key", &kmstypes.IncorrectKeyException{Message: aws.String("no")}, ErrCannotDecrypt, false},
		{"Decrypt times out", context.DeadlineExceeded, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(&fakeKMS{DecryptFn: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
				return nil, tc.err
			}}, testKey, Options{})
			out, err := e.Open(context.Background(), recordAAD, sealed)
			if err == nil || out != nil {
				t.Fatalf("Open = (%d bytes, %v), want an error and no bytes", len(out), err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Open = %v, want %v", err, tc.wantIs)
			}
			if tc.wantIs == nil && (!errors.Is(err, tc.err) || errors.Is(err, ErrCannotDecrypt)) {
				t.Errorf("Open = %v, want the KMS error itself, not ErrCannotDecrypt: an outage is not a bad record", err)
			}
			assertNoPHI(t, err)
		})
	}
	t.Run("Decrypt returns a short key", func(t *testing.T) {
		e := New(&fakeKMS{DecryptFn: func(context.Context, *kms.DecryptInput) (*kms.DecryptOutput, error) {
			return &kms.DecryptOutput{Plaintext: make([]byte, 16)}, nil
		}}, testKey, Options{})
		if _, err := e.Open(context.Background(), recordAAD, sealed); !errors.Is(err, ErrCannotDecrypt) {
			t.Fatalf("Open = %v, want ErrCannotDecrypt", err)
		}
	})
}

func assertNoPHI(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"Synthetic", "jane", "555-0100"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text %q contains PHI %q", err, s)
		}
	}
}

func TestPlaintextDataKeysFromKMSAreZeroed(t *testing.T) {
	var fromGenerate, fromDecrypt []byte
	m := newMemKMS(t)
	gen, dec := m.GenerateDataKeyFn, m.DecryptFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		out, err := gen(ctx, in)
		fromGenerate = out.Plaintext
		return out, err
	}
	m.DecryptFn = func(ctx context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		out, err := dec(ctx, in)
		fromDecrypt = out.Plaintext
		return out, err
	}
	sealed := mustSeal(t, New(m, testKey, Options{}), recordAAD, phi)
	if _, err := New(m, testKey, Options{}).Open(context.Background(), recordAAD, sealed); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string][]byte{"GenerateDataKey": fromGenerate, "Decrypt": fromDecrypt} {
		if len(key) != KeySize || !bytes.Equal(key, make([]byte, KeySize)) {
			t.Errorf("the plaintext key %s returned was not zeroed after use", name)
		}
	}
}

func TestConcurrentSealsShareOneGenerateDataKey(t *testing.T) {
	const goroutines = 50
	m := newMemKMS(t)
	gate := make(chan struct{})
	gen := m.GenerateDataKeyFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		<-gate // hold the first call so the others pile up behind it
		return gen(ctx, in)
	}
	e := New(m, testKey, Options{})

	var started, done sync.WaitGroup
	sealed := make([][]byte, goroutines)
	errs := make([]error, goroutines)
	started.Add(goroutines)
	for i := range goroutines {
		done.Go(func() {
			started.Done()
			sealed[i], errs[i] = e.Seal(context.Background(), AAD("audit", string(rune('A'+i))), []byte(phi))
		})
	}
	started.Wait()
	close(gate)
	done.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if got := m.generates.Load(); got != 1 {
		t.Errorf("GenerateDataKey calls = %d, want 1 for %d concurrent Seals", got, goroutines)
	}
	if got := distinctHeaders(sealed); got != 1 {
		t.Errorf("messages carry %d wrapped keys, want 1", got)
	}
}

func TestConcurrentOpensShareOneDecrypt(t *testing.T) {
	const goroutines = 50
	m := newMemKMS(t)
	sealed := mustSeal(t, New(m, testKey, Options{}), recordAAD, phi)
	gate := make(chan struct{})
	dec := m.DecryptFn
	m.DecryptFn = func(ctx context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		<-gate
		return dec(ctx, in)
	}
	e := New(m, testKey, Options{})
	var started, done sync.WaitGroup
	errs := make([]error, goroutines)
	started.Add(goroutines)
	for i := range goroutines {
		done.Go(func() {
			started.Done()
			var got []byte
			got, errs[i] = e.Open(context.Background(), recordAAD, sealed)
			if errs[i] == nil && string(got) != phi {
				errs[i] = errors.New("opened to other bytes")
			}
		})
	}
	started.Wait()
	close(gate)
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if got := m.decrypts.Load(); got != 1 {
		t.Errorf("Decrypt calls = %d, want 1 for %d concurrent Opens", got, goroutines)
	}
}

func TestACallerWhoseContextEndsDoesNotFailTheOthers(t *testing.T) {
	m := newMemKMS(t)
	entered := make(chan struct{})
	var calls sync.Mutex
	first := true
	gen := m.GenerateDataKeyFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		calls.Lock()
		isFirst := first
		first = false
		calls.Unlock()
		if isFirst { // the first caller's request hangs until its context ends
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return gen(ctx, in)
	}
	e := New(m, testKey, Options{})

	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := e.Seal(ctx, recordAAD, []byte(phi))
		leader <- err
	}()
	<-entered
	other := make(chan error, 1)
	go func() {
		_, err := e.Seal(context.Background(), recordAAD, []byte(phi))
		other <- err
	}()
	cancel()

	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller got %v, want context.Canceled", err)
	}
	if err := <-other; err != nil {
		t.Errorf("the other caller got %v, want a sealed message", err)
	}
}

func TestAWaiterWhoseContextEndsStopsWaiting(t *testing.T) {
	m := newMemKMS(t)
	entered, release := make(chan struct{}), make(chan struct{})
	gen := m.GenerateDataKeyFn
	m.GenerateDataKeyFn = func(ctx context.Context, in *kms.GenerateDataKeyInput) (*kms.GenerateDataKeyOutput, error) {
		close(entered)
		<-release
		return gen(ctx, in)
	}
	e := New(m, testKey, Options{})
	leader := make(chan error, 1)
	go func() {
		_, err := e.Seal(context.Background(), recordAAD, []byte(phi))
		leader <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Seal(ctx, recordAAD, []byte(phi)); !errors.Is(err, context.Canceled) {
		t.Errorf("the waiter with an ended context got %v, want context.Canceled", err)
	}
	close(release)
	if err := <-leader; err != nil {
		t.Errorf("the leader got %v", err)
	}
}

func TestOptionsDefaultsAndLimits(t *testing.T) {
	for _, tc := range []struct {
		name            string
		opts            Options
		wantAge         time.Duration
		wantMsgs, wantN int64
	}{
		{"zero means defaults", Options{}, 5 * time.Minute, 10_000, 64},
		{"negative means defaults", Options{MaxAge: -1, MaxMessages: -1, CacheSize: -1}, 5 * time.Minute, 10_000, 64},
		{"set values are kept", Options{MaxAge: time.Minute, MaxMessages: 7, CacheSize: 3}, time.Minute, 7, 3},
		{"messages capped at 2^32 (GCM random nonces)", Options{MaxMessages: 1 << 40}, 5 * time.Minute, 1 << 32, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(&fakeKMS{}, testKey, tc.opts)
			if e.maxAge != tc.wantAge || e.maxMessages != tc.wantMsgs || int64(e.cache.max) != tc.wantN {
				t.Errorf("got MaxAge %v, MaxMessages %d, CacheSize %d; want %v, %d, %d",
					e.maxAge, e.maxMessages, e.cache.max, tc.wantAge, tc.wantMsgs, tc.wantN)
			}
		})
	}
}
