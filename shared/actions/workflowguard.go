package actions

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// checkWorkflowUpdate is what Update Lead does first when a workflow rule asks it to change quotable.
// A rule fires on a webhook, and WhatConverts signs no webhook: anyone holding the webhook token can
// send one claiming that any lead of a configured profile now has a quote value. So the event is a
// hint, never the truth: the lead is read from WhatConverts (audited as a Get Lead with the rule as
// actor, its answer sealed), and the change goes ahead only when the lead as it stands calls for it
// (quotableRefusal). Otherwise the answer is 409 conflict naming the reason, which the update's own
// audit record keeps (and, under the event's idempotency key, a redelivery gets again without
// another request), and WhatConverts is not changed.
func (s *Service) checkWorkflowUpdate(ctx context.Context, call Call, k whatconverts.KeyFor, in UpdateLeadInput) error {
	start := s.d.Now()
	lead, err := s.d.WhatConverts.Lead(ctx, k, in.LeadID)
	if err == nil && ((lead.ProfileID == 0 && k.Master) || (lead.ProfileID != 0 && lead.ProfileID != in.ProfileID) ||
		(lead.LeadID != 0 && lead.LeadID != in.LeadID)) {
		err = errLeadNotFound() // as Get Lead: never another profile's lead
	}
	read := Result{Status: http.StatusOK}
	if err != nil {
		read = failure(errorOf(err))
	} else {
		read.Body, _ = json.Marshal(LeadBody{Lead: lead})
	}
	readCall := Call{Actor: call.Actor, RequestID: call.RequestID}
	if audited := s.finish(ctx, readCall, scope{action: ActionGetLead, profileID: in.ProfileID, leadIDs: ids(in.LeadID)}, start, read); audited.Status != read.Status {
		return audited.Err // the read could not be audited: nothing is changed unaudited
	}
	if err != nil {
		return err
	}
	if why := quotableRefusal(lead, in.Quotable); why != "" {
		return apierr.New(apierr.Conflict, "%s", why)
	}
	return nil
}

// quotableRefusal says why the lead as WhatConverts holds it does not call for the quotable change
// q, or "" when it does: either change needs quotable still undecided (Not Set or Pending), so that
// a person's Yes or No stands, and "yes" needs a quote value above 0. The reasons name fields, never
// a value of the lead.
func quotableRefusal(lead whatconverts.Lead, q whatconverts.Quotable) string {
	switch lead.Quotable {
	case "Yes", "No":
		return "not changed: the lead's quotable is already decided in WhatConverts"
	}
	if q == "yes" && (lead.QuoteValue == nil || *lead.QuoteValue <= 0) {
		return "not changed: the lead has no quote value above 0 in WhatConverts"
	}
	return ""
}
