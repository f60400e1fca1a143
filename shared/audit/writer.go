package audit

import (
	"crypto/rand"
	"sort"
	"strings"
	"sync"
	"time"
)

// A writer is one Store, and so one Lambda execution environment: it numbers the records it writes
// 1, 2, 3… (seq) under an ID fixed when the Store is made (writer), both inside the record hash and
// so under the tag. A record deleted before its period is digested leaves a hole in its writer's
// numbers, which the verifier names (see seqcheck.go), without an extra request per record.

// writerTimeLayout is the start time inside a writer ID.
const writerTimeLayout = "20060102T150405Z"

// writerIDLen is the length of every writer ID: "w_", the start time, "_", 16 base32 characters.
const writerIDLen = 2 + len(writerTimeLayout) + 1 + 16

// maxSkippedRanges bounds the skipped ranges one record declares, and so the item's size; a writer
// with more (a long outage with no write succeeding) declares the rest on its following records.
const maxSkippedRanges = 32

// maxSeq bounds the sequence numbers the verifier accepts (so that seq+1 never overflows).
const maxSeq = 1 << 62

// SeqRange is an inclusive range of a writer's sequence numbers.
type SeqRange struct{ First, Last int64 }

// newWriterID names a writer that starts at start: "w_<YYYYMMDDThhmmssZ>_" and 16 lowercase base32
// characters (80 random bits). The time tells a verifier how far back the writer's records can go;
// the ID holds nothing else.
func newWriterID(start time.Time) string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "w_" + start.UTC().Format(writerTimeLayout) + "_" + strings.ToLower(b32.EncodeToString(b[:]))
}

// parseWriterID returns a writer's start time; ok is false for anything that is not a writer ID,
// which the verifier then neither follows nor repeats.
func parseWriterID(id string) (start time.Time, ok bool) {
	if len(id) != writerIDLen || !strings.HasPrefix(id, "w_") || id[2+len(writerTimeLayout)] != '_' {
		return time.Time{}, false
	}
	for _, c := range id[len(id)-16:] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(writerTimeLayout, id[2:2+len(writerTimeLayout)])
	return t, err == nil
}

// sequencer hands out a writer's sequence numbers and remembers those whose write did not certainly
// succeed (an error of any kind, a refused conditional put, a timeout with an unknown outcome): each
// record declares them as skipped until one that declares them is stored.
type sequencer struct {
	id        string
	mu        sync.Mutex
	last      int64
	unsettled spans
}

func newSequencer(start time.Time) *sequencer { return &sequencer{id: newWriterID(start)} }

// next assigns the next sequence number and returns the ranges the record must declare skipped.
func (q *sequencer) next() (seq int64, skipped []SeqRange) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last++
	for i, s := range q.unsettled {
		if i == maxSkippedRanges {
			break
		}
		skipped = append(skipped, SeqRange{s.lo, s.hi})
	}
	return q.last, skipped
}

// settle records a write's outcome: stored, its declarations are durable; otherwise its own number
// may be absent and must be declared by the records after it.
func (q *sequencer) settle(seq int64, skipped []SeqRange, stored bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !stored {
		q.unsettled.add(seq, seq, "", "")
		return
	}
	for _, r := range skipped {
		q.unsettled.sub(r.First, r.Last)
	}
}

// span is an inclusive range of sequence numbers; loAt and hiAt say where its ends were seen (the
// verifier's periods; empty for the writer's own bookkeeping).
type span struct {
	lo, hi     int64
	loAt, hiAt string
}

// spans is a set of sequence numbers as sorted, disjoint, non-adjacent ranges: a writer's numbers
// seen in order take one span, whatever their count.
type spans []span

// add puts [lo, hi] into the set, merging it with the spans it touches, and reports whether any of
// its numbers was in the set already.
func (s *spans) add(lo, hi int64, loAt, hiAt string) (overlap bool) {
	v := *s
	i := sort.Search(len(v), func(i int) bool { return v[i].hi >= lo-1 })
	n := span{lo, hi, loAt, hiAt}
	j := i
	for ; j < len(v) && v[j].lo <= hi+1; j++ {
		if v[j].lo <= hi && v[j].hi >= lo {
			overlap = true
		}
		if v[j].lo < n.lo {
			n.lo, n.loAt = v[j].lo, v[j].loAt
		}
		if v[j].hi > n.hi {
			n.hi, n.hiAt = v[j].hi, v[j].hiAt
		}
	}
	switch {
	case i == j:
		v = append(v, span{})
		copy(v[i+1:], v[i:])
		v[i] = n
	default:
		v[i] = n
		v = append(v[:i+1], v[j:]...)
	}
	*s = v
	return overlap
}

// contains reports whether n is in the set.
func (s spans) contains(n int64) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= n })
	return i < len(s) && s[i].lo <= n
}

// sub takes [lo, hi] out of the set.
func (s *spans) sub(lo, hi int64) {
	var out spans
	for _, x := range *s {
		if x.hi < lo || x.lo > hi {
			out = append(out, x)
			continue
		}
		if x.lo < lo {
			out = append(out, span{lo: x.lo, hi: lo - 1, loAt: x.loAt})
		}
		if x.hi > hi {
			out = append(out, span{lo: hi + 1, hi: x.hi, hiAt: x.hiAt})
		}
	}
	*s = out
}
