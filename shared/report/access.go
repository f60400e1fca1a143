package report

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// Authorizer is the access policy (package access's Cedar authorizer is one): may principalARN do
// action on profileID. An error, like a nil Authorizer, is a refusal: never fail open.
type Authorizer interface {
	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
}

// Sections of a report that cover the whole account rather than one profile: shown only to a
// caller who may read the report of every profile it covers.
const (
	SectionAudit        = "audit"
	SectionWhatConverts = "whatconverts"
)

// View is the part of a report a caller may see: the profiles on which the access policy allows
// them get-report, and the account-wide sections (the audit summary, WhatConverts' usage) only
// when that is every profile of the report. The integrity section is always shown: every reader
// relies on it, and it holds digests and a record count, nothing of any profile.
type View struct {
	Report
	Audit        *AuditSummary `json:"audit,omitempty"`
	WhatConverts *WhatConverts `json:"whatconverts,omitempty"`
	// Withheld names the account-wide sections left out of this view.
	Withheld []string `json:"withheld,omitempty"`
}

// Full reports whether nothing was left out.
func (v View) Full() bool { return len(v.Withheld) == 0 }

// access decides, once per profile within one request, what a caller may see.
type access struct {
	auth    Authorizer
	caller  string
	allowed map[int64]bool
}

func newAccess(auth Authorizer, caller string) *access {
	return &access{auth: auth, caller: caller, allowed: map[int64]bool{}}
}

// errDenied is the refusal of a report the caller may see nothing of. It names the action, never
// a profile of a report the caller may not see.
var errDenied = apierr.New(apierr.Forbidden, "%s is not permitted on any profile of this report", ActionGetReport)

// view filters r for the caller. ok is false when the caller may see no profile of it (a report that
// covers no profile cannot be granted per profile, so it is refused too). An error of the access
// policy is returned as it is: the caller refuses the whole request.
func (a *access) view(ctx context.Context, r Report) (v View, ok bool, err error) {
	if a.auth == nil {
		return View{}, false, fmt.Errorf("report: no access policy configured")
	}
	v.Report = r
	v.Profiles = make([]Profile, 0, len(r.Profiles))
	for _, p := range r.Profiles {
		allowed, seen := a.allowed[p.ProfileID]
		if !seen {
			if allowed, _, err = a.auth.Authorize(ctx, a.caller, ActionGetReport, p.ProfileID); err != nil {
				return View{}, false, fmt.Errorf("report: access policy on profile %d: %w", p.ProfileID, err)
			}
			a.allowed[p.ProfileID] = allowed
		}
		if allowed {
			v.Profiles = append(v.Profiles, p)
		}
	}
	if len(v.Profiles) == 0 {
		return View{}, false, nil
	}
	if len(v.Profiles) == len(r.Profiles) {
		audit, wc := r.Audit, r.WhatConverts
		v.Audit, v.WhatConverts = &audit, &wc
	} else {
		v.Withheld = []string{SectionAudit, SectionWhatConverts}
		v.Report.Audit, v.Report.WhatConverts = AuditSummary{}, WhatConverts{}
	}
	return v, true, nil
}

// decodeReport reads a stored report's JSON.
func decodeReport(body []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		return Report{}, fmt.Errorf("report: decode a stored report: %w", err)
	}
	return r, nil
}

// IAMOnly is the access policy of a deployment without the Cedar policy: API Gateway's IAM auth
// alone decides, so an authenticated caller reads every profile, as GET /reports/{date} did before
// the access policy existed. functions/get-report wires it until shared/access takes its place.
type IAMOnly struct{}

// Authorize allows any authenticated caller.
func (IAMOnly) Authorize(_ context.Context, principalARN, _ string, _ int64) (bool, string, error) {
	return principalARN != "", "iam-only", nil
}
