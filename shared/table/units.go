package table

import (
	"bytes"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Write cost by DynamoDB's published rules, for performance figure P3: dynalite's ConsumedCapacity
// counts the base table only, and write units with indexes are what a write costs on demand.

// WriteUnitBytes is the size one write request unit covers.
const WriteUnitBytes = 1024

// Units are the write request units of one write: the base table's and each index's.
type Units struct {
	Table   float64
	Indexes map[string]float64
}

// Total is the table's units and every index's.
func (u Units) Total() float64 {
	t := u.Table
	for _, v := range u.Indexes {
		t += v
	}
	return t
}

// Add is u and v together.
func (u Units) Add(v Units) Units {
	out := Units{Table: u.Table + v.Table, Indexes: maps.Clone(u.Indexes)}
	if out.Indexes == nil {
		out.Indexes = map[string]float64{}
	}
	for k, x := range v.Indexes {
		out.Indexes[k] += x
	}
	return out
}

// WriteUnits is what a successful write that turns the item before into the item after costs on
// the table def describes (before nil: a new item; after nil: a deletion). The base table is charged
// for the larger of the two items; each global secondary index for its entries: a put when the item
// enters the index, a delete when it leaves, both when its index key changes, an update of the
// larger entry when a projected attribute changes, nothing when the index's view is unchanged.
func WriteUnits(def *dynamodb.CreateTableInput, before, after map[string]types.AttributeValue) Units {
	u := Units{Table: units(max(ItemSize(before), ItemSize(after))), Indexes: map[string]float64{}}
	tableKeys := keyNames(def.KeySchema)
	for _, gsi := range def.GlobalSecondaryIndexes {
		name := aws.ToString(gsi.IndexName)
		keys := keyNames(gsi.KeySchema)
		old, neu := project(before, keys, tableKeys, gsi.Projection), project(after, keys, tableKeys, gsi.Projection)
		switch {
		case old == nil && neu == nil:
		case old == nil:
			u.Indexes[name] = units(ItemSize(neu))
		case neu == nil:
			u.Indexes[name] = units(ItemSize(old))
		case !sameAttrs(old, neu, keys):
			u.Indexes[name] = units(ItemSize(old)) + units(ItemSize(neu))
		case !sameAttrs(old, neu, slices.Collect(maps.Keys(old))) || len(old) != len(neu):
			u.Indexes[name] = units(max(ItemSize(old), ItemSize(neu)))
		}
	}
	return u
}

// FailedWriteUnits is what a write refused by its condition costs: the base table is still charged
// for the item's size (the larger of the stored item and the one offered); no index changes.
func FailedWriteUnits(stored, offered map[string]types.AttributeValue) Units {
	return Units{Table: units(max(ItemSize(stored), ItemSize(offered))), Indexes: map[string]float64{}}
}

func units(size int) float64 {
	if size == 0 {
		return 0
	}
	return float64((size + WriteUnitBytes - 1) / WriteUnitBytes)
}

func keyNames(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName))
	}
	return out
}

// project is the index entry of item: nil when the item lacks an index key attribute (sparse).
func project(item map[string]types.AttributeValue, indexKeys, tableKeys []string, p *types.Projection) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	for _, k := range indexKeys {
		if _, ok := item[k]; !ok {
			return nil
		}
	}
	if p == nil || p.ProjectionType == types.ProjectionTypeAll {
		return item
	}
	out := map[string]types.AttributeValue{}
	for _, names := range [][]string{indexKeys, tableKeys, p.NonKeyAttributes} {
		for _, n := range names {
			if v, ok := item[n]; ok {
				out[n] = v
			}
		}
	}
	return out
}

// sameAttrs reports whether a and b hold equal values (by size and encoding) for every name.
func sameAttrs(a, b map[string]types.AttributeValue, names []string) bool {
	for _, n := range names {
		if !sameValue(a[n], b[n]) {
			return false
		}
	}
	return true
}

func sameValue(a, b types.AttributeValue) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var ba, bb bytes.Buffer
	encodeValue(&ba, a)
	encodeValue(&bb, b)
	return bytes.Equal(ba.Bytes(), bb.Bytes())
}

// encodeValue writes an unambiguous rendering of v, for comparison only.
func encodeValue(w *bytes.Buffer, v types.AttributeValue) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		w.WriteString("S" + v.Value + "\x00")
	case *types.AttributeValueMemberN:
		w.WriteString("N" + v.Value + "\x00")
	case *types.AttributeValueMemberB:
		w.WriteString("B")
		w.Write(v.Value)
		w.WriteByte(0)
	case *types.AttributeValueMemberBOOL:
		w.WriteString(map[bool]string{true: "T", false: "F"}[v.Value])
	case *types.AttributeValueMemberNULL:
		w.WriteString("0")
	case *types.AttributeValueMemberL:
		w.WriteString("L[")
		for _, e := range v.Value {
			encodeValue(w, e)
		}
		w.WriteString("]")
	case *types.AttributeValueMemberM:
		w.WriteString("M{")
		for _, k := range slices.Sorted(maps.Keys(v.Value)) {
			w.WriteString(k + "\x00")
			encodeValue(w, v.Value[k])
		}
		w.WriteString("}")
	case *types.AttributeValueMemberSS:
		w.WriteString("SS" + strings.Join(slices.Sorted(slices.Values(v.Value)), "\x00"))
	case *types.AttributeValueMemberNS:
		w.WriteString("NS" + strings.Join(slices.Sorted(slices.Values(v.Value)), "\x00"))
	case *types.AttributeValueMemberBS:
		w.WriteString("BS")
		for _, b := range v.Value {
			w.Write(b)
			w.WriteByte(0)
		}
	}
}

// ItemSize is an item's size by DynamoDB's rules: each attribute's name (UTF-8 bytes) plus its value.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize: strings and binaries their bytes; a number about one byte per two significant digits
// plus one (and one for a minus sign); true, false and null one byte; lists and maps 3 bytes plus
// one per element plus the elements (and, in a map, their names); sets their members.
func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	digits := strings.ReplaceAll(s, ".", "")
	digits = strings.TrimLeft(digits, "0")
	digits = strings.TrimRight(digits, "0")
	n := (len(digits)+1)/2 + 1
	if neg {
		n++
	}
	return n
}
