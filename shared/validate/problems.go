package validate

import (
	"slices"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// The fixed problem texts. They say what a field must be and never contain what was sent.
const (
	ProblemRequired      = "is required"
	ProblemNotAllowed    = "is not an allowed field"
	ProblemID            = "must be a positive integer"
	ProblemEmail         = "must be an email address of at most 254 characters"
	ProblemPhone         = "must be an E.164 phone number (+ and 8 to 15 digits)"
	ProblemMoney         = "must be a non-negative number with at most 2 decimals"
	ProblemMoneyTooLarge = "must be at most 1000000000000"
	ProblemURL           = "must be an absolute http(s) URL of at most 2048 characters"
	ProblemDateTime      = "must be an RFC 3339 date-time"
	ProblemDate          = "must be a date (YYYY-MM-DD)"
	ProblemString        = "must be a string"
	ProblemNumber        = "must be a number"
	ProblemBool          = "must be true or false"
	ProblemObject        = "must be an object"
)

// Problems collects what is wrong with a request, field by field, so that one answer names every
// offending field rather than only the first. The zero value is ready to use; it is not safe for
// concurrent use.
//
// Each field is reported once: the first problem recorded for a field wins, so a field that is
// missing is not also reported as malformed.
type Problems struct {
	list []apierr.FieldProblem
}

// Add records that field has problem. problem must be a fixed text that holds no value from the
// request (use the Problem constants or a text of your own that names no value).
func (p *Problems) Add(field, problem string) {
	if p.has(field) {
		return
	}
	p.list = append(p.list, apierr.FieldProblem{Field: field, Problem: problem})
}

// Required records that field is required and was not given.
func (p *Problems) Required(field string) { p.Add(field, ProblemRequired) }

// OK reports whether no problem was recorded.
func (p *Problems) OK() bool { return len(p.list) == 0 }

// Fields is a copy of the problems recorded so far, in the order they were found.
func (p *Problems) Fields() []apierr.FieldProblem { return slices.Clone(p.list) }

// Err is nil when no problem was recorded, and otherwise an *apierr.Error with code
// invalid_request naming every offending field (apierr.Invalid). It returns a plain nil, never a
// typed nil pointer, so `if err := p.Err(); err != nil` is safe.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return apierr.Invalid(slices.Clone(p.list)...)
}

func (p *Problems) has(field string) bool {
	for _, f := range p.list {
		if f.Field == field {
			return true
		}
	}
	return false
}

// FieldSet is a set of field names, built once (for example as a package variable of a handler)
// and used as an allow-list with Problems.OnlyFields.
type FieldSet map[string]struct{}

// NewFieldSet is the set of names.
func NewFieldSet(names ...string) FieldSet {
	s := make(FieldSet, len(names))
	for _, n := range names {
		s[n] = struct{}{}
	}
	return s
}

// Has reports whether name is in the set.
func (s FieldSet) Has(name string) bool {
	_, ok := s[name]
	return ok
}

// OnlyFields records ProblemNotAllowed for every key of o that is not in allowed, in sorted order
// of the key names. The names come from the request, and are reported because the contract asks
// for each refused field to be named; values are never reported.
func (p *Problems) OnlyFields(o Object, allowed FieldSet) {
	var unknown []string
	for k := range o {
		if !allowed.Has(k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		p.Add(k, ProblemNotAllowed)
	}
}

// Require records ProblemRequired for each of fields that o lacks or holds as null.
func (p *Problems) Require(o Object, fields ...string) {
	for _, f := range fields {
		if !o.Has(f) {
			p.Required(f)
		}
	}
}
