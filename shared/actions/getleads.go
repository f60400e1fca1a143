package actions

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// Limits of Get Leads' max_items.
const (
	DefaultMaxItems = 100
	MaxMaxItems     = 10_000
)

// GetLeadsInput is Get Leads' validated input.
type GetLeadsInput struct {
	ProfileID int64
	Email     string // filters on the contact email (WhatConverts email_address); "" for all
	MaxItems  int    // 1 to MaxMaxItems; 0 means DefaultMaxItems
}

// GetLeadsBody is Get Leads' answer.
type GetLeadsBody struct {
	ProfileID int64               `json:"profile_id"`
	Count     int                 `json:"count"`
	Leads     []whatconverts.Lead `json:"leads"`
	// Truncated says the answer holds fewer than max_items leads although WhatConverts has more,
	// because more would not fit in one Lambda response (see Deps.MaxResponseBytes). Absent otherwise.
	Truncated bool `json:"truncated,omitempty"`
}

// GetLeads answers up to MaxItems of the profile's leads, newest first. It asks WhatConverts for
// pages of min(MaxItems, 2500) and stops as soon as it has MaxItems (⌈MaxItems/2500⌉ requests; one
// for MaxItems = 1), or as soon as the answer is full (Deps.MaxResponseBytes): no page is fetched that
// could not be answered.
func (s *Service) GetLeads(ctx context.Context, call Call, in GetLeadsInput) Result {
	sc := scope{action: ActionGetLeads, profileID: in.ProfileID}
	if in.MaxItems == 0 {
		in.MaxItems = DefaultMaxItems
	}
	if in.MaxItems < 1 || in.MaxItems > MaxMaxItems {
		return s.Refuse(ctx, call, sc.action, sc.profileID, nil,
			apierr.Invalid(apierr.FieldProblem{Field: "max_items", Problem: "must be an integer from 1 to 10000"}))
	}
	return s.execute(ctx, call, sc, func(ctx context.Context, k whatconverts.KeyFor) (outcome, error) {
		body := GetLeadsBody{ProfileID: in.ProfileID, Leads: make([]whatconverts.Lead, 0, min(in.MaxItems, whatconverts.MaxLeadsPerPage))}
		room := s.responseRoom()
		seen := make(map[int64]bool, cap(body.Leads))
		p := whatconverts.ListParams{
			EmailAddress: in.Email,
			Order:        whatconverts.OrderDesc,
			LeadsPerPage: min(in.MaxItems, whatconverts.MaxLeadsPerPage),
		}
	pages:
		for page, err := range s.d.WhatConverts.Pages(ctx, k, p) {
			if err != nil {
				return outcome{}, err
			}
			for _, l := range page.Leads {
				if l.LeadID != 0 {
					if seen[l.LeadID] { // lists shift while new leads arrive: a lead seen on two pages counts once
						continue
					}
					seen[l.LeadID] = true
				}
				if room >= 0 {
					size, err := encodedSize(l)
					if err != nil {
						return outcome{}, err
					}
					if size+1 > room {
						body.Truncated = true
						break pages
					}
					room -= size + 1
				}
				body.Leads = append(body.Leads, l)
				if len(body.Leads) == in.MaxItems {
					break pages
				}
			}
		}
		body.Count = len(body.Leads)
		ids := make([]int64, 0, len(body.Leads))
		for _, l := range body.Leads {
			ids = append(ids, l.LeadID)
		}
		return outcome{status: http.StatusOK, body: body, leadIDs: ids}, nil
	})
}

// responseRoom is how many bytes of leads an answer may hold, as the Lambda runtime encodes them
// (the body is a JSON string inside the response object), or -1 for no limit.
func (s *Service) responseRoom() int {
	if s.d.MaxResponseBytes < 0 {
		return -1
	}
	return s.d.MaxResponseBytes - responseReserve
}

// responseReserve is kept for the rest of the response: status, headers and the envelope of the body.
const responseReserve = 16 << 10

// encodedSize is the size of a lead in the Lambda response: encoded into the body as encoding/json
// does (compact, HTML-escaped), then escaped again as the body string of the response object.
func encodedSize(l whatconverts.Lead) (int, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return 0, err
	}
	s, err := json.Marshal(string(b))
	if err != nil {
		return 0, err
	}
	return len(s) - 2, nil
}

// GetLeadsHandler is the Lambda entry point of Get Leads:
// GET /leads?profile_id=P[&email=E][&max_items=N] through API Gateway. It has no direct-invocation
// form: a workflow payload is refused (see direct.go).
func GetLeadsHandler(svc *Service) *Handler {
	return newHandler(svc, route{action: ActionGetLeads, parse: parseGetLeads})
}

func parseGetLeads(req httpapi.Request, _ []byte) (func(context.Context, *Service, Call) Result, int64, []int64, error) {
	var p validate.Problems
	q := query(req, &p, "profile_id", "email", "max_items")
	in := GetLeadsInput{MaxItems: DefaultMaxItems}
	if v, ok := q["profile_id"]; ok {
		in.ProfileID = p.ID("profile_id", v)
	} else {
		p.Required("profile_id")
	}
	if v, ok := q["email"]; ok {
		in.Email = p.Email("email", v)
	}
	if v, ok := q["max_items"]; ok {
		in.MaxItems = int(p.Int("max_items", v, 1, MaxMaxItems))
	}
	exec := func(ctx context.Context, s *Service, c Call) Result { return s.GetLeads(ctx, c, in) }
	return exec, in.ProfileID, nil, p.Err()
}
