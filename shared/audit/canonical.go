package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// hashPrefix is the label of record hashes and digest values.
const hashPrefix = "sha256:"

// recordDomain opens every record's canonical encoding, so that a record hash can never be confused
// with the hash of anything else.
const recordDomain = "wcbridge-audit-record/v1\n"

// unhashed are the only attributes of an audit item outside its hash: the hash itself, and the outbox
// index attributes that MarkPublished removes (the one mutation the store makes to an audit item).
// The tag and its wrapped key are outside it too: the tag is computed over the hash.
var unhashed = map[string]bool{attrHash: true, attrTag: true, attrTagKey: true, table.OutboxPK: true, table.OutboxSK: true}

// tagDomain opens the message a record's tag covers.
const tagDomain = "wcbridge-audit-tag/v1\n"

// TagMessage is what a record's tag is the MAC of: "wcbridge-audit-tag/v1\n" and the record hash
// ("sha256:<hex>"), which covers every other attribute of the record, its ID included.
func TagMessage(recordHash string) []byte { return []byte(tagDomain + recordHash) }

// RecordHash is the hash of an audit item as stored: "sha256:" and the lowercase hex SHA-256 of its
// canonical encoding (see doc.go). Every attribute counts, including ones the store never writes, so
// an attribute added by hand is an edit; only hash, tag, tag_key, outbox_pk and outbox_sk are left out.
func RecordHash(item map[string]types.AttributeValue) (string, error) {
	var b bytes.Buffer
	b.WriteString(recordDomain)
	names := make([]string, 0, len(item))
	for n := range item {
		if !unhashed[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	writeLen(&b, len(names))
	for _, n := range names {
		writeBytes(&b, []byte(n))
		if err := writeValue(&b, item[n]); err != nil {
			return "", fmt.Errorf("attribute %s: %w", n, err)
		}
	}
	sum := sha256.Sum256(b.Bytes())
	return hashPrefix + hex.EncodeToString(sum[:]), nil
}

func writeLen(b *bytes.Buffer, n int) {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(n))
	b.Write(l[:])
}

func writeBytes(b *bytes.Buffer, p []byte) {
	writeLen(b, len(p))
	b.Write(p)
}

// writeSorted writes a set: DynamoDB does not keep the order of set members, so they are sorted.
func writeSorted(b *bytes.Buffer, tag byte, members [][]byte) {
	sort.Slice(members, func(i, j int) bool { return bytes.Compare(members[i], members[j]) < 0 })
	b.WriteByte(tag)
	writeLen(b, len(members))
	for _, m := range members {
		writeBytes(b, m)
	}
}

func strs(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func writeValue(b *bytes.Buffer, v types.AttributeValue) error {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		b.WriteByte('S')
		writeBytes(b, []byte(v.Value))
	case *types.AttributeValueMemberN:
		b.WriteByte('N')
		writeBytes(b, []byte(v.Value))
	case *types.AttributeValueMemberB:
		b.WriteByte('B')
		writeBytes(b, v.Value)
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			b.WriteByte('T')
		} else {
			b.WriteByte('F')
		}
	case *types.AttributeValueMemberNULL:
		b.WriteByte('0')
	case *types.AttributeValueMemberSS:
		writeSorted(b, 's', strs(v.Value))
	case *types.AttributeValueMemberNS:
		writeSorted(b, 'n', strs(v.Value))
	case *types.AttributeValueMemberBS:
		writeSorted(b, 'b', append([][]byte(nil), v.Value...))
	case *types.AttributeValueMemberL:
		b.WriteByte('L')
		writeLen(b, len(v.Value))
		for _, e := range v.Value {
			if err := writeValue(b, e); err != nil {
				return err
			}
		}
	case *types.AttributeValueMemberM:
		b.WriteByte('M')
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		writeLen(b, len(keys))
		for _, k := range keys {
			writeBytes(b, []byte(k))
			if err := writeValue(b, v.Value[k]); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported attribute value type %T", v)
	}
	return nil
}

// validHash reports whether s has the form of a record hash.
func validHash(s string) bool {
	if !strings.HasPrefix(s, hashPrefix) || len(s) != len(hashPrefix)+64 {
		return false
	}
	_, err := hex.DecodeString(s[len(hashPrefix):])
	return err == nil && strings.ToLower(s) == s
}

// hashBytes returns the 32 bytes of a record hash; validHash(s) must hold.
func hashBytes(s string) []byte {
	p, _ := hex.DecodeString(s[len(hashPrefix):])
	return p
}
