package actions

import (
	"context"
	"net/http"

	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// GetLeadInput is Get Lead's validated input.
type GetLeadInput struct {
	ProfileID int64
	LeadID    int64
}

// LeadBody is the answer of Get Lead, Create Lead and Update Lead.
type LeadBody struct {
	Lead whatconverts.Lead `json:"lead"`
}

// GetLead answers one lead of the profile. An unknown lead and a lead of another profile are the
// same 404: a caller cannot tell which lead IDs exist elsewhere.
func (s *Service) GetLead(ctx context.Context, call Call, in GetLeadInput) Result {
	sc := scope{action: ActionGetLead, profileID: in.ProfileID, leadIDs: []int64{in.LeadID}}
	return s.execute(ctx, call, sc, func(ctx context.Context, k whatconverts.KeyFor) (outcome, error) {
		lead, err := s.d.WhatConverts.Lead(ctx, k, in.LeadID)
		if err != nil {
			return outcome{}, err
		}
		// The client drops other profiles' leads already; this holds even if a key's scope is wider.
		// A lead that does not say its profile is trusted only from the profile's own key, which
		// WhatConverts scopes to the profile; through the master key it cannot be shown to be the
		// profile's, so it is not.
		if (lead.ProfileID == 0 && k.Master) || (lead.ProfileID != 0 && lead.ProfileID != in.ProfileID) ||
			(lead.LeadID != 0 && lead.LeadID != in.LeadID) {
			return outcome{}, errLeadNotFound()
		}
		return outcome{status: http.StatusOK, body: LeadBody{Lead: lead}}, nil
	})
}

// GetLeadHandler is the Lambda entry point of Get Lead: GET /leads/{lead_id}?profile_id=P through API
// Gateway. It has no direct-invocation form: a workflow payload is refused (see direct.go).
func GetLeadHandler(svc *Service) *Handler {
	return newHandler(svc, route{action: ActionGetLead, parse: parseGetLead})
}

func parseGetLead(req httpapi.Request, _ []byte) (func(context.Context, *Service, Call) Result, int64, []int64, error) {
	var p validate.Problems
	in := GetLeadInput{LeadID: p.ID("lead_id", req.PathParameters["lead_id"])}
	q := query(req, &p, "profile_id")
	if v, ok := q["profile_id"]; ok {
		in.ProfileID = p.ID("profile_id", v)
	} else {
		p.Required("profile_id")
	}
	exec := func(ctx context.Context, s *Service, c Call) Result { return s.GetLead(ctx, c, in) }
	return exec, in.ProfileID, ids(in.LeadID), p.Err()
}

// ids is a one-element list of a known lead ID, or nil.
func ids(leadID int64) []int64 {
	if leadID <= 0 {
		return nil
	}
	return []int64{leadID}
}
