package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// referenceHash is the canonical encoding of doc.go written the plain way: the whole encoding built
// in a buffer, then hashed. RecordHash streams it; the two must agree on every item.
func referenceHash(item map[string]types.AttributeValue) string {
	var b bytes.Buffer
	b.WriteString(recordDomain)
	var names []string
	for n := range item {
		if !unhashed[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	refLen(&b, len(names))
	for _, n := range names {
		refBytes(&b, []byte(n))
		refValue(&b, item[n])
	}
	sum := sha256.Sum256(b.Bytes())
	return hashPrefix + hex.EncodeToString(sum[:])
}

func refLen(b *bytes.Buffer, n int) { _ = binary.Write(b, binary.BigEndian, uint32(n)) }

func refBytes(b *bytes.Buffer, p []byte) { refLen(b, len(p)); b.Write(p) }

func refSet(b *bytes.Buffer, tag byte, members [][]byte) {
	sort.Slice(members, func(i, j int) bool { return bytes.Compare(members[i], members[j]) < 0 })
	b.WriteByte(tag)
	refLen(b, len(members))
	for _, m := range members {
		refBytes(b, m)
	}
}

func refValue(b *bytes.Buffer, v types.AttributeValue) {
	strs := func(ss []string) (out [][]byte) {
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		b.WriteByte('S')
		refBytes(b, []byte(v.Value))
	case *types.AttributeValueMemberN:
		b.WriteByte('N')
		refBytes(b, []byte(v.Value))
	case *types.AttributeValueMemberB:
		b.WriteByte('B')
		refBytes(b, v.Value)
	case *types.AttributeValueMemberBOOL:
		b.WriteByte(map[bool]byte{true: 'T', false: 'F'}[v.Value])
	case *types.AttributeValueMemberNULL:
		b.WriteByte('0')
	case *types.AttributeValueMemberSS:
		refSet(b, 's', strs(v.Value))
	case *types.AttributeValueMemberNS:
		refSet(b, 'n', strs(v.Value))
	case *types.AttributeValueMemberBS:
		refSet(b, 'b', append([][]byte(nil), v.Value...))
	case *types.AttributeValueMemberL:
		b.WriteByte('L')
		refLen(b, len(v.Value))
		for _, e := range v.Value {
			refValue(b, e)
		}
	case *types.AttributeValueMemberM:
		b.WriteByte('M')
		var keys []string
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		refLen(b, len(keys))
		for _, k := range keys {
			refBytes(b, []byte(k))
			refValue(b, v.Value[k])
		}
	}
}

// randomValue is any attribute value, nested up to depth, with strings and bytes from empty to
// several times the encoder's buffer, so that every path of the streaming encoder is taken.
func randomValue(r *rand.Rand, depth int) types.AttributeValue {
	str := func() string {
		return strings.Repeat(string(rune('a'+r.IntN(26))), []int{0, 1, 7, 255, 256, 257, 511, 600, 3000}[r.IntN(9)])
	}
	kinds := 8
	if depth > 0 {
		kinds = 10
	}
	switch r.IntN(kinds) {
	case 0:
		return &types.AttributeValueMemberS{Value: str()}
	case 1:
		return &types.AttributeValueMemberN{Value: fmt.Sprint(r.Int64())}
	case 2:
		return &types.AttributeValueMemberB{Value: []byte(str())}
	case 3:
		return &types.AttributeValueMemberBOOL{Value: r.IntN(2) == 0}
	case 4:
		return &types.AttributeValueMemberNULL{Value: true}
	case 5:
		return &types.AttributeValueMemberSS{Value: []string{str() + "z", str() + "b", "x" + str()}}
	case 6:
		return &types.AttributeValueMemberNS{Value: []string{"10", "9", fmt.Sprint(r.IntN(100))}}
	case 7:
		return &types.AttributeValueMemberBS{Value: [][]byte{[]byte(str() + "q"), {0}, []byte("b" + str())}}
	case 8:
		l := make([]types.AttributeValue, r.IntN(5))
		for i := range l {
			l[i] = randomValue(r, depth-1)
		}
		return &types.AttributeValueMemberL{Value: l}
	default:
		m := map[string]types.AttributeValue{}
		for range r.IntN(5) {
			m[str()+fmt.Sprint(r.IntN(1000))] = randomValue(r, depth-1)
		}
		return &types.AttributeValueMemberM{Value: m}
	}
}

// The streamed record hash is the hash of the canonical encoding as doc.go defines it, whatever the
// item: every kind of value, nested, short and long (the known-answer vector pins one item).
func TestRecordHashStreamsTheCanonicalEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		item := map[string]types.AttributeValue{attrHash: &types.AttributeValueMemberS{Value: "sha256:x"}}
		for range r.IntN(40) {
			item[fmt.Sprintf("a%d", r.IntN(1000))] = randomValue(r, 3)
		}
		got, err := RecordHash(item)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceHash(item); got != want {
			t.Fatalf("item %d: RecordHash %s, the canonical encoding hashes to %s", i, got, want)
		}
	}
}
