package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

func TestEventID(t *testing.T) {
	k := DedupeKey{ProfileID: 51497, LeadID: 153928, Trigger: TriggerNewLead,
		LastUpdated: time.Date(2016, 1, 25, 17, 18, 20, 0, time.UTC), BodyHash: strings.Repeat("AB", 32)}
	t.Run("is evt_ and 26 base32 characters, derived from the key", func(t *testing.T) {
		id := EventID(k)
		if !regexp.MustCompile(`^evt_[a-z2-7]{26}$`).MatchString(id) {
			t.Fatalf("EventID = %q", id)
		}
		if EventID(k) != id {
			t.Fatal("EventID is not deterministic")
		}
	})
	t.Run("the key's canonical form holds IDs, the timestamp and the body hash", func(t *testing.T) {
		if got, want := k.String(), "wcbridge-dedupe/v2|51497|153928|new-lead|lu:2016-01-25T17:18:20Z|body:"+strings.Repeat("ab", 32); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
		b := k
		b.LastUpdated = time.Time{}
		if got, want := b.String(), "wcbridge-dedupe/v1|51497|153928|new-lead|body:"+strings.Repeat("ab", 32); got != want {
			t.Fatalf("String() = %q, want %q (unchanged since v1)", got, want)
		}
	})
	t.Run("the legacy form is the v1 key of a delivery with last_updated", func(t *testing.T) {
		got, ok := k.legacy()
		if want := "wcbridge-dedupe/v1|51497|153928|new-lead|lu:2016-01-25T17:18:20Z"; !ok || got != want {
			t.Fatalf("legacy() = %q, %t, want %q", got, ok, want)
		}
		b := k
		b.LastUpdated = time.Time{}
		if _, ok := b.legacy(); ok {
			t.Fatal("a key without last_updated has a legacy form: its v1 form never changed")
		}
	})
	t.Run("two states in the same second are two events", func(t *testing.T) {
		b := k
		b.BodyHash = strings.Repeat("cd", 32)
		if EventID(b) == EventID(k) {
			t.Fatal("another body hash, the same event ID")
		}
	})
	t.Run("incomplete keys are refused", func(t *testing.T) {
		for name, mutate := range map[string]func(*DedupeKey){
			"no profile":    func(k *DedupeKey) { k.ProfileID = 0 },
			"negative lead": func(k *DedupeKey) { k.LeadID = -1 },
			"raw trigger":   func(k *DedupeKey) { k.Trigger = "new" },
			"no body hash":  func(k *DedupeKey) { k.BodyHash = "" },
		} {
			bad := k
			mutate(&bad)
			if err := bad.validate(); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

func TestNewRecordID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewRecordID()
		if !regexp.MustCompile(`^rec_[a-z2-7]{26}$`).MatchString(id) || seen[id] {
			t.Fatalf("NewRecordID = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestRecordHash(t *testing.T) {
	r := Record{ID: "rec_a", Kind: KindAction, Actor: "arn:x", Action: "get-lead", ProfileID: 1001,
		LeadIDs: []int64{3, 1, 2}, Outcome: OutcomeOK, Status: 200, RequestID: "req",
		ReceivedAt: time.Date(2025, 3, 14, 9, 0, 0, 1, time.UTC), Sealed: []byte{1, 2, 3}}
	item := marshal(r)
	base, err := RecordHash(item)
	if err != nil {
		t.Fatal(err)
	}
	if !validHash(base) {
		t.Fatalf("hash %q is not sha256:<64 hex>", base)
	}
	with := func(name string, v types.AttributeValue) map[string]types.AttributeValue {
		c := map[string]types.AttributeValue{}
		for k, v := range item {
			c[k] = v
		}
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
		return c
	}
	t.Run("ignores only hash and the outbox attributes", func(t *testing.T) {
		for _, name := range []string{attrHash, table.OutboxPK, table.OutboxSK} {
			if h, _ := RecordHash(with(name, sAttr("anything"))); h != base {
				t.Errorf("%s changed the hash", name)
			}
		}
	})
	t.Run("changes with any other attribute", func(t *testing.T) {
		for name, v := range map[string]types.AttributeValue{
			attrActor:       sAttr("arn:y"),
			attrStatus:      nAttr(500),
			attrPHI:         &types.AttributeValueMemberB{Value: []byte{1, 2, 4}},
			attrLeadIDs:     &types.AttributeValueMemberL{Value: []types.AttributeValue{nAttr(1), nAttr(3), nAttr(2)}},
			table.DaySK:     sAttr("x"),
			table.ExpiresAt: nAttr(1),
			table.TriggerPK: sAttr("trigger#new-lead"),
			"extra":         &types.AttributeValueMemberBOOL{Value: true},
		} {
			if h, _ := RecordHash(with(name, v)); h == base {
				t.Errorf("setting %s did not change the hash", name)
			}
		}
		if h, _ := RecordHash(with(attrStatus, sAttr("200"))); h == base {
			t.Error("the same text with another type did not change the hash")
		}
		if h, _ := RecordHash(with(attrRequestID, nil)); h == base {
			t.Error("removing request_id did not change the hash")
		}
	})
	t.Run("does not depend on set order, which DynamoDB does not keep", func(t *testing.T) {
		a, _ := RecordHash(with("tags", &types.AttributeValueMemberSS{Value: []string{"x", "y", "z"}}))
		b, _ := RecordHash(with("tags", &types.AttributeValueMemberSS{Value: []string{"z", "x", "y"}}))
		if a != b {
			t.Error("string set order changed the hash")
		}
	})
	t.Run("attribute boundaries are unambiguous", func(t *testing.T) {
		a, _ := RecordHash(map[string]types.AttributeValue{"ab": sAttr("c")})
		b, _ := RecordHash(map[string]types.AttributeValue{"a": sAttr("bc")})
		if a == b {
			t.Error("ab=c and a=bc hash the same")
		}
	})
	t.Run("marshal and unmarshal round trip", func(t *testing.T) {
		item[attrHash] = sAttr(base)
		got, err := unmarshal(item)
		if err != nil {
			t.Fatal(err)
		}
		r.Hash = base
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", r) {
			t.Errorf("got  %+v\nwant %+v", got, r)
		}
	})
}

// mth is RFC 6962's Merkle tree hash, straight from its recursive definition.
func mth(leaves []leaf) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leafHash(leaves[0])
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func TestMerkleMatchesRFC6962(t *testing.T) {
	var leaves []leaf
	for n := 0; n <= 70; n++ {
		var m merkle
		for _, l := range leaves {
			m.add(l)
		}
		if !bytes.Equal(m.root(), mth(leaves)) {
			t.Fatalf("%d leaves: incremental root differs from the recursive definition", n)
		}
		h := sha256.Sum256([]byte{byte(n)})
		leaves = append(leaves, leaf{id: fmt.Sprintf("rec_%d", n), hash: h[:]})
	}
	a := mth([]leaf{{id: "rec_a", hash: leaves[0].hash}})
	b := mth([]leaf{{id: "rec_b", hash: leaves[0].hash}})
	if bytes.Equal(a, b) {
		t.Error("the leaf's record ID is not covered by the root")
	}
}

func TestOutOfOrder(t *testing.T) {
	for _, tc := range []struct {
		seq, want []int
	}{
		{nil, nil},
		{[]int{0, 1, 2, 3}, nil},
		{[]int{0, 2, 3, 4, 1}, []int{1}}, // 1 moved to the end
		{[]int{4, 0, 1, 2, 3}, []int{4}}, // 4 moved to the front
		{[]int{0, 1, 3, 2, 4}, []int{3}}, // a swap: one of the pair is named
		{[]int{5, 0, 1, 2, 3, 4, 7, 6}, []int{5, 7}},
	} {
		t.Run(fmt.Sprint(tc.seq), func(t *testing.T) {
			if got := outOfOrder(tc.seq); !slices.Equal(got, tc.want) {
				t.Errorf("outOfOrder = %v, want %v", got, tc.want)
			}
		})
	}
}
