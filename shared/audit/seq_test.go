package audit_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// seqTrail is a period chain started at hour0 (empty) whose records are written by writers made
// when the test says, as Lambda makes one per execution environment.
type seqTrail struct {
	*periodEnv
	rewritten string // the record a case rewrote
}

func newSeqTrail(t *testing.T) *seqTrail {
	t.Helper()
	e := newPeriodEnv(t)
	e.clock.Set(hour0.Add(time.Hour + audit.SettleTime))
	if built, err := e.store.BuildDue(ctx(t)); err != nil || len(built) != 1 {
		t.Fatalf("genesis: %v, %+v", err, built)
	}
	return &seqTrail{periodEnv: e}
}

// writer is a new writer starting at start, over db (the table's client when nil).
func (tr *seqTrail) writer(start time.Time, db audit.DB) *audit.Store {
	tr.clock.Set(start)
	cfg := tr.cfg
	if db != nil {
		cfg.DB = db
	}
	return audit.New(cfg)
}

// at is a time in hour0+h.
func at(h int, minutes ...int) time.Time {
	t := hour0.Add(time.Duration(h) * time.Hour)
	for _, m := range minutes {
		t = t.Add(time.Duration(m) * time.Minute)
	}
	return t
}

func (tr *seqTrail) append(t *testing.T, w *audit.Store, when time.Time) audit.Record {
	t.Helper()
	r, err := w.Append(ctx(t), action(when, 7), leadPayload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// digest builds every period due up to hour0+h.
func (tr *seqTrail) digest(t *testing.T, h int) {
	t.Helper()
	tr.clock.Set(at(h + 1).Add(audit.SettleTime))
	if _, err := tr.store.BuildDue(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// verify checks hour0+first .. hour0+last (at the time of the last digest) and returns the
// findings as sorted "kind subject" lines, and the findings themselves.
func (tr *seqTrail) verify(t *testing.T, first, last int) (string, []audit.Finding) {
	t.Helper()
	var lines []string
	var all []audit.Finding
	_, err := tr.verifier.VerifyPeriods(ctx(t), period(first), period(last), func(f audit.Finding) {
		subject := f.RecordID
		if subject == "" {
			subject = f.Period
		}
		lines = append(lines, string(f.Kind)+" "+subject)
		all = append(all, f)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), all
}

var writerPattern = regexp.MustCompile(`^w_\d{8}T\d{6}Z_[a-z2-7]{16}$`)

// An insider with write access to the table deletes records before their period is digested: the
// digest then commits to the trail without them, and only the writers' numbers give them away.
func TestDeletedBeforeItsDigest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		write  func(t *testing.T, tr *seqTrail) (deleted []audit.Record, rewrite func(*testing.T))
		ranges [][2]int // ranges verified (hour offsets), each must give want
		want   string   // sorted "kind subject" lines; REC<n> is the n-th record deleted
		seqs   string   // what the missing-record findings say, e.g. "seq 2"
	}{
		{"a record in the middle of its hour", func(t *testing.T, tr *seqTrail) ([]audit.Record, func(*testing.T)) {
			w := tr.writer(at(1), nil)
			tr.append(t, w, at(1, 10))
			r := tr.append(t, w, at(1, 20))
			tr.append(t, w, at(1, 30))
			return []audit.Record{r}, nil
		}, [][2]int{{0, 2}, {1, 1}}, "missing-record " + period(1), "seq 2"},
		{"a writer's first record", func(t *testing.T, tr *seqTrail) ([]audit.Record, func(*testing.T)) {
			w := tr.writer(at(1, 5), nil)
			r := tr.append(t, w, at(1, 6))
			tr.append(t, w, at(1, 40))
			return []audit.Record{r}, nil
		}, [][2]int{{0, 2}, {1, 1}}, "missing-record " + period(1), "seq 1"},
		{"the middle of three across an hour boundary", func(t *testing.T, tr *seqTrail) ([]audit.Record, func(*testing.T)) {
			w := tr.writer(at(1, 50), nil)
			tr.append(t, w, at(1, 55))
			r := tr.append(t, w, at(1, 58))
			tr.append(t, w, at(2, 5))
			return []audit.Record{r}, nil
			// Verifying hour 2 alone reads back into hour 1 for the writer's earlier numbers.
		}, [][2]int{{0, 2}, {2, 2}}, "missing-record " + period(2), "seq 2"},
		{"several records in a row", func(t *testing.T, tr *seqTrail) ([]audit.Record, func(*testing.T)) {
			w := tr.writer(at(1), nil)
			tr.append(t, w, at(1, 1))
			a := tr.append(t, w, at(1, 2))
			b := tr.append(t, w, at(1, 3))
			tr.append(t, w, at(1, 4))
			return []audit.Record{a, b}, nil
		}, [][2]int{{0, 2}}, "missing-record " + period(1), "seqs 2-3"},
		{"a record, and a later record's skipped rewritten to declare it", func(t *testing.T, tr *seqTrail) ([]audit.Record, func(*testing.T)) {
			w := tr.writer(at(1), nil)
			tr.append(t, w, at(1, 10))
			r := tr.append(t, w, at(1, 20))
			later := tr.append(t, w, at(1, 30))
			return []audit.Record{r}, func(t *testing.T) {
				item := getItem(t, tr.env, key(later.ID))
				item["skipped"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{
					&types.AttributeValueMemberN{Value: "2"}, &types.AttributeValueMemberN{Value: "2"}}}
				rehash(t, item)
				putItem(t, tr.env, item)
				tr.rewritten = later.ID
			}
		}, [][2]int{{0, 2}}, "missing-record " + period(1) + "\ntag LATER", "seq 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newSeqTrail(t)
			deleted, rewrite := tc.write(t, tr)
			for _, r := range deleted {
				deleteItem(t, tr.env, key(r.ID))
			}
			if rewrite != nil {
				rewrite(t)
			}
			tr.digest(t, 3)
			for _, rg := range tc.ranges {
				got, all := tr.verify(t, rg[0], rg[1])
				want := strings.ReplaceAll(tc.want, "LATER", tr.rewritten)
				wantLines := strings.Split(want, "\n")
				sort.Strings(wantLines)
				if got != strings.Join(wantLines, "\n") {
					t.Fatalf("hours %d-%d: findings:\n%s\nwant:\n%s", rg[0], rg[1], got, strings.Join(wantLines, "\n"))
				}
				for _, f := range all {
					if f.Kind != audit.FindingMissingRecord {
						continue
					}
					if !strings.Contains(f.Detail, "writer "+deleted[0].Writer+" "+tc.seqs+":") || !writerPattern.MatchString(deleted[0].Writer) {
						t.Errorf("the finding does not name the writer and %s: %s", tc.seqs, f)
					}
					for _, phi := range phiStrings {
						if strings.Contains(f.String(), phi) {
							t.Errorf("a finding carries PHI: %s", f)
						}
					}
				}
			}
		})
	}
}

// The limit of a range: a record deleted after its writer's last record in the range is told by the
// writer's next record, so by a range that holds it (the digest job's always does, once that
// record's period is due), not by the range alone.
func TestAHoleAfterTheRangeIsTheNextRangesToTell(t *testing.T) {
	tr := newSeqTrail(t)
	w := tr.writer(at(1, 50), nil)
	tr.append(t, w, at(1, 55))
	r := tr.append(t, w, at(1, 58))
	tr.append(t, w, at(2, 5))
	deleteItem(t, tr.env, key(r.ID))
	tr.digest(t, 3)
	if got, _ := tr.verify(t, 0, 1); got != "" {
		t.Fatalf("hours 0-1: %s; want nothing (the writer's next record is in hour 2)", got)
	}
	if got, _ := tr.verify(t, 1, 2); got != "missing-record "+period(2) {
		t.Fatalf("hours 1-2: %q; want the hole", got)
	}
}

// flakyDB fails PutItem as told: before sending it (the record is not stored) or after (stored, but
// the writer cannot know: a timeout with an unknown outcome).
type flakyDB struct {
	audit.DB
	mu     sync.Mutex
	before int
	after  int
}

var errInjected = errors.New("injected: request timed out")

func (f *flakyDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	before, after := f.before > 0, f.after > 0 && f.before == 0
	if before {
		f.before--
	} else if after {
		f.after--
	}
	f.mu.Unlock()
	if before {
		return nil, errInjected
	}
	out, err := f.DB.PutItem(ctx, in, optFns...)
	if after && err == nil {
		return nil, errInjected
	}
	return out, err
}

// What happens to a writer without tampering is never a finding: numbers whose writes failed or
// were refused are declared by the writer's next records; concurrent and late records are in order.
func TestBenignSequencesHaveNoFinding(t *testing.T) {
	t.Run("a refused duplicate", func(t *testing.T) {
		tr := newSeqTrail(t)
		w := tr.writer(at(1), nil)
		k := newLeadKey(77)
		if _, isNew, err := w.RecordIfNew(ctx(t), k, webhook(at(1, 1), "req-1"), leadPayload); err != nil || !isNew {
			t.Fatalf("first delivery: %v, %v", isNew, err)
		}
		eventID, isNew, err := w.RecordIfNew(ctx(t), k, webhook(at(1, 2), "req-2"), leadPayload)
		if err != nil || isNew {
			t.Fatalf("redelivery: %v, %v; want a duplicate", isNew, err)
		}
		dup := webhook(at(1, 2), "req-2")
		dup.Kind, dup.Actor, dup.Outcome, dup.EventID = audit.KindWebhook, audit.WebhookActor, audit.OutcomeDuplicate, eventID
		r, err := w.Append(ctx(t), dup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != 3 || !slices.Equal(r.Skipped, []audit.SeqRange{{First: 2, Last: 2}}) {
			t.Fatalf("the duplicate's record: seq %d skipped %v; want seq 3 declaring 2 (the refused write)", r.Seq, r.Skipped)
		}
		tr.digest(t, 2)
		if got, _ := tr.verify(t, 0, 2); got != "" {
			t.Fatalf("findings:\n%s", got)
		}
	})
	for _, landed := range []bool{false, true} {
		t.Run(fmt.Sprintf("a write with an unknown outcome, stored: %v", landed), func(t *testing.T) {
			tr := newSeqTrail(t)
			db := &flakyDB{DB: tr.db}
			w := tr.writer(at(1), db)
			tr.append(t, w, at(1, 1))
			if landed {
				db.after = 1
			} else {
				db.before = 1
			}
			lost, err := w.Append(ctx(t), action(at(1, 2), 8), leadPayload)
			if !errors.Is(err, errInjected) {
				t.Fatalf("Append: %v, %+v; want the injected error", err, lost)
			}
			next := tr.append(t, w, at(1, 3))
			if !slices.Equal(next.Skipped, []audit.SeqRange{{First: 2, Last: 2}}) {
				t.Fatalf("the next record declares %v; want 2", next.Skipped)
			}
			tr.append(t, w, at(1, 4))
			tr.digest(t, 2)
			got, _ := tr.verify(t, 0, 2)
			if got != "" {
				t.Fatalf("findings:\n%s", got)
			}
			var stored int
			if err := tr.verifier.Day(ctx(t), "2025-03-15", func(r audit.Record) error {
				if r.Writer == next.Writer {
					stored++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 3, true: 4}[landed]; stored != want {
				t.Fatalf("%d records of the writer stored; want %d", stored, want)
			}
		})
	}
	t.Run("concurrent appends from one store", func(t *testing.T) {
		tr := newSeqTrail(t)
		w := tr.writer(at(1), nil)
		var mu sync.Mutex
		var seqs []int64
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				r, err := w.Append(ctx(t), action(at(1, i), int64(i)), nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, r.Seq)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(seqs)
		if len(seqs) != 40 || seqs[0] != 1 || seqs[39] != 40 || len(slices.Compact(seqs)) != 40 {
			t.Fatalf("numbers %v; want 1 to 40 once each", seqs)
		}
		tr.digest(t, 2)
		if got, _ := tr.verify(t, 0, 2); got != "" {
			t.Fatalf("findings:\n%s", got)
		}
	})
	t.Run("a late record: a higher number with an earlier time, across an hour boundary", func(t *testing.T) {
		tr := newSeqTrail(t)
		w := tr.writer(at(1, 59), nil)
		early := tr.append(t, w, at(2).Add(time.Second))       // seq 1, received 02:00:01
		late := tr.append(t, w, at(1, 59).Add(58*time.Second)) // seq 2, its request arrived 01:59:58
		if early.Seq != 1 || late.Seq != 2 || audit.PeriodOf(late.ReceivedAt) != period(1) {
			t.Fatalf("seq %d in %s, seq %d in %s", early.Seq, audit.PeriodOf(early.ReceivedAt), late.Seq, audit.PeriodOf(late.ReceivedAt))
		}
		tr.digest(t, 3)
		// Hour 1 alone holds seq 2 only: seq 1 is found one period past it. Hour 2 alone holds
		// seq 1 only, and reads back. Both together hold both.
		for _, rg := range [][2]int{{1, 1}, {2, 2}, {0, 3}} {
			if got, _ := tr.verify(t, rg[0], rg[1]); got != "" {
				t.Fatalf("hours %d-%d: findings:\n%s", rg[0], rg[1], got)
			}
		}
	})
}

// Writer and seq are all a record's place in the sequence says: the writer's start, random
// characters and a counter, never anything of the request.
func TestSequenceAttributesCarryNoPHI(t *testing.T) {
	tr := newSeqTrail(t)
	w := tr.writer(at(1), nil)
	k := newLeadKey(5)
	id, _, err := w.RecordIfNew(ctx(t), k, webhook(at(1, 1), "req-phi"), leadPayload)
	if err != nil {
		t.Fatal(err)
	}
	r := tr.append(t, w, at(1, 2))
	for _, rid := range []string{id, r.ID} {
		item := getItem(t, tr.env, key(rid))
		writer, _ := item["writer"].(*types.AttributeValueMemberS)
		seq, _ := item["seq"].(*types.AttributeValueMemberN)
		if writer == nil || !writerPattern.MatchString(writer.Value) || seq == nil || !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(seq.Value) {
			t.Fatalf("record %s: writer %v seq %v; want w_<time>_<random> and a number", rid, item["writer"], item["seq"])
		}
		if _, ok := item["skipped"]; ok {
			t.Errorf("record %s declares skipped numbers after writes that all succeeded", rid)
		}
	}
}
