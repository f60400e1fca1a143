package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/table"
)

// The template ships too: these tests pin its safeguards (docs/security.md: encryption at rest under
// the customer's key, recovery, secrets, access control) on template.yaml itself, since no AWS account
// is reachable from the tests.

func loadShippedTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load(filepath.Join("..", "template.yaml"), map[string]string{
		// Both workflows on, so their resources are checked too.
		"EnableNewCallFollowUp": "true", "EnableQuoteValueUpdate": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// props is a resource's properties as plain JSON values (intrinsics in their long form).
func props(t *testing.T, r samtemplate.Resource) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.Properties)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func resourcesOfType(tmpl *samtemplate.Template, typ string) []string {
	var ids []string
	for id, r := range tmpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheAuditTableIsKeptEncryptedAndRecoverable(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	r := tmpl.Resources["AuditTable"]
	if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
		t.Errorf("AuditTable policies: deletion %q, replace %q; want Retain, Retain", r.DeletionPolicy, r.UpdateReplacePolicy)
	}
	p := props(t, r)
	if p["DeletionProtectionEnabled"] != true {
		t.Error("AuditTable has no deletion protection")
	}
	if asJSON(t, p["PointInTimeRecoverySpecification"]) != `{"PointInTimeRecoveryEnabled":true}` {
		t.Errorf("point-in-time recovery: %s", asJSON(t, p["PointInTimeRecoverySpecification"]))
	}
	if got := asJSON(t, p["SSESpecification"]); got != `{"KMSMasterKeyId":{"Ref":"DataKey"},"SSEEnabled":true,"SSEType":"KMS"}` {
		t.Errorf("table encryption is not the customer key: %s", got)
	}
	if got := asJSON(t, p["TimeToLiveSpecification"]); got != `{"AttributeName":"`+table.ExpiresAt+`","Enabled":true}` {
		t.Errorf("TTL: %s", got)
	}
}

// The table the tests and make dev create (table.Definition) is the table template.yaml deploys.
func TestTemplateMatchesDefinition(t *testing.T) {
	p := props(t, loadShippedTemplate(t).Resources["AuditTable"])
	def := table.Definition("any")

	var attrs []string
	for _, a := range p["AttributeDefinitions"].([]any) {
		m := a.(map[string]any)
		attrs = append(attrs, m["AttributeName"].(string)+":"+m["AttributeType"].(string))
	}
	var want []string
	for _, a := range def.AttributeDefinitions {
		want = append(want, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	sort.Strings(attrs)
	sort.Strings(want)
	if !slices.Equal(attrs, want) {
		t.Errorf("attributes: template %v, table.Definition %v", attrs, want)
	}

	keys := func(ks []any) string {
		var parts []string
		for _, k := range ks {
			m := k.(map[string]any)
			parts = append(parts, m["AttributeName"].(string)+"/"+m["KeyType"].(string))
		}
		return strings.Join(parts, ",")
	}
	defKeys := func(i int) string {
		ks := def.KeySchema
		if i >= 0 {
			ks = def.GlobalSecondaryIndexes[i].KeySchema
		}
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+"/"+string(k.KeyType))
		}
		return strings.Join(parts, ",")
	}
	if got, w := keys(p["KeySchema"].([]any)), defKeys(-1); got != w {
		t.Errorf("key schema: template %s, table.Definition %s", got, w)
	}
	gsis := p["GlobalSecondaryIndexes"].([]any)
	if len(gsis) != len(def.GlobalSecondaryIndexes) {
		t.Fatalf("%d indexes in the template, %d in table.Definition", len(gsis), len(def.GlobalSecondaryIndexes))
	}
	for i, g := range gsis {
		m := g.(map[string]any)
		if name := m["IndexName"].(string); name != aws.ToString(def.GlobalSecondaryIndexes[i].IndexName) {
			t.Errorf("index %d: template %s, table.Definition %s", i, name, aws.ToString(def.GlobalSecondaryIndexes[i].IndexName))
		}
		if got, w := keys(m["KeySchema"].([]any)), defKeys(i); got != w {
			t.Errorf("index %d keys: template %s, table.Definition %s", i, got, w)
		}
		// The projection is what each index's entries cost and what its readers find in them.
		proj := m["Projection"].(map[string]any)
		wantProj := def.GlobalSecondaryIndexes[i].Projection
		var include []string
		for _, a := range asList(proj["NonKeyAttributes"]) {
			include = append(include, a.(string))
		}
		if got, w := proj["ProjectionType"], string(wantProj.ProjectionType); got != w || !slices.Equal(include, wantProj.NonKeyAttributes) {
			t.Errorf("index %d projection: template %v %v, table.Definition %s %v", i, got, include, w, wantProj.NonKeyAttributes)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestTheCustomerKeyEncryptsEverythingAtRest(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	if p := props(t, tmpl.Resources["DataKey"]); p["EnableKeyRotation"] != true {
		t.Error("the data key does not rotate")
	}
	for typ, prop := range map[string]string{
		"AWS::Logs::LogGroup":         "KmsKeyId",
		"AWS::SQS::Queue":             "KmsMasterKeyId",
		"AWS::SecretsManager::Secret": "KmsKeyId",
		"AWS::Events::EventBus":       "KmsKeyIdentifier",
	} {
		ids := resourcesOfType(tmpl, typ)
		if len(ids) == 0 {
			t.Errorf("no %s in the template", typ)
		}
		for _, id := range ids {
			if _, ok := props(t, tmpl.Resources[id])[prop]; !ok {
				t.Errorf("%s (%s) has no %s: it is not encrypted with the customer key", id, typ, prop)
			}
		}
	}
	for _, fn := range tmpl.Functions {
		p := props(t, tmpl.Resources[fn.LogicalID])
		lc, _ := p["LoggingConfig"].(map[string]any)
		ref, _ := lc["LogGroup"].(map[string]any)
		group, _ := ref["Ref"].(string)
		if group == "" {
			t.Errorf("%s logs to a log group the template does not declare (not encrypted, no retention)", fn.LogicalID)
		}
	}
}

func TestSecretsAreNeverInTheTemplateOrTheEnvironment(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	secrets := resourcesOfType(tmpl, "AWS::SecretsManager::Secret")
	for _, fn := range tmpl.Functions {
		p := props(t, tmpl.Resources[fn.LogicalID])
		env, _ := p["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		for name, v := range vars {
			upper := strings.ToUpper(name)
			if !strings.Contains(upper, "TOKEN") && !strings.Contains(upper, "SECRET") && !strings.Contains(upper, "CREDENTIAL") {
				continue
			}
			ref, _ := v.(map[string]any)
			target, _ := ref["Ref"].(string)
			if !strings.HasSuffix(name, "_SECRET_ARN") || !slices.Contains(secrets, target) {
				t.Errorf("%s.%s is not a Secrets Manager reference: %s", fn.LogicalID, name, asJSON(t, v))
			}
		}
	}
	p := props(t, tmpl.Resources["WhatConvertsSecret"])
	if s, _ := p["SecretString"].(string); s != `{"profiles": {}}` {
		t.Errorf("the WhatConverts secret ships with a value other than the empty placeholder: %q", s)
	}
}

func TestEveryRouteButTheWebhookNeedsIAM(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	routes := 0
	for _, fn := range tmpl.Functions {
		for _, ev := range fn.APIEvents {
			routes++
			want := samtemplate.AuthIAM
			if ev.Path == "/webhooks/whatconverts" {
				want = samtemplate.AuthNone
			}
			if ev.Authorizer != want {
				t.Errorf("%s %s: authorizer %q, want %q", ev.Method, ev.Path, ev.Authorizer, want)
			}
		}
	}
	if routes != 9 {
		t.Errorf("%d routes, want the contract's 9 (its table's 7, GET /reports and POST /replays)", routes)
	}
	api := props(t, tmpl.Resources["Api"])
	format := asJSON(t, api["AccessLogSetting"])
	for _, leak := range []string{"querystring", "$context.path", "$input", "requestOverride"} {
		if strings.Contains(strings.ToLower(format), strings.ToLower(leak)) {
			t.Errorf("the API access log format records %s, which can carry the webhook token or PHI", leak)
		}
	}
}

// statements lists a function's inline policy statements.
func statements(t *testing.T, tmpl *samtemplate.Template, fn string) []map[string]any {
	t.Helper()
	var out []map[string]any
	p := props(t, tmpl.Resources[fn])
	if role, ok := p["Role"].(map[string]any); ok {
		// A role of its own (AuditDigestFunction): its inline policies' statements.
		name := ""
		switch ga := role["Fn::GetAtt"].(type) {
		case []any:
			name = ga[0].(string)
		case string:
			name = strings.TrimSuffix(ga, ".Arn")
		}
		for _, pol := range props(t, tmpl.Resources[name])["Policies"].([]any) {
			doc := pol.(map[string]any)["PolicyDocument"].(map[string]any)
			for _, s := range doc["Statement"].([]any) {
				out = append(out, s.(map[string]any))
			}
		}
		return out
	}
	for _, pol := range p["Policies"].([]any) {
		doc, ok := pol.(map[string]any)
		if !ok {
			t.Fatalf("%s has a managed or SAM policy template; only inline statements are reviewed here", fn)
		}
		for _, s := range doc["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func actionsOf(s map[string]any) []string {
	switch a := s["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func TestOnlyThePHIReadersMayDecryptEnvelopes(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	readers := []string{"TriggerSamplesFunction", "CreateLeadFunction", "UpdateLeadFunction"}
	for _, fn := range tmpl.Functions {
		direct := false
		for _, s := range statements(t, tmpl, fn.LogicalID) {
			if !slices.Contains(actionsOf(s), "kms:Decrypt") {
				continue
			}
			// Decrypt on the tag key unwraps record tag keys (the digest role's tag check), never PHI.
			if !strings.Contains(asJSON(t, s["Resource"]), "DataKey") {
				continue
			}
			cond := asJSON(t, s["Condition"])
			// Decrypt through an AWS service (Secrets Manager, SQS) cannot open an audit envelope.
			if strings.Contains(cond, "kms:ViaService") {
				continue
			}
			direct = true
			if !strings.Contains(cond, `"kms:EncryptionContext:purpose":"wcbridge-audit"`) {
				t.Errorf("%s may kms:Decrypt without the audit encryption context: %s", fn.LogicalID, cond)
			}
		}
		if direct != slices.Contains(readers, fn.LogicalID) {
			t.Errorf("%s: direct kms:Decrypt = %v, but only %v read PHI back", fn.LogicalID, direct, readers)
		}
	}
	// The key policy says the same, for principals whose IAM policies might be broader: its Decrypt
	// exception is a role path (a generated role name is truncated for long stack names), and the
	// readers, only they, have their roles under it.
	key := asJSON(t, props(t, tmpl.Resources["DataKey"])["KeyPolicy"])
	const readerPath = "/${AWS::StackName}/phi-reader/"
	if !strings.Contains(key, `role`+readerPath+`*`) {
		t.Errorf("the key policy's Decrypt exception is not the role path %s*: %s", readerPath, key)
	}
	for _, fn := range tmpl.Functions {
		path := asJSON(t, props(t, tmpl.Resources[fn.LogicalID])["RolePath"])
		if under := path == `{"Fn::Sub":"`+readerPath+`"}`; under != slices.Contains(readers, fn.LogicalID) {
			t.Errorf("%s: role path %s, but only %v read PHI back", fn.LogicalID, path, readers)
		}
	}
}

func TestTheWebhookRoleCannotReadRecordsBack(t *testing.T) {
	tmpl := loadShippedTemplate(t)
	for _, s := range statements(t, tmpl, "IngestWebhookFunction") {
		for _, a := range actionsOf(s) {
			switch a {
			case "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:*":
				t.Errorf("the ingest role may %s", a)
			}
		}
	}
}
