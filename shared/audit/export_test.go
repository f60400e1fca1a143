package audit

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// Macer makes the MAC of a legacy digest, as the HMAC key's holder did (kms:GenerateMac).
type Macer interface {
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
}

// WriteLegacyDigest writes a day's legacy daily digest in the format the daily report used to build
// (digest#<day>: leaf chunks of "<record_id> <hex hash>" lines, then the digest item with its MAC),
// over the day's records as they are now and chained to the previous day's digest. Nothing in the
// package builds legacy digests any more; the tests make the ones Verify must keep verifying.
func (s *Store) WriteLegacyDigest(ctx context.Context, mac Macer, day string) (Digest, error) {
	t, err := parseDay(day)
	if err != nil {
		return Digest{}, err
	}
	prev, err := s.readDigest(ctx, previousDay(t))
	if err != nil {
		return Digest{}, err
	}
	var (
		m      merkle
		chunks []string
		b      strings.Builder
		n      int
	)
	err = s.dayItems(ctx, day, func(item map[string]types.AttributeValue) error {
		l := leaf{id: recordIDOf(item), hash: hashBytes(str(item, attrHash))}
		m.add(l)
		b.WriteString(l.id + " " + hex.EncodeToString(l.hash) + "\n")
		if n++; n%LeavesPerChunk == 0 {
			chunks = append(chunks, b.String())
			b.Reset()
		}
		return nil
	})
	if err != nil {
		return Digest{}, err
	}
	if b.Len() > 0 || n == 0 {
		chunks = append(chunks, b.String())
	}
	d := Digest{Day: day, Records: n, Root: hashPrefix + hex.EncodeToString(m.root())}
	if prev != nil {
		d.Previous = prev.Value
	}
	d.Value = d.value()
	out, err := mac.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(s.cfg.DigestKeyID),
		MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256, Message: d.Statement()})
	if err != nil {
		return Digest{}, err
	}
	d.MAC, d.KeyID = out.Mac, aws.ToString(out.KeyId)
	put := func(item map[string]types.AttributeValue) error {
		_, err := s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item})
		return err
	}
	for i, c := range chunks {
		pk, sk := table.DigestLeavesKey(day, i)
		if err := put(map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk),
			attrFirst: nAttr(int64(i * LeavesPerChunk)), attrLeaves: sAttr(c)}); err != nil {
			return Digest{}, err
		}
	}
	pk, sk := table.DigestKey(day)
	item := map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk), "day": sAttr(day),
		attrRecords: nAttr(int64(n)), attrRoot: sAttr(d.Root), attrDigest: sAttr(d.Value),
		attrMAC: &types.AttributeValueMemberB{Value: d.MAC}, attrMACKeyID: sAttr(d.KeyID),
		"mac_algorithm": sAttr(string(kmstypes.MacAlgorithmSpecHmacSha256)), attrLeafChunks: nAttr(int64(len(chunks)))}
	if d.Previous != "" {
		item[attrPrevious] = sAttr(d.Previous)
	}
	if err := put(item); err != nil {
		return Digest{}, fmt.Errorf("write the legacy digest of %s: %w", day, err)
	}
	return d, nil
}
