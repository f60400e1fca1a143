package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// fakeWC is a function-field fake of the WhatConverts client.
type fakeWC struct {
	PagesFn      func(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error]
	LeadFn       func(ctx context.Context, k whatconverts.KeyFor, id int64) (whatconverts.Lead, error)
	CreateLeadFn func(ctx context.Context, k whatconverts.KeyFor, p whatconverts.CreateParams) (whatconverts.Lead, error)
	EditLeadFn   func(ctx context.Context, k whatconverts.KeyFor, id int64, p whatconverts.EditParams) (whatconverts.Lead, error)
}

func (f *fakeWC) Pages(ctx context.Context, k whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
	return f.PagesFn(ctx, k, p)
}
func (f *fakeWC) Lead(ctx context.Context, k whatconverts.KeyFor, id int64) (whatconverts.Lead, error) {
	return f.LeadFn(ctx, k, id)
}
func (f *fakeWC) CreateLead(ctx context.Context, k whatconverts.KeyFor, p whatconverts.CreateParams) (whatconverts.Lead, error) {
	return f.CreateLeadFn(ctx, k, p)
}
func (f *fakeWC) EditLead(ctx context.Context, k whatconverts.KeyFor, id int64, p whatconverts.EditParams) (whatconverts.Lead, error) {
	return f.EditLeadFn(ctx, k, id, p)
}

// fakeAudit records what is appended, or fails with Err.
type fakeAudit struct {
	mu       sync.Mutex
	Err      error
	Records  []audit.Record
	Payloads [][]byte
}

func (f *fakeAudit) Append(_ context.Context, r audit.Record, payload []byte) (audit.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return audit.Record{}, f.Err
	}
	r.ID = fmt.Sprintf("rec_%d", len(f.Records)+1)
	f.Records = append(f.Records, r)
	f.Payloads = append(f.Payloads, payload)
	return r, nil
}

var testCreds = whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{1001: {Token: "t-1001", Secret: "s"}}}

func lead(t testing.TB, js string) whatconverts.Lead {
	t.Helper()
	var l whatconverts.Lead
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

const caller = "arn:aws:iam::123456789012:role/crm-sync"

func TestUpstreamDeadline(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		deadline time.Time
	}{
		{"one second before the invocation's deadline when that comes first",
			func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), now.Add(10*time.Second))
			}, now.Add(9 * time.Second)},
		{"25 seconds when the invocation has longer",
			func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), now.Add(15*time.Minute))
			}, now.Add(25 * time.Second)},
		{"25 seconds when the invocation has no deadline",
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			now.Add(25 * time.Second)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got time.Time
			wc := &fakeWC{LeadFn: func(ctx context.Context, _ whatconverts.KeyFor, id int64) (whatconverts.Lead, error) {
				got, _ = ctx.Deadline()
				return lead(t, `{"lead_id": 7, "profile_id": 1001, "last_updated": "2026-11-28T10:00:00Z"}`), nil
			}}
			svc := actions.NewService(actions.Deps{WhatConverts: wc, Credentials: testCreds, Audit: &fakeAudit{},
				Now: func() time.Time { return now }})
			ctx, cancel := c.ctx()
			defer cancel()
			res := svc.GetLead(ctx, actions.Call{Actor: caller}, actions.GetLeadInput{ProfileID: 1001, LeadID: 7})
			if res.Status != http.StatusOK {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			if !got.Equal(c.deadline) {
				t.Fatalf("WhatConverts deadline = now+%s, want now+%s", got.Sub(now), c.deadline.Sub(now))
			}
		})
	}
}

func TestPartialAnswersAreReadBack(t *testing.T) {
	full := `{"lead_id": 5, "profile_id": 1001, "last_updated": "2026-11-28T10:00:00Z", "quotable": "Yes"}`
	cases := []struct {
		name     string
		readErr  error
		wantBody string
	}{
		{"a bare {lead_id} is completed by a read", nil, full},
		{"a failed read keeps the partial answer: the change is made", errors.New("boom"), `{"lead_id": 5}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reads := 0
			wc := &fakeWC{
				CreateLeadFn: func(context.Context, whatconverts.KeyFor, whatconverts.CreateParams) (whatconverts.Lead, error) {
					return lead(t, `{"lead_id": 5}`), nil
				},
				EditLeadFn: func(context.Context, whatconverts.KeyFor, int64, whatconverts.EditParams) (whatconverts.Lead, error) {
					return lead(t, `{"lead_id": 5}`), nil
				},
				LeadFn: func(_ context.Context, _ whatconverts.KeyFor, id int64) (whatconverts.Lead, error) {
					reads++
					if c.readErr != nil {
						return whatconverts.Lead{}, c.readErr
					}
					return lead(t, full), nil
				},
			}
			svc := actions.NewService(actions.Deps{WhatConverts: wc, Credentials: testCreds, Audit: &fakeAudit{},
				Logger: slog.New(slog.DiscardHandler)})
			quote := "yes"
			results := map[string]actions.Result{
				"create": svc.CreateLead(context.Background(), actions.Call{Actor: caller},
					actions.CreateLeadInput{ProfileID: 1001, LeadType: whatconverts.LeadTypeWebForm}),
				"update": svc.UpdateLead(context.Background(), actions.Call{Actor: caller},
					actions.UpdateLeadInput{ProfileID: 1001, LeadID: 5, Quotable: whatconverts.Quotable(quote)}),
			}
			for name, res := range results {
				var body struct{ Lead json.RawMessage }
				if err := json.Unmarshal(res.Body, &body); err != nil || res.Status >= 300 {
					t.Fatalf("%s: %d %s", name, res.Status, res.Body)
				}
				if !jsonEqual(body.Lead, []byte(c.wantBody)) {
					t.Errorf("%s answered lead %s, want %s", name, body.Lead, c.wantBody)
				}
			}
			if reads != 2 {
				t.Fatalf("%d reads, want one per change", reads)
			}
		})
	}
}

func TestFailedAuditWriteFailsTheRequest(t *testing.T) {
	var logs bytes.Buffer
	wc := &fakeWC{LeadFn: func(context.Context, whatconverts.KeyFor, int64) (whatconverts.Lead, error) {
		return lead(t, `{"lead_id": 7, "profile_id": 1001, "last_updated": "x", "contact_name": "Synthetic Patient 0007"}`), nil
	}}
	svc := actions.NewService(actions.Deps{WhatConverts: wc, Credentials: testCreds,
		Audit: &fakeAudit{Err: errors.New("audit: write record: throttled")}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	res := svc.GetLead(context.Background(), actions.Call{Actor: caller}, actions.GetLeadInput{ProfileID: 1001, LeadID: 7})
	if res.Status != http.StatusInternalServerError || !strings.Contains(string(res.Body), `"internal"`) {
		t.Fatalf("answered %d %s, want 500 internal", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), "Synthetic Patient") || strings.Contains(string(res.Body), "throttled") {
		t.Fatalf("the 500 carries the lead or the cause: %s", res.Body)
	}
	if !strings.Contains(logs.String(), "action not audited") || strings.Contains(logs.String(), "Synthetic Patient") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestLargeAnswersAreAuditedByLeadIDsAndDigest(t *testing.T) {
	const n = 2000
	filler := strings.Repeat("x", 400)
	wc := &fakeWC{PagesFn: func(_ context.Context, _ whatconverts.KeyFor, p whatconverts.ListParams) iter.Seq2[*whatconverts.Page, error] {
		return func(yield func(*whatconverts.Page, error) bool) {
			page := &whatconverts.Page{PageNumber: 1, TotalPages: 1}
			for i := range p.LeadsPerPage {
				page.Leads = append(page.Leads, lead(t, fmt.Sprintf(`{"lead_id": %d, "profile_id": 1001, "notes": %q}`, 9000000+i, filler)))
			}
			yield(page, nil)
		}
	}}
	au := &fakeAudit{}
	svc := actions.NewService(actions.Deps{WhatConverts: wc, Credentials: testCreds, Audit: au})
	res := svc.GetLeads(context.Background(), actions.Call{Actor: caller, Request: json.RawMessage(`{"method":"GET"}`)},
		actions.GetLeadsInput{ProfileID: 1001, MaxItems: n})
	if res.Status != http.StatusOK || len(au.Records) != 1 {
		t.Fatalf("status %d, %d records", res.Status, len(au.Records))
	}
	if got := len(au.Records[0].LeadIDs); got != n {
		t.Fatalf("the record names %d leads, want %d", got, n)
	}
	var p struct {
		Request         json.RawMessage `json:"request"`
		Response        json.RawMessage `json:"response"`
		ResponseOmitted *struct {
			Bytes  int    `json:"bytes"`
			SHA256 string `json:"sha256"`
		} `json:"response_omitted"`
	}
	if err := json.Unmarshal(au.Payloads[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Response != nil || p.ResponseOmitted == nil || p.ResponseOmitted.Bytes != len(res.Body) || len(p.ResponseOmitted.SHA256) != 64 {
		t.Fatalf("sealed part: response %d bytes, omitted %+v; want the digest of the %d-byte answer",
			len(p.Response), p.ResponseOmitted, len(res.Body))
	}
	if string(p.Request) != `{"method":"GET"}` {
		t.Fatalf("sealed request = %s", p.Request)
	}
}

func TestReplayedAnswersSaySo(t *testing.T) {
	r := actions.Result{Status: 201, Body: json.RawMessage(`{"lead":{}}`), Replayed: true}
	resp := r.APIGateway()
	if resp.StatusCode != 201 || resp.Headers["Idempotent-Replayed"] != "true" || resp.Body != `{"lead":{}}` {
		t.Fatalf("%+v", resp)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}
