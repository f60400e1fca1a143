package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// countAttr holds the number of requests spent on the item's day. "count" is a DynamoDB reserved word,
// so expressions name it through a placeholder.
const countAttr = "count"

// ErrExhausted is matched (errors.Is) by the error Spend returns when the day's budget is spent.
var ErrExhausted = errors.New("daily WhatConverts request budget exhausted")

// ExhaustedError is the error Spend returns when the day's budget is spent. It says how long until the
// budget resets (00:00 UTC), for a Retry-After header.
type ExhaustedError struct {
	Limit      int64
	RetryAfter time.Duration
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("%s (limit %d, resets in %s)", ErrExhausted, e.Limit, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrExhausted) true.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// Store spends and reads per-key daily request counters in the project's table.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
	log   *slog.Logger
}

// Option configures a Store.
type Option func(*Store)

// WithLogger logs every spend ("whatconverts budget": key_id, used, limit, left) and every refusal
// ("whatconverts budget exhausted"): the stack's dashboard reads the budget left from these lines.
// The key ID is KeyID's hash, never the token.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithClock sets the clock that decides the UTC day (tests move it across midnight).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store on the named table (the schema of package table).
func New(db DynamoDB, tableName string, opts ...Option) *Store {
	s := &Store{db: db, table: tableName, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Spend spends one request of key's budget for today (UTC) if fewer than limit have been spent, and
// returns the count including this one. When limit requests have already been spent it spends nothing
// and returns an *ExhaustedError (errors.Is ErrExhausted). It costs exactly one write.
func (s *Store) Spend(ctx context.Context, key string, limit int64) (int64, error) {
	used, err := s.spend(ctx, key, limit)
	if s.log != nil {
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "whatconverts budget", "key_id", key, "used", used, "limit", limit, "left", limit-used)
		case errors.Is(err, ErrExhausted):
			s.log.WarnContext(ctx, "whatconverts budget exhausted", "key_id", key, "limit", limit, "left", 0)
		}
	}
	return used, err
}

func (s *Store) spend(ctx context.Context, key string, limit int64) (int64, error) {
	now := s.now()
	if limit <= 0 {
		return 0, &ExhaustedError{Limit: limit, RetryAfter: UntilReset(now)}
	}
	pk, sk := table.BudgetKey(key, table.Day(now))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			table.PK: &types.AttributeValueMemberS{Value: pk},
			table.SK: &types.AttributeValueMemberS{Value: sk},
		},
		// The TTL is set on the first spend of the day and then left alone.
		UpdateExpression:    aws.String("SET #exp = if_not_exists(#exp, :exp) ADD #n :one"),
		ConditionExpression: aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{
			"#n":   countAttr,
			"#exp": table.ExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.FormatInt(limit, 10)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(table.ExpiryAfter(now, table.BudgetRetention), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return limit, &ExhaustedError{Limit: limit, RetryAfter: UntilReset(now)}
		}
		return 0, fmt.Errorf("budget: spend: %w", err)
	}
	n, err := count(out.Attributes)
	if err != nil {
		return 0, fmt.Errorf("budget: spend: %w", err)
	}
	return n, nil
}

// Used returns how many requests of key's budget have been spent today (UTC).
func (s *Store) Used(ctx context.Context, key string) (int64, error) {
	return s.UsedOn(ctx, key, s.now())
}

// UsedOn returns how many requests of key's budget were spent on the UTC day of t. Counters are kept
// for table.BudgetRetention; an older day reads as 0.
func (s *Store) UsedOn(ctx context.Context, key string, t time.Time) (int64, error) {
	pk, sk := table.BudgetKey(key, table.Day(t))
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			table.PK: &types.AttributeValueMemberS{Value: pk},
			table.SK: &types.AttributeValueMemberS{Value: sk},
		},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#n"),
		ExpressionAttributeNames: map[string]string{"#n": countAttr},
	})
	if err != nil {
		return 0, fmt.Errorf("budget: read: %w", err)
	}
	if out.Item == nil {
		return 0, nil
	}
	n, err := count(out.Item)
	if err != nil {
		return 0, fmt.Errorf("budget: read: %w", err)
	}
	return n, nil
}

func count(item map[string]types.AttributeValue) (int64, error) {
	v, ok := item[countAttr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("counter attribute missing or not a number")
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, errors.New("counter attribute is not an integer")
	}
	return n, nil
}

// UntilReset is the time from now until the next 00:00 UTC, when WhatConverts resets daily limits.
func UntilReset(now time.Time) time.Duration {
	u := now.UTC()
	next := time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
	return next.Sub(u)
}

// KeyID identifies a WhatConverts API key by its token without revealing it: a domain-separated SHA-256
// of the token, 128 bits in hex. The secret is never part of it (the token alone names the key).
func KeyID(token string) string {
	sum := sha256.Sum256([]byte("wcbridge/whatconverts-key/v1\x00" + token))
	return hex.EncodeToString(sum[:16])
}
