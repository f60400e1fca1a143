package audit_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

const (
	day      = "2025-03-14"
	dayAfter = "2025-03-15"
	dayPrior = "2025-03-13"
)

var dayStart = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

// auditedDay writes records on day (YYYY-MM-DD at start) — events with PHI, their duplicates, actions
// — sets the clock after it and writes its legacy digest. It returns the records in key order.
func auditedDay(t *testing.T, e *env, start time.Time) []audit.Record {
	t.Helper()
	var recs []audit.Record
	for i := range 4 {
		at := start.Add(time.Duration(i+1) * time.Hour)
		k := newLeadKey(int64(start.Day()*100 + i))
		id, _, err := e.store.RecordIfNew(ctx(t), k, webhook(at, fmt.Sprintf("req-%d", i)), leadPayload)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.store.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		dup, err := e.store.Append(ctx(t), audit.Record{
			Kind: audit.KindWebhook, Actor: audit.WebhookActor, Outcome: audit.OutcomeDuplicate,
			EventID: id, Trigger: k.Trigger, ProfileID: k.ProfileID, LeadIDs: []int64{k.LeadID},
			Status: 200, ReceivedAt: at.Add(time.Minute),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		act, err := e.store.Append(ctx(t), action(at.Add(2*time.Minute), k.LeadID), leadPayload)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, ev, dup, act)
	}
	e.clock.Set(start.Add(24*time.Hour + audit.SettleTime))
	if _, err := e.store.WriteLegacyDigest(ctx(t), e.mac, start.Format("2006-01-02")); err != nil {
		t.Fatal(err)
	}
	return recs
}

func verify(t *testing.T, e *env, d string) audit.Report {
	t.Helper()
	rep, err := e.store.Verify(ctx(t), d)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// findings renders a report's findings as "kind id" lines, sorted for comparison.
func findings(rep audit.Report) string {
	var lines []string
	for _, f := range rep.Findings {
		lines = append(lines, string(f.Kind)+" "+f.RecordID)
	}
	return strings.Join(lines, "\n")
}

func key(id string) map[string]types.AttributeValue {
	pk, sk := table.AuditKey(id)
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func digestKey(d string) map[string]types.AttributeValue {
	pk, sk := table.DigestKey(d)
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func getItem(t *testing.T, e *env, k map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: k})
	if err != nil || out.Item == nil {
		t.Fatalf("get item: %v (found %v)", err, out != nil && out.Item != nil)
	}
	return out.Item
}

func putItem(t *testing.T, e *env, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func deleteItem(t *testing.T, e *env, k map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: k}); err != nil {
		t.Fatal(err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// rehash recomputes an item's stored hash, as an attacker covering their tracks would.
func rehash(t *testing.T, item map[string]types.AttributeValue) {
	t.Helper()
	h, err := audit.RecordHash(item)
	if err != nil {
		t.Fatal(err)
	}
	item["hash"] = s(h)
}

func TestVerifyDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, e *env, recs []audit.Record) (want string)
	}{
		{"untouched day is intact", func(*testing.T, *env, []audit.Record) string { return "" }},
		{"publishing an event (the one allowed mutation) keeps it intact", func(t *testing.T, e *env, recs []audit.Record) string {
			if err := e.store.MarkPublished(ctx(t), recs[0].ID); err != nil {
				t.Fatal(err)
			}
			return ""
		}},
		{"edit: an attribute changed", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[2].ID))
			item["actor"] = s("arn:aws:iam::123456789012:role/someone-else")
			putItem(t, e, item)
			return "edited " + recs[2].ID
		}},
		{"edit: attribute changed and hash recomputed", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[4].ID))
			item["outcome"] = s("ok")
			item["status"] = &types.AttributeValueMemberN{Value: "200"}
			rehash(t, item)
			putItem(t, e, item)
			return "edited " + recs[4].ID
		}},
		{"edit: ciphertext swapped", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[3].ID))
			item["phi"] = &types.AttributeValueMemberB{Value: recs[5].Sealed}
			putItem(t, e, item)
			return "edited " + recs[3].ID
		}},
		{"edit: an attribute added", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[1].ID))
			item["note"] = s("harmless?")
			putItem(t, e, item)
			return "edited " + recs[1].ID
		}},
		{"delete", func(t *testing.T, e *env, recs []audit.Record) string {
			deleteItem(t, e, key(recs[7].ID))
			return "deleted " + recs[7].ID
		}},
		{"insert: a copy under a new ID, hash made consistent", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[5].ID))
			newID := "rec_inserted0000000000000000"
			pk, _ := table.AuditKey(newID)
			item["pk"] = s(pk)
			item["day_sk"] = s(table.IndexSortKey(recs[5].ReceivedAt.Add(time.Second), newID))
			item["received_at"] = s(table.SortTime(recs[5].ReceivedAt.Add(time.Second)))
			rehash(t, item)
			putItem(t, e, item)
			return "inserted " + newID
		}},
		{"reorder: a record moved to the end of the day", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, key(recs[1].ID))
			late := dayStart.Add(23 * time.Hour)
			item["received_at"] = s(table.SortTime(late))
			item["day_sk"] = s(table.IndexSortKey(late, recs[1].ID))
			rehash(t, item)
			putItem(t, e, item)
			return "edited " + recs[1].ID + "\nreordered " + recs[1].ID
		}},
		{"forged: MAC changed", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, digestKey(day))
			mac := bytes.Clone(item["mac"].(*types.AttributeValueMemberB).Value)
			mac[0] ^= 1
			item["mac"] = &types.AttributeValueMemberB{Value: mac}
			putItem(t, e, item)
			return "forged "
		}},
		{"forged: record deleted, leaves, root and MAC recomputed without the key", func(t *testing.T, e *env, recs []audit.Record) string {
			deleteItem(t, e, key(recs[6].ID))
			forgeDigest(t, e, day)
			return "forged "
		}},
		{"forged: the digest's record count changed", func(t *testing.T, e *env, recs []audit.Record) string {
			item := getItem(t, e, digestKey(day))
			item["records"] = &types.AttributeValueMemberN{Value: "11"}
			putItem(t, e, item)
			return "forged \nleaves "
		}},
		{"leaves: a leaf hash changed in the digest", func(t *testing.T, e *env, recs []audit.Record) string {
			pk, sk := table.DigestLeavesKey(day, 0)
			item := getItem(t, e, map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)})
			leaves := item["leaves"].(*types.AttributeValueMemberS).Value
			item["leaves"] = s(strings.Replace(leaves, recs[0].Hash[len("sha256:"):], strings.Repeat("0", 64), 1))
			putItem(t, e, item)
			return "leaves \nedited " + recs[0].ID
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			recs := auditedDay(t, e, dayStart)
			want := tc.tamper(t, e, recs)
			rep := verify(t, e, day)
			if got := findings(rep); got != want {
				t.Errorf("findings:\n%s\nwant:\n%s\nreport: %+v", got, want, rep.Findings)
			}
			if rep.Intact() != (want == "") {
				t.Errorf("Intact() = %v", rep.Intact())
			}
		})
	}
}

// forgeDigest rebuilds a day's leaves, root and MAC from the table as it now is, with an HMAC key of
// the attacker's own: what someone who can write the table, but not use the digest key, can do.
func forgeDigest(t *testing.T, e *env, d string) {
	t.Helper()
	var lines strings.Builder
	var leafHashes [][]byte
	err := e.store.Day(ctx(t), d, func(r audit.Record) error {
		h, _ := hex.DecodeString(strings.TrimPrefix(r.Hash, "sha256:"))
		lines.WriteString(r.ID + " " + hex.EncodeToString(h) + "\n")
		lh := sha256.Sum256(append(append(append([]byte{0}, r.ID...), 0), h...))
		leafHashes = append(leafHashes, lh[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pk, sk := table.DigestLeavesKey(d, 0)
	leaves := getItem(t, e, map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)})
	leaves["leaves"] = s(lines.String())
	putItem(t, e, leaves)

	item := getItem(t, e, digestKey(d))
	forged := audit.Digest{
		Day: d, Records: len(leafHashes), Root: "sha256:" + hex.EncodeToString(testenv.MTH(leafHashes)),
		Previous: strOf(item["previous_digest"]),
	}
	mac := hmac.New(sha256.New, []byte("the attacker's own key"))
	mac.Write(forged.Statement())
	item["records"] = &types.AttributeValueMemberN{Value: fmt.Sprint(forged.Records)}
	item["root"] = s(forged.Root)
	item["mac"] = &types.AttributeValueMemberB{Value: mac.Sum(nil)}
	putItem(t, e, item)
}

func strOf(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func TestDigestChain(t *testing.T) {
	t.Run("consecutive days chain and verify", func(t *testing.T) {
		e := newEnv(t, true)
		auditedDay(t, e, dayStart.AddDate(0, 0, -1))
		auditedDay(t, e, dayStart)
		d, prior := verify(t, e, day).Digest, verify(t, e, dayPrior).Digest
		if d.Previous != prior.Value || prior.Previous != "" {
			t.Errorf("chain: %s → %s (previous of the first: %q)", prior.Value, d.Previous, prior.Previous)
		}
		for _, dd := range []string{dayPrior, day} {
			if rep := verify(t, e, dd); !rep.Intact() || rep.Records != 12 {
				t.Errorf("%s: %d records, findings %v", dd, rep.Records, rep.Findings)
			}
		}
	})
	t.Run("the previous day's digest deleted", func(t *testing.T) {
		e := newEnv(t, true)
		auditedDay(t, e, dayStart.AddDate(0, 0, -1))
		auditedDay(t, e, dayStart)
		deleteItem(t, e, digestKey(dayPrior))
		if got := findings(verify(t, e, day)); got != "chain-break " {
			t.Errorf("findings: %q, want a chain break", got)
		}
	})
	t.Run("the previous day rewritten and re-digested by the key holder", func(t *testing.T) {
		e := newEnv(t, true)
		prior := auditedDay(t, e, dayStart.AddDate(0, 0, -1))
		auditedDay(t, e, dayStart)
		deleteItem(t, e, key(prior[2].ID))
		deleteItem(t, e, digestKey(dayPrior))
		if _, err := e.store.WriteLegacyDigest(ctx(t), e.mac, dayPrior); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, e, dayPrior); !rep.Intact() {
			t.Fatalf("the re-digested day: %v", rep.Findings)
		}
		if got := findings(verify(t, e, day)); got != "chain-break " {
			t.Errorf("the next day's findings: %q, want a chain break", got)
		}
	})
	t.Run("a previous day digested after the day breaks its chain", func(t *testing.T) {
		e := newEnv(t, true)
		e.clock.Set(dayStart.AddDate(0, 0, -1))
		if _, err := e.store.Append(ctx(t), action(dayStart.Add(-time.Hour), 1), nil); err != nil {
			t.Fatal(err)
		}
		auditedDay(t, e, dayStart)
		if rep := verify(t, e, day); !rep.Intact() || rep.Digest.Previous != "" {
			t.Fatalf("a chain's first day: previous %q, findings %v", rep.Digest.Previous, rep.Findings)
		}
		if _, err := e.store.WriteLegacyDigest(ctx(t), e.mac, dayPrior); err != nil {
			t.Fatal(err)
		}
		if got := findings(verify(t, e, day)); got != "chain-break " {
			t.Errorf("findings: %q, want a chain break", got)
		}
	})
}

func TestVerifyLegacyDigests(t *testing.T) {
	t.Run("an empty day's digest verifies", func(t *testing.T) {
		e := newEnv(t, true)
		e.clock.Set(dayStart.AddDate(0, 0, 2))
		d, err := e.store.WriteLegacyDigest(ctx(t), e.mac, day)
		if err != nil {
			t.Fatal(err)
		}
		empty := sha256.Sum256(nil)
		if d.Records != 0 || d.Root != "sha256:"+hex.EncodeToString(empty[:]) {
			t.Errorf("empty day digest %+v", d)
		}
		if rep := verify(t, e, day); !rep.Intact() {
			t.Errorf("findings %v", rep.Findings)
		}
	})
	t.Run("many records span several leaf chunks", func(t *testing.T) {
		if testing.Short() {
			t.Skip("writes 2,100 records")
		}
		e := newEnv(t, true)
		var ids []string
		for i := range audit.LeavesPerChunk + 100 {
			r, err := e.store.Append(ctx(t), action(dayStart.Add(time.Duration(i)*time.Second), 1), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		e.clock.Set(dayStart.AddDate(0, 0, 2))
		if _, err := e.store.WriteLegacyDigest(ctx(t), e.mac, day); err != nil {
			t.Fatal(err)
		}
		deleteItem(t, e, key(ids[audit.LeavesPerChunk+50]))
		var progress []int
		rep, err := e.store.VerifyWithProgress(ctx(t), day, func(n int) { progress = append(progress, n) })
		if err != nil {
			t.Fatal(err)
		}
		if got := findings(rep); got != "deleted "+ids[audit.LeavesPerChunk+50] {
			t.Errorf("findings %q", got)
		}
		if fmt.Sprint(progress) != fmt.Sprint([]int{1000, 2000, 2099}) {
			t.Errorf("progress reported %v", progress)
		}
	})
}

func TestVerifyWithoutDigest(t *testing.T) {
	e := newEnv(t, true)
	if _, err := e.store.Verify(ctx(t), day); !errors.Is(err, audit.ErrNoDigest) {
		t.Fatalf("err = %v, want ErrNoDigest", err)
	}
}
