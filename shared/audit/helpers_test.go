package audit_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// Synthetic PHI: none of these strings may ever be found in the table in clear.
const (
	phiName  = "Synthetic Patient Zed"
	phiEmail = "zed.patient@example.test"
	phiPhone = "+15550100999"
)

var phiStrings = []string{phiName, phiEmail, phiPhone}

// leadPayload is a webhook body holding the synthetic PHI.
var leadPayload = []byte(`{"trigger":"new","lead_id":153928,"profile_id":51497,"account_id":27313,` +
	`"lead_type":"Phone Call","contact_name":"` + phiName + `","contact_email_address":"` + phiEmail +
	`","contact_phone_number":"` + phiPhone + `","ip_address":"203.0.113.77","last_updated":"2025-03-14T17:18:20Z"}`)

// gcmSealer stands in for shared/envelope: AES-256-GCM under a fixed key, nonce prepended, AAD bound.
type gcmSealer struct{ aead cipher.AEAD }

func newGCMSealer(t testing.TB) *gcmSealer {
	t.Helper()
	block, err := aes.NewCipher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &gcmSealer{aead: aead}
}

func (g *gcmSealer) Seal(_ context.Context, aad, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, g.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return g.aead.Seal(nonce, nonce, plaintext, aad), nil
}

func (g *gcmSealer) Open(_ context.Context, aad, sealed []byte) ([]byte, error) {
	n := g.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed payload too short")
	}
	return g.aead.Open(nil, sealed[:n], sealed[n:], aad)
}

var (
	_ audit.Sealer = (*gcmSealer)(nil)
	_ audit.Opener = (*gcmSealer)(nil)
)

// clock is a settable time source for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// requests counts the DynamoDB requests a client sends, per operation, one per attempt (the
// middleware sits at the end of the finalize step, after the retry loop).
type requests struct {
	mu  sync.Mutex
	ops map[string]int
}

func (r *requests) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("countRequests",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				r.mu.Lock()
				if r.ops == nil {
					r.ops = map[string]int{}
				}
				r.ops[awsmiddleware.GetOperationName(ctx)]++
				r.mu.Unlock()
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// take returns the counts so far and starts again from zero.
func (r *requests) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := r.ops
	r.ops = nil
	if ops == nil {
		ops = map[string]int{}
	}
	return ops
}

func total(ops map[string]int) int {
	n := 0
	for _, c := range ops {
		n += c
	}
	return n
}

// env is a store over a fresh table of the local DynamoDB, with the fake sealer, a settable clock,
// a request counter, and a KMS HMAC key for digests when withMAC.
type env struct {
	store *audit.Store
	db    *dynamodb.Client // a plain client: what an attacker with table access has
	table string
	clock *clock
	reqs  *requests
	cfg   audit.Config
	mac   audit.Macer // the legacy digest key's holder (withMAC)
}

func newEnv(t *testing.T, withMAC bool) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)}, reqs: &requests{}}
	e.db = testenv.DynamoDB(t)
	e.table = testenv.Table(t, e.db)
	sealer := newGCMSealer(t)
	k := testenv.KMS(t)
	tagger := envelope.NewTagger(k, testenv.SymmetricKey(t, k), envelope.Options{})
	e.cfg = audit.Config{
		DB:         testenv.DynamoDB(t, e.reqs.option),
		Table:      e.table,
		Sealer:     sealer,
		Opener:     sealer,
		Tagger:     tagger,
		TagChecker: tagger,
		Now:        e.clock.Now,
	}
	if withMAC {
		e.cfg.MAC, e.cfg.DigestKeyID, e.mac = k, testenv.HMACKey(t, k), k
	}
	e.store = audit.New(e.cfg)
	return e
}

// action is a typical action record of a caller.
func action(at time.Time, leadIDs ...int64) audit.Record {
	return audit.Record{
		Kind:       audit.KindAction,
		Actor:      "arn:aws:iam::123456789012:role/crm-sync",
		Action:     "get-lead",
		ProfileID:  1001,
		LeadIDs:    leadIDs,
		Outcome:    audit.OutcomeOK,
		Status:     200,
		RequestID:  "req-" + at.Format("150405.000000000"),
		ReceivedAt: at,
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// hmacTagger stands in for envelope.Tagger in unit tests: HMAC-SHA-256 under one fixed key.
type hmacTagger struct{}

var hmacTagKey = bytes.Repeat([]byte{9}, 32)

func (hmacTagger) Tag(_ context.Context, msg []byte) ([]byte, []byte, error) {
	m := hmac.New(sha256.New, hmacTagKey)
	m.Write(msg)
	return []byte("unit-test-tag-key"), m.Sum(nil), nil
}

func (hmacTagger) Check(_ context.Context, wrapped, msg, tag []byte) (bool, error) {
	m := hmac.New(sha256.New, hmacTagKey)
	m.Write(msg)
	return string(wrapped) == "unit-test-tag-key" && hmac.Equal(m.Sum(nil), tag), nil
}
