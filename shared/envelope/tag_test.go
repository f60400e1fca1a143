package envelope_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

func TestTaggerOnLocalKMS(t *testing.T) {
	client, tagKey, calls := localKMS(t)
	dataKey := testenv.SymmetricKey(t, client)
	ctx := context.Background()
	writer := envelope.NewTagger(client, tagKey, envelope.Options{})

	var wrapped, tags [][]byte
	for i := range 10_000 {
		w, tag, err := writer.Tag(ctx, []byte{byte(i), byte(i >> 8)})
		if err != nil {
			t.Fatal(err)
		}
		wrapped, tags = append(wrapped, w), append(tags, tag)
	}
	if g := calls.Count("GenerateDataKey"); g != 1 {
		t.Errorf("10,000 tags made %d GenerateDataKey calls; want 1 (the data keys' bounds)", g)
	}
	if _, _, err := writer.Tag(ctx, []byte("one more")); err != nil {
		t.Fatal(err)
	}
	if g := calls.Count("GenerateDataKey"); g != 2 {
		t.Errorf("the 10,001st tag made %d GenerateDataKey calls in all; want 2", g)
	}

	verifier := envelope.NewTagger(client, tagKey, envelope.Options{})
	calls.Reset()
	for i := range 100 {
		ok, err := verifier.Check(ctx, wrapped[i], []byte{byte(i), byte(i >> 8)}, tags[i])
		if err != nil || !ok {
			t.Fatalf("tag %d: ok %v, err %v; want it to verify", i, ok, err)
		}
	}
	if d := calls.Count("Decrypt"); d != 1 {
		t.Errorf("checking 100 tags under one tag key made %d Decrypt calls; want 1", d)
	}

	flipped := bytes.Clone(tags[0])
	flipped[0] ^= 1
	otherKey := envelope.NewTagger(client, dataKey, envelope.Options{})
	alteredWrap := bytes.Clone(wrapped[0])
	alteredWrap[len(alteredWrap)-1] ^= 1
	for _, tc := range []struct {
		name    string
		tagger  *envelope.Tagger
		wrapped []byte
		msg     []byte
		tag     []byte
	}{
		{"another message", verifier, wrapped[0], []byte("other"), tags[0]},
		{"a flipped tag", verifier, wrapped[0], []byte{0, 0}, flipped},
		{"an altered wrapped key", verifier, alteredWrap, []byte{0, 0}, tags[0]},
		{"checked under another KMS key", otherKey, wrapped[0], []byte{0, 0}, tags[0]},
		{"no wrapped key", verifier, nil, []byte{0, 0}, tags[0]},
		{"a short tag", verifier, wrapped[0], []byte{0, 0}, tags[0][:16]},
	} {
		t.Run(tc.name+" does not verify", func(t *testing.T) {
			ok, err := tc.tagger.Check(ctx, tc.wrapped, tc.msg, tc.tag)
			if err != nil || ok {
				t.Fatalf("ok %v, err %v; want false, nil", ok, err)
			}
		})
	}

	t.Run("a tag key does not open as a PHI data key", func(t *testing.T) {
		// The verifier's kms:Decrypt on the tag key must never yield a data key: the encryption
		// contexts differ, so the tag key's blob does not unwrap under the data key's context.
		enc := envelope.New(client, tagKey, envelope.Options{})
		sealed := append([]byte{envelope.Version1, byte(len(wrapped[0]) >> 8), byte(len(wrapped[0]))}, wrapped[0]...)
		sealed = append(sealed, make([]byte, envelope.NonceSize+envelope.TagSize)...)
		if _, err := enc.Open(ctx, []byte("aad"), sealed); err == nil {
			t.Fatal("a tag key opened as a data key")
		}
	})
}
