package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Findings about writers' sequences.
const (
	// FindingMissingRecord: a writer's number that no record carries and no later record of the
	// writer declares skipped: a record deleted, before or after its period was digested.
	FindingMissingRecord FindingKind = "missing-record"
	// FindingDuplicateSeq: two records carry the same writer and number (a copy).
	FindingDuplicateSeq FindingKind = "duplicate-seq"
)

// SequenceLookback bounds how far before a range the verifier reads to find the earlier records of
// the range's writers. Lambda recycles execution environments within hours, so a writer's whole
// life is read; a writer older than that is checked from its first record in those 24 hours (its
// earlier records were checked by the verifications whose range held them, the digest job's hourly
// ones included). The bound also keeps a forged writer start from sending the verifier back years.
const SequenceLookback = 24 * time.Hour

// seqPhase says which part of the verification a record is read in.
type seqPhase int

const (
	seqInRange seqPhase = iota // the range: every writer is followed
	seqBefore                  // read back before the range: only the range's writers
	seqAfter                   // one period past the range: only to fill or declare the range's holes
)

// writerSeq is what the verifier keeps per writer: the numbers seen and declared skipped, as spans.
type writerSeq struct {
	start   time.Time
	seen    spans
	skipped spans
	top     int64 // the highest number received in the range or before it: holes above are not its own
}

// seqCheck follows every writer of a range (memory per writer, not per record): each number from
// 1 (or from the first one read, for a writer older than SequenceLookback) up to the highest seen in
// the range must be carried by exactly one record, or declared skipped by a later record of the
// writer whose hash and tag verify.
type seqCheck struct {
	writers map[string]*writerSeq
	phase   seqPhase
	from    time.Time // the first period observed in the range (zero: none yet)
	report  func(Finding)
}

// begin marks a period of the range as observed. The range's periods before the chain are not read
// up front (they are outside the trail, and the digest job's first week is mostly them); the
// read-back reads them for the writers that need them.
func (c *seqCheck) begin(p time.Time) {
	if c.phase == seqInRange && c.from.IsZero() {
		c.from = p
	}
}

func newSeqCheck(report func(Finding)) *seqCheck {
	return &seqCheck{writers: map[string]*writerSeq{}, report: report}
}

// seqOf reads a record's writer and number; ok is false for a record without them (written before
// writers numbered their records, a rejection count) or with malformed ones, which is not followed:
// its hash or tag tells what happened to it.
func seqOf(item map[string]types.AttributeValue) (writer string, seq int64, start time.Time, ok bool) {
	writer = str(item, attrWriter)
	if start, ok = parseWriterID(writer); !ok {
		return "", 0, time.Time{}, false
	}
	if seq, ok = seqNumber(item[attrSeq]); !ok {
		return "", 0, time.Time{}, false
	}
	return writer, seq, start, true
}

// follows reports whether a record in the current phase matters: outside the range, only records
// of the range's writers do.
func (c *seqCheck) follows(item map[string]types.AttributeValue) bool {
	w, _, _, ok := seqOf(item)
	return ok && (c.phase == seqInRange || c.writers[w] != nil)
}

// observe takes one record read in period. trusted: its content matches its hash and its tag
// verifies (or tags are not checked); only a trusted record's declarations count.
func (c *seqCheck) observe(item map[string]types.AttributeValue, period string, trusted bool) {
	w, seq, start, ok := seqOf(item)
	if !ok {
		return
	}
	ws := c.writers[w]
	if ws == nil {
		if c.phase != seqInRange {
			return
		}
		ws = &writerSeq{start: start}
		c.writers[w] = ws
	}
	if ws.seen.add(seq, seq, period, period) {
		c.report(Finding{Kind: FindingDuplicateSeq, Period: period, RecordID: recordIDOf(item),
			Detail: fmt.Sprintf("writer %s seq %d is carried by another record too", w, seq)})
	}
	if c.phase != seqAfter && seq > ws.top {
		ws.top = seq
	}
	if !trusted {
		return
	}
	if v, present := item[attrSkipped]; present {
		rs, _ := parseSkipped(v)
		for _, r := range rs {
			// A record declares only numbers its writer gave out before its own.
			if r.First < seq {
				ws.skipped.add(r.First, min(r.Last, seq-1), "", "")
			}
		}
	}
}

// floor is the earliest period the verifier reads back to for a writer of a range starting at
// from, and whether that covers the writer's whole life: the hour before the one it started in
// (a request's arrival, its records' received_at, may precede the writer's start by a cold start),
// but not beyond SequenceLookback.
func (ws *writerSeq) floor(from time.Time) (time.Time, bool) {
	start, _ := ParsePeriod(PeriodOf(ws.start))
	f := start.Add(-PeriodLength)
	if bound := from.Add(-SequenceLookback); f.Before(bound) {
		return bound, false
	}
	return f, true
}

// needsEarlier reports whether the writer's first number has not been seen.
func (ws *writerSeq) needsEarlier() bool { return len(ws.seen) > 0 && ws.seen[0].lo > 1 }

// hole is numbers of one writer neither seen nor declared skipped, between two seen spans.
type hole struct {
	writer       string
	lo, hi       int64
	below, above *span // the seen spans around it (below is nil before the writer's first seen)
}

// holes lists, per writer, the numbers from its first (1, or the first seen when its life was not
// read whole) to its top that no record carries and none declares skipped.
func (c *seqCheck) holes(from time.Time) []hole {
	var out []hole
	ids := make([]string, 0, len(c.writers))
	for w := range c.writers {
		ids = append(ids, w)
	}
	slices.Sort(ids)
	for _, w := range ids {
		ws := c.writers[w]
		first := int64(1)
		if _, whole := ws.floor(from); !whole {
			first = ws.seen[0].lo
		}
		next := first
		var below *span
		for i := range ws.seen {
			s := &ws.seen[i]
			if s.lo > ws.top {
				break
			}
			if s.lo > next {
				out = append(out, c.undeclared(w, ws, next, s.lo-1, below, s)...)
			}
			next = max(next, s.hi+1)
			below = s
		}
	}
	return out
}

// undeclared is [lo, hi] less the writer's declared skipped numbers, as holes.
func (c *seqCheck) undeclared(w string, ws *writerSeq, lo, hi int64, below, above *span) []hole {
	var out []hole
	for _, sk := range ws.skipped {
		if sk.hi < lo || sk.lo > hi {
			continue
		}
		if sk.lo > lo {
			out = append(out, hole{w, lo, sk.lo - 1, below, above})
		}
		lo = sk.hi + 1
	}
	if lo <= hi {
		out = append(out, hole{w, lo, hi, below, above})
	}
	return out
}

// finding is the hole as a finding, under the period of the record after it (the writer's next
// record seen), naming the writer, the numbers and where the writer's records around it are.
func (h hole) finding() Finding {
	nums := fmt.Sprintf("seq %d", h.lo)
	if h.hi > h.lo {
		nums = fmt.Sprintf("seqs %d-%d", h.lo, h.hi)
	}
	around := fmt.Sprintf("the writer's first record read is seq %d (%s)", h.above.lo, h.above.loAt)
	if h.below != nil {
		around = fmt.Sprintf("the writer's records around it are seq %d (%s) and seq %d (%s)", h.below.hi, h.below.hiAt, h.above.lo, h.above.loAt)
	}
	return Finding{Kind: FindingMissingRecord, Period: h.above.loAt,
		Detail: fmt.Sprintf("writer %s %s: no record, and no later record of the writer declares it skipped; %s", h.writer, nums, around)}
}

// checkSequences finishes the sequence check of the range up to to whose records c has observed
// from c.from on: it reads back before c.from for the writers whose first numbers it has not seen (see floor), then,
// if holes remain, one period past to (a record's received_at is its request's arrival, so a
// record may carry a lower number than one of the range and still arrive after it, by at most a
// function's timeout, under an hour), and reports what remains. It returns the writers checked.
func (s *Store) checkSequences(ctx context.Context, c *seqCheck, to time.Time) (int, error) {
	from := c.from
	if from.IsZero() {
		return 0, nil
	}
	c.phase = seqBefore
	for p := from.Add(-PeriodLength); ; p = p.Add(-PeriodLength) {
		needed := false
		for _, ws := range c.writers {
			f, _ := ws.floor(from)
			needed = needed || (ws.needsEarlier() && !p.Before(f))
		}
		if !needed {
			break
		}
		if err := s.seqPeriod(ctx, c, p); err != nil {
			return 0, err
		}
	}
	if len(c.holes(from)) > 0 {
		c.phase = seqAfter
		if err := s.seqPeriod(ctx, c, nextPeriod(to)); err != nil {
			return 0, err
		}
	}
	for _, h := range c.holes(from) {
		c.report(h.finding())
	}
	return len(c.writers), nil
}

// seqPeriod observes the records of a period the verifier does not otherwise check against a
// digest (none, or outside the range), checking the hash and tag of those it follows.
func (s *Store) seqPeriod(ctx context.Context, c *seqCheck, start time.Time) error {
	period := PeriodOf(start)
	c.begin(start)
	return s.indexItems(ctx, start.Format("2006-01-02"), start.Format("2006-01-02T15:"), func(item map[string]types.AttributeValue) error {
		if !c.follows(item) {
			return nil
		}
		trusted, err := s.trusted(ctx, item)
		if err != nil {
			return err
		}
		c.observe(item, period, trusted)
		return nil
	})
}

// trusted reports whether a record's content matches its stored hash and its tag verifies (when
// the store checks tags).
func (s *Store) trusted(ctx context.Context, item map[string]types.AttributeValue) (bool, error) {
	stored := str(item, attrHash)
	if content, err := RecordHash(item); err != nil || content != stored {
		return false, nil
	}
	return s.checkTag(ctx, item, stored, "", recordIDOf(item), func(Finding) {})
}
