package report

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// allowAll is an authorizer that permits everything, for tests about anything else.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string, int64) (bool, string, error) {
	return true, "test-allow-all", nil
}
func (allowAll) Anywhere(context.Context, string, string) (bool, string, error) {
	return true, "test-allow-all", nil
}
func (allowAll) Everywhere(context.Context, string, string) (bool, string, error) {
	return true, "test-allow-all", nil
}

// A report shows each caller only the profiles it may get-report on; the sections that count every
// profile's records only to a caller who may see every profile; nothing to a caller who may see
// none (403, audited with the policy's version). Members the filter does not know stay.
func TestReportsAreFilteredByTheAccessPolicy(t *testing.T) {
	const (
		reader   = "arn:aws:iam::123456789012:role/crm-sync"
		operator = "arn:aws:iam::123456789012:role/wcbridge-operator"
		stranger = "arn:aws:iam::123456789012:user/someone"
	)
	policy := `
		permit (principal == Wcbridge::Caller::"` + reader + `", action == Wcbridge::Action::"get-report", resource == Wcbridge::Profile::"1002");
		permit (principal == Wcbridge::Caller::"` + operator + `", action, resource);
		permit (principal == Wcbridge::Caller::"` + stranger + `", action == Wcbridge::Action::"get-leads", resource);`
	authz := access.New(context.Background(), access.BuiltinSource{Text: []byte(policy)}, access.Options{})
	version, _ := authz.Version()
	if version == "" {
		t.Fatal("the test policy was refused")
	}
	const stored = `{"date":"2026-11-28","generated_at":"2026-11-29T00:15:00Z",
		"profiles":[{"profile_id":1001,"leads_total":57},{"profile_id":1002,"leads_total":3}],
		"audit":{"phi_reads":{"` + operator + `":11}},"integrity":{"records":99},"whatconverts":{"requests":1},
		"format_version":2}`
	tests := []struct {
		caller       string
		status       int
		wantProfiles []int64
		wantWhole    bool
	}{
		{operator, 200, []int64{1001, 1002}, true},
		{reader, 200, []int64{1002}, false},
		{stranger, 403, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.caller, func(t *testing.T) {
			fa := &fakeAudit{}
			g := &Get{Reports: storedReports(map[string]string{"2026-11-28": stored}), Audit: fa, Access: authz,
				Origin: &httpapi.Origin{APIID: "zyirocpvjr", AccountID: "123456789012"}, Now: time.Now}
			res, err := g.Handle(context.Background(), getRequest(t, "2026-11-28", tt.caller))
			if err != nil || res.StatusCode != tt.status {
				t.Fatalf("status %d %v, want %d: %s", res.StatusCode, err, tt.status, res.Body)
			}
			recs := fa.records()
			if len(recs) != 1 || recs[0].PolicyVersion != version || recs[0].Status != tt.status {
				t.Fatalf("audited %+v, want one record naming policy %s", recs, version)
			}
			if tt.status == 403 {
				if recs[0].Outcome != audit.OutcomeRejected || !strings.Contains(res.Body, "get-report") {
					t.Fatalf("refusal %s audited as %s", res.Body, recs[0].Outcome)
				}
				return
			}
			var body struct {
				Profiles []struct {
					ProfileID int64 `json:"profile_id"`
				} `json:"profiles"`
				Audit         json.RawMessage `json:"audit"`
				Integrity     json.RawMessage `json:"integrity"`
				Filtered      bool            `json:"filtered"`
				FormatVersion int             `json:"format_version"`
			}
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, p := range body.Profiles {
				got = append(got, p.ProfileID)
			}
			if !slices.Equal(got, tt.wantProfiles) {
				t.Fatalf("profiles %v, want %v", got, tt.wantProfiles)
			}
			whole := body.Audit != nil && body.Integrity != nil && !body.Filtered
			if whole != tt.wantWhole || body.FormatVersion != 2 {
				t.Fatalf("whole report %v (filtered %v), want %v; unknown member kept: %v", whole, body.Filtered, tt.wantWhole, body.FormatVersion == 2)
			}
			if !tt.wantWhole && strings.Contains(res.Body, operator) {
				t.Fatal("a filtered report names another caller's PHI reads")
			}
		})
	}
}

// No authorizer is a denial: never fail open.
func TestGetReportWithoutAuthorizerDenies(t *testing.T) {
	fa := &fakeAudit{}
	g := &Get{Reports: storedReports(map[string]string{"2026-11-28": `{"date":"2026-11-28","profiles":[]}`}), Audit: fa}
	res, _ := g.Handle(context.Background(), getRequest(t, "2026-11-28", officer))
	if res.StatusCode != 403 || len(fa.records()) != 1 {
		t.Fatalf("got %d, %d records", res.StatusCode, len(fa.records()))
	}
}
