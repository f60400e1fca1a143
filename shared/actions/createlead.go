package actions

import (
	"context"
	"net/http"
	"net/netip"
	"sort"
	"strconv"

	"github.com/wcbridge/wcbridge/shared/httpapi"
	"github.com/wcbridge/wcbridge/shared/validate"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// CreateLeadInput is Create Lead's validated input.
type CreateLeadInput struct {
	ProfileID        int64
	LeadType         whatconverts.LeadType
	SendNotification bool
	// Fields are the other default create fields (whatconverts.CreateFields), validated and written as
	// WhatConverts takes them: money with two decimals, date_created as ISO 8601 UTC.
	Fields map[string]string
}

// CreateLead creates a lead in the profile and answers it as WhatConverts now holds it.
func (s *Service) CreateLead(ctx context.Context, call Call, in CreateLeadInput) Result {
	sc := scope{action: ActionCreateLead, profileID: in.ProfileID}
	return s.execute(ctx, call, sc, func(ctx context.Context, k whatconverts.KeyFor) (outcome, error) {
		lead, err := s.d.WhatConverts.CreateLead(ctx, k, whatconverts.CreateParams{
			LeadType: in.LeadType, SendNotification: in.SendNotification, Fields: in.Fields,
		})
		if err != nil {
			return outcome{}, err
		}
		lead = s.complete(ctx, k, lead)
		return outcome{status: http.StatusCreated, body: LeadBody{Lead: lead}, leadIDs: ids(lead.LeadID)}, nil
	})
}

// complete reads a lead back when WhatConverts answered a create or an edit with less than the lead
// (some sources show a bare {"lead_id": …}). The change is made by then: if the read fails, the
// partial answer is given rather than an error that would invite a repeat.
func (s *Service) complete(ctx context.Context, k whatconverts.KeyFor, lead whatconverts.Lead) whatconverts.Lead {
	if lead.LeadID <= 0 || (lead.ProfileID != 0 && lead.LastUpdated != "") {
		return lead
	}
	full, err := s.d.WhatConverts.Lead(ctx, k, lead.LeadID)
	if err != nil {
		s.d.Logger.Warn("lead not read back after a change", "lead_id", lead.LeadID, "error", err.Error())
		return lead
	}
	return full
}

// CreateLeadHandler is the Lambda entry point of Create Lead: POST /leads with a JSON body through API
// Gateway. It has no direct-invocation form: a workflow payload is refused (see direct.go).
func CreateLeadHandler(svc *Service) *Handler {
	return newHandler(svc, route{action: ActionCreateLead, body: true, parse: parseCreateLead})
}

// Kinds of create field, by how they are checked.
const (
	fieldText = iota
	fieldEmail
	fieldPhone
	fieldMoney
	fieldURL
	fieldDateTime
	fieldQuotable
	fieldSeconds
	fieldAnswerStatus
	fieldIP
)

// createFieldKinds types the default create fields that are not free text.
var createFieldKinds = map[string]int{
	"email_address":         fieldEmail,
	"phone_number":          fieldPhone,
	"tracking_number":       fieldPhone,
	"destination_number":    fieldPhone,
	"caller_number":         fieldPhone,
	"quote_value":           fieldMoney,
	"sales_value":           fieldMoney,
	"transaction_tax":       fieldMoney,
	"transaction_shipping":  fieldMoney,
	"lead_url":              fieldURL,
	"landing_url":           fieldURL,
	"date_created":          fieldDateTime,
	"quotable":              fieldQuotable,
	"call_duration_seconds": fieldSeconds,
	"answer_status":         fieldAnswerStatus,
	"ip_address":            fieldIP,
}

// The fields of a create body: the three of wcbridge's own and WhatConverts' default create fields.
var createAllowed = func() validate.FieldSet {
	names := append([]string{"profile_id", "lead_type", "send_notification"}, whatconverts.CreateFields()...)
	return validate.NewFieldSet(names...)
}()

// problemMapsRefused is the problem of additional_fields and custom_fields: WhatConverts takes them,
// but the contract keeps Create Lead to the default fields.
const problemMapsRefused = "is not accepted: only WhatConverts' default create fields are"

const maxCallSeconds = 7 * 24 * 3600

func parseCreateLead(_ httpapi.Request, body []byte) (func(context.Context, *Service, Call) Result, int64, []int64, error) {
	obj, err := validate.DecodeObject(body)
	if err != nil {
		return nil, 0, nil, err
	}
	var p validate.Problems
	for _, f := range []string{"additional_fields", "custom_fields"} {
		if _, ok := obj[f]; ok {
			p.Add(f, problemMapsRefused)
		}
	}
	p.OnlyFields(obj, createAllowed)
	p.Require(obj, "profile_id", "lead_type", "send_notification")

	var in CreateLeadInput
	in.ProfileID, _ = p.IDField(obj, "profile_id")
	lt, _ := p.LeadTypeField(obj, "lead_type")
	in.LeadType = whatconverts.LeadType(lt)
	in.SendNotification, _ = p.BoolField(obj, "send_notification")

	names := obj.Keys()
	sort.Strings(names)
	for _, name := range names {
		if !whatconverts.IsCreateField(name) || !obj.Has(name) {
			continue
		}
		if v, ok := createField(&p, obj, name); ok {
			if in.Fields == nil {
				in.Fields = map[string]string{}
			}
			in.Fields[name] = v
		}
	}
	exec := func(ctx context.Context, s *Service, c Call) Result { return s.CreateLead(ctx, c, in) }
	return exec, in.ProfileID, nil, p.Err()
}

// createField checks one default create field and returns it as WhatConverts takes it.
func createField(p *validate.Problems, obj validate.Object, name string) (string, bool) {
	switch createFieldKinds[name] {
	case fieldEmail:
		return p.EmailField(obj, name)
	case fieldPhone:
		return p.PhoneField(obj, name)
	case fieldMoney:
		m, ok := p.MoneyField(obj, name)
		return m.String(), ok
	case fieldURL:
		return p.URLField(obj, name)
	case fieldDateTime:
		t, ok := p.DateTimeField(obj, name)
		return t.UTC().Format("2006-01-02T15:04:05Z"), ok
	case fieldQuotable:
		return p.QuotableField(obj, name)
	case fieldSeconds:
		n, ok := p.IntField(obj, name, 0, maxCallSeconds)
		return strconv.FormatInt(n, 10), ok
	case fieldAnswerStatus:
		return p.OneOfField(obj, name, "Answered", "No Answer", "Busy")
	case fieldIP:
		s, ok := p.StringField(obj, name)
		if !ok {
			return "", false
		}
		if _, err := netip.ParseAddr(s); err != nil {
			p.Add(name, "must be an IPv4 or IPv6 address")
			return "", false
		}
		return s, true
	default:
		return p.StringField(obj, name)
	}
}
