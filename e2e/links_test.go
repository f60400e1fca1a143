package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Each function links the AWS SDK service packages it calls and no other (each costs its binary
// hundreds of KB and its cold start the package's initialisation), and none links the SDK's default
// credential chain or a template engine (docs/performance-results.md says what each cost).
func TestEachFunctionLinksOnlyTheServicesItCalls(t *testing.T) {
	const svc = "github.com/aws/aws-sdk-go-v2/service/"
	for fn, want := range map[string][]string{
		"ingest-webhook":  {"dynamodb", "eventbridge", "kms", "secretsmanager"},
		"publish-outbox":  {"dynamodb", "eventbridge", "kms"},
		"trigger-samples": {"dynamodb", "eventbridge", "kms"},
		"get-leads":       {"dynamodb", "kms", "secretsmanager"},
		"get-lead":        {"dynamodb", "kms", "secretsmanager"},
		"create-lead":     {"dynamodb", "kms", "secretsmanager"},
		"update-lead":     {"dynamodb", "kms", "secretsmanager"},
		"daily-report":    {"cloudwatchlogs", "dynamodb", "kms", "s3", "secretsmanager"},
		"get-report":      {"dynamodb", "kms"},
		"replay":          {"dynamodb", "eventbridge", "kms", "lambda"},
		"audit-digest":    {"cloudwatchlogs", "dynamodb", "kms", "s3"},
	} {
		t.Run(fn, func(t *testing.T) {
			var got []string
			// As the Makefile builds it: without net/rpc (lambda.norpc), whose debug page would link
			// html/template into every function.
			cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../functions/"+fn)
			cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
			deps, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", fn, err)
			}
			for _, p := range strings.Fields(string(deps)) {
				if name, ok := strings.CutPrefix(p, svc); ok && !strings.Contains(name, "/") {
					got = append(got, name)
				}
				switch p {
				case "github.com/aws/aws-sdk-go-v2/config", "text/template", "html/template":
					t.Errorf("links %s", p)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("links the SDK services %v, want %v", got, want)
			}
		})
	}
}
