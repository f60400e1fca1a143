package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Known-answer vector of format version 1: a ciphertext sealed once and checked in. Open must keep
// opening it for six years; a change to the layout, the GCM AAD or the encryption context fails here.
var updateKAT = flag.Bool("update-kat", false, "rewrite testdata/v1.json (a new format only)")

type v1Vector struct {
	DataKey   string `json:"data_key"`    // hex: the plaintext data key KMS returns for wrapped_key
	Wrapped   string `json:"wrapped_key"` // hex: the wrapped data key in the header
	AAD       string `json:"aad"`         // hex: the caller's aad
	Plaintext string `json:"plaintext"`
	Sealed    string `json:"sealed"` // hex: version | length | wrapped | nonce | ciphertext | tag
}

func TestEnvelopeV1KnownAnswer(t *testing.T) {
	const path = "testdata/v1.json"
	if *updateKAT {
		v := v1Vector{
			DataKey:   hex.EncodeToString([]byte("wcbridge envelope v1 KAT data k!")),
			Wrapped:   hex.EncodeToString([]byte("kat-wrapped-data-key")),
			AAD:       hex.EncodeToString(AAD("wcbridge-audit/v1|audit#rec_kat")),
			Plaintext: `{"contact_name":"Synthetic Patient Kat"}`,
		}
		key, _ := hex.DecodeString(v.DataKey)
		wrapped, _ := hex.DecodeString(v.Wrapped)
		aad, _ := hex.DecodeString(v.AAD)
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		header := appendHeader(nil, wrapped)
		nonce := bytes.Repeat([]byte{0x5a}, NonceSize)
		sealed := gcm.Seal(append(append([]byte{}, header...), nonce...), nonce, []byte(v.Plaintext), gcmAAD(header, aad))
		v.Sealed = hex.EncodeToString(sealed)
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v v1Vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(v.DataKey)
	wrapped, _ := hex.DecodeString(v.Wrapped)
	aad, _ := hex.DecodeString(v.AAD)
	sealed, _ := hex.DecodeString(v.Sealed)
	k := &fakeKMS{DecryptFn: func(_ context.Context, in *kms.DecryptInput) (*kms.DecryptOutput, error) {
		if !bytes.Equal(in.CiphertextBlob, wrapped) || !maps.Equal(in.EncryptionContext, map[string]string{"purpose": "wcbridge-audit", "key_version": "1"}) {
			t.Fatalf("Decrypt asked for blob %x, context %v", in.CiphertextBlob, in.EncryptionContext)
		}
		return &kms.DecryptOutput{Plaintext: bytes.Clone(key)}, nil
	}}
	got, err := New(k, "kat-key", Options{}).Open(context.Background(), aad, sealed)
	if err != nil || string(got) != v.Plaintext {
		t.Fatalf("the v1 known-answer ciphertext opens to %q, %v; want %q", got, err, v.Plaintext)
	}
	if sealed[0] != Version1 || int(sealed[1])<<8|int(sealed[2]) != len(wrapped) {
		t.Fatalf("header %x: want version 1 and the wrapped key's length", sealed[:3])
	}
}
