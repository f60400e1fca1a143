package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// Access control in the template (docs/access.md): every function behind an IAM route is told where
// the policy and the API ID live and may read exactly those two parameters; no other function may
// read any parameter; the policy's errors are alarmed; the first policy permits no one by default.
func TestEveryIAMRouteReadsTheAccessPolicyAndNothingElse(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	iam := map[string]bool{}
	for _, fn := range tmpl.Functions {
		for _, ev := range fn.APIEvents {
			if ev.Authorizer == samtemplate.AuthIAM {
				iam[fn.LogicalID] = true
			}
		}
	}
	if len(iam) < 6 {
		t.Fatalf("%d functions behind IAM routes, want at least the contract's 6", len(iam))
	}
	for _, fn := range tmpl.Functions {
		var ssmStatements []map[string]any
		for _, s := range statements(t, tmpl, fn.LogicalID) {
			for _, a := range actionsOf(s) {
				if strings.HasPrefix(strings.ToLower(a), "ssm:") {
					ssmStatements = append(ssmStatements, s)
				}
			}
		}
		if !iam[fn.LogicalID] {
			if len(ssmStatements) > 0 {
				t.Errorf("%s has no IAM route but may read parameters", fn.LogicalID)
			}
			continue
		}
		for _, env := range []string{config.EnvAccessPolicyParameter, config.EnvAPIIDParameter, config.EnvAccountID} {
			if _, ok := fn.Environment[env]; !ok {
				t.Errorf("%s: %s is not set", fn.LogicalID, env)
			}
		}
		if len(ssmStatements) != 1 {
			t.Errorf("%s: %d statements on ssm:*, want 1", fn.LogicalID, len(ssmStatements))
			continue
		}
		s := ssmStatements[0]
		if a := actionsOf(s); !slices.Equal(a, []string{"ssm:GetParameter"}) {
			t.Errorf("%s may %v on parameters, want ssm:GetParameter only", fn.LogicalID, a)
		}
		res := asJSON(t, s["Resource"])
		if strings.Contains(res, "*") || !strings.Contains(res, "/access-policy") || !strings.Contains(res, "/api-id") ||
			strings.Count(res, "arn:") != 2 {
			t.Errorf("%s reads parameters %s, want exactly the access policy and the API ID", fn.LogicalID, res)
		}
	}

	policy := props(t, tmpl.Resources["AccessPolicyParameter"])
	if policy["Type"] != "String" || !strings.Contains(asJSON(t, policy["Name"]), "/access-policy") {
		t.Errorf("AccessPolicyParameter = %s", asJSON(t, policy))
	}
	alarm := props(t, tmpl.Resources["AccessPolicyErrorAlarm"])
	if alarm["Namespace"] != access.MetricNamespace || alarm["MetricName"] != access.MetricPolicyErrors ||
		!strings.Contains(asJSON(t, alarm["Dimensions"]), access.MetricDimension) {
		t.Errorf("AccessPolicyErrorAlarm = %s, want the metric the functions emit", asJSON(t, alarm))
	}
}

// The first policy CloudFormation writes, without an operator, permits no one; with one, it is a
// valid policy that permits that operator everything. Both validate against the shipped schema.
func TestTheFirstPolicyIsValidAndGrantsOnlyTheOperator(t *testing.T) {
	for _, tc := range []struct {
		name, operator string
	}{{"no operator", ""}, {"an operator", "arn:aws:iam::123456789012:role/ops"}} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := samtemplate.Load("../template.yaml", map[string]string{"AccessOperatorArn": tc.operator})
			if err != nil {
				t.Fatal(err)
			}
			v, err := tmpl.Resolve(tmpl.Resources["AccessPolicyParameter"].Properties.Get("Value"))
			if err != nil {
				t.Fatal(err)
			}
			text, ok := v.String()
			if !ok {
				t.Fatalf("the policy's value does not resolve: %s", asJSON(t, tmpl.Resources["AccessPolicyParameter"].Properties))
			}
			p, err := access.ParsePolicy("AccessPolicyParameter", []byte(text), "template")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 1}[tc.operator != ""]; p.Statements != want {
				t.Fatalf("%d statements, want %d:\n%s", p.Statements, want, text)
			}
			if tc.operator != "" && !strings.Contains(text, tc.operator) {
				t.Fatalf("the policy does not name the operator:\n%s", text)
			}
		})
	}
}
