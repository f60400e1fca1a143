package idempotency_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type env struct {
	db    *dynamodb.Client
	table string
	clock *clock
	store *idempotency.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testenv.DynamoDB(t)
	k := testenv.KMS(t)
	e := &env{db: db, table: testenv.Table(t, db), clock: newClock()}
	e.store = idempotency.New(idempotency.Config{
		DB: db, Table: e.table, Crypter: envelope.New(k, testenv.SymmetricKey(t, k), envelope.Options{}),
		Now: e.clock.Now,
	})
	return e
}

const phi = "pat.doe.synthetic@example.org"

var (
	scope = idempotency.Scope{Action: "create-lead", Caller: "arn:aws:iam::123456789012:role/crm", Key: "key-1"}
	fpA   = idempotency.Fingerprint([]byte("POST"), []byte("/leads"), []byte(`{"email_address":"`+phi+`"}`))
	fpB   = idempotency.Fingerprint([]byte("POST"), []byte("/leads"), []byte(`{"email_address":"other@example.org"}`))
	resp  = idempotency.Response{Status: 201, Body: []byte(`{"lead":{"lead_id":9000001,"email_address":"` + phi + `"}}`)}
)

func mustClaim(t *testing.T, e *env, s idempotency.Scope, fp [32]byte) *idempotency.Claim {
	t.Helper()
	c, r, err := e.store.Begin(context.Background(), s, fp)
	if err != nil || r != nil || c == nil {
		t.Fatalf("Begin: claim %v, response %v, err %v; want a claim", c, r, err)
	}
	return c
}

func TestBegin(t *testing.T) {
	ctx := context.Background()

	t.Run("the same key and body after completion replay the stored response", func(t *testing.T) {
		e := newEnv(t)
		c := mustClaim(t, e, scope, fpA)
		if err := e.store.Complete(ctx, c, resp); err != nil {
			t.Fatal(err)
		}
		c2, r, err := e.store.Begin(ctx, scope, fpA)
		if err != nil || c2 != nil || r == nil {
			t.Fatalf("Begin again: claim %v, response %v, err %v; want the stored response", c2, r, err)
		}
		if r.Status != resp.Status || !bytes.Equal(r.Body, resp.Body) {
			t.Fatalf("replayed %d %s, want %d %s", r.Status, r.Body, resp.Status, resp.Body)
		}
	})

	t.Run("the same key with another body after completion is a mismatch", func(t *testing.T) {
		e := newEnv(t)
		c := mustClaim(t, e, scope, fpA)
		if err := e.store.Complete(ctx, c, resp); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.Begin(ctx, scope, fpB); !errors.Is(err, idempotency.ErrMismatch) {
			t.Fatalf("err = %v, want ErrMismatch", err)
		}
	})

	t.Run("the same key while the first request runs is in progress, whatever the body", func(t *testing.T) {
		e := newEnv(t)
		mustClaim(t, e, scope, fpA)
		for _, fp := range [][32]byte{fpA, fpB} {
			if _, _, err := e.store.Begin(ctx, scope, fp); !errors.Is(err, idempotency.ErrInProgress) {
				t.Fatalf("err = %v, want ErrInProgress", err)
			}
		}
	})

	t.Run("a released key runs again, with any body", func(t *testing.T) {
		e := newEnv(t)
		c := mustClaim(t, e, scope, fpA)
		if err := e.store.Release(ctx, c); err != nil {
			t.Fatal(err)
		}
		mustClaim(t, e, scope, fpB)
	})

	t.Run("keys are scoped to the action and the caller", func(t *testing.T) {
		e := newEnv(t)
		mustClaim(t, e, scope, fpA)
		other := scope
		other.Caller = "arn:aws:iam::123456789012:role/someone-else"
		mustClaim(t, e, other, fpA)
		other = scope
		other.Action = "update-lead"
		mustClaim(t, e, other, fpA)
	})

	t.Run("an abandoned claim is taken over after its lease, and its holder learns it lost the key", func(t *testing.T) {
		e := newEnv(t)
		old := mustClaim(t, e, scope, fpA)
		e.clock.Advance(idempotency.DefaultLease + time.Second)
		fresh := mustClaim(t, e, scope, fpA)
		if err := e.store.Complete(ctx, old, resp); !errors.Is(err, idempotency.ErrClaimLost) {
			t.Fatalf("Complete by the old holder: err = %v, want ErrClaimLost", err)
		}
		if err := e.store.Complete(ctx, fresh, resp); err != nil {
			t.Fatalf("Complete by the new holder: %v", err)
		}
	})

	t.Run("a completed key is free again after 24 hours", func(t *testing.T) {
		e := newEnv(t)
		c := mustClaim(t, e, scope, fpA)
		if err := e.store.Complete(ctx, c, resp); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(23 * time.Hour)
		if _, r, err := e.store.Begin(ctx, scope, fpB); !errors.Is(err, idempotency.ErrMismatch) || r != nil {
			t.Fatalf("after 23 h: response %v, err %v; want ErrMismatch", r, err)
		}
		e.clock.Advance(2 * time.Hour)
		mustClaim(t, e, scope, fpB)
	})

	t.Run("of concurrent requests with one key exactly one runs", func(t *testing.T) {
		e := newEnv(t)
		const n = 8
		var claims, inProgress atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _, err := e.store.Begin(ctx, scope, fpA)
				switch {
				case c != nil:
					claims.Add(1)
				case errors.Is(err, idempotency.ErrInProgress):
					inProgress.Add(1)
				default:
					t.Errorf("Begin: %v", err)
				}
			}()
		}
		wg.Wait()
		if claims.Load() != 1 || inProgress.Load() != n-1 {
			t.Fatalf("claims %d, in progress %d; want 1 and %d", claims.Load(), inProgress.Load(), n-1)
		}
	})

	t.Run("an invalid key is refused before any write", func(t *testing.T) {
		e := newEnv(t)
		bad := scope
		bad.Key = ""
		if _, _, err := e.store.Begin(ctx, bad, fpA); err == nil {
			t.Fatal("Begin with an empty key succeeded")
		}
	})
}

func TestStoredItemsHoldNoPHI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := mustClaim(t, e, scope, fpA)
	if err := e.store.Complete(ctx, c, resp); err != nil {
		t.Fatal(err)
	}
	out, err := e.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d items, want 1", len(out.Items))
	}
	raw := testenv.ItemText(out.Items[0])
	for _, secret := range []string{phi, "9000001", hex.EncodeToString(fpA[:]), scope.Key} {
		if strings.Contains(raw, secret) || bytes.Contains([]byte(raw), []byte(secret)) {
			t.Errorf("the stored item holds %q in the clear", secret)
		}
	}
	if bytes.Contains([]byte(raw), fpA[:]) {
		t.Error("the stored item holds the raw fingerprint")
	}
}

func TestSealedResponseIsBoundToItsItem(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	victim := scope
	victim.Key = "victim"
	c := mustClaim(t, e, victim, fpA)
	if err := e.store.Complete(ctx, c, resp); err != nil {
		t.Fatal(err)
	}
	attacker := scope
	attacker.Key = "attacker"
	c = mustClaim(t, e, attacker, fpA)
	if err := e.store.Complete(ctx, c, idempotency.Response{Status: 201, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// Copy the victim's sealed fingerprint and response into the attacker's item.
	vpk, vsk := idempotency.ItemKey(victim)
	apk, ask := idempotency.ItemKey(attacker)
	v, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: keyOf(vpk, vsk)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(e.table), Key: keyOf(apk, ask),
		UpdateExpression:          aws.String("SET fingerprint = :fp, #r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "response"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":fp": v.Item["fingerprint"], ":r": v.Item["response"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, r, err := e.store.Begin(ctx, attacker, fpA); err == nil || r != nil {
		t.Fatalf("a spliced response replayed: %v, %v", r, err)
	}
}

func TestValidKey(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want bool
	}{
		{"a UUID", "5f0c6c8e-8a5d-4f0e-9a57-2f0c3b1d9e11", true},
		{"one character", "k", true},
		{"255 characters", strings.Repeat("k", 255), true},
		{"printable punctuation and space", "a b~!#$%", true},
		{"empty", "", false},
		{"256 characters", strings.Repeat("k", 256), false},
		{"a control character", "a\tb", false},
		{"DEL", "a\x7fb", false},
		{"non-ASCII", "clé", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := idempotency.ValidKey(c.key); got != c.want {
				t.Fatalf("ValidKey = %v, want %v", got, c.want)
			}
		})
	}
}

func TestFingerprintSeparatesParts(t *testing.T) {
	a := idempotency.Fingerprint([]byte("a"), []byte("bc"))
	b := idempotency.Fingerprint([]byte("ab"), []byte("c"))
	if a == b {
		t.Fatal(`("a","bc") and ("ab","c") hash alike`)
	}
	if a != idempotency.Fingerprint([]byte("a"), []byte("bc")) {
		t.Fatal("the same parts hash differently")
	}
}

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		table.PK: &types.AttributeValueMemberS{Value: pk}, table.SK: &types.AttributeValueMemberS{Value: sk},
	}
}

// The SDK retries a write whose answer was lost; the retry finds the item its own first attempt
// wrote. The claim and the completion must still be this request's (not 409, not a lost claim), as
// they are for the audit store (table.OrOwnRetry), while every other request is still refused.
func TestAWriteWhoseAnswerWasLost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	lossy := &testenv.LostAnswers{Op: "PutItem"}
	k := testenv.KMS(t)
	store := func(op string) *idempotency.Store {
		lossy.Op = op
		return idempotency.New(idempotency.Config{
			DB: testenv.DynamoDB(t, lossy.Option), Table: e.table, Now: e.clock.Now,
			Crypter: envelope.New(k, testenv.SymmetricKey(t, k), envelope.Options{}),
		})
	}

	t.Run("Begin: the retried claim is the caller's, and the key is still held against others", func(t *testing.T) {
		s := store("PutItem")
		lossy.LoseNext(1)
		before := lossy.Count()
		c, r, err := s.Begin(ctx, scope, fpA)
		if lossy.Count() != before+1 {
			t.Fatal("no answer was lost: the situation under test did not happen")
		}
		if err != nil || r != nil || c == nil {
			t.Fatalf("Begin after a lost answer: claim %v, response %v, err %v; want the claim", c, r, err)
		}
		if _, _, err := s.Begin(ctx, scope, fpA); !errors.Is(err, idempotency.ErrInProgress) {
			t.Fatalf("another request with the key: %v, want ErrInProgress", err)
		}
		if err := s.Complete(ctx, c, resp); err != nil {
			t.Fatalf("Complete on the retried claim: %v", err)
		}
	})

	t.Run("Complete: the retried completion succeeds and is replayed", func(t *testing.T) {
		s := store("UpdateItem")
		sc := scope
		sc.Key = "key-lost-complete"
		c, _, err := s.Begin(ctx, sc, fpA)
		if err != nil || c == nil {
			t.Fatalf("Begin: %v", err)
		}
		lossy.LoseNext(1)
		before := lossy.Count()
		if err := s.Complete(ctx, c, resp); err != nil {
			t.Fatalf("Complete after a lost answer: %v, want success (the answer is stored)", err)
		}
		if lossy.Count() != before+1 {
			t.Fatal("no answer was lost: the situation under test did not happen")
		}
		if err := s.Complete(ctx, c, resp); !errors.Is(err, idempotency.ErrClaimLost) {
			t.Fatalf("a second Complete (not a retry): %v, want ErrClaimLost", err)
		}
		if _, r, err := s.Begin(ctx, sc, fpA); err != nil || r == nil || r.Status != resp.Status {
			t.Fatalf("replay: %v %v", r, err)
		}
	})
}
