package access

import (
	"strconv"
	"testing"

	"github.com/cedar-policy/cedar-go"
)

// The fast path (statements picked by scope, scopes decided without the evaluator) decides exactly
// as Cedar's own evaluation of the whole policy does, for policies of every scope form, with and
// without conditions, permits and forbids, and for principals, actions and profiles named and not.
func TestFastPathDecidesAsCedar(t *testing.T) {
	policies := map[string]string{
		"examples": `
			permit (principal == Wcbridge::Caller::"` + crmRole + `", action in [Wcbridge::Action::"get-leads", Wcbridge::Action::"get-lead"], resource == Wcbridge::Profile::"1001");
			permit (principal == Wcbridge::Caller::"` + operator + `", action, resource);`,
		"forbid without conditions": `
			permit (principal, action, resource);
			forbid (principal == Wcbridge::Caller::"` + crmRole + `", action == Wcbridge::Action::"create-lead", resource);
			forbid (principal, action, resource in Wcbridge::Profile::"1002");`,
		"scope forms": `
			permit (principal in Wcbridge::Caller::"` + crmRole + `", action == Wcbridge::Action::"get-report", resource is Wcbridge::Profile);
			permit (principal is Wcbridge::Caller, action == Wcbridge::Action::"replay", resource is Wcbridge::Profile in Wcbridge::Profile::"1001");
			permit (principal is Wcbridge::Caller in Wcbridge::Caller::"` + stranger + `", action in [Wcbridge::Action::"get-lead"], resource);`,
		"conditions": `
			permit (principal, action, resource) when { resource == Wcbridge::Profile::"1001" || principal == Wcbridge::Caller::"` + operator + `" };
			forbid (principal, action, resource) unless { action == Wcbridge::Action::"get-leads" || principal == Wcbridge::Caller::"` + operator + `" };
			permit (principal == Wcbridge::Caller::"` + stranger + `", action, resource) when { resource != Wcbridge::Profile::"1002" };`,
		"a condition that errors": `
			permit (principal, action, resource);
			forbid (principal == Wcbridge::Caller::"` + crmRole + `", action, resource) when { 9223372036854775807 + 1 > 0 };`,
		"a permit with a false condition and a plain forbid": `
			permit (principal, action, resource) when { false };
			permit (principal == Wcbridge::Caller::"` + crmRole + `", action, resource == Wcbridge::Profile::"1001");
			forbid (principal, action == Wcbridge::Action::"update-lead", resource);`,
		"nothing": ``,
	}
	principals := []string{crmRole, operator, stranger, localUser, "arn:aws:iam::123456789012:role/unnamed"}
	profiles := []int64{1001, 1002, 1003, 1}
	for name, text := range policies {
		t.Run(name, func(t *testing.T) {
			p, err := ParsePolicy(name, []byte(text), "test")
			if err != nil {
				t.Fatal(err)
			}
			for _, who := range principals {
				for _, action := range Actions {
					for _, profile := range profiles {
						id := strconv.FormatInt(profile, 10)
						decision, diag := cedar.Authorize(p.set, nil, cedar.Request{
							Principal: cedar.NewEntityUID(TypeCaller, cedar.String(who)),
							Action:    cedar.NewEntityUID(TypeAction, cedar.String(action)),
							Resource:  cedar.NewEntityUID(TypeProfile, cedar.String(id)),
						})
						want := decision == cedar.Allow && len(diag.Errors) == 0
						for range 2 { // the second time from the cached subset
							if got := p.allows(who, action, id); got != want {
								t.Fatalf("%s %s %s: fast path %v, Cedar %v", who, action, id, got, want)
							}
						}
					}
				}
			}
		})
	}
}
