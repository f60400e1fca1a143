package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"
)

var updateSeqKAT = flag.Bool("update-seq-kat", false, "write testdata/seq_kat.json (once, when the format is new)")

// seqKAT pins how a record carries its place in its writer's sequence: the attribute names, their
// types, the skipped ranges as pairs, inside the record hash. Records keep them for six years.
type seqKAT struct {
	Item       string `json:"item"`        // hex: writer, seq and skipped of the marshalled record, canonically encoded
	RecordHash string `json:"record_hash"` // RecordHash of the whole item
}

func computeSeqKAT(t *testing.T) seqKAT {
	t.Helper()
	at := time.Date(2026, 12, 2, 13, 4, 5, 6, time.UTC)
	item := marshal(Record{ID: "rec_kat", Kind: KindAction, Actor: "arn:aws:iam::123456789012:role/kat", Action: "get-lead",
		Outcome: OutcomeOK, Status: 200, ReceivedAt: at, Writer: "w_20261202T130000Z_abcdefghijklmnop", Seq: 42,
		Skipped: []SeqRange{{5, 5}, {9, 12}}})
	var b bytes.Buffer
	for _, name := range []string{attrWriter, attrSeq, attrSkipped} {
		// The attribute as the record hash encodes it (type tags, lengths), in hex.
		refBytes(&b, []byte(name))
		refValue(&b, item[name])
	}
	h, err := RecordHash(item)
	if err != nil {
		t.Fatal(err)
	}
	return seqKAT{Item: hex.EncodeToString(b.Bytes()), RecordHash: h}
}

func TestSequenceKnownAnswers(t *testing.T) {
	const path = "testdata/seq_kat.json"
	if *updateSeqKAT {
		b, _ := json.MarshalIndent(computeSeqKAT(t), "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want seqKAT
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got := computeSeqKAT(t); got != want {
		t.Fatalf("the format changed:\n got %+v\nwant %+v", got, want)
	}
}
