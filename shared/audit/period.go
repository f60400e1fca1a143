package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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

// PeriodLength is the span of one digest period: every hour gets a digest, also an hour without records.
const PeriodLength = time.Hour

// BuildGrace is how long after a period is due (its end plus SettleTime) its digest may still be
// missing before that is a finding: the digest job runs hourly, a quarter past.
const BuildGrace = time.Hour

// VerifyWindow is how far back the digest job re-verifies on every run.
const VerifyWindow = 7 * 24 * time.Hour

// periodLayout names a period by its first hour, UTC.
const periodLayout = "2006-01-02T15"

// periodDomain opens every period digest statement.
const periodDomain = "wcbridge-audit-digest/v2"

// SigningAlgorithm is the only algorithm period digests are signed with.
const SigningAlgorithm = kmstypes.SigningAlgorithmSpecEcdsaSha256

// Attribute names of period digest items besides those every digest item has (digest.go).
const (
	attrPeriod       = "period"
	attrSignature    = "signature"
	attrSigningKeyID = "signing_key_id"
	attrGenesis      = "genesis"
)

var (
	// ErrPeriodNotOver is returned by BuildPeriod for a period that has not ended SettleTime ago.
	ErrPeriodNotOver = errors.New("audit: the period is not over yet")
	// ErrDigestExists is returned by BuildPeriod for a period that has a digest, in the table or in
	// the anchor: a digest is written once and never rebuilt.
	ErrDigestExists = errors.New("audit: the period already has a digest")
	// ErrChainBroken is returned when the previous period has no digest although the chain has
	// started: the builder refuses to restart the chain (a finding for the verifier, an alarm).
	ErrChainBroken = errors.New("audit: the previous period has no digest; refusing to restart the chain")
)

// Signer is the part of the KMS API that signs period digests (an ECC_NIST_P256 SIGN_VERIFY key).
type Signer interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

var _ Signer = (*kms.Client)(nil)

// Anchor keeps a write-once copy of every period digest outside the table (an S3 bucket with Object
// Lock in COMPLIANCE mode): someone who can write the table cannot delete, replace or add one.
type Anchor interface {
	// Put stores doc under name once; ErrDigestExists when name already holds an object.
	Put(ctx context.Context, name string, doc []byte) error
	// Get returns the current object under name (nil when there is none) and how many versions of
	// it the store holds (more than one is a second digest for a period).
	Get(ctx context.Context, name string) (doc []byte, versions int, err error)
}

// ParsePeriod checks a period name, "YYYY-MM-DDTHH" (UTC), and returns its start.
func ParsePeriod(p string) (time.Time, error) {
	t, err := time.Parse(periodLayout, p)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: period must be YYYY-MM-DDTHH", ErrInvalidQuery)
	}
	return t, nil
}

// PeriodOf names the period t falls in.
func PeriodOf(t time.Time) string { return t.UTC().Format(periodLayout) }

func nextPeriod(p time.Time) time.Time { return p.Add(PeriodLength) }

// LastDuePeriod is the latest period that may be digested at now: ended SettleTime ago.
func LastDuePeriod(now time.Time) time.Time {
	t, _ := ParsePeriod(PeriodOf(now.Add(-SettleTime - PeriodLength)))
	return t
}

// DigestDeadline is when the digest of the period starting at p must exist: until then a period
// without one is pending, after it a missing digest.
func DigestDeadline(p time.Time) time.Time { return p.Add(PeriodLength + SettleTime + BuildGrace) }

// overdue reports whether a period's digest must exist by now.
func overdue(p, now time.Time) bool { return !now.Before(DigestDeadline(p)) }

// PeriodDigest is the tamper evidence of one period: the Merkle root over its records' hashes in key
// order, chained to the previous period's digest and signed with an asymmetric KMS key, so that
// anyone holding the public key can check it offline.
type PeriodDigest struct {
	Period    string // YYYY-MM-DDTHH
	Records   int
	Root      string // "sha256:<hex>": RFC 6962 Merkle tree hash over the leaves
	Previous  string // the previous period's Value; "" at the chain's genesis
	Value     string // "sha256:<hex>" of Statement(): what the next period's Previous names
	Signature []byte // ECDSA P-256 (ASN.1 DER) over SHA-256(Statement())
	KeyID     string // the key that signed (informational: verification uses the public key given)
}

// Statement is the exact text the signature covers and Value hashes (the signature input is these
// bytes, hashed with SHA-256 by ECDSA_SHA_256):
//
//	wcbridge-audit-digest/v2
//	period: <YYYY-MM-DDTHH>
//	from: <RFC 3339 start, inclusive>
//	to: <RFC 3339 end, exclusive>
//	records: <n>
//	root: sha256:<hex>
//	previous: sha256:<hex> | genesis
func (d PeriodDigest) Statement() []byte {
	start, _ := ParsePeriod(d.Period)
	prev := d.Previous
	if prev == "" {
		prev = "genesis"
	}
	return fmt.Appendf(nil, "%s\nperiod: %s\nfrom: %s\nto: %s\nrecords: %d\nroot: %s\nprevious: %s\n", periodDomain,
		d.Period, start.Format(time.RFC3339), nextPeriod(start).Format(time.RFC3339), d.Records, d.Root, prev)
}

func (d PeriodDigest) value() string { return statementValue(d.Statement()) }

// VerifySignature checks the digest's signature with the public key alone: no AWS access.
func (d PeriodDigest) VerifySignature(pub *ecdsa.PublicKey) bool {
	if pub == nil || len(d.Signature) == 0 {
		return false
	}
	sum := sha256.Sum256(d.Statement())
	return ecdsa.VerifyASN1(pub, sum[:], d.Signature)
}

// PublicKeys is the part of the KMS API that exports the signing key's public key.
type PublicKeys interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

var _ PublicKeys = (*kms.Client)(nil)

// FetchPublicKey asks KMS for the signing key's public key (kms:GetPublicKey, once) for verifiers
// that hold no copy of it: what they verify with is then the key alone, as offline.
func FetchPublicKey(ctx context.Context, k PublicKeys, keyID string) (*ecdsa.PublicKey, error) {
	out, err := k.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("audit: get the public key of %s: %w", keyID, err)
	}
	return ParsePublicKey(out.PublicKey)
}

// ParsePublicKey reads the signing key's public key as `aws kms get-public-key` exports it: DER
// SubjectPublicKeyInfo, raw or base64 (the CLI's text output), or PEM ("PUBLIC KEY"). It must be an
// ECDSA P-256 key.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	} else if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil {
		b = raw
	}
	k, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("audit: public key: not an ECDSA P-256 key (ECC_NIST_P256)")
	}
	return pub, nil
}

// anchorDoc is a digest as the anchor holds it: the statement and signature, which is all an auditor
// needs besides the public key.
type anchorDoc struct {
	Format    string `json:"format"`
	Period    string `json:"period"`
	Statement string `json:"statement"`
	Signature string `json:"signature"` // base64 of the ASN.1 DER signature
	KeyID     string `json:"key_id"`
}

// AnchorName is the object name of a period's digest in the anchor.
func AnchorName(period string) string {
	return "digests/" + strings.ReplaceAll(period[:10], "-", "/") + "/" + period + ".json"
}

// chainName is the anchor object that says the chain has started (written once, at genesis).
const chainName = "digests/chain.json"

func (d PeriodDigest) document() []byte {
	b, _ := json.Marshal(anchorDoc{Format: periodDomain, Period: d.Period, Statement: string(d.Statement()),
		Signature: base64.StdEncoding.EncodeToString(d.Signature), KeyID: d.KeyID})
	return append(b, '\n')
}

// parseDocument reads an anchored digest back; ok is false when it is not a well-formed document of
// that period.
func parseDocument(period string, doc []byte) (PeriodDigest, bool) {
	var a anchorDoc
	if err := json.Unmarshal(doc, &a); err != nil || a.Format != periodDomain || a.Period != period {
		return PeriodDigest{}, false
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil {
		return PeriodDigest{}, false
	}
	d := PeriodDigest{Period: period, Signature: sig, KeyID: a.KeyID, Records: -1}
	for line := range strings.SplitSeq(a.Statement, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "records":
			if n, err := strconv.Atoi(v); err == nil {
				d.Records = n
			}
		case "root":
			d.Root = v
		case "previous":
			if v != "genesis" {
				d.Previous = v
			}
		}
	}
	if string(d.Statement()) != a.Statement {
		return PeriodDigest{}, false
	}
	d.Value = d.value()
	return d, true
}

// BuildDue digests every period that is due and has no digest yet, oldest first, after the chain's
// head: the latest period with a digest in the table or the anchor, looked for over VerifyWindow. With
// no digest anywhere and no chain started, the chain starts (genesis) at the last due period. A chain
// that has started but whose head is not found is ErrChainBroken: the builder never restarts a chain.
func (s *Store) BuildDue(ctx context.Context) ([]PeriodDigest, error) {
	last := LastDuePeriod(s.cfg.Now())
	var head *PeriodDigest
	for p := last; !p.Before(last.Add(-VerifyWindow)); p = p.Add(-PeriodLength) {
		d, err := s.anyDigest(ctx, PeriodOf(p))
		if err != nil {
			return nil, err
		}
		if d != nil {
			head = d
			break
		}
	}
	next := last
	if head != nil {
		start, _ := ParsePeriod(head.Period)
		next = nextPeriod(start)
	} else if started, err := s.chainStarted(ctx); err != nil {
		return nil, err
	} else if started {
		return nil, fmt.Errorf("%w: no digest in the %s up to %s", ErrChainBroken, VerifyWindow, PeriodOf(last))
	}
	var built []PeriodDigest
	for p := next; !p.After(last); p = nextPeriod(p) {
		d, err := s.BuildPeriod(ctx, PeriodOf(p))
		if err != nil {
			return built, err
		}
		built = append(built, d)
	}
	return built, nil
}

// BuildPeriod computes, signs and stores the digest of a period that ended at least SettleTime ago,
// in the table (leaf chunks first, the digest item last, each a conditional write) and then in the
// anchor. It refuses (ErrDigestExists) a period that has a digest in either, and (ErrChainBroken) a
// period whose previous period has none once the chain has started. Records are streamed: memory
// holds one leaf chunk, not the period.
func (s *Store) BuildPeriod(ctx context.Context, period string) (PeriodDigest, error) {
	start, err := ParsePeriod(period)
	if err != nil {
		return PeriodDigest{}, err
	}
	if s.cfg.Signer == nil || s.cfg.SigningKey == "" {
		return PeriodDigest{}, fmt.Errorf("%w: no signing key for digests", ErrNotConfigured)
	}
	if due := nextPeriod(start).Add(SettleTime); s.cfg.Now().Before(due) {
		return PeriodDigest{}, fmt.Errorf("%w: %s can be digested from %s", ErrPeriodNotOver, period, due.Format(time.RFC3339))
	}
	if existing, err := s.anyDigest(ctx, period); err != nil {
		return PeriodDigest{}, err
	} else if existing != nil {
		return PeriodDigest{}, fmt.Errorf("%w: %s", ErrDigestExists, period)
	}
	prev, err := s.anyDigest(ctx, PeriodOf(start.Add(-PeriodLength)))
	if err != nil {
		return PeriodDigest{}, err
	}
	genesis := prev == nil
	if genesis {
		started, err := s.chainStarted(ctx)
		if err != nil {
			return PeriodDigest{}, err
		}
		if started {
			return PeriodDigest{}, fmt.Errorf("%w: %s", ErrChainBroken, PeriodOf(start.Add(-PeriodLength)))
		}
	}

	var (
		m      merkle
		chunk  strings.Builder
		n      int
		chunks int
	)
	expires := table.ExpiryAfter(nextPeriod(start), table.AuditRetention)
	flush := func() error {
		pk, sk := table.DigestLeavesKey(period, chunks)
		leaves := chunk.String()
		_, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.cfg.Table),
			Item: map[string]types.AttributeValue{
				table.PK: sAttr(pk), table.SK: sAttr(sk), attrFirst: nAttr(int64(chunks * LeavesPerChunk)),
				attrLeaves: sAttr(leaves), table.ExpiresAt: nAttr(expires),
			},
			// Written once; the same chunk again (a retried write, a build that stopped before its
			// digest item) passes.
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #leaves = :leaves"),
			ExpressionAttributeNames:  map[string]string{"#pk": table.PK, "#leaves": attrLeaves},
			ExpressionAttributeValues: map[string]types.AttributeValue{":leaves": sAttr(leaves)},
		})
		if err != nil {
			return fmt.Errorf("audit: write digest leaves of %s: %w", period, err)
		}
		chunk.Reset()
		chunks++
		return nil
	}
	err = s.indexItems(ctx, start.Format("2006-01-02"), start.Format("2006-01-02T15:"), func(item map[string]types.AttributeValue) error {
		h := str(item, attrHash)
		if !validHash(h) {
			// Digested as found; the verifier names it (the content hash never matches "").
			var err error
			if h, err = RecordHash(item); err != nil {
				return fmt.Errorf("audit: hash record %s: %w", recordIDOf(item), err)
			}
		}
		l := leaf{id: str(item, table.DaySK), hash: hashBytes(h)}
		m.add(l)
		chunk.WriteString(l.id + " " + hex.EncodeToString(l.hash) + "\n")
		n++
		if n%LeavesPerChunk == 0 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return PeriodDigest{}, err
	}
	if n%LeavesPerChunk != 0 || n == 0 {
		if err := flush(); err != nil {
			return PeriodDigest{}, err
		}
	}
	d := PeriodDigest{Period: period, Records: n, Root: hashPrefix + hex.EncodeToString(m.root())}
	if !genesis {
		d.Previous = prev.Value
	}
	d.Value = d.value()
	out, err := s.cfg.Signer.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.cfg.SigningKey),
		Message:          d.Statement(),
		MessageType:      kmstypes.MessageTypeRaw,
		SigningAlgorithm: SigningAlgorithm,
	})
	if err != nil {
		return PeriodDigest{}, fmt.Errorf("audit: sign digest of %s: %w", period, err)
	}
	d.Signature, d.KeyID = out.Signature, aws.ToString(out.KeyId)

	pk, sk := table.DigestKey(period)
	item := map[string]types.AttributeValue{
		table.PK: sAttr(pk), table.SK: sAttr(sk),
		attrPeriod: sAttr(period), attrRecords: nAttr(int64(d.Records)), attrRoot: sAttr(d.Root),
		attrDigest: sAttr(d.Value), attrSignature: &types.AttributeValueMemberB{Value: d.Signature},
		attrSigningKeyID: sAttr(d.KeyID), attrLeafChunks: nAttr(int64(chunks)), table.ExpiresAt: nAttr(expires),
	}
	if d.Previous != "" {
		item[attrPrevious] = sAttr(d.Previous)
	}
	if _, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.cfg.Table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK},
	}); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return PeriodDigest{}, fmt.Errorf("%w: %s", ErrDigestExists, period)
		}
		return PeriodDigest{}, fmt.Errorf("audit: write digest of %s: %w", period, err)
	}
	if s.cfg.Anchor != nil {
		if err := s.cfg.Anchor.Put(ctx, AnchorName(period), d.document()); err != nil {
			return PeriodDigest{}, fmt.Errorf("audit: anchor digest of %s: %w", period, err)
		}
	}
	if genesis {
		if err := s.markChain(ctx, d); err != nil {
			return PeriodDigest{}, err
		}
	}
	return d, nil
}

// markChain records that the chain has started, at d, in the table and the anchor (once).
func (s *Store) markChain(ctx context.Context, d PeriodDigest) error {
	doc := fmt.Appendf(nil, `{"format":%q,"genesis":%q,"digest":%q}`+"\n", periodDomain, d.Period, d.Value)
	if _, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.cfg.Table),
		Item: map[string]types.AttributeValue{
			table.PK: sAttr(chainPK), table.SK: sAttr(chainPK), attrGenesis: sAttr(d.Period), attrDigest: sAttr(d.Value),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": table.PK},
	}); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("audit: record the chain's start: %w", err)
		}
	}
	if s.cfg.Anchor != nil {
		if err := s.cfg.Anchor.Put(ctx, chainName, doc); err != nil && !errors.Is(err, ErrDigestExists) {
			return fmt.Errorf("audit: anchor the chain's start: %w", err)
		}
	}
	return nil
}

// chainPK is the key of the table item that says the chain has started.
const chainPK = "digest#chain"

// chainStarted reports whether a chain has started: its marker is in the anchor or the table.
func (s *Store) chainStarted(ctx context.Context) (bool, error) {
	if s.cfg.Anchor != nil {
		doc, _, err := s.cfg.Anchor.Get(ctx, chainName)
		if err != nil {
			return false, fmt.Errorf("audit: read the chain's start: %w", err)
		}
		if doc != nil {
			return true, nil
		}
	}
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{table.PK: sAttr(chainPK), table.SK: sAttr(chainPK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("audit: read the chain's start: %w", err)
	}
	return out.Item != nil, nil
}

// anyDigest is a period's digest from the anchor, or else from the table, or nil.
func (s *Store) anyDigest(ctx context.Context, period string) (*PeriodDigest, error) {
	if s.cfg.Anchor != nil {
		doc, _, err := s.cfg.Anchor.Get(ctx, AnchorName(period))
		if err != nil {
			return nil, fmt.Errorf("audit: read anchored digest of %s: %w", period, err)
		}
		if doc != nil {
			if d, ok := parseDocument(period, doc); ok {
				return &d, nil
			}
		}
	}
	return s.readPeriodDigest(ctx, period)
}

// Digested reports whether the table holds period's digest: one consistent GetItem, for a caller
// that waits for a digest before it verifies (the daily report), where VerifyPeriods would read the
// period's records each time it looked.
func (s *Store) Digested(ctx context.Context, period string) (bool, error) {
	d, err := s.readPeriodDigest(ctx, period)
	return d != nil, err
}

// readPeriodDigest reads a period's digest item (nil when there is none), leniently (see
// readStoredDigest). Value is recomputed from the statement, with the period taken from the key,
// never from an attribute.
func (s *Store) readPeriodDigest(ctx context.Context, period string) (*PeriodDigest, error) {
	sd, err := s.readStoredDigest(ctx, period, attrSignature, attrSigningKeyID)
	if sd == nil || err != nil {
		return nil, err
	}
	d := &PeriodDigest{Period: period, Records: sd.records, Root: sd.root, Previous: sd.previous, Signature: sd.proof, KeyID: sd.keyID}
	d.Value = d.value()
	return d, nil
}

// checkpointPK is the key of the digest job's checkpoint: the last period it verified clean.
const checkpointPK = "digest#checkpoint"

// Checkpoint returns the digest job's checkpoint, "" when there is none. It is a hint for how far
// back to verify beyond VerifyWindow, never a reason to verify less.
func (s *Store) Checkpoint(ctx context.Context) (string, error) {
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{table.PK: sAttr(checkpointPK), table.SK: sAttr(checkpointPK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("audit: read the checkpoint: %w", err)
	}
	return str(out.Item, attrPeriod), nil
}

// SetCheckpoint records the last period verified without findings.
func (s *Store) SetCheckpoint(ctx context.Context, period string) error {
	if _, err := ParsePeriod(period); err != nil {
		return err
	}
	_, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.cfg.Table),
		Item:      map[string]types.AttributeValue{table.PK: sAttr(checkpointPK), table.SK: sAttr(checkpointPK), attrPeriod: sAttr(period)},
	})
	if err != nil {
		return fmt.Errorf("audit: write the checkpoint: %w", err)
	}
	return nil
}
