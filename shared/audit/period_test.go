package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// memAnchor stands in for the S3 Object Lock bucket in this package's tests: write-once, out of the
// insider's reach (the tests' insider only has the table). The S3 anchor has its own tests.
type memAnchor struct {
	mu      sync.Mutex
	objects map[string][][]byte
}

func (a *memAnchor) Put(_ context.Context, name string, doc []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.objects == nil {
		a.objects = map[string][][]byte{}
	}
	if len(a.objects[name]) > 0 {
		return audit.ErrDigestExists
	}
	a.objects[name] = append(a.objects[name], doc)
	return nil
}

func (a *memAnchor) Get(_ context.Context, name string) ([]byte, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.objects[name]
	if len(v) == 0 {
		return nil, 0, nil
	}
	return v[len(v)-1], len(v), nil
}

// periodEnv is an env whose store signs period digests with a local-kms ECC_NIST_P256 key, anchors
// them in a memAnchor and checks tags; verifier is a store with the public key alone.
type periodEnv struct {
	*env
	anchor   *memAnchor
	verifier *audit.Store
}

func newPeriodEnv(t *testing.T) *periodEnv {
	t.Helper()
	e := newEnv(t, false)
	k := testenv.KMS(t)
	keyID, der := testenv.SigningKey(t, k)
	pub, err := audit.ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	pe := &periodEnv{env: e, anchor: &memAnchor{}}
	e.cfg.Signer, e.cfg.SigningKey, e.cfg.PublicKey, e.cfg.Anchor = k, keyID, pub, pe.anchor
	e.store = audit.New(e.cfg)
	vcfg := audit.Config{DB: e.db, Table: e.table, TagChecker: e.cfg.TagChecker, PublicKey: pub, Anchor: pe.anchor, Now: e.clock.Now}
	pe.verifier = audit.New(vcfg)
	return pe
}

// hour0 is the chain's genesis period in these tests; records are written in the three hours after.
var hour0 = time.Date(2025, 3, 15, 7, 0, 0, 0, time.UTC)

// auditedHours starts the chain at hour0 (empty), writes records in hour0+1 .. hour0+3 and builds
// their digests; it returns the records of hour0+2 in key order.
func auditedHours(t *testing.T, e *periodEnv) []audit.Record {
	t.Helper()
	e.clock.Set(hour0.Add(time.Hour + audit.SettleTime))
	if built, err := e.store.BuildDue(ctx(t)); err != nil || len(built) != 1 || built[0].Previous != "" {
		t.Fatalf("genesis: %v, %+v", err, built)
	}
	var middle []audit.Record
	for h := 1; h <= 3; h++ {
		for i := range 3 {
			at := hour0.Add(time.Duration(h)*time.Hour + time.Duration(i*10)*time.Minute)
			id, _, err := e.store.RecordIfNew(ctx(t), newLeadKey(int64(h*10+i)), webhook(at, fmt.Sprintf("req-%d-%d", h, i)), leadPayload)
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.store.Append(ctx(t), action(at.Add(time.Minute), int64(h*10+i)), leadPayload)
			if err != nil {
				t.Fatal(err)
			}
			if h == 2 {
				ev, _ := e.store.Get(ctx(t), id)
				middle = append(middle, ev, r)
			}
		}
	}
	e.clock.Set(hour0.Add(4*time.Hour + audit.SettleTime))
	built, err := e.store.BuildDue(ctx(t))
	if err != nil || len(built) != 3 {
		t.Fatalf("BuildDue: %v, %d digests; want 3", err, len(built))
	}
	sort.Slice(middle, func(i, j int) bool { return middle[i].ReceivedAt.Before(middle[j].ReceivedAt) })
	return middle
}

// verifyRange runs the verifier over hour0-1 .. hour0+5 (the last two not overdue yet) and returns
// the findings as sorted "kind subject" lines.
func verifyRange(t *testing.T, e *periodEnv) (string, audit.RangeReport) {
	t.Helper()
	e.clock.Set(hour0.Add(4*time.Hour + 40*time.Minute))
	var lines []string
	rep, err := e.verifier.VerifyPeriods(ctx(t), audit.PeriodOf(hour0.Add(-time.Hour)), audit.PeriodOf(hour0.Add(5*time.Hour)), func(f audit.Finding) {
		subject := f.RecordID
		if subject == "" {
			subject = f.Period
		}
		lines = append(lines, string(f.Kind)+" "+subject)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), rep
}

func period(h int) string { return audit.PeriodOf(hour0.Add(time.Duration(h) * time.Hour)) }

func leavesKey(p string, n int) map[string]types.AttributeValue {
	pk, sk := table.DigestLeavesKey(p, n)
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func TestPeriodChainIntact(t *testing.T) {
	e := newPeriodEnv(t)
	auditedHours(t, e)
	got, rep := verifyRange(t, e)
	if got != "" {
		t.Fatalf("an untouched trail has findings:\n%s", got)
	}
	// hour0-1 is before the chain; hour0 .. hour0+3 are digested (hour0 empty); hour0+4 and +5 are
	// not overdue yet.
	if rep.Digested != 4 || rep.Records != 18 || rep.BeforeChain != 1 || rep.Pending != 2 {
		t.Errorf("report %+v; want 4 periods digested, 18 records, 1 before the chain, 2 pending", rep)
	}
	for h, want := range map[int]bool{-1: false, 0: true, 3: true, 4: false} {
		if got, err := e.verifier.Digested(ctx(t), period(h)); err != nil || got != want {
			t.Errorf("Digested(%s) = %t, %v; want %t", period(h), got, err, want)
		}
	}
}

func TestAStoppedDigestJobIsAFinding(t *testing.T) {
	e := newPeriodEnv(t)
	auditedHours(t, e)
	e.clock.Set(hour0.Add(10 * time.Hour))
	var got []string
	_, err := e.verifier.VerifyPeriods(ctx(t), period(0), period(6), func(f audit.Finding) { got = append(got, string(f.Kind)+" "+f.Period) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "missing-period " + period(4) + "\nmissing-period " + period(5) + "\nmissing-period " + period(6)
	if strings.Join(got, "\n") != want {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// An insider with full write access to the table, and none to the keys or the anchor, tries each
// change; none passes as intact.
func TestPeriodInsiderCannotPassTamperingAsIntact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, e *periodEnv, recs []audit.Record)
		want   string // sorted "kind subject" lines
	}{
		{"edit a record", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			item := getItem(t, e.env, key(recs[1].ID))
			item["status"] = &types.AttributeValueMemberN{Value: "500"}
			putItem(t, e.env, item)
		}, "edited " + "REC1"},
		{"edit and re-hash a record", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			item := getItem(t, e.env, key(recs[1].ID))
			item["status"] = &types.AttributeValueMemberN{Value: "500"}
			rehash(t, item)
			putItem(t, e.env, item)
		}, "edited REC1\ntag REC1"},
		{"delete a record", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			deleteItem(t, e.env, key(recs[2].ID))
		}, "deleted REC2\nmissing-record " + period(2)},
		{"insert a record", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			item := getItem(t, e.env, key(recs[1].ID))
			pk, _ := table.AuditKey("rec_inserted")
			item["pk"] = s(pk)
			item["day_sk"] = s(table.IndexSortKey(recs[1].ReceivedAt.Add(time.Second), "rec_inserted"))
			rehash(t, item)
			putItem(t, e.env, item)
		}, "duplicate-seq rec_inserted\ninserted rec_inserted\ntag rec_inserted"}, // a copy carries its original's number
		{"reorder a record", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			item := getItem(t, e.env, key(recs[0].ID))
			item["day_sk"] = s(table.IndexSortKey(recs[4].ReceivedAt.Add(time.Second), recs[0].ID))
			item["received_at"] = s(table.SortTime(recs[4].ReceivedAt.Add(time.Second)))
			rehash(t, item)
			putItem(t, e.env, item)
		}, "reordered REC0\ntag REC0"},
		{"flip a byte of sealed PHI", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			item := getItem(t, e.env, key(recs[3].ID))
			phi := item["phi"].(*types.AttributeValueMemberB).Value
			phi[len(phi)/2] ^= 1
			putItem(t, e.env, item)
		}, "edited REC3"},
		{"delete a digest", func(t *testing.T, e *periodEnv, _ []audit.Record) {
			deleteItem(t, e.env, digestKey(period(2)))
		}, "digest-deleted " + period(2)},
		{"rebuild a digest", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			// Records changed, the digest and its leaves deleted, then the digest job asked to build
			// the period again: it refuses, the anchor holds the period's digest.
			deleteItem(t, e.env, key(recs[2].ID))
			deleteItem(t, e.env, digestKey(period(2)))
			deleteItem(t, e.env, leavesKey(period(2), 0))
			if _, err := e.store.BuildPeriod(ctx(t), period(2)); !errors.Is(err, audit.ErrDigestExists) {
				t.Fatalf("rebuilding an existing period: %v; want ErrDigestExists", err)
			}
			// The leaves went with the digest, so the records left are named as not in it.
		}, "digest-deleted " + period(2) + "\ninserted REC0\ninserted REC1\ninserted REC3\ninserted REC4\ninserted REC5\nleaves " + period(2) + "\nmissing-record " + period(2)},
		{"forge a digest item", func(t *testing.T, e *periodEnv, _ []audit.Record) {
			item := getItem(t, e.env, digestKey(period(2)))
			item["records"] = &types.AttributeValueMemberN{Value: "5"}
			putItem(t, e.env, item)
		}, "digest-differs " + period(2)},
		{"delete a whole period", func(t *testing.T, e *periodEnv, recs []audit.Record) {
			for _, r := range recs {
				deleteItem(t, e.env, key(r.ID))
			}
			deleteItem(t, e.env, digestKey(period(2)))
			deleteItem(t, e.env, leavesKey(period(2), 0))
			// The anchored digest says 6 records under its root; the table has none and no leaves. The
			// writer's numbers name the hole where its next record is.
		}, "digest-deleted " + period(2) + "\nleaves " + period(2) + "\nmissing-record " + period(3)},
		{"restart the chain", func(t *testing.T, e *periodEnv, _ []audit.Record) {
			// Every digest and the chain's marker gone from the table, then the digest job run: it
			// finds the head in the anchor and does not start a new chain.
			for h := 0; h <= 3; h++ {
				deleteItem(t, e.env, digestKey(period(h)))
			}
			deleteItem(t, e.env, map[string]types.AttributeValue{"pk": s("digest#chain"), "sk": s("digest#chain")})
			e.clock.Set(hour0.Add(4*time.Hour + audit.SettleTime))
			built, err := e.store.BuildDue(ctx(t))
			if err != nil || len(built) != 0 {
				t.Fatalf("BuildDue after the table lost its digests: %v, %d built; want none, no error", err, len(built))
			}
			if _, err := e.store.BuildPeriod(ctx(t), period(0)); !errors.Is(err, audit.ErrDigestExists) {
				t.Fatalf("rebuilding the genesis: %v; want ErrDigestExists", err)
			}
		}, "digest-deleted " + period(0) + "\ndigest-deleted " + period(1) + "\ndigest-deleted " + period(2) + "\ndigest-deleted " + period(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPeriodEnv(t)
			recs := auditedHours(t, e)
			tc.tamper(t, e, recs)
			got, _ := verifyRange(t, e)
			want := tc.want
			for i, r := range recs {
				want = strings.ReplaceAll(want, fmt.Sprintf("REC%d", i), r.ID)
			}
			wantLines := strings.Split(want, "\n")
			sort.Strings(wantLines)
			if got != strings.Join(wantLines, "\n") {
				t.Fatalf("findings:\n%s\nwant:\n%s", got, strings.Join(wantLines, "\n"))
			}
		})
	}
}

// Tampering before a period's digest exists: the record's tag still gives it away.
func TestTamperingBeforeTheDigest(t *testing.T) {
	e := newPeriodEnv(t)
	auditedHours(t, e)
	at := hour0.Add(4*time.Hour + 5*time.Minute)
	r, err := e.store.Append(ctx(t), action(at, 77), leadPayload)
	if err != nil {
		t.Fatal(err)
	}
	item := getItem(t, e.env, key(r.ID))
	item["lead_ids"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "78"}}}
	rehash(t, item)
	putItem(t, e.env, item)
	e.clock.Set(hour0.Add(5*time.Hour + audit.SettleTime))
	if _, err := e.store.BuildDue(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got, _ := verifyRange(t, e)
	if got != "tag "+r.ID {
		t.Fatalf("findings:\n%s\nwant: tag %s", got, r.ID)
	}
}

func TestBuildPeriodRefuses(t *testing.T) {
	e := newPeriodEnv(t)
	auditedHours(t, e)
	e.clock.Set(hour0.Add(6*time.Hour + audit.SettleTime))
	for _, tc := range []struct {
		name   string
		period string
		want   error
	}{
		{"a period with a digest", period(1), audit.ErrDigestExists},
		{"a period not over", period(6), audit.ErrPeriodNotOver},
		{"a period whose predecessor has no digest", period(5), audit.ErrChainBroken},
		{"a malformed period", "2025-03-15", audit.ErrInvalidQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.store.BuildPeriod(ctx(t), tc.period); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; want %v", err, tc.want)
			}
		})
	}
}
