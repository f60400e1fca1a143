package budget

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/table"
)

// fakeDB is a function-field fake of the DynamoDB client.
type fakeDB struct {
	UpdateItemFn func(context.Context, *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	GetItemFn    func(context.Context, *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
}

func (f *fakeDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return f.UpdateItemFn(ctx, in)
}

func (f *fakeDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.GetItemFn(ctx, in)
}

var _ DynamoDB = (*fakeDB)(nil)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestSpendIsOneConditionalWriteOnTodaysKey(t *testing.T) {
	now := time.Date(2026, 11, 28, 23, 59, 30, 0, time.UTC)
	var calls int
	var got *dynamodb.UpdateItemInput
	db := &fakeDB{UpdateItemFn: func(_ context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		calls++
		got = in
		return &dynamodb.UpdateItemOutput{Attributes: map[string]types.AttributeValue{
			"count": &types.AttributeValueMemberN{Value: "7"},
		}}, nil
	}}
	s := New(db, "tbl", WithClock(fixedClock(now)))
	used, err := s.Spend(context.Background(), "k1", 1000)
	if err != nil || used != 7 {
		t.Fatalf("Spend = %d, %v; want 7, nil", used, err)
	}
	if calls != 1 {
		t.Fatalf("%d writes, want exactly 1", calls)
	}
	pk, sk := table.BudgetKey("k1", "2026-11-28")
	if v := got.Key[table.PK].(*types.AttributeValueMemberS).Value; v != pk {
		t.Errorf("pk = %q, want %q", v, pk)
	}
	if v := got.Key[table.SK].(*types.AttributeValueMemberS).Value; v != sk {
		t.Errorf("sk = %q, want %q", v, sk)
	}
	if aws.ToString(got.TableName) != "tbl" {
		t.Errorf("table = %q", aws.ToString(got.TableName))
	}
	if c := aws.ToString(got.ConditionExpression); !strings.Contains(c, "attribute_not_exists(#n)") || !strings.Contains(c, "#n < :limit") {
		t.Errorf("condition %q does not bound the counter", c)
	}
	if v := got.ExpressionAttributeValues[":limit"].(*types.AttributeValueMemberN).Value; v != "1000" {
		t.Errorf(":limit = %s", v)
	}
	wantExp := strconv.FormatInt(now.Add(table.BudgetRetention).Unix(), 10)
	if v := got.ExpressionAttributeValues[":exp"].(*types.AttributeValueMemberN).Value; v != wantExp {
		t.Errorf("TTL %s, want %s (now + BudgetRetention)", v, wantExp)
	}
	if got.ExpressionAttributeNames["#exp"] != table.ExpiresAt {
		t.Errorf("TTL attribute %q, want %q", got.ExpressionAttributeNames["#exp"], table.ExpiresAt)
	}
	if got.ReturnValues != types.ReturnValueUpdatedNew {
		t.Errorf("ReturnValues = %s", got.ReturnValues)
	}
}

func TestSpendReportsExhaustionWithTimeToMidnightUTC(t *testing.T) {
	now := time.Date(2026, 11, 28, 22, 30, 0, 0, time.UTC)
	db := &fakeDB{UpdateItemFn: func(context.Context, *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}}
	_, err := New(db, "tbl", WithClock(fixedClock(now))).Spend(context.Background(), "k1", 1000)
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.RetryAfter != 90*time.Minute || ex.Limit != 1000 {
		t.Fatalf("err = %#v, want RetryAfter 1h30m and Limit 1000", err)
	}
}

func TestSpendWithNoShareLeftWritesNothing(t *testing.T) {
	db := &fakeDB{UpdateItemFn: func(context.Context, *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		t.Fatal("a spend against a zero limit must not reach the table")
		return nil, nil
	}}
	if _, err := New(db, "tbl").Spend(context.Background(), "k1", 0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
}

func TestSpendPassesOtherFailuresThrough(t *testing.T) {
	boom := errors.New("throttled")
	db := &fakeDB{UpdateItemFn: func(context.Context, *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return nil, boom
	}}
	_, err := New(db, "tbl").Spend(context.Background(), "k1", 10)
	if !errors.Is(err, boom) || errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want the table's error and not exhaustion", err)
	}
}

func TestUntilReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"just after midnight", time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), 24*time.Hour - time.Second},
		{"exactly midnight is a full day", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"last second of the year", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), time.Second},
		{"other time zones count in UTC", time.Date(2026, 3, 1, 16, 0, 0, 0, time.FixedZone("EST", -5*3600)), 3 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UntilReset(tc.now); got != tc.want {
				t.Fatalf("UntilReset = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestKeyIDHidesTheToken(t *testing.T) {
	token := "1001-0123456789abcdef"
	id := KeyID(token)
	if strings.Contains(id, token) || strings.Contains(id, "0123456789abcdef") || strings.Contains(id, "1001") {
		t.Fatalf("KeyID %q reveals the token", id)
	}
	if len(id) != 32 {
		t.Fatalf("KeyID %q: want 32 hex characters", id)
	}
	if KeyID(token) != id {
		t.Fatal("KeyID is not stable")
	}
	if KeyID("1002-0123456789abcdef") == id {
		t.Fatal("two tokens share a KeyID")
	}
}
