package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/table"
)

// clock is a settable clock shared by stores in a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)  { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func newClock(t time.Time) *clock { return &clock{t: t} }

func TestTwoStoresNeverSpendMoreThanTheLimitTogether(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	clk := newClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	// Two stores stand for two Lambda instances: same table, nothing shared in memory.
	stores := []*Store{New(db, tbl, WithClock(clk.Now)), New(db, tbl, WithClock(clk.Now))}
	key := KeyID("1001-0123456789abcdef")

	const limit, callers = 30, 50
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := stores[i%2].Spend(context.Background(), key, limit)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrExhausted):
				exhausted.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("unexpected error: %v", err)
	}
	if ok.Load() != limit || exhausted.Load() != callers-limit {
		t.Fatalf("%d spends succeeded and %d were refused; want %d and %d", ok.Load(), exhausted.Load(), limit, callers-limit)
	}
	for i, s := range stores {
		if used, err := s.Used(context.Background(), key); err != nil || used != limit {
			t.Fatalf("store %d: Used = %d, %v; want %d", i, used, err, limit)
		}
	}
}

func TestSpendCountsUpAndStopsAtTheLimit(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	clk := newClock(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	s := New(db, tbl, WithClock(clk.Now))
	key := KeyID("tok")
	for want := int64(1); want <= 3; want++ {
		if used, err := s.Spend(context.Background(), key, 3); err != nil || used != want {
			t.Fatalf("spend %d: got %d, %v", want, used, err)
		}
	}
	_, err := s.Spend(context.Background(), key, 3)
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.RetryAfter != time.Hour {
		t.Fatalf("4th spend: err = %v, want exhausted with an hour to go", err)
	}
	if used, _ := s.Used(context.Background(), key); used != 3 {
		t.Fatalf("a refused spend counted: used = %d", used)
	}
}

func TestALowerLimitKeepsTheRestOfTheBudget(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	s := New(db, tbl)
	key := KeyID("tok")
	// The report may spend while fewer than 2 are spent; actions may go on to 4.
	for range 2 {
		if _, err := s.Spend(context.Background(), key, 2); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Spend(context.Background(), key, 2); !errors.Is(err, ErrExhausted) {
		t.Fatalf("report share: err = %v, want exhausted", err)
	}
	for range 2 {
		if _, err := s.Spend(context.Background(), key, 4); err != nil {
			t.Fatalf("actions lost their share: %v", err)
		}
	}
	if _, err := s.Spend(context.Background(), key, 4); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full budget: err = %v, want exhausted", err)
	}
}

func TestTheBudgetResetsAtMidnightUTC(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	clk := newClock(time.Date(2026, 11, 28, 23, 59, 59, 0, time.UTC))
	s := New(db, tbl, WithClock(clk.Now))
	key := KeyID("tok")
	if _, err := s.Spend(context.Background(), key, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spend(context.Background(), key, 1); !errors.Is(err, ErrExhausted) {
		t.Fatalf("before midnight: err = %v, want exhausted", err)
	}
	clk.Set(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if used, err := s.Spend(context.Background(), key, 1); err != nil || used != 1 {
		t.Fatalf("after midnight: Spend = %d, %v; want a fresh day", used, err)
	}
	if used, err := s.UsedOn(context.Background(), key, time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)); err != nil || used != 1 {
		t.Fatalf("yesterday's count: %d, %v", used, err)
	}
}

func TestUsedIsZeroBeforeAnySpend(t *testing.T) {
	db := testenv.DynamoDB(t)
	s := New(db, testenv.Table(t, db))
	if used, err := s.Used(context.Background(), KeyID("tok")); err != nil || used != 0 {
		t.Fatalf("Used = %d, %v; want 0, nil", used, err)
	}
}

func TestTheStoredItemHoldsNoTokenAndExpires(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := New(db, tbl, WithClock(fixedClock(now)))
	const token, secret = "1001-0123456789abcdef", "fedcba9876543210fedcba9876543210"
	if _, err := s.Spend(context.Background(), KeyID(token), 10); err != nil {
		t.Fatal(err)
	}
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tbl)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d items, want 1", len(out.Items))
	}
	for name, v := range out.Items[0] {
		var s string
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			s = v.Value
		case *types.AttributeValueMemberN:
			s = v.Value
		}
		if strings.Contains(s, "0123456789abcdef") || strings.Contains(s, secret) {
			t.Fatalf("attribute %s holds the token", name)
		}
	}
	exp := out.Items[0][table.ExpiresAt].(*types.AttributeValueMemberN).Value
	if want := now.Add(table.BudgetRetention).Unix(); exp != strconv.FormatInt(want, 10) {
		t.Fatalf("expires_at = %s, want %d", exp, want)
	}
}

// The dashboard's "budget left" comes from these lines: each spend says what is left of its limit,
// and a refusal says the budget is gone. They name the key by its hash only.
func TestEverySpendLogsWhatIsLeft(t *testing.T) {
	db := testenv.DynamoDB(t)
	tbl := testenv.Table(t, db)
	logs := &testenv.Logs{}
	s := New(db, tbl, WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	const token = "1001-0123456789abcdef"
	key := KeyID(token)
	for range 3 {
		_, _ = s.Spend(context.Background(), key, 2)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Msg   string `json:"msg"`
			KeyID string `json:"key_id"`
			Used  int64  `json:"used"`
			Left  int64  `json:"left"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if l.KeyID != key {
			t.Errorf("line names key %q, want its hash %q", l.KeyID, key)
		}
		got = append(got, fmt.Sprintf("%s used=%d left=%d", l.Msg, l.Used, l.Left))
	}
	want := []string{"whatconverts budget used=1 left=1", "whatconverts budget used=2 left=0", "whatconverts budget exhausted used=0 left=0"}
	if !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("a budget line carries the API token")
	}
}
