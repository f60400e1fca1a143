package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// SettleTime is how long after the end of a UTC day its digest may be built: records of requests still
// in flight at midnight (API Gateway's limit is 29 s) and the eventually consistent by-day index
// must have landed. The daily report runs at 00:15 UTC.
const SettleTime = 10 * time.Minute

// LeavesPerChunk is how many leaves one digest chunk item holds (~96 bytes each, well under 400 KB).
const LeavesPerChunk = 2000

// digestDomain opens every digest statement.
const digestDomain = "wcbridge-audit-digest/v1"

// Attribute names of digest items.
const (
	attrDay          = "day"
	attrRecords      = "records"
	attrRoot         = "root"
	attrPrevious     = "previous_digest"
	attrDigest       = "digest"
	attrMAC          = "mac"
	attrMACKeyID     = "mac_key_id"
	attrMACAlgorithm = "mac_algorithm"
	attrLeafChunks   = "leaf_chunks"
	attrFirst        = "first"
	attrLeaves       = "leaves"
)

var (
	// ErrDayNotOver is returned by BuildDigest for a day that has not ended SettleTime ago.
	ErrDayNotOver = errors.New("audit: the day is not over yet")
	// ErrNoDigest is returned by Verify for a day without a digest (not built yet, or deleted: verify
	// the next day, whose chain check tells which).
	ErrNoDigest = errors.New("audit: no digest for the day")
	// ErrDigestConflict is returned by BuildDigest when the day's records no longer match the digest
	// already stored: it never overwrites a digest with another root. Run Verify to see what changed.
	ErrDigestConflict = errors.New("audit: the day's records differ from its stored digest")
)

// Digest is the tamper evidence of one UTC day: the Merkle root over the day's record hashes in key
// order, chained to the previous day's digest and MACed with a KMS HMAC key.
type Digest struct {
	Day      string // YYYY-MM-DD
	Records  int    // how many records (leaves)
	Root     string // "sha256:<hex>": RFC 6962 Merkle tree hash over the leaves
	Previous string // the previous day's Value, "" when that day has no digest (the chain starts here)
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

func (d Digest) value() string {
	sum := sha256.Sum256(d.Statement())
	return hashPrefix + hex.EncodeToString(sum[:])
}

func previousDay(day time.Time) string { return day.AddDate(0, 0, -1).Format("2006-01-02") }

// BuildDigest computes, MACs and stores the digest of a UTC day that ended at least SettleTime ago,
// and returns it. It is idempotent: run again over the same records it computes the same digest and
// leaves the stored one as it is. It refuses (ErrDigestConflict) to replace a digest whose root
// differs, or whose link to the previous day would change, so a rebuild can never launder tampering;
// the one rewrite it makes is linking a chain's first day (no previous digest when it was built) to a
// previous day's digest built since. Build days in order: each digest names the previous day's.
func (s *Store) BuildDigest(ctx context.Context, day string) (Digest, error) {
	t, err := parseDay(day)
	if err != nil {
		return Digest{}, err
	}
	if s.cfg.MAC == nil || s.cfg.DigestKeyID == "" {
		return Digest{}, fmt.Errorf("%w: no MAC key for digests", ErrNotConfigured)
	}
	if s.cfg.Now().Before(t.Add(24*time.Hour + SettleTime)) {
		return Digest{}, fmt.Errorf("%w: %s can be digested from %s", ErrDayNotOver, day,
			t.Add(24*time.Hour+SettleTime).Format(time.RFC3339))
	}
	prev, _, err := s.readDigest(ctx, previousDay(t))
	if err != nil {
		return Digest{}, err
	}
	existing, _, err := s.readDigest(ctx, day)
	if err != nil {
		return Digest{}, err
	}

	var (
		m      merkle
		leaves []leaf
	)
	err = s.dayItems(ctx, day, func(item map[string]types.AttributeValue) error {
		// The leaf is the hash the writer stored (its attestation); a record without a well-formed
		// one gets its content's hash, and Verify will report it as edited either way.
		h := str(item, attrHash)
		if !validHash(h) {
			var err error
			if h, err = RecordHash(item); err != nil {
				return fmt.Errorf("audit: hash record %s: %w", recordIDOf(item), err)
			}
		}
		l := leaf{id: recordIDOf(item), hash: hashBytes(h)}
		m.add(l)
		leaves = append(leaves, l)
		return nil
	})
	if err != nil {
		return Digest{}, err
	}
	d := Digest{Day: day, Records: len(leaves), Root: hashPrefix + hex.EncodeToString(m.root())}
	if prev != nil {
		d.Previous = prev.value()
	}
	d.Value = d.value()
	if existing != nil {
		if existing.Root != d.Root || existing.Records != d.Records {
			return Digest{}, fmt.Errorf("%w: %s", ErrDigestConflict, day)
		}
		if existing.Previous == d.Previous {
			return *existing, nil
		}
		// Only a chain's start may be linked to a previous day built late; a link is never changed
		// or dropped (that would hide a previous day's digest rewritten or deleted).
		if existing.Previous != "" {
			return Digest{}, fmt.Errorf("%w: %s is chained to another digest of %s than the one stored now",
				ErrDigestConflict, day, previousDay(t))
		}
	}

	mac, err := s.cfg.MAC.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(s.cfg.DigestKeyID),
		MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256,
		Message:      d.Statement(),
	})
	if err != nil {
		return Digest{}, fmt.Errorf("audit: MAC digest of %s: %w", day, err)
	}
	d.MAC, d.KeyID = mac.Mac, aws.ToString(mac.KeyId)

	// The leaf chunks first, the digest item last: a digest item exists only with all its leaves.
	expires := table.ExpiryAfter(t.Add(24*time.Hour), table.AuditRetention)
	chunks := 0
	for first := 0; first < len(leaves) || first == 0; first += LeavesPerChunk {
		var b strings.Builder
		for _, l := range leaves[first:min(first+LeavesPerChunk, len(leaves))] {
			b.WriteString(l.id + " " + hex.EncodeToString(l.hash) + "\n")
		}
		pk, sk := table.DigestLeavesKey(day, chunks)
		if err := s.put(ctx, map[string]types.AttributeValue{
			table.PK: sAttr(pk), table.SK: sAttr(sk),
			attrFirst: nAttr(int64(first)), attrLeaves: sAttr(b.String()), table.ExpiresAt: nAttr(expires),
		}); err != nil {
			return Digest{}, fmt.Errorf("audit: write digest leaves of %s: %w", day, err)
		}
		chunks++
		if len(leaves) == 0 {
			break
		}
	}
	pk, sk := table.DigestKey(day)
	item := map[string]types.AttributeValue{
		table.PK: sAttr(pk), table.SK: sAttr(sk),
		attrDay: sAttr(day), attrRecords: nAttr(int64(d.Records)), attrRoot: sAttr(d.Root),
		attrDigest: sAttr(d.Value), attrMAC: &types.AttributeValueMemberB{Value: d.MAC},
		attrMACKeyID: sAttr(d.KeyID), attrMACAlgorithm: sAttr(string(kmstypes.MacAlgorithmSpecHmacSha256)),
		attrLeafChunks: nAttr(int64(chunks)), table.ExpiresAt: nAttr(expires),
	}
	if d.Previous != "" {
		item[attrPrevious] = sAttr(d.Previous)
	}
	if err := s.put(ctx, item); err != nil {
		return Digest{}, fmt.Errorf("audit: write digest of %s: %w", day, err)
	}
	return d, nil
}

func (s *Store) put(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item})
	return err
}

// Digest reads the stored digest of a day, or returns ErrNoDigest. It checks nothing: Verify does.
func (s *Store) Digest(ctx context.Context, day string) (Digest, error) {
	if _, err := parseDay(day); err != nil {
		return Digest{}, err
	}
	d, _, err := s.readDigest(ctx, day)
	if err != nil {
		return Digest{}, err
	}
	if d == nil {
		return Digest{}, fmt.Errorf("%w: %s", ErrNoDigest, day)
	}
	return *d, nil
}

// readDigest reads a day's digest item (nil when there is none) and its leaf chunk count. It is lenient
// with malformed attributes (they read as zero values) so that a tampered digest fails verification
// as a finding rather than as an error. Value is recomputed from the statement, not read.
func (s *Store) readDigest(ctx context.Context, day string) (*Digest, int, error) {
	item, err := s.readDigestItem(ctx, day)
	if item == nil || err != nil {
		return nil, 0, err
	}
	d := &Digest{
		Day:      day,
		Records:  lenientInt(item, attrRecords),
		Root:     str(item, attrRoot),
		Previous: str(item, attrPrevious),
		KeyID:    str(item, attrMACKeyID),
	}
	if b, ok := item[attrMAC].(*types.AttributeValueMemberB); ok {
		d.MAC = b.Value
	}
	d.Value = d.value()
	return d, lenientInt(item, attrLeafChunks), nil
}

// readDigestItem reads the digest item of a day or a period, strongly consistent (nil when none).
func (s *Store) readDigestItem(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	pk, sk := table.DigestKey(id)
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read digest of %s: %w", id, err)
	}
	return out.Item, nil
}

// lenientInt is a number attribute, or -1 when it is missing or malformed (a finding, not an error).
func lenientInt(item map[string]types.AttributeValue, name string) int {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.Atoi(v.Value); err == nil {
			return n
		}
	}
	return -1
}

// readLeaves reads a day's leaf chunks in order. ok is false when they are malformed or not contiguous.
func (s *Store) readLeaves(ctx context.Context, day string) (leaves []leaf, chunks int, ok bool, err error) {
	pk, _ := table.DigestKey(day)
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.cfg.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :leaves)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK, "#sk": table.SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": sAttr(pk), ":leaves": sAttr(table.DigestLeavesPrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	ok = true
	for {
		out, err := s.cfg.DB.Query(ctx, in)
		if err != nil {
			return nil, 0, false, fmt.Errorf("audit: read digest leaves of %s: %w", day, err)
		}
		for _, item := range out.Items {
			_, wantSK := table.DigestLeavesKey(day, chunks)
			first, isN := item[attrFirst].(*types.AttributeValueMemberN)
			if str(item, table.SK) != wantSK || !isN || first.Value != strconv.Itoa(len(leaves)) {
				ok = false
			}
			chunks++
			for line := range strings.SplitSeq(str(item, attrLeaves), "\n") {
				if line == "" {
					continue
				}
				id, hx, found := strings.Cut(line, " ")
				h, err := hex.DecodeString(hx)
				if !found || err != nil || len(h) != sha256.Size || id == "" {
					ok = false
					continue
				}
				leaves = append(leaves, leaf{id: id, hash: h})
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return leaves, chunks, ok, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
