package audit

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestWriterIDs(t *testing.T) {
	start := time.Date(2026, 12, 3, 1, 2, 3, 400, time.UTC)
	id := newWriterID(start)
	if !regexp.MustCompile(`^w_20261203T010203Z_[a-z2-7]{16}$`).MatchString(id) || id == newWriterID(start) {
		t.Fatalf("writer ID %q: want w_<start>_<16 random base32 characters>, a new one each time", id)
	}
	if got, ok := parseWriterID(id); !ok || !got.Equal(start.Truncate(time.Second)) {
		t.Fatalf("parseWriterID(%q) = %v, %v", id, got, ok)
	}
	for _, bad := range []string{
		"", "w_20261203T010203Z_", "w_20261203T010203Z_abcdefghijklmnop1", "x_20261203T010203Z_abcdefghijklmnop",
		"w_20261303T010203Z_abcdefghijklmnop", "w_20261203T010203Z_ABCDEFGHIJKLMNOP", "w_20261203T010203Z_abcdefgh1jklmnop",
		"w_Synthetic Patient Zed@example.tes",
	} {
		if _, ok := parseWriterID(bad); ok {
			t.Errorf("parseWriterID(%q) accepted", bad)
		}
	}
}

func TestSpans(t *testing.T) {
	render := func(s spans) string {
		var parts []string
		for _, x := range s {
			parts = append(parts, fmt.Sprintf("%d-%d", x.lo, x.hi))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		name    string
		adds    [][2]int64
		subs    [][2]int64
		want    string
		overlap bool // the last add overlapped
	}{
		{"numbers in order make one span", [][2]int64{{1, 1}, {2, 2}, {3, 3}}, nil, "1-3", false},
		{"a hole stays a hole", [][2]int64{{1, 1}, {3, 3}}, nil, "1-1 3-3", false},
		{"filling the hole joins both sides", [][2]int64{{1, 1}, {3, 3}, {2, 2}}, nil, "1-3", false},
		{"out of order", [][2]int64{{5, 5}, {1, 1}, {3, 3}, {4, 4}}, nil, "1-1 3-5", false},
		{"a range bridging several spans", [][2]int64{{1, 1}, {4, 4}, {8, 8}, {2, 9}}, nil, "1-9", true},
		{"a number seen twice overlaps", [][2]int64{{1, 3}, {2, 2}}, nil, "1-3", true},
		{"adjacent is not overlap", [][2]int64{{1, 3}, {4, 4}}, nil, "1-4", false},
		{"sub from the middle", [][2]int64{{1, 9}}, [][2]int64{{4, 5}}, "1-3 6-9", false},
		{"sub a whole span and parts of two", [][2]int64{{1, 3}, {5, 6}, {8, 10}}, [][2]int64{{2, 9}}, "1-1 10-10", false},
		{"sub what is not there", [][2]int64{{1, 3}}, [][2]int64{{7, 9}}, "1-3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s spans
			var overlap bool
			for _, a := range tc.adds {
				overlap = s.add(a[0], a[1], "", "")
			}
			for _, r := range tc.subs {
				s.sub(r[0], r[1])
			}
			if got := render(s); got != tc.want || overlap != tc.overlap {
				t.Fatalf("got %q overlap %v; want %q overlap %v", got, overlap, tc.want, tc.overlap)
			}
		})
	}
}

func TestSequencer(t *testing.T) {
	t.Run("numbers from 1, nothing skipped while writes succeed", func(t *testing.T) {
		q := newSequencer(time.Now())
		for want := int64(1); want <= 3; want++ {
			seq, skipped := q.next()
			if seq != want || skipped != nil {
				t.Fatalf("next = %d, %v; want %d, none", seq, skipped, want)
			}
			q.settle(seq, skipped, true)
		}
	})
	t.Run("a failed write is declared until a record declaring it is stored", func(t *testing.T) {
		q := newSequencer(time.Now())
		s1, k1 := q.next()
		q.settle(s1, k1, false) // 1 may be absent
		s2, k2 := q.next()
		if !slices.Equal(k2, []SeqRange{{1, 1}}) {
			t.Fatalf("record 2 declares %v; want 1", k2)
		}
		q.settle(s2, k2, false) // its write failed too: 1 and 2
		s3, k3 := q.next()
		if !slices.Equal(k3, []SeqRange{{1, 2}}) {
			t.Fatalf("record 3 declares %v; want 1-2", k3)
		}
		s4, k4 := q.next() // built before 3 is stored: declares the same
		q.settle(s3, k3, true)
		q.settle(s4, k4, true)
		if _, k5 := q.next(); k5 != nil {
			t.Fatalf("record 5 declares %v; want none", k5)
		}
	})
	t.Run("a record declares at most maxSkippedRanges ranges, oldest first", func(t *testing.T) {
		q := newSequencer(time.Now())
		// Records built together, before any outcome is known; the odd ones' writes fail, so every
		// range is one number.
		var built []int64
		for range 2 * (maxSkippedRanges + 5) {
			seq, _ := q.next()
			built = append(built, seq)
		}
		for _, seq := range built {
			q.settle(seq, nil, seq%2 == 0)
		}
		seq, k := q.next()
		if len(k) != maxSkippedRanges || k[0] != (SeqRange{1, 1}) {
			t.Fatalf("declares %d ranges from %v; want %d from 1", len(k), k[0], maxSkippedRanges)
		}
		q.settle(seq, k, true)
		if _, rest := q.next(); len(rest) != 5 || rest[0].First != 2*maxSkippedRanges+1 {
			t.Fatalf("after one stored record, declares %v; want the 5 left", rest)
		}
	})
	t.Run("concurrent records take distinct numbers", func(t *testing.T) {
		q := newSequencer(time.Now())
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				seq, k := q.next()
				q.settle(seq, k, true)
				mu.Lock()
				got = append(got, seq)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(got)
		for i, s := range got {
			if s != int64(i+1) {
				t.Fatalf("numbers %v; want 1 to 64 once each", got)
			}
		}
	})
}

// seqItem is a record item with only what the sequence check reads.
func seqItem(id, writer string, seq int64, skipped ...SeqRange) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"pk": sAttr("audit#" + id), attrWriter: sAttr(writer), attrSeq: nAttr(seq)}
	if len(skipped) > 0 {
		item[attrSkipped] = skippedAttr(skipped)
	}
	return item
}

func TestSeqCheck(t *testing.T) {
	from := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	young := "w_20261202T100500Z_aaaaaaaaaaaaaaaa"   // started in the range
	early := "w_20261202T081500Z_bbbbbbbbbbbbbbbb"   // started two hours before it
	ancient := "w_20261120T000000Z_cccccccccccccccc" // older than SequenceLookback
	type obs struct {
		phase   seqPhase
		period  string
		writer  string
		seq     int64
		skipped []SeqRange
		tainted bool // hash or tag does not verify
	}
	in := func(w string, seq int64, skipped ...SeqRange) obs {
		return obs{seqInRange, "2026-12-02T10", w, seq, skipped, false}
	}
	for _, tc := range []struct {
		name string
		obs  []obs
		want []string // findings: "kind period detail-prefix"
	}{
		{"every number once", []obs{in(young, 1), in(young, 2), in(young, 3)}, nil},
		{"out of order within the range", []obs{in(young, 2), in(young, 1), in(young, 3)}, nil},
		{"a number missing in the middle", []obs{in(young, 1), in(young, 3)},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seq 2: no record"}},
		{"the first number missing", []obs{in(young, 2), in(young, 3)},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seq 1: no record"}},
		{"several numbers missing are one finding", []obs{in(young, 1), in(young, 6)},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seqs 2-5: no record"}},
		{"a number declared skipped by a later record", []obs{in(young, 1), in(young, 3, SeqRange{2, 2})}, nil},
		{"declared by a later record that is also stored twice over", []obs{in(young, 1), in(young, 3, SeqRange{2, 2}), in(young, 4, SeqRange{2, 2})}, nil},
		{"a number stored and declared skipped (the write's outcome was unknown)", []obs{in(young, 1), in(young, 2), in(young, 3, SeqRange{2, 2})}, nil},
		{"a declaration from a record whose tag fails does not count", []obs{in(young, 1), {seqInRange, "2026-12-02T10", young, 3, []SeqRange{{2, 2}}, true}},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seq 2: no record"}},
		{"a record cannot declare its own or later numbers", []obs{in(young, 1), in(young, 3, SeqRange{2, 9}), in(young, 5)},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seq 4: no record"}},
		{"part of a hole declared", []obs{in(young, 1), in(young, 6, SeqRange{3, 4})},
			[]string{"missing-record 2026-12-02T10 writer " + young + " seq 2: no record", "missing-record 2026-12-02T10 writer " + young + " seq 5: no record"}},
		{"a number seen twice", []obs{in(young, 1), in(young, 2), in(young, 2)},
			[]string{"duplicate-seq 2026-12-02T10 writer " + young + " seq 2 is carried by another record too"}},
		{"the writers are followed apart", []obs{in(young, 1), in(early, 1), in(young, 2), in(early, 3)},
			[]string{"missing-record 2026-12-02T10 writer " + early + " seq 2: no record"}},
		{"an older writer's earlier numbers read back", []obs{
			in(early, 3), {seqBefore, "2026-12-02T09", early, 2, nil, false}, {seqBefore, "2026-12-02T08", early, 1, nil, false}}, nil},
		{"a hole before the range, read back", []obs{
			in(early, 3), {seqBefore, "2026-12-02T08", early, 1, nil, false}},
			[]string{"missing-record 2026-12-02T10 writer " + early + " seq 2: no record"}},
		{"read back, a writer not in the range is ignored", []obs{in(young, 1), {seqBefore, "2026-12-02T09", early, 5, nil, false}}, nil},
		{"a writer older than the lookback is checked from its first number read", []obs{in(ancient, 500), in(ancient, 501)}, nil},
		{"... but within what was read", []obs{in(ancient, 500), in(ancient, 502)},
			[]string{"missing-record 2026-12-02T10 writer " + ancient + " seq 501: no record"}},
		{"a lower number arriving one period after the range fills the hole", []obs{
			in(young, 1), in(young, 3), {seqAfter, "2026-12-02T11", young, 2, nil, false}}, nil},
		{"a declaration one period after the range counts", []obs{
			in(young, 1), in(young, 3), {seqAfter, "2026-12-02T11", young, 4, []SeqRange{{2, 2}}, false}}, nil},
		{"a hole after the range's last number is not the range's", []obs{
			in(young, 1), {seqAfter, "2026-12-02T11", young, 3, nil, false}}, nil},
		{"a duplicate one period after the range", []obs{in(young, 1), {seqAfter, "2026-12-02T11", young, 1, nil, false}},
			[]string{"duplicate-seq 2026-12-02T11 writer " + young + " seq 1 is carried by another record too"}},
		{"a malformed writer or number is not followed", []obs{in(young, 1), in("w_Synthetic Patient Zed", 7), in(young, 2)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			c := newSeqCheck(func(f Finding) { got = append(got, string(f.Kind)+" "+f.Period+" "+f.Detail) })
			for i, o := range tc.obs {
				c.phase = o.phase
				c.observe(seqItem(fmt.Sprintf("rec_%d", i), o.writer, o.seq, o.skipped...), o.period, !o.tainted)
			}
			for _, h := range c.holes(from) {
				c.report(h.finding())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Fatalf("finding %q; want it to begin %q", got[i], tc.want[i])
				}
				if strings.Contains(got[i], "Synthetic") {
					t.Fatalf("finding repeats a malformed writer: %q", got[i])
				}
			}
		})
	}
	t.Run("how far back a writer is read", func(t *testing.T) {
		for _, tc := range []struct {
			writer string
			floor  time.Time
			whole  bool
		}{
			{young, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), true},
			{early, time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC), true},
			{ancient, from.Add(-SequenceLookback), false},
		} {
			start, _ := parseWriterID(tc.writer)
			if f, whole := (&writerSeq{start: start}).floor(from); !f.Equal(tc.floor) || whole != tc.whole {
				t.Errorf("%s: floor %v whole %v; want %v %v", tc.writer, f, whole, tc.floor, tc.whole)
			}
		}
	})
}
