package whatconverts

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strconv"
)

// Page is one page of GET /leads.
type Page struct {
	PageNumber   int
	LeadsPerPage int
	TotalPages   int
	TotalLeads   int
	Leads        []Lead

	received int // leads in the answer, before leads of other profiles were dropped
}

// envelope is the list envelope; numbers are decoded tolerantly.
type envelope struct {
	PageNumber   json.RawMessage `json:"page_number"`
	LeadsPerPage json.RawMessage `json:"leads_per_page"`
	TotalPages   json.RawMessage `json:"total_pages"`
	TotalLeads   json.RawMessage `json:"total_leads"`
	Leads        []Lead          `json:"leads"`
	ErrorMessage json.RawMessage `json:"error_message"`
}

// LeadsPage fetches one page of leads (one request). Leads of a profile other than the key's are dropped:
// a master key reaches every profile of its account, and wcbridge answers for one.
func (c *Client) LeadsPage(ctx context.Context, k KeyFor, p ListParams) (*Page, error) {
	q, perr := p.query(k)
	if perr != nil {
		perr.Op = "list leads"
		return nil, perr
	}
	r := call{op: "list leads", method: http.MethodGet, path: "/leads", query: q}
	body, err := c.do(ctx, k, r)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &Error{Kind: KindDecode, Op: r.op, Status: http.StatusOK}
	}
	if env.Leads == nil && env.ErrorMessage != nil {
		e := errorInBody(http.StatusOK, asString(env.ErrorMessage), r)
		e.Op = r.op
		return nil, e
	}
	page := &Page{
		PageNumber:   int(asInt(env.PageNumber)),
		LeadsPerPage: int(asInt(env.LeadsPerPage)),
		TotalPages:   int(asInt(env.TotalPages)),
		TotalLeads:   int(asInt(env.TotalLeads)),
		Leads:        env.Leads[:0],
	}
	for _, l := range env.Leads {
		if l.raw == nil { // a null entry
			continue
		}
		page.received++
		if ofProfile(l, k) {
			page.Leads = append(page.Leads, l)
		}
	}
	return page, nil
}

func ofProfile(l Lead, k KeyFor) bool {
	return l.ProfileID == 0 || k.ProfileID == 0 || l.ProfileID == k.ProfileID
}

// Pages iterates over the pages of a lead list, fetching each only when the previous one has been consumed:
// memory holds one page at a time. It starts at p.PageNumber (default 1), asks for p.LeadsPerPage (default
// 2500, the maximum, so that L leads cost ⌈L/2500⌉ requests) and stops after total_pages, after an empty
// page, or at the first error (yielded last).
func (c *Client) Pages(ctx context.Context, k KeyFor, p ListParams) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		if p.LeadsPerPage == 0 {
			p.LeadsPerPage = MaxLeadsPerPage
		}
		if p.PageNumber == 0 {
			p.PageNumber = 1
		}
		for {
			page, err := c.LeadsPage(ctx, k, p)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) {
				return
			}
			if page.received == 0 || p.PageNumber >= page.TotalPages {
				return
			}
			p.PageNumber++
		}
	}
}

// Leads iterates over the leads of a list page by page, as Pages does. On an error it yields a zero Lead
// and the error, and stops.
func (c *Client) Leads(ctx context.Context, k KeyFor, p ListParams) iter.Seq2[Lead, error] {
	return func(yield func(Lead, error) bool) {
		for page, err := range c.Pages(ctx, k, p) {
			if err != nil {
				yield(Lead{}, err)
				return
			}
			for _, l := range page.Leads {
				if !yield(l, nil) {
					return
				}
			}
		}
	}
}

// LeadsUpTo returns at most n leads of a list (n ≥ 1), in the list's order, asking for pages of
// min(n, 2500) and stopping once it has n: n = 1 costs one request, n = 5000 two. A lead seen twice
// (lists shift while new leads arrive) is kept once.
func (c *Client) LeadsUpTo(ctx context.Context, k KeyFor, p ListParams, n int) ([]Lead, error) {
	if n < 1 {
		return nil, &Error{Kind: KindBadRequest, Op: "list leads", Field: "max_items", Problem: "must be 1 or more"}
	}
	p.LeadsPerPage = min(n, MaxLeadsPerPage)
	out := make([]Lead, 0, min(n, MaxLeadsPerPage))
	seen := make(map[int64]bool, min(n, MaxLeadsPerPage))
	for page, err := range c.Pages(ctx, k, p) {
		if err != nil {
			return nil, err
		}
		for _, l := range page.Leads {
			if l.LeadID != 0 {
				if seen[l.LeadID] {
					continue
				}
				seen[l.LeadID] = true
			}
			out = append(out, l)
			if len(out) == n {
				return out, nil
			}
		}
	}
	return out, nil
}

// Lead fetches one lead (GET /leads/{id}). WhatConverts wraps it in the list envelope or sends it bare;
// both are accepted. An unknown lead, an empty envelope, WhatConverts' "Invalid lead ID." and a lead of
// another profile than the key's are all KindNotFound.
func (c *Client) Lead(ctx context.Context, k KeyFor, leadID int64) (Lead, error) {
	r := call{op: "get lead", method: http.MethodGet, path: leadPath(leadID), lead: true}
	if leadID <= 0 {
		return Lead{}, &Error{Kind: KindNotFound, Op: r.op}
	}
	body, err := c.do(ctx, k, r)
	if err != nil {
		return Lead{}, err
	}
	return leadFromBody(body, k, r)
}

// CreateLead creates a lead (POST /leads, form-encoded) and returns it as WhatConverts answers. With a
// master key the KeyFor's profile is sent as profile_id. Retried only on 429 and on failures before the
// request was written: WhatConverts has no idempotency keys, and a repeated create may duplicate the lead.
func (c *Client) CreateLead(ctx context.Context, k KeyFor, p CreateParams) (Lead, error) {
	r := call{op: "create lead", method: http.MethodPost, path: "/leads", create: true}
	form, perr := p.form(k)
	if perr != nil {
		perr.Op = r.op
		return Lead{}, perr
	}
	r.form = form
	body, err := c.do(ctx, k, r)
	if err != nil {
		return Lead{}, err
	}
	return leadFromBody(body, k, r)
}

// EditLead changes a lead (POST /leads/{id}) and returns it. With a master key the lead is fetched first,
// to refuse (KindNotFound) a lead of another profile of the account before changing it: that costs one
// more request. The edit itself carries only the changed fields, never profile_id. Edits set absolute values, so they are retried like reads.
func (c *Client) EditLead(ctx context.Context, k KeyFor, leadID int64, p EditParams) (Lead, error) {
	r := call{op: "edit lead", method: http.MethodPost, path: leadPath(leadID), lead: true}
	form, perr := p.form()
	if perr != nil {
		perr.Op = r.op
		return Lead{}, perr
	}
	if leadID <= 0 {
		return Lead{}, &Error{Kind: KindNotFound, Op: r.op}
	}
	if k.Master {
		// The read is the profile check. The edit names no profile_id: it is not among WhatConverts'
		// editable fields, and no independent client sends it (doc.go, Master-key edits).
		if _, err := c.Lead(ctx, k, leadID); err != nil {
			return Lead{}, err
		}
	}
	r.form = form
	body, err := c.do(ctx, k, r)
	if err != nil {
		return Lead{}, err
	}
	l, err := leadFromBody(body, k, r)
	if KindOf(err) == KindDecode {
		// An answer that is not the lead (WhatConverts documents none): read the lead back.
		return c.Lead(ctx, k, leadID)
	}
	return l, err
}

func leadPath(id int64) string { return "/leads/" + strconv.FormatInt(id, 10) }

// leadFromBody reads a lead from an answer that is either the list envelope or a bare lead.
func leadFromBody(body []byte, k KeyFor, r call) (Lead, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return Lead{}, &Error{Kind: KindDecode, Op: r.op, Status: http.StatusOK}
	}
	var l Lead
	switch {
	case top["leads"] != nil:
		var leads []Lead
		if err := json.Unmarshal(top["leads"], &leads); err != nil {
			return Lead{}, &Error{Kind: KindDecode, Op: r.op, Status: http.StatusOK}
		}
		for _, x := range leads {
			if x.raw != nil {
				l = x
				break
			}
		}
		if l.raw == nil {
			return Lead{}, &Error{Kind: KindNotFound, Op: r.op, Status: http.StatusOK}
		}
	case top["lead_id"] != nil && !bytes.Equal(bytes.TrimSpace(top["lead_id"]), []byte("null")):
		if err := json.Unmarshal(body, &l); err != nil {
			return Lead{}, &Error{Kind: KindDecode, Op: r.op, Status: http.StatusOK}
		}
	case top["error_message"] != nil:
		e := errorInBody(http.StatusOK, asString(top["error_message"]), r)
		e.Op = r.op
		return Lead{}, e
	default:
		return Lead{}, &Error{Kind: KindDecode, Op: r.op, Status: http.StatusOK}
	}
	if !ofProfile(l, k) {
		return Lead{}, &Error{Kind: KindNotFound, Op: r.op, Status: http.StatusOK}
	}
	return l, nil
}
