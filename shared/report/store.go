package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// DB is the part of the DynamoDB API the report store uses.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Attributes of a report item (key schema in package table: report#<date>, report).
const (
	attrDay         = "day"
	attrGeneratedAt = "generated_at"
	attrBody        = "report" // the report's JSON, exactly as GET /reports/{date} answers it
)

// MaxBodyBytes bounds a report's JSON so that its item stays under DynamoDB's 400 KB item limit
// with room for the key and the other attributes.
const MaxBodyBytes = 380_000

// shrinkSteps are the by_source sizes tried, in turn, when a report is over MaxBodyBytes.
var shrinkSteps = []int{10, 3, 0}

var (
	// ErrNotFound is returned by Get for a date without a report.
	ErrNotFound = errors.New("report: no report for the date")
	// ErrTooLarge is returned by Put for a report that stays over MaxBodyBytes even with every
	// source summed under "(other)" (several hundred profiles).
	ErrTooLarge = errors.New("report: the report is too large for one item")
)

// Store keeps one report per UTC date in the project's table.
type Store struct {
	db    DB
	table string
}

// NewStore returns the report store on the named table.
func NewStore(db DB, tableName string) *Store { return &Store{db: db, table: tableName} }

// Put stores r as the report of r.Date, replacing any report of that date in one PutItem: a reader
// sees the old report or the new one, never a mix. It keeps the item under DynamoDB's limit by
// naming fewer sources per profile when it must (10, then 3, then none; the rest under "(other)").
// The item expires table.AuditRetention after now. It returns the JSON stored.
func (s *Store) Put(ctx context.Context, r Report, now time.Time) ([]byte, error) {
	body, err := encode(r)
	if err != nil {
		return nil, err
	}
	pk, sk := table.ReportKey(r.Date)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			table.PK:        &types.AttributeValueMemberS{Value: pk},
			table.SK:        &types.AttributeValueMemberS{Value: sk},
			attrDay:         &types.AttributeValueMemberS{Value: r.Date},
			attrGeneratedAt: &types.AttributeValueMemberS{Value: r.GeneratedAt},
			attrBody:        &types.AttributeValueMemberS{Value: string(body)},
			table.ExpiresAt: &types.AttributeValueMemberN{Value: strconv.FormatInt(table.ExpiryAfter(now, table.AuditRetention), 10)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("report: store the report of %s: %w", r.Date, err)
	}
	return body, nil
}

// encode marshals r, naming fewer sources per profile until it fits MaxBodyBytes.
func encode(r Report) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("report: encode: %w", err)
	}
	for _, n := range shrinkSteps {
		if len(body) <= MaxBodyBytes {
			return body, nil
		}
		profiles := make([]Profile, len(r.Profiles))
		for i, p := range r.Profiles {
			p.BySource = topN(p.BySource, n)
			profiles[i] = p
		}
		r.Profiles = profiles
		if body, err = json.Marshal(r); err != nil {
			return nil, fmt.Errorf("report: encode: %w", err)
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes for %d profiles, at most %d", ErrTooLarge, len(body), len(r.Profiles), MaxBodyBytes)
	}
	return body, nil
}

// Get returns the stored JSON of the report of date (YYYY-MM-DD), or ErrNotFound.
func (s *Store) Get(ctx context.Context, date string) ([]byte, error) {
	pk, sk := table.ReportKey(date)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			table.PK: &types.AttributeValueMemberS{Value: pk},
			table.SK: &types.AttributeValueMemberS{Value: sk},
		},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#b"),
		ExpressionAttributeNames: map[string]string{"#b": attrBody},
	})
	if err != nil {
		return nil, fmt.Errorf("report: read the report of %s: %w", date, err)
	}
	body, ok := out.Item[attrBody].(*types.AttributeValueMemberS)
	if out.Item == nil || !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, date)
	}
	return []byte(body.Value), nil
}

// batchAttempts bounds the BatchGetItem calls of one GetRange: DynamoDB hands back what it did not
// read (over 16 MB, or throttled) as UnprocessedKeys, which are asked for again.
const batchAttempts = 8

// Stored is one stored report's JSON and its date.
type Stored struct {
	Date string
	Body []byte
}

// GetRange returns the stored reports of dates (at most 100, DynamoDB's batch limit), oldest first;
// dates without a report are left out. Strongly consistent, like Get.
func (s *Store) GetRange(ctx context.Context, dates []string) ([]Stored, error) {
	if len(dates) == 0 {
		return nil, nil
	}
	if len(dates) > 100 {
		return nil, fmt.Errorf("report: %d dates in one read, at most 100", len(dates))
	}
	keys := make([]map[string]types.AttributeValue, len(dates))
	for i, d := range dates {
		pk, sk := table.ReportKey(d)
		keys[i] = map[string]types.AttributeValue{
			table.PK: &types.AttributeValueMemberS{Value: pk},
			table.SK: &types.AttributeValueMemberS{Value: sk},
		}
	}
	request := map[string]types.KeysAndAttributes{s.table: {
		Keys:                     keys,
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#d, #b"),
		ExpressionAttributeNames: map[string]string{"#d": attrDay, "#b": attrBody},
	}}
	var out []Stored
	for attempt := 0; len(request) > 0; attempt++ {
		if attempt == batchAttempts {
			return nil, fmt.Errorf("report: read %d reports: DynamoDB left keys unread after %d attempts", len(dates), batchAttempts)
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(25<<attempt) * time.Millisecond):
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("report: read %d reports: %w", len(dates), err)
		}
		for _, item := range res.Responses[s.table] {
			day, ok1 := item[attrDay].(*types.AttributeValueMemberS)
			body, ok2 := item[attrBody].(*types.AttributeValueMemberS)
			if ok1 && ok2 {
				out = append(out, Stored{Date: day.Value, Body: []byte(body.Value)})
			}
		}
		request = res.UnprocessedKeys
	}
	slices.SortFunc(out, func(a, b Stored) int { return strings.Compare(a.Date, b.Date) })
	return out, nil
}
