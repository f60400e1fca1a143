package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// RangeReport sums up a VerifyPeriods run; the findings went to its callback.
type RangeReport struct {
	Periods     int    // periods in the range
	Digested    int    // periods with a digest, checked
	Pending     int    // periods not yet overdue and without a digest (not a finding)
	BeforeChain int    // periods before the chain's genesis (not a finding)
	Records     int    // records read
	Findings    int    // findings reported
	Head        string // the last period of the range with a digest
	HeadDigest  string // that period's digest (Value): what the next period chains to
	ChainedFrom string // what the range's first digest names as its previous ("" at the chain's genesis)
	TagsChecked bool   // whether record tags were checked (a TagChecker was configured)
	Writers     int    // writers whose record sequences were checked (see seqcheck.go)
	LogChecked  bool   // whether the writers' stored lines were compared with the table (a WriteLog was configured)
	LogLines    int    // stored lines read
}

// VerifyPeriods checks every period from first to last (inclusive, YYYY-MM-DDTHH) and the chain into
// first: each digest's signature with the public key alone, its link to the previous period's digest,
// table against anchor, the leaf list against the signed root, and every record against its own hash,
// its tag and its leaf. It streams records and leaves side by side in key order, so memory does not
// grow with the records of a period. Each finding goes to onFinding as it is found; progress (when
// not nil) is called after each period. An error means the check could not be completed (a service
// failure), not tampering.
func (s *Store) VerifyPeriods(ctx context.Context, first, last string, onFinding func(Finding), progress func(period string, records int)) (RangeReport, error) {
	from, err := ParsePeriod(first)
	if err != nil {
		return RangeReport{}, err
	}
	to, err := ParsePeriod(last)
	if err != nil {
		return RangeReport{}, err
	}
	if to.Before(from) {
		return RangeReport{}, fmt.Errorf("%w: the range ends before it begins", ErrInvalidQuery)
	}
	if s.cfg.PublicKey == nil {
		return RangeReport{}, fmt.Errorf("%w: no public key for digests", ErrNotConfigured)
	}
	rep := RangeReport{TagsChecked: s.cfg.TagChecker != nil}
	report := func(f Finding) {
		rep.Findings++
		onFinding(f)
	}
	now := s.cfg.Now()

	// The chain into the range: the digest of the period before it, when there is one.
	before := from.Add(-PeriodLength)
	prev, err := s.loadDigest(ctx, PeriodOf(before), func(Finding) {})
	if err != nil {
		return RangeReport{}, err
	}
	if prev != nil && !prev.VerifySignature(s.cfg.PublicKey) {
		prev = nil // an unsigned link proves nothing; its own range reports it
	}
	started := prev != nil
	seq := newSeqCheck(report)
	var gap []string // periods without a digest before the chain was known to have started
	for p := from; !p.After(to); p = nextPeriod(p) {
		period := PeriodOf(p)
		rep.Periods++
		d, err := s.loadDigest(ctx, period, report)
		if err != nil {
			return rep, err
		}
		if d == nil {
			switch {
			case !overdue(p, now):
				rep.Pending++
			case started:
				report(Finding{Kind: FindingMissing, Period: period, Detail: "no digest in the table or the anchor inside the chain"})
			default:
				gap = append(gap, period)
			}
			if !overdue(p, now) || started {
				// Not digested yet, or its digest is gone: its records are still numbered.
				if err := s.seqPeriod(ctx, seq, p); err != nil {
					return rep, err
				}
			}
			if progress != nil {
				progress(period, 0)
			}
			continue
		}
		if rep.Digested == 0 {
			rep.ChainedFrom = d.Previous
		}
		rep.Digested++
		rep.Head, rep.HeadDigest = period, d.Value
		if !d.VerifySignature(s.cfg.PublicKey) {
			report(Finding{Kind: FindingForged, Period: period, Detail: "digest signature does not verify with the public key"})
		}
		switch {
		case d.Previous == "" && started:
			report(Finding{Kind: FindingRestart, Period: period, Detail: "a genesis digest after the chain had started"})
		case d.Previous == "":
			rep.BeforeChain += len(gap) // the chain starts here: what came before is not part of it
			gap = nil
		case !started:
			// The digest names a predecessor, so every period without a digest before it was deleted,
			// the one before the range included.
			if p.Equal(from) {
				gap = append(gap, PeriodOf(before))
			}
			for _, g := range gap {
				report(Finding{Kind: FindingMissing, Period: g, Detail: "no digest, but a later digest continues the chain"})
			}
			gap = nil
		case prev != nil && d.Previous != prev.Value:
			report(Finding{Kind: FindingChainBreak, Period: period, Detail: fmt.Sprintf("previous %s but the previous period's digest is %s", d.Previous, prev.Value)})
		}
		started = true
		seq.begin(p)
		n, err := s.verifyPeriodRecords(ctx, p, *d, seq, report)
		if err != nil {
			return rep, err
		}
		rep.Records += n
		if progress != nil {
			progress(period, n)
		}
		prev = d
	}
	rep.BeforeChain += len(gap)
	if rep.Writers, err = s.checkSequences(ctx, seq, to); err != nil {
		return rep, err
	}
	if s.cfg.WriteLog != nil {
		rep.LogChecked = true
		if rep.LogLines, err = s.checkWriteLog(ctx, seq, to, now); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// loadDigest reads a period's digest from the table and the anchor, reports any difference between
// them, and returns the copy to check (the anchor's when both exist and differ: it is write-once).
func (s *Store) loadDigest(ctx context.Context, period string, report func(Finding)) (*PeriodDigest, error) {
	td, err := s.readPeriodDigest(ctx, period)
	if err != nil {
		return nil, err
	}
	if s.cfg.Anchor == nil {
		return td, nil
	}
	doc, versions, err := s.cfg.Anchor.Get(ctx, AnchorName(period))
	if err != nil {
		return nil, fmt.Errorf("audit: read anchored digest of %s: %w", period, err)
	}
	if versions > 1 {
		report(Finding{Kind: FindingSecond, Period: period, Detail: fmt.Sprintf("the anchor holds %d versions of the digest", versions)})
	}
	var ad *PeriodDigest
	if doc != nil {
		d, ok := parseDocument(period, doc)
		if !ok {
			report(Finding{Kind: FindingDigestDiffer, Period: period, Detail: "the anchored digest is malformed"})
		} else {
			ad = &d
		}
	}
	switch {
	case td == nil && ad == nil:
		return nil, nil
	case td == nil:
		report(Finding{Kind: FindingDigestGone, Period: period, Detail: "anchored digest " + ad.Value + " is not in the table"})
		return ad, nil
	case ad == nil:
		if doc == nil {
			report(Finding{Kind: FindingNotAnchored, Period: period, Detail: "digest " + td.Value + " is in the table but not in the anchor"})
		}
		return td, nil
	case td.Value != ad.Value || !bytes.Equal(td.Signature, ad.Signature):
		report(Finding{Kind: FindingDigestDiffer, Period: period, Detail: fmt.Sprintf("table digest %s, anchored digest %s", td.Value, ad.Value)})
		return ad, nil
	}
	return td, nil
}

// verifyPeriodRecords merges the period's records (by-day index, key order) with its leaf chunks
// (key order), reading both a page at a time, and gives each record to the sequence check.
func (s *Store) verifyPeriodRecords(ctx context.Context, start time.Time, d PeriodDigest, seq *seqCheck, report func(Finding)) (int, error) {
	period := PeriodOf(start)
	lr := &leafReader{s: s, of: period, ordered: true}
	// Deletions and insertions of one ID are a record moved: reported once, as reordered. They are
	// held until the period ends (findings only, not records).
	deleted, inserted := map[string]Finding{}, map[string]Finding{}
	var order []string
	del := func(l leaf) {
		id := idOfKey(l.id)
		deleted[id] = deletedFinding(period, id, lr.n-1)
		order = append(order, id)
	}
	records := 0
	err := s.indexItems(ctx, start.Format("2006-01-02"), start.Format("2006-01-02T15:"), func(item map[string]types.AttributeValue) error {
		records++
		key := str(item, table.DaySK)
		id := recordIDOf(item)
		var match *leaf
		for {
			l, ok, err := lr.peek(ctx)
			if err != nil {
				return err
			}
			if !ok || l.id > key {
				break
			}
			lr.next()
			if l.id == key {
				match = &l
				break
			}
			del(l)
		}
		if isRejectionCount(id) {
			// A count has no write-time hash or tag: its leaf is the content digested after its minute.
			if match == nil {
				inserted[id] = insertedFinding(period, id, "rejection count of the period")
				order = append(order, id)
			} else if contentHash(item) != leafHex(*match) {
				report(Finding{Kind: FindingEdited, Period: period, RecordID: id, Detail: "content does not match the digest's leaf"})
			}
			return nil
		}
		stored, intact := checkContent(item, period, id, report)
		tagged, err := s.checkTag(ctx, item, stored, period, id, report)
		if err != nil {
			return err
		}
		seq.observe(item, period, tagged && intact)
		if match == nil {
			inserted[id] = insertedFinding(period, id, "record of the period")
			order = append(order, id)
		} else {
			checkLeaf(period, id, stored, *match, report)
		}
		return nil
	})
	if err != nil {
		return records, err
	}
	for {
		l, ok, err := lr.peek(ctx)
		if err != nil {
			return records, err
		}
		if !ok {
			break
		}
		lr.next()
		del(l)
	}
	if f, bad := lr.checkRoot(period, lr.wellFormed, d.Records, d.Root); bad {
		report(f)
	}
	for _, id := range order {
		df, isDel := deleted[id]
		inf, isIns := inserted[id]
		switch {
		case isDel && isIns:
			report(Finding{Kind: FindingReordered, Period: period, RecordID: id, Detail: "record moved from its place in the digest's order"})
			delete(deleted, id)
			delete(inserted, id)
		case isDel:
			report(df)
			delete(deleted, id)
		case isIns:
			report(inf)
			delete(inserted, id)
		}
	}
	return records, nil
}

// checkTag reports a record whose tag is missing or does not verify, when tags are checked, and
// whether it verified (true when tags are not checked).
func (s *Store) checkTag(ctx context.Context, item map[string]types.AttributeValue, stored, period, id string, report func(Finding)) (bool, error) {
	if s.cfg.TagChecker == nil {
		return true, nil
	}
	tag, ok1 := item[attrTag].(*types.AttributeValueMemberB)
	wrapped, ok2 := item[attrTagKey].(*types.AttributeValueMemberB)
	if !ok1 || !ok2 {
		report(Finding{Kind: FindingTag, Period: period, RecordID: id, Detail: "record has no tag"})
		return false, nil
	}
	valid, err := s.cfg.TagChecker.Check(ctx, wrapped.Value, TagMessage(stored), tag.Value)
	if err != nil {
		return false, fmt.Errorf("audit: check the tag of record %s: %w", id, err)
	}
	if !valid {
		report(Finding{Kind: FindingTag, Period: period, RecordID: id, Detail: "tag does not verify: the record or its hash was written without wcbridge's keys"})
	}
	return valid, nil
}

// idOfKey is the record ID in a leaf key "<received_at>#<record_id>".
func idOfKey(key string) string {
	if i := strings.LastIndexByte(key, '#'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// leafReader streams the leaf chunks of a period (or a legacy day) one item at a time, hashing every
// leaf into the Merkle root as it passes, and checks that the chunks are contiguous and well formed
// and, when ordered (a period's leaves are named by their key), that the keys strictly increase.
type leafReader struct {
	s          *Store
	of         string // the period, or the legacy day
	ordered    bool
	in         *dynamodb.QueryInput
	buf        []leaf
	done       bool
	chunks     int
	n          int // leaves passed
	last       string
	m          merkle
	wellFormed bool
}

func (r *leafReader) peek(ctx context.Context) (leaf, bool, error) {
	for len(r.buf) == 0 && !r.done {
		if err := r.fetch(ctx); err != nil {
			return leaf{}, false, err
		}
	}
	if len(r.buf) == 0 {
		return leaf{}, false, nil
	}
	return r.buf[0], true, nil
}

func (r *leafReader) next() {
	l := r.buf[0]
	r.buf = r.buf[1:]
	if r.ordered && r.n > 0 && l.id <= r.last {
		r.wellFormed = false
	}
	r.last = l.id
	r.m.add(l)
	r.n++
}

func (r *leafReader) fetch(ctx context.Context) error {
	if r.in == nil {
		pk, _ := table.DigestKey(r.of)
		r.wellFormed = true
		r.in = &dynamodb.QueryInput{
			TableName:                aws.String(r.s.cfg.Table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :leaves)"),
			ExpressionAttributeNames: map[string]string{"#pk": table.PK, "#sk": table.SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": sAttr(pk), ":leaves": sAttr(table.DigestLeavesPrefix),
			},
			ConsistentRead: aws.Bool(true),
			Limit:          aws.Int32(1), // one chunk (≤ LeavesPerChunk leaves) in memory at a time
		}
	}
	out, err := r.s.cfg.DB.Query(ctx, r.in)
	if err != nil {
		return fmt.Errorf("audit: read digest leaves of %s: %w", r.of, err)
	}
	for _, item := range out.Items {
		_, wantSK := table.DigestLeavesKey(r.of, r.chunks)
		first, isN := item[attrFirst].(*types.AttributeValueMemberN)
		if str(item, table.SK) != wantSK || !isN || first.Value != strconv.Itoa(r.n+len(r.buf)) {
			r.wellFormed = false
		}
		r.chunks++
		for line := range strings.SplitSeq(str(item, attrLeaves), "\n") {
			if line == "" {
				continue
			}
			key, hx, found := strings.Cut(line, " ")
			h, err := hex.DecodeString(hx)
			if !found || err != nil || len(h) != sha256.Size || key == "" {
				r.wellFormed = false
				continue
			}
			r.buf = append(r.buf, leaf{id: key, hash: h})
		}
	}
	r.in.ExclusiveStartKey = out.LastEvaluatedKey
	r.done = len(out.LastEvaluatedKey) == 0
	return nil
}

// checkRoot is the leaves finding when the leaves passed so far (all of them, once the reader is
// done) are not well formed or do not hash to the digest's root and record count.
func (r *leafReader) checkRoot(period string, wellFormed bool, records int, root string) (Finding, bool) {
	got := hashPrefix + hex.EncodeToString(r.m.root())
	if wellFormed && got == root && r.n == records {
		return Finding{}, false
	}
	return Finding{Kind: FindingLeaves, Period: period, Detail: fmt.Sprintf("%d stored leaves hash to %s, the digest says %d records, root %s", r.n, got, records, root)}, true
}
