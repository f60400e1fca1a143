package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// FindingKind names what Verify found wrong.
type FindingKind string

// The findings.
const (
	FindingEdited     FindingKind = "edited"      // a record's content ≠ its stored hash, or its hash ≠ its leaf
	FindingDeleted    FindingKind = "deleted"     // a leaf without its record
	FindingInserted   FindingKind = "inserted"    // a record of the day without a leaf
	FindingReordered  FindingKind = "reordered"   // a record out of its leaf order
	FindingForged     FindingKind = "forged"      // the digest's MAC does not verify under the digest key
	FindingLeaves     FindingKind = "leaves"      // the stored leaf list does not hash to the MACed root
	FindingChainBreak FindingKind = "chain-break" // previous_digest ≠ the previous day's digest
)

// Finding is one thing wrong with a day's trail. Detail holds IDs and hashes only, never PHI.
type Finding struct {
	Kind     FindingKind
	Period   string // the period (YYYY-MM-DDTHH) concerned; empty for a legacy daily digest's finding
	RecordID string // the record concerned; empty for a finding about a digest or a period
	Detail   string
}

// String is the finding as one line: kind, the record or else the period, and the detail (which
// names the period of a record finding).
func (f Finding) String() string {
	switch {
	case f.RecordID != "" && f.Period != "":
		return fmt.Sprintf("%s %s %s (period %s)", f.Kind, f.RecordID, f.Detail, f.Period)
	case f.RecordID != "":
		return fmt.Sprintf("%s %s %s", f.Kind, f.RecordID, f.Detail)
	case f.Period != "":
		return fmt.Sprintf("%s %s %s", f.Kind, f.Period, f.Detail)
	}
	return fmt.Sprintf("%s - %s", f.Kind, f.Detail)
}

// Report is the outcome of verifying one day.
type Report struct {
	Day      string
	Records  int    // records read from the table for the day
	Digest   Digest // the stored digest, as read
	Findings []Finding
}

// Intact reports whether nothing was found wrong.
func (r Report) Intact() bool { return len(r.Findings) == 0 }

// ProgressEvery is how many records Verify reads between calls of its progress function.
const ProgressEvery = 1000

// Verify checks a day's audit trail against its digest and returns every finding (an intact day has
// none). An error means the check could not be made (no digest, a service failure), not tampering.
func (s *Store) Verify(ctx context.Context, day string) (Report, error) {
	return s.VerifyWithProgress(ctx, day, nil)
}

// VerifyWithProgress is Verify calling progress (when not nil) with the number of records read so
// far, every ProgressEvery records and once at the end.
//
// It checks, in this order: the digest's MAC under the configured digest key (not the key the item
// names); the chain (previous_digest against the previous day's digest, recomputed from its
// statement); the leaf list against the MACed root; then every record of the day in key order
// against its own stored hash and its leaf: records without a leaf are inserted, leaves without a
// record deleted, and records whose leaves are out of order (outside the longest run in order)
// reordered. Leaves are held in memory (~100 bytes a record); records are streamed.
func (s *Store) VerifyWithProgress(ctx context.Context, day string, progress func(records int)) (Report, error) {
	t, err := parseDay(day)
	if err != nil {
		return Report{}, err
	}
	if s.cfg.MAC == nil || s.cfg.DigestKeyID == "" {
		return Report{}, fmt.Errorf("%w: no MAC key for digests", ErrNotConfigured)
	}
	d, _, err := s.readDigest(ctx, day)
	if err != nil {
		return Report{}, err
	}
	if d == nil {
		return Report{}, fmt.Errorf("%w: %s", ErrNoDigest, day)
	}
	rep := Report{Day: day, Digest: *d}
	add := func(kind FindingKind, id, detail string) {
		rep.Findings = append(rep.Findings, Finding{Kind: kind, RecordID: id, Detail: detail})
	}

	valid, err := s.verifyMAC(ctx, *d)
	if err != nil {
		return Report{}, err
	}
	if !valid {
		add(FindingForged, "", "digest MAC does not verify under the digest key")
	}

	prev, _, err := s.readDigest(ctx, previousDay(t))
	if err != nil {
		return Report{}, err
	}
	switch {
	case prev == nil && d.Previous != "":
		add(FindingChainBreak, "", fmt.Sprintf("previous_digest %s but %s has no digest", d.Previous, previousDay(t)))
	case prev != nil && d.Previous != prev.Value:
		add(FindingChainBreak, "", fmt.Sprintf("previous_digest %s but %s's digest is %s", orNone(d.Previous), previousDay(t), prev.Value))
	}

	leaves, _, wellFormed, err := s.readLeaves(ctx, day)
	if err != nil {
		return Report{}, err
	}
	var m merkle
	index := make(map[string]int, len(leaves))
	for i, l := range leaves {
		m.add(l)
		if _, dup := index[l.id]; dup {
			wellFormed = false
			continue
		}
		index[l.id] = i
	}
	if root := hashPrefix + hex.EncodeToString(m.root()); !wellFormed || root != d.Root || len(leaves) != d.Records {
		add(FindingLeaves, "", fmt.Sprintf("%d stored leaves hash to %s, the digest says %d records, root %s", len(leaves), root, d.Records, d.Root))
	}

	seen := make([]bool, len(leaves))
	var order []int // leaf indexes of the day's records, in the table's key order
	err = s.dayItems(ctx, day, func(item map[string]types.AttributeValue) error {
		rep.Records++
		if progress != nil && rep.Records%ProgressEvery == 0 {
			progress(rep.Records)
		}
		id := recordIDOf(item)
		stored := str(item, attrHash)
		content, err := RecordHash(item)
		if err != nil {
			content = "unhashable (" + err.Error() + ")"
		}
		i, ok := index[id]
		if !ok || seen[i] {
			add(FindingInserted, id, "record of the day has no leaf in the digest")
			if content != stored {
				add(FindingEdited, id, "content does not match the record's stored hash")
			}
			return nil
		}
		seen[i] = true
		order = append(order, i)
		switch leafHex := hashPrefix + hex.EncodeToString(leaves[i].hash); {
		case content != stored:
			add(FindingEdited, id, "content does not match the record's stored hash")
		case stored != leafHex:
			add(FindingEdited, id, fmt.Sprintf("stored hash %s differs from the digest's leaf %s", stored, leafHex))
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	if progress != nil {
		progress(rep.Records)
	}
	for i, l := range leaves {
		if !seen[i] {
			add(FindingDeleted, l.id, fmt.Sprintf("leaf %d of the digest has no record", i))
		}
	}
	for _, i := range outOfOrder(order) {
		add(FindingReordered, leaves[i].id, fmt.Sprintf("leaf %d is out of the digest's order", i))
	}
	return rep, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// verifyMAC checks the digest's MAC with KMS under the configured key. An HMAC-SHA-256 MAC is 32 bytes;
// anything else is refused here rather than sent to KMS (which would answer with a validation error).
func (s *Store) verifyMAC(ctx context.Context, d Digest) (bool, error) {
	if len(d.MAC) != sha256.Size {
		return false, nil
	}
	out, err := s.cfg.MAC.VerifyMac(ctx, &kms.VerifyMacInput{
		KeyId:        aws.String(s.cfg.DigestKeyID),
		MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256,
		Message:      d.Statement(),
		Mac:          d.MAC,
	})
	var invalid *kmstypes.KMSInvalidMacException
	if errors.As(err, &invalid) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: verify digest MAC of %s: %w", d.Day, err)
	}
	return out.MacValid, nil
}

// outOfOrder returns the elements of seq outside one longest increasing subsequence: the fewest
// records that, moved back, restore the order. Patience sorting, O(n log n).
func outOfOrder(seq []int) []int {
	tails := []int{}              // tails[k]: position in seq of the smallest tail of an increasing run of length k+1
	prev := make([]int, len(seq)) // predecessor of each position in its run
	for p, v := range seq {
		k := sort.Search(len(tails), func(k int) bool { return seq[tails[k]] >= v })
		if k > 0 {
			prev[p] = tails[k-1]
		} else {
			prev[p] = -1
		}
		if k == len(tails) {
			tails = append(tails, p)
		} else {
			tails[k] = p
		}
	}
	inRun := make([]bool, len(seq))
	if len(tails) > 0 {
		for p := tails[len(tails)-1]; p >= 0; p = prev[p] {
			inRun[p] = true
		}
	}
	var out []int
	for p, v := range seq {
		if !inRun[p] {
			out = append(out, v)
		}
	}
	return out
}
