package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/table"
)

// DB is the part of the DynamoDB API the store uses: no DeleteItem, no Scan.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Crypter seals and opens the stored fingerprint and response (the envelope Encryptor is one).
type Crypter interface {
	Seal(ctx context.Context, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, aad, sealed []byte) ([]byte, error)
}

var _ Crypter = (*envelope.Encryptor)(nil)

// DefaultLease is how long a claim keeps other requests with its key out (ErrInProgress) before it is
// taken for abandoned: longer than any action may run (the functions time out after 28 s), so that a
// live request is never overtaken, and short enough that a crashed one does not block its key for long.
const DefaultLease = 60 * time.Second

// MaxKeyLen is the longest Idempotency-Key accepted (Stripe's limit).
const MaxKeyLen = 255

// Errors of Begin. Neither holds anything of the request.
var (
	// ErrInProgress means another request with the same key holds the claim and has not finished.
	ErrInProgress = errors.New("idempotency: a request with this key is still in progress")
	// ErrMismatch means the key was used for a request with another fingerprint (another body).
	ErrMismatch = errors.New("idempotency: the key was used with a different request")
	// ErrClaimLost means Complete or Release found the claim no longer held (its lease ran out and
	// another request took the key over).
	ErrClaimLost = errors.New("idempotency: the claim on the key was lost")
)

// Config is what a Store needs.
type Config struct {
	DB      DB
	Table   string
	Crypter Crypter
	// Lease is how long a claim is honoured (DefaultLease when zero).
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Store keeps idempotency records. It is safe for concurrent use.
type Store struct{ cfg Config }

// New returns a Store over cfg.
func New(cfg Config) *Store {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{cfg: cfg}
}

// Scope names one key: keys are per action and per caller, so two callers (or one caller's create and
// update) never see each other's responses.
type Scope struct {
	Action string // e.g. "create-lead"
	Caller string // the IAM principal ARN
	Key    string // the client's Idempotency-Key
}

// Response is a stored answer: its HTTP status and JSON body.
type Response struct {
	Status int
	Body   []byte
}

// Claim is the right to execute the request of a key, until Complete or Release.
type Claim struct {
	pk, sk string
	token  string
}

// ValidKey reports whether key is an acceptable Idempotency-Key: 1 to MaxKeyLen printable ASCII
// characters (0x20 to 0x7E).
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Fingerprint is the SHA-256 of parts, each preceded by its length, so that no two lists of parts
// hash alike ("a","bc" differs from "ab","c"). Callers pass the canonical request: method, path, body.
func Fingerprint(parts ...[]byte) [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write(p)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// Item attributes.
const (
	attrState      = "state"
	attrToken      = "token"
	attrFP         = "fingerprint"
	attrLeaseUntil = "lease_until" // epoch milliseconds
	attrStatus     = "status"
	attrResponse   = "response"
	attrCreatedAt  = "created_at"

	stateInProgress = "in_progress"
	stateCompleted  = "completed"
	stateReleased   = "released"
)

// maxBeginAttempts bounds Begin's put-then-read loop, which repeats only when the item changes
// between the two (a concurrent release or expiry).
const maxBeginAttempts = 3

// Begin claims scope for a request whose fingerprint is fp. Exactly one of its results is set:
//   - a *Claim: the caller executes the request, then calls Complete or Release;
//   - a *Response: the key was completed for the same fingerprint; answer it again, call nothing;
//   - an error: ErrInProgress or ErrMismatch (both 409 for callers), or a storage failure.
func (s *Store) Begin(ctx context.Context, scope Scope, fp [sha256.Size]byte) (*Claim, *Response, error) {
	if !ValidKey(scope.Key) || scope.Action == "" || scope.Caller == "" {
		return nil, nil, errors.New("idempotency: invalid scope")
	}
	pk, sk := ItemKey(scope)
	for range maxBeginAttempts {
		c, err := s.tryClaim(ctx, pk, sk, fp)
		if err == nil {
			return c, nil, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return nil, nil, err
		}
		item, err := s.get(ctx, pk, sk)
		if err != nil {
			return nil, nil, err
		}
		if item == nil || s.free(item) {
			continue // released or expired since the put: claim again
		}
		switch str(item, attrState) {
		case stateInProgress:
			return nil, nil, ErrInProgress
		case stateCompleted:
			r, err := s.replay(ctx, pk, item, fp)
			if err != nil {
				return nil, nil, err
			}
			return nil, r, nil
		default:
			return nil, nil, fmt.Errorf("idempotency: item in unknown state")
		}
	}
	return nil, nil, errors.New("idempotency: the key changed state during every claim attempt")
}

func (s *Store) tryClaim(ctx context.Context, pk, sk string, fp [sha256.Size]byte) (*Claim, error) {
	now := s.cfg.Now()
	token := newToken()
	sealedFP, err := s.cfg.Crypter.Seal(ctx, aad(pk, token, attrFP), fp[:])
	if err != nil {
		return nil, fmt.Errorf("idempotency: seal fingerprint: %w", err)
	}
	names := map[string]string{"#pk": table.PK, "#exp": table.ExpiresAt, "#state": attrState, "#lease": attrLeaseUntil}
	values := map[string]types.AttributeValue{
		":now":      nAttr(now.Unix()),
		":nowms":    nAttr(now.UnixMilli()),
		":released": sAttr(stateReleased),
		":inprog":   sAttr(stateInProgress),
	}
	_, err = s.cfg.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.cfg.Table),
		Item: map[string]types.AttributeValue{
			table.PK:        sAttr(pk),
			table.SK:        sAttr(sk),
			attrState:       sAttr(stateInProgress),
			attrToken:       sAttr(token),
			attrFP:          &types.AttributeValueMemberB{Value: sealedFP},
			attrLeaseUntil:  nAttr(now.Add(s.cfg.Lease).UnixMilli()),
			attrCreatedAt:   sAttr(table.SortTime(now)),
			table.ExpiresAt: nAttr(table.ExpiryAfter(now, table.IdempotencyRetention)),
		},
		// Free: never used, past its retention (TTL deletes lazily), released, or an abandoned claim;
		// or claimed by this very request, whose answer was lost (the token is the claim's own).
		ConditionExpression: table.OrOwnRetry("attribute_not_exists(#pk) OR #exp < :now OR #state = :released OR "+
			"(#state = :inprog AND #lease < :nowms)", attrToken, sAttr(token), names, values),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil, err
		}
		return nil, fmt.Errorf("idempotency: claim key: %w", err)
	}
	return &Claim{pk: pk, sk: sk, token: token}, nil
}

// free reports whether a claim would succeed on item now (the same test as tryClaim's condition).
func (s *Store) free(item map[string]types.AttributeValue) bool {
	now := s.cfg.Now()
	switch {
	case num(item, table.ExpiresAt) < now.Unix():
		return true
	case str(item, attrState) == stateReleased:
		return true
	case str(item, attrState) == stateInProgress && num(item, attrLeaseUntil) < now.UnixMilli():
		return true
	}
	return false
}

func (s *Store) get(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: read key: %w", err)
	}
	return out.Item, nil
}

// replay opens a completed item's fingerprint and, when it matches fp, its response.
func (s *Store) replay(ctx context.Context, pk string, item map[string]types.AttributeValue, fp [sha256.Size]byte) (*Response, error) {
	token := str(item, attrToken)
	stored, err := s.cfg.Crypter.Open(ctx, aad(pk, token, attrFP), bin(item, attrFP))
	if err != nil {
		return nil, fmt.Errorf("idempotency: open fingerprint: %w", err)
	}
	if !bytes.Equal(stored, fp[:]) {
		return nil, ErrMismatch
	}
	body, err := s.cfg.Crypter.Open(ctx, aad(pk, token, attrResponse), bin(item, attrResponse))
	if err != nil {
		return nil, fmt.Errorf("idempotency: open response: %w", err)
	}
	return &Response{Status: int(num(item, attrStatus)), Body: body}, nil
}

// Complete stores r as the answer of the claim's key, for replay until the key expires (24 hours
// after it was claimed). It fails with ErrClaimLost if the claim is no longer held.
func (s *Store) Complete(ctx context.Context, c *Claim, r Response) error {
	sealed, err := s.cfg.Crypter.Seal(ctx, aad(c.pk, c.token, attrResponse), r.Body)
	if err != nil {
		return fmt.Errorf("idempotency: seal response: %w", err)
	}
	resp := &types.AttributeValueMemberB{Value: sealed}
	return s.finish(ctx, c, "SET #state = :completed, #status = :status, #resp = :resp REMOVE #lease",
		map[string]types.AttributeValue{
			":completed": sAttr(stateCompleted),
			":status":    nAttr(int64(r.Status)),
			":resp":      resp,
		}, map[string]string{"#status": attrStatus, "#resp": attrResponse, "#lease": attrLeaseUntil},
		attrResponse, resp)
}

// Release gives the claim's key up, so that the next request with it executes again. It fails with
// ErrClaimLost if the claim is no longer held (which leaves the key as its new holder wants it).
func (s *Store) Release(ctx context.Context, c *Claim) error {
	return s.finish(ctx, c, "SET #state = :released REMOVE #fp",
		map[string]types.AttributeValue{":released": sAttr(stateReleased)},
		map[string]string{"#fp": attrFP}, "", nil)
}

// finish updates the claim's item while the claim holds it. When the update sets markAttr to mark (a
// value no other write uses), the SDK's retry of it after a lost answer succeeds too (table.OrOwnRetry).
func (s *Store) finish(ctx context.Context, c *Claim, update string, values map[string]types.AttributeValue, names map[string]string, markAttr string, mark types.AttributeValue) error {
	values[":token"] = sAttr(c.token)
	values[":inprog"] = sAttr(stateInProgress)
	names["#state"] = attrState
	names["#token"] = attrToken
	cond := aws.String("#token = :token AND #state = :inprog")
	if mark != nil {
		cond = table.OrOwnRetry(*cond, markAttr, mark, names, values)
	}
	_, err := s.cfg.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.cfg.Table),
		Key:                       key(c.pk, c.sk),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrClaimLost
	}
	if err != nil {
		return fmt.Errorf("idempotency: update key: %w", err)
	}
	return nil
}

// ItemKey is the table key of a scope's item (table.IdempotencyKey with the client's key hashed).
func ItemKey(scope Scope) (pk, sk string) {
	return table.IdempotencyKey(scope.Action, scope.Caller, keyDigest(scope.Key))
}

// keyDigest names a client's key in the table: a hash, so that a raw scan never shows text a client
// chose (a careless client might put a patient's name in it), and the item key stays short.
func keyDigest(key string) string {
	sum := sha256.Sum256([]byte("wcbridge-idempotency-key/v1\x00" + key))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// aad binds a sealed value to its item, its claim and its attribute.
func aad(pk, token, attr string) []byte {
	return envelope.AAD("wcbridge-idempotency/v1", pk, token, attr)
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.PK: sAttr(pk), table.SK: sAttr(sk)}
}

func sAttr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func nAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func bin(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}
