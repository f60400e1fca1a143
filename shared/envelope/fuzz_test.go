package envelope

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzOpen: whatever bytes and aad Open is given, it never panics, and it opens nothing but what was
// sealed (with an in-memory KMS that checks the wrapped key as KMS does).
func FuzzOpen(f *testing.F) {
	m := newMemKMS(f)
	e := New(m, testKey, Options{})
	sealed := mustSeal(f, e, recordAAD, phi)
	f.Add(sealed, recordAAD)
	f.Add(sealed[:len(sealed)-1], recordAAD)
	f.Add(sealed, AAD("audit", "LEAD#1002"))
	f.Add([]byte{}, recordAAD)
	f.Add([]byte{Version1}, recordAAD)
	f.Add([]byte{Version1, 0xFF, 0xFF}, recordAAD)
	f.Add(binary.BigEndian.AppendUint16([]byte{Version1}, 4), []byte{})
	f.Add(append(binary.BigEndian.AppendUint16([]byte{Version1}, 4), make([]byte, 4+NonceSize+TagSize)...), recordAAD)

	f.Fuzz(func(t *testing.T, input, aad []byte) {
		got, err := e.Open(context.Background(), aad, input)
		if err != nil {
			if got != nil {
				t.Fatal("Open returned bytes with its error")
			}
			if !errors.Is(err, ErrCannotDecrypt) && !errors.Is(err, ErrNoAAD) {
				t.Fatalf("Open = %v, want ErrCannotDecrypt or ErrNoAAD", err)
			}
			return
		}
		// Only the genuine message opens: same bytes, same aad.
		if string(input) != string(sealed) || string(aad) != string(recordAAD) || string(got) != phi {
			t.Fatalf("Open accepted input that was never sealed (%d bytes)", len(input))
		}
	})
}
