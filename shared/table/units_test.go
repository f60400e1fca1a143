package table

import (
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestItemSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"a string is its name and its bytes", map[string]types.AttributeValue{"pk": s("abc")}, 5},
		{"a number is a byte per two significant digits, plus one", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1001"}}, 1 + 3},
		{"trailing and leading zeros are not significant", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "0012000"}}, 1 + 2},
		{"a negative number has one byte more", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-7"}}, 1 + 3},
		{"binary is its bytes", map[string]types.AttributeValue{"phi": &types.AttributeValueMemberB{Value: make([]byte, 2000)}}, 3 + 2000},
		{"a boolean is one byte", map[string]types.AttributeValue{"ok": &types.AttributeValueMemberBOOL{Value: true}}, 3},
		{"a list is 3 bytes plus one per element", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("ab"), s("c")}}}, 1 + 3 + 3 + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ItemSize(tc.item); got != tc.want {
				t.Errorf("ItemSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWriteUnits(t *testing.T) {
	def := Definition("units")
	big := &types.AttributeValueMemberB{Value: make([]byte, 2800)}
	record := func(outbox bool) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{
			PK: s("audit#evt_1"), SK: s("audit"), "phi": big,
			DayPK: s("day#2026-12-02#01"), DaySK: s("2026-12-02T00:00:00.000000000Z#evt_1"),
			TriggerPK: s("trigger#new-lead#2026-12-02#01"), TriggerSK: s("2026-12-02T00:00:00.000000000Z#evt_1"),
		}
		if outbox {
			it[OutboxPK], it[OutboxSK] = s("outbox#01"), s("2026-12-02T00:00:00.000000000Z#evt_1")
		}
		return it
	}
	entry := func(index string) float64 {
		for _, g := range def.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) == index && g.Projection.ProjectionType == types.ProjectionTypeAll {
				return 3 // the whole item, 2.8 KB of it sealed
			}
		}
		return 1
	}
	t.Run("a new item pays for itself and for every index it enters", func(t *testing.T) {
		u := WriteUnits(def, nil, record(true))
		if u.Table != 3 {
			t.Errorf("table units %v, want 3", u.Table)
		}
		for _, ix := range []string{IndexByDay, IndexByTrigger, IndexOutbox} {
			if u.Indexes[ix] != entry(ix) {
				t.Errorf("%s units %v, want %v", ix, u.Indexes[ix], entry(ix))
			}
		}
	})
	t.Run("leaving a sparse index rewrites the item, deletes that entry and updates every index projecting ALL", func(t *testing.T) {
		u := WriteUnits(def, record(true), record(false))
		want := map[string]float64{IndexOutbox: entry(IndexOutbox)}
		for _, ix := range []string{IndexByDay, IndexByTrigger} {
			if entry(ix) == 3 {
				want[ix] = 3
			}
		}
		if u.Table != 3 || !maps.Equal(u.Indexes, want) {
			t.Errorf("units %+v, want table 3 and indexes %v", u, want)
		}
	})
	t.Run("a refused write pays for the item's size only", func(t *testing.T) {
		u := FailedWriteUnits(record(false), record(true))
		if u.Table != 3 || u.Total() != 3 {
			t.Errorf("units %+v, want 3 on the table only", u)
		}
	})
	t.Run("an index whose view is unchanged costs nothing", func(t *testing.T) {
		a, b := record(false), record(false)
		b["note"] = s(strings.Repeat("x", 10))
		u := WriteUnits(def, a, b)
		for _, g := range def.GlobalSecondaryIndexes {
			if g.Projection.ProjectionType != types.ProjectionTypeAll && u.Indexes[aws.ToString(g.IndexName)] != 0 {
				t.Errorf("%s charged %v for an attribute it does not project", aws.ToString(g.IndexName), u.Indexes[aws.ToString(g.IndexName)])
			}
		}
	})
}
