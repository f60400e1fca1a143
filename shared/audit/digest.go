package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// SettleTime is how long after the end of a period its digest may be built: records of requests
// still in flight at its end (API Gateway's limit is 29 s) and the eventually consistent by-day
// index must have landed.
const SettleTime = 10 * time.Minute

// LeavesPerChunk is how many leaves one digest chunk item holds (~130 bytes each, well under 400 KB).
const LeavesPerChunk = 2000

// digestDomain opens every legacy daily digest statement.
const digestDomain = "wcbridge-audit-digest/v1"

// Attribute names of digest items (period digests and legacy daily digests).
const (
	attrRecords    = "records"
	attrRoot       = "root"
	attrPrevious   = "previous_digest"
	attrDigest     = "digest"
	attrMAC        = "mac"
	attrMACKeyID   = "mac_key_id"
	attrLeafChunks = "leaf_chunks"
	attrFirst      = "first"
	attrLeaves     = "leaves"
)

// ErrNoDigest is returned by Verify for a day without a legacy daily digest.
var ErrNoDigest = errors.New("audit: no digest for the day")

// Digest is a legacy daily digest, from before the hourly chain: the Merkle root over a UTC day's
// record hashes in key order, chained to the previous day's digest and MACed with a KMS HMAC key.
// Nothing builds them any more; Verify keeps the existing ones verifiable.
type Digest struct {
	Day      string // YYYY-MM-DD
	Records  int    // how many records (leaves)
	Root     string // "sha256:<hex>": RFC 6962 Merkle tree hash over the leaves
	Previous string // the previous day's Value, "" when that day had no digest (the chain started here)
	Value    string // "sha256:<hex>" of Statement(): what the next day's Previous names
	MAC      []byte // KMS GenerateMac(HMAC_SHA_256) over Statement()
	KeyID    string // the key that made MAC (informational: Verify uses the configured key)
}

// Statement is the exact text the MAC covers and Value hashes:
//
//	wcbridge-audit-digest/v1
//	day: <YYYY-MM-DD>
//	records: <n>
//	root: sha256:<hex>
//	previous: sha256:<hex> | none
func (d Digest) Statement() []byte {
	prev := d.Previous
	if prev == "" {
		prev = "none"
	}
	return fmt.Appendf(nil, "%s\nday: %s\nrecords: %d\nroot: %s\nprevious: %s\n", digestDomain, d.Day, d.Records, d.Root, prev)
}

func (d Digest) value() string { return statementValue(d.Statement()) }

// statementValue is a digest's Value: "sha256:" and the hex SHA-256 of its statement.
func statementValue(statement []byte) string {
	sum := sha256.Sum256(statement)
	return hashPrefix + hex.EncodeToString(sum[:])
}

func previousDay(day time.Time) string { return day.AddDate(0, 0, -1).Format("2006-01-02") }

// Report is the outcome of verifying one legacy daily digest.
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

// Verify checks a day's records against its legacy daily digest and returns every finding (an
// intact day has none). An error means the check could not be made (no digest, a service failure),
// not tampering.
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
// reordered. A legacy leaf names its record by ID alone, not by its place in the key order, so the
// leaves are held in memory (~100 bytes a record; a day of the old design); records are streamed.
func (s *Store) VerifyWithProgress(ctx context.Context, day string, progress func(records int)) (Report, error) {
	t, err := parseDay(day)
	if err != nil {
		return Report{}, err
	}
	if s.cfg.MAC == nil || s.cfg.DigestKeyID == "" {
		return Report{}, fmt.Errorf("%w: no MAC key for digests", ErrNotConfigured)
	}
	d, err := s.readDigest(ctx, day)
	if err != nil {
		return Report{}, err
	}
	if d == nil {
		return Report{}, fmt.Errorf("%w: %s", ErrNoDigest, day)
	}
	rep := Report{Day: day, Digest: *d}
	report := func(f Finding) { rep.Findings = append(rep.Findings, f) }

	valid, err := s.verifyMAC(ctx, *d)
	if err != nil {
		return Report{}, err
	}
	if !valid {
		report(Finding{Kind: FindingForged, Detail: "digest MAC does not verify under the digest key"})
	}

	prev, err := s.readDigest(ctx, previousDay(t))
	if err != nil {
		return Report{}, err
	}
	switch {
	case prev == nil && d.Previous != "":
		report(Finding{Kind: FindingChainBreak, Detail: fmt.Sprintf("previous_digest %s but %s has no digest", d.Previous, previousDay(t))})
	case prev != nil && d.Previous != prev.Value:
		report(Finding{Kind: FindingChainBreak, Detail: fmt.Sprintf("previous_digest %s but %s's digest is %s", orNone(d.Previous), previousDay(t), prev.Value)})
	}

	lr := &leafReader{s: s, of: day}
	var leaves []leaf
	for {
		l, ok, err := lr.peek(ctx)
		if err != nil {
			return Report{}, err
		}
		if !ok {
			break
		}
		lr.next()
		leaves = append(leaves, l)
	}
	index := make(map[string]int, len(leaves))
	wellFormed := lr.wellFormed
	for i, l := range leaves {
		if _, dup := index[l.id]; dup {
			wellFormed = false
			continue
		}
		index[l.id] = i
	}
	if f, bad := lr.checkRoot("", wellFormed, d.Records, d.Root); bad {
		report(f)
	}

	seen := make([]bool, len(leaves))
	var order []int // leaf indexes of the day's records, in the table's key order
	err = s.dayItems(ctx, day, func(item map[string]types.AttributeValue) error {
		rep.Records++
		if progress != nil && rep.Records%ProgressEvery == 0 {
			progress(rep.Records)
		}
		id := recordIDOf(item)
		stored, _ := checkContent(item, "", id, report)
		i, ok := index[id]
		if !ok || seen[i] {
			report(insertedFinding("", id, "record of the day"))
			return nil
		}
		seen[i] = true
		order = append(order, i)
		checkLeaf("", id, stored, leaves[i], report)
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
			report(deletedFinding("", l.id, i))
		}
	}
	for _, i := range outOfOrder(order) {
		report(Finding{Kind: FindingReordered, RecordID: leaves[i].id, Detail: fmt.Sprintf("leaf %d is out of the digest's order", i)})
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

// readDigest reads a day's legacy digest item (nil when there is none), leniently (see
// readStoredDigest). Value is recomputed from the statement, not read.
func (s *Store) readDigest(ctx context.Context, day string) (*Digest, error) {
	sd, err := s.readStoredDigest(ctx, day, attrMAC, attrMACKeyID)
	if sd == nil || err != nil {
		return nil, err
	}
	d := &Digest{Day: day, Records: sd.records, Root: sd.root, Previous: sd.previous, MAC: sd.proof, KeyID: sd.keyID}
	d.Value = d.value()
	return d, nil
}

// storedDigest is what a digest item of either kind states: the leaves' count and root, the
// previous digest, and the proof (signature or MAC) with the key that made it.
type storedDigest struct {
	records               int
	root, previous, keyID string
	proof                 []byte
}

// readStoredDigest reads the digest item of a period or a legacy day, strongly consistent (nil
// when none), with its proof and key under the attribute names of its kind. It is lenient: a
// malformed attribute reads as a zero value (the record count as -1), so that a tampered digest
// fails verification as a finding rather than as an error.
func (s *Store) readStoredDigest(ctx context.Context, id, proofAttr, keyAttr string) (*storedDigest, error) {
	pk, sk := table.DigestKey(id)
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read digest of %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	sd := &storedDigest{records: -1, root: str(out.Item, attrRoot), previous: str(out.Item, attrPrevious), keyID: str(out.Item, keyAttr)}
	if v, ok := out.Item[attrRecords].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.Atoi(v.Value); err == nil {
			sd.records = n
		}
	}
	if b, ok := out.Item[proofAttr].(*types.AttributeValueMemberB); ok {
		sd.proof = b.Value
	}
	return sd, nil
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
