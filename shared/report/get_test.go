package report

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

const officer = "arn:aws:iam::123456789012:role/compliance-officer"

// getRequest is events/get-report.json with the date and caller replaced.
func getRequest(t *testing.T, date, caller string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("../../events/get-report.json")
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.PathParameters["date"] = date
	req.RequestContext.Identity.UserArn = caller
	return req
}

// storedReports is a report store over a fake table holding one report per date.
func storedReports(reports map[string]string) *Store {
	return NewStore(&fakeDB{
		GetItemFn: func(_ context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			pk := in.Key["pk"].(*types.AttributeValueMemberS).Value
			body, ok := reports[strings.TrimPrefix(pk, "report#")]
			if !ok {
				return &dynamodb.GetItemOutput{}, nil
			}
			return &dynamodb.GetItemOutput{Item: map[string]types.AttributeValue{attrBody: &types.AttributeValueMemberS{Value: body}}}, nil
		},
		BatchGetItemFn: func(_ context.Context, in *dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error) {
			var items []map[string]types.AttributeValue
			for _, k := range in.RequestItems["t"].Keys {
				date := strings.TrimPrefix(k["pk"].(*types.AttributeValueMemberS).Value, "report#")
				if body, ok := reports[date]; ok {
					items = append(items, map[string]types.AttributeValue{
						attrDay: &types.AttributeValueMemberS{Value: date}, attrBody: &types.AttributeValueMemberS{Value: body},
					})
				}
			}
			return &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{"t": items}}, nil
		},
	}, "t")
}

// allowAll is an access policy that permits everything.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string, int64) (bool, string, error) {
	return true, "test", nil
}

func TestGetReport(t *testing.T) {
	const stored = `{"date":"2026-11-28","generated_at":"2026-11-29T00:15:00Z","profiles":[{"profile_id":1001,"leads_total":3}]}`
	for _, tc := range []struct {
		name, date, caller string
		status             int
		code               string
		outcome            audit.Outcome
		actor              string
	}{
		{"a stored report is answered as stored", "2026-11-28", officer, 200, "", audit.OutcomeOK, officer},
		{"a date without a report is not found", "2026-11-27", officer, 404, "not_found", audit.OutcomeFailed, officer},
		{"a malformed date is invalid and named", "2026-13-01", officer, 400, "invalid_request", audit.OutcomeRejected, officer},
		{"a date with a path in it is invalid", "2026-11-28%2F..", officer, 400, "invalid_request", audit.OutcomeRejected, officer},
		{"no caller identity is forbidden", "2026-11-28", "", 403, "forbidden", audit.OutcomeRejected, UnauthenticatedActor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAudit{}
			at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			var logs testenv.Logs
			g := &Get{Reports: storedReports(map[string]string{"2026-11-28": stored}), Audit: fa, Access: allowAll{},
				Now: func() time.Time { return at }, Log: logs.Logger()}
			res, err := g.Handle(context.Background(), getRequest(t, tc.date, tc.caller))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tc.status, res.Body)
			}
			if tc.status == 200 {
				if res.Body != stored || res.Headers["Content-Type"] != "application/json" {
					t.Fatalf("body %s, want the stored report as JSON", res.Body)
				}
			} else {
				var e struct {
					Error struct {
						Code   string `json:"code"`
						Fields []struct {
							Field string `json:"field"`
						} `json:"fields"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Error.Code != tc.code {
					t.Fatalf("body %s, want code %s", res.Body, tc.code)
				}
				if tc.code == "invalid_request" && (len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != "date") {
					t.Fatalf("body %s does not name the date field", res.Body)
				}
				if strings.Contains(res.Body, tc.date) {
					t.Fatalf("the answer quotes the date it refused: %s", res.Body)
				}
			}
			recs := fa.records()
			if len(recs) != 1 {
				t.Fatalf("%d audit records, want 1", len(recs))
			}
			r := recs[0]
			if r.Kind != audit.KindReport || r.Action != ActionGetReport || r.Actor != tc.actor || r.Outcome != tc.outcome ||
				r.Status != tc.status || r.RequestID != "req-report-0001" || !r.ReceivedAt.Equal(at) {
				t.Fatalf("audit record %+v", r)
			}
			if tc.status == 400 && strings.Contains(logs.String(), tc.date) {
				t.Fatalf("a malformed date reached the log: %s", logs.String())
			}
		})
	}
}

func TestGetReportAnswers500WhenTheReadCannotBeAudited(t *testing.T) {
	fa := &fakeAudit{AppendFn: func(context.Context, audit.Record, []byte) (audit.Record, error) {
		return audit.Record{}, errors.New("audit: write record: throttled")
	}}
	g := &Get{Reports: storedReports(map[string]string{"2026-11-28": `{"date":"2026-11-28","profiles":[{"profile_id":1001}]}`}), Audit: fa, Access: allowAll{}}
	res, err := g.Handle(context.Background(), getRequest(t, "2026-11-28", officer))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 500 || strings.Contains(res.Body, "2026-11-28") || strings.Contains(res.Body, "throttled") {
		t.Fatalf("got %d %s, want a bare 500 (nothing given out unaudited)", res.StatusCode, res.Body)
	}
}

func TestGetReportAnswers500WhenTheTableFails(t *testing.T) {
	fa := &fakeAudit{}
	g := &Get{Reports: NewStore(&fakeDB{GetItemFn: func(context.Context, *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
		return nil, errors.New("dynamodb: ProvisionedThroughputExceededException")
	}}, "t"), Audit: fa}
	res, _ := g.Handle(context.Background(), getRequest(t, "2026-11-28", officer))
	if res.StatusCode != 500 || strings.Contains(res.Body, "dynamodb") {
		t.Fatalf("got %d %s", res.StatusCode, res.Body)
	}
	if recs := fa.records(); len(recs) != 1 || recs[0].Outcome != audit.OutcomeFailed || recs[0].Status != 500 {
		t.Fatalf("audit records %+v, want one failed with status 500", recs)
	}
}
