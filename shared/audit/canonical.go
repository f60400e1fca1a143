package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
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
//
// Every record written and every record verified is hashed, so the encoding is streamed into the
// hash through a small buffer rather than built whole (a sealed body is kilobytes), and names and set
// members are sorted in place of copies where they can be.
func RecordHash(item map[string]types.AttributeValue) (string, error) {
	var names [32]string // more than any record the store writes has
	sorted := names[:0]
	for n := range item {
		if !unhashed[n] {
			sorted = append(sorted, n)
		}
	}
	slices.Sort(sorted)
	e := encoder{h: sha256.New()}
	e.buf = e.scratch[:0]
	e.buf = append(e.buf, recordDomain...)
	e.len(len(sorted))
	for _, n := range sorted {
		e.str(n)
		if err := e.value(item[n]); err != nil {
			return "", fmt.Errorf("attribute %s: %w", n, err)
		}
	}
	e.flush()
	var sum [sha256.Size]byte
	return hashPrefix + hex.EncodeToString(e.h.Sum(sum[:0])), nil
}

// encoder writes the canonical encoding into a hash, gathering the small parts (tags, lengths,
// names) in buf and handing long values to the hash as they are.
type encoder struct {
	h       hash.Hash
	buf     []byte
	scratch [512]byte
}

// long is the length above which a value goes to the hash directly instead of through buf.
const long = 256

func (e *encoder) flush() {
	e.h.Write(e.buf)
	e.buf = e.buf[:0]
}

func (e *encoder) tag(t byte) { e.buf = append(e.buf, t) }

func (e *encoder) len(n int) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n)) }

// str writes a length-prefixed string.
func (e *encoder) str(s string) {
	e.len(len(s))
	if len(s) > long {
		e.flush()
		io.WriteString(e.h, s)
		return
	}
	if len(e.buf)+len(s) > cap(e.buf) {
		e.flush()
	}
	e.buf = append(e.buf, s...)
}

// bytes writes a length-prefixed byte string.
func (e *encoder) bytes(p []byte) {
	e.len(len(p))
	if len(p) > long {
		e.flush()
		e.h.Write(p)
		return
	}
	if len(e.buf)+len(p) > cap(e.buf) {
		e.flush()
	}
	e.buf = append(e.buf, p...)
}

// strSet writes a set of strings: DynamoDB does not keep the order of set members, so they are
// sorted (byte order, which is Go's string order).
func (e *encoder) strSet(t byte, members []string) {
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	e.tag(t)
	e.len(len(sorted))
	for _, m := range sorted {
		e.str(m)
	}
}

func (e *encoder) value(v types.AttributeValue) error {
	if len(e.buf) > len(e.scratch)-16 { // room for a tag and a length without a regrowth
		e.flush()
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		e.tag('S')
		e.str(v.Value)
	case *types.AttributeValueMemberN:
		e.tag('N')
		e.str(v.Value)
	case *types.AttributeValueMemberB:
		e.tag('B')
		e.bytes(v.Value)
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			e.tag('T')
		} else {
			e.tag('F')
		}
	case *types.AttributeValueMemberNULL:
		e.tag('0')
	case *types.AttributeValueMemberSS:
		e.strSet('s', v.Value)
	case *types.AttributeValueMemberNS:
		e.strSet('n', v.Value)
	case *types.AttributeValueMemberBS:
		sorted := slices.Clone(v.Value)
		slices.SortFunc(sorted, bytes.Compare)
		e.tag('b')
		e.len(len(sorted))
		for _, m := range sorted {
			e.bytes(m)
		}
	case *types.AttributeValueMemberL:
		e.tag('L')
		e.len(len(v.Value))
		for _, el := range v.Value {
			if err := e.value(el); err != nil {
				return err
			}
		}
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.tag('M')
		e.len(len(keys))
		for _, k := range keys {
			e.str(k)
			if err := e.value(v.Value[k]); err != nil {
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
