package actions

import (
	"context"
	"net/http"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// UpdateLeadInput is Update Lead's validated input: at least one of the four changes is set.
type UpdateLeadInput struct {
	ProfileID  int64
	LeadID     int64
	QuoteValue *validate.Money
	SalesValue *validate.Money
	LeadURL    string                // "" leaves it unchanged
	Quotable   whatconverts.Quotable // yes or no; "" leaves it unchanged
}

// UpdateLead changes a lead of the profile and answers it as it now stands.
//
// The lead must be the profile's (404 otherwise). With the profile's own key that costs nothing:
// WhatConverts scopes the key to its profile, and answers another profile's lead as unknown. With
// the account's master key, which reaches every profile of the account, the client reads the lead
// first and refuses another profile's before changing anything: one more request, which is the price
// of not editing a lead the caller may not touch.
func (s *Service) UpdateLead(ctx context.Context, call Call, in UpdateLeadInput) Result {
	sc := scope{action: ActionUpdateLead, profileID: in.ProfileID, leadIDs: ids(in.LeadID)}
	if in.QuoteValue == nil && in.SalesValue == nil && in.LeadURL == "" && in.Quotable == "" {
		return s.Refuse(ctx, call, sc.action, sc.profileID, sc.leadIDs, errEmptyUpdate())
	}
	return s.execute(ctx, call, sc, func(ctx context.Context, k whatconverts.KeyFor) (outcome, error) {
		p := whatconverts.EditParams{Quotable: in.Quotable, LeadURL: in.LeadURL}
		if in.QuoteValue != nil {
			v := float64(in.QuoteValue.Cents()) / 100
			p.QuoteValue = &v
		}
		if in.SalesValue != nil {
			v := float64(in.SalesValue.Cents()) / 100
			p.SalesValue = &v
		}
		lead, err := s.d.WhatConverts.EditLead(ctx, k, in.LeadID, p)
		if err != nil {
			return outcome{}, err
		}
		lead = s.complete(ctx, k, lead)
		return outcome{status: http.StatusOK, body: LeadBody{Lead: lead}}, nil
	})
}

// UpdateLeadHandler is the Lambda entry point of Update Lead: PATCH /leads/{lead_id} with a JSON body
// through API Gateway, and the direct invocation of a workflow rule (direct.go) with the same changes
// in its "fields".
func UpdateLeadHandler(svc *Service) *Handler {
	return newHandler(svc, route{action: ActionUpdateLead, body: true, parse: parseUpdateLead,
		direct: &directForm{members: updateDirectMembers, parse: parseUpdateLeadDirect}})
}

// The fields of an update body.
var (
	updateChanges    = []string{"quote_value", "sales_value", "lead_url", "quotable"}
	updateChangesSet = validate.NewFieldSet(updateChanges...)
	updateAllowed    = validate.NewFieldSet(append([]string{"profile_id"}, updateChanges...)...)
)

const problemEmptyUpdate = "must set at least one of quote_value, sales_value, lead_url, quotable"

func errEmptyUpdate() error {
	return apierr.Invalid(apierr.FieldProblem{Field: "body", Problem: problemEmptyUpdate})
}

func parseUpdateLead(req httpapi.Request, body []byte) (func(context.Context, *Service, Call) Result, int64, []int64, error) {
	var p validate.Problems
	in := UpdateLeadInput{LeadID: p.ID("lead_id", req.PathParameters["lead_id"])}
	obj, err := validate.DecodeObject(body)
	if err != nil {
		return nil, 0, ids(in.LeadID), err
	}
	p.OnlyFields(obj, updateAllowed)
	p.Require(obj, "profile_id")
	in.ProfileID, _ = p.IDField(obj, "profile_id")
	parseUpdateChanges(&p, obj, &in, "", "body")
	exec := func(ctx context.Context, s *Service, c Call) Result { return s.UpdateLead(ctx, c, in) }
	return exec, in.ProfileID, ids(in.LeadID), p.Err()
}

// parseUpdateChanges reads the four changes of obj into in, the same rules for both ways in: each
// problem is named prefix+field, and an object without any of the four is a problem of emptyName.
// Keys other than the four are the caller's to refuse.
func parseUpdateChanges(p *validate.Problems, obj validate.Object, in *UpdateLeadInput, prefix, emptyName string) {
	var q validate.Problems
	if m, ok := q.MoneyField(obj, "quote_value"); ok {
		in.QuoteValue = &m
	}
	if m, ok := q.MoneyField(obj, "sales_value"); ok {
		in.SalesValue = &m
	}
	in.LeadURL, _ = q.URLField(obj, "lead_url")
	v, _ := q.QuotableYesNoField(obj, "quotable")
	in.Quotable = whatconverts.Quotable(v)
	for _, f := range q.Fields() {
		p.Add(prefix+f.Field, f.Problem)
	}
	changes := 0
	for _, f := range updateChanges {
		if obj.Has(f) {
			changes++
		}
	}
	if changes == 0 {
		p.Add(emptyName, problemEmptyUpdate)
	}
}

// Update Lead's direct invocation: {"lead_id": L, "profile_id": P, "fields": {the changes}}.
var updateDirectMembers = []string{"lead_id", "profile_id", "fields"}

func parseUpdateLeadDirect(obj validate.Object, p *validate.Problems) (func(context.Context, *Service, Call) Result, int64, []int64) {
	p.Require(obj, updateDirectMembers...)
	var in UpdateLeadInput
	in.LeadID, _ = p.IDField(obj, "lead_id")
	in.ProfileID, _ = p.IDField(obj, "profile_id")
	if fields, ok := p.ObjectField(obj, "fields"); ok {
		for _, k := range fields.Keys() {
			if !updateChangesSet.Has(k) {
				p.Add("fields."+k, validate.ProblemNotAllowed)
			}
		}
		parseUpdateChanges(p, fields, &in, "fields.", "fields")
	}
	exec := func(ctx context.Context, s *Service, c Call) Result { return s.UpdateLead(ctx, c, in) }
	return exec, in.ProfileID, ids(in.LeadID)
}
