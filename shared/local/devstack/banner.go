package devstack

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// Example is a command to try against the running stack, printed at start-up and in the README.
type Example struct {
	Title   string
	Command string // a shell command; long ones continue over lines with " \"
}

// ExampleLeadID is the seeded simulator's first lead (profile 1001).
const ExampleLeadID = 9000001

// exampleWebhookBody is a New Lead webhook shaped like WhatConverts' (a few of its fields), with
// synthetic contact details.
const exampleWebhookBody = `{"trigger": "new", "lead_id": 9100001, "profile_id": 1001, "account_id": 2001, ` +
	`"lead_type": "Web Form", "lead_status": "Unique", "date_created": "2026-01-15T10:00:00Z", ` +
	`"last_updated": "2026-01-15T10:00:00Z", "contact_name": "Synthetic Patient", ` +
	`"email_address": "patient@example.test", "lead_source": "google", "lead_medium": "cpc"}`

// Examples are the commands to try: a New Lead webhook, a signed Get Leads, the bus, and with the
// simulator, a webhook fired by it; then the daily report through the Invoke API. The IAM example
// writes its query sorted and encoded, which curl 7.88's SigV4 signing needs.
func Examples(apiURL, lambdaURL, webhookToken, accessKeyID, secretAccessKey string, simulator bool) []Example {
	user := shellWord(accessKeyID + ":" + secretAccessKey)
	ex := []Example{
		{"a New Lead webhook, as WhatConverts sends it", "curl -sS -X POST -H 'Content-Type: application/json' \\\n" +
			"  " + shellQuote(apiURL+ingestPath+"?token="+url.QueryEscape(webhookToken)) + " \\\n" +
			"  -d '" + exampleWebhookBody + "'"},
		{"Get Leads, signed with the local access key as any IAM caller signs", `curl -sS --aws-sigv4 "aws:amz:` + samtemplate.Region +
			`:execute-api" --user ` + user + " " + shellQuote(apiURL+"/leads?max_items=2&profile_id=1001")},
		{"the events published on the bus so far", "curl -sS " + apiURL + "/_local/bus"},
	}
	if simulator {
		ex = append(ex, Example{"make the simulator send lead 9000001's Updated Lead webhook (then look at the bus again)",
			"curl -sS -X POST " + shellQuote(fmt.Sprintf("%s%s/leads/%d/webhook?trigger=update", apiURL, LocalSimulatorPath, ExampleLeadID))})
	}
	ex = append(ex, Example{"run the daily report now, for the previous UTC day (the AWS CLI wants credentials: any will do)",
		"AWS_ACCESS_KEY_ID=" + shellWord(accessKeyID) + " AWS_SECRET_ACCESS_KEY=" + shellWord(secretAccessKey) +
			" AWS_DEFAULT_REGION=" + samtemplate.Region + " AWS_PAGER= \\\n" +
			"  aws lambda invoke --endpoint-url " + lambdaURL + " --function-name DailyReportFunction /dev/stdout"})
	return ex
}

// Examples are the commands to try against this stack.
func (s *Stack) Examples() []Example {
	return Examples(s.APIURL, s.LambdaURL, s.Options.WebhookTokens[0], s.Options.AccessKeyID, s.Options.SecretAccessKey, s.Sim != nil)
}

// masked is how the banner prints a credential: a default as it is (it is documented, and local
// only), and any other value, which the user supplied (under make dev, through the environment),
// as its first four characters and "...", so that a real token or key does not end up in terminal
// scrollback or CI logs.
func masked(value, def string) string {
	if value == def {
		return value
	}
	if len(value) <= 4 {
		return "..."
	}
	return value[:4] + "..."
}

// Banner is what `make dev` prints once the stack is up: what runs where, the credentials, and
// commands to try.
func (s *Stack) Banner(now time.Time) string {
	var b strings.Builder
	o := s.Options
	tokens := make([]string, len(o.WebhookTokens))
	for i, tok := range o.WebhookTokens {
		tokens[i] = masked(tok, DefaultWebhookToken)
	}
	keyID, secret := masked(o.AccessKeyID, DefaultAccessKeyID), masked(o.SecretAccessKey, DefaultSecretAccessKey)
	fmt.Fprintf(&b, "wcbridge local stack: template.yaml served on loopback, no AWS account needed\n\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  REST API (template routes)\t%s\tstage %s; IAM routes check SigV4, service execute-api, region %s\n", s.APIURL, stageOf(s.Template), samtemplate.Region)
	fmt.Fprintf(w, "  Lambda Invoke API\t%s\taws lambda invoke --endpoint-url %s ...\n", s.LambdaURL, s.LambdaURL)
	fmt.Fprintf(w, "  DynamoDB\t%s\ttable %s\n", o.DynamoDBEndpoint, o.Table)
	fmt.Fprintf(w, "  KMS\t%s\tdata key %s\n", o.KMSEndpoint, o.DataKeyID)
	fmt.Fprintf(w, "  \t\tdigest signing key %s\n", o.SigningKeyID)
	fmt.Fprintf(w, "  EventBridge (in memory)\t%s\tbus %s; GET %s/_local/bus lists its events\n", s.EventBridgeURL, s.EventBus(), s.APIURL)
	if o.S3Endpoint != "" {
		fmt.Fprintf(w, "  S3\t%s\taudit digest bucket %s\n", o.S3Endpoint, o.AuditBucket)
	}
	if o.LogsEndpoint != "" {
		fmt.Fprintf(w, "  CloudWatch Logs\t%s\teach function's output, as Lambda delivers it: group %s<LogicalID>\n", o.LogsEndpoint, o.LogGroupPrefix)
	}
	if s.Sim != nil {
		fmt.Fprintf(w, "  WhatConverts simulator\t%s\tprofiles 1001 and 1002; its webhooks go to %s%s?token=...\n", s.WhatConvertsURL, s.APIURL, ingestPath)
	} else {
		fmt.Fprintf(w, "  WhatConverts\t%s\t(WHATCONVERTS_BASE_URL)\n", s.WhatConvertsURL)
	}
	_ = w.Flush()

	fmt.Fprintf(&b, "\nFunctions:\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, fn := range s.Template.Functions {
		var how []string
		for _, ev := range fn.APIEvents {
			how = append(how, fmt.Sprintf("%s %s (%s)", ev.Method, ev.Path, authName(ev.Authorizer)))
		}
		for _, sc := range s.Schedules {
			if sc.Function != fn.LogicalID {
				continue
			}
			if sc.Every > 0 {
				how = append(how, fmt.Sprintf("%s: run here every %s", sc.Expression, sc.Every))
			} else {
				how = append(how, sc.Expression+": not run here; invoke it")
			}
		}
		sort.Strings(how)
		fmt.Fprintf(w, "  %s\t%s\n", fn.LogicalID, strings.Join(how, "; "))
	}
	_ = w.Flush()

	if rules := s.Rules.Rules(); len(rules) > 0 {
		fmt.Fprintf(&b, "\nWorkflow rules on the local bus:\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, r := range rules {
			fmt.Fprintf(w, "  %s\t-> %s\n", r.LogicalID, strings.Join(r.Targets, ", "))
		}
		_ = w.Flush()
	}

	fmt.Fprintf(&b, "\nCredentials (local only; set these variables to change them):\n")
	fmt.Fprintf(&b, "  WCBRIDGE_WEBHOOK_TOKENS=%s\n", strings.Join(tokens, ","))
	fmt.Fprintf(&b, "  WCBRIDGE_LOCAL_ACCESS_KEY_ID=%s\n", keyID)
	fmt.Fprintf(&b, "  WCBRIDGE_LOCAL_SECRET_ACCESS_KEY=%s\n", secret)
	fmt.Fprintf(&b, "  webhook URL for WhatConverts: %s%s?token=%s\n", s.APIURL, ingestPath, tokens[0])
	if strings.Contains(strings.Join(append(tokens, keyID, secret), ","), "...") {
		fmt.Fprintf(&b, "  (values you set are shown by their first four characters; put yours in their place below)\n")
	}
	for _, c := range o.Callers {
		fmt.Fprintf(&b, "  local caller %s: %s (WCBRIDGE_LOCAL_CALLERS_FILE)\n", c.AccessKeyID, c.ARN)
	}
	fmt.Fprintf(&b, "\nAccess policy: %s\n", s.AccessPolicy())

	fmt.Fprintf(&b, "\nTry:\n")
	for _, ex := range Examples(s.APIURL, s.LambdaURL, tokens[0], keyID, secret, s.Sim != nil) {
		fmt.Fprintf(&b, "\n  # %s\n  %s\n", ex.Title, strings.ReplaceAll(ex.Command, "\n", "\n  "))
	}
	day := now.UTC().AddDate(0, 0, -1).Format("2006-01-02")
	fmt.Fprintf(&b, "\n  # then read that report\n  curl -sS --aws-sigv4 \"aws:amz:%s:execute-api\" --user %s %s\n",
		samtemplate.Region, shellWord(keyID+":"+secret), shellQuote(s.APIURL+"/reports/"+day))
	fmt.Fprintf(&b, "\n  # or see it in a browser: this prints a presigned URL, good for 15 minutes\n  make report-url DATE=%s API=%s\n",
		day, shellWord(s.APIURL))

	if o.S3Endpoint != "" {
		// make verify-audit gives the verifier the writers' local log groups itself (LOGS_ENDPOINT set).
		env := []string{"AWS_REGION=" + samtemplate.Region, "AUDIT_TABLE_NAME=" + shellWord(o.Table),
			"AUDIT_BUCKET_NAME=" + shellWord(o.AuditBucket), "SIGNING_KEY_ID=" + shellWord(o.SigningKeyID), "TAG_KEY_ID=" + shellWord(o.TagKeyID),
			"DYNAMODB_ENDPOINT=" + shellWord(o.DynamoDBEndpoint), "KMS_ENDPOINT=" + shellWord(o.KMSEndpoint), "S3_ENDPOINT=" + shellWord(o.S3Endpoint)}
		if o.LogsEndpoint != "" {
			env = append(env, "LOGS_ENDPOINT="+shellWord(o.LogsEndpoint))
		}
		fmt.Fprintf(&b, "\n  # verify that day's audit trail: digests, records, writers' numbers and their logged lines\n  %s \\\n    %s \\\n    make verify-audit DATE=%s\n",
			strings.Join(env[:5], " "), strings.Join(env[5:], " "), day)
	}

	fmt.Fprintf(&b, "\nLocal-only routes on %s:\n", s.APIURL)
	for _, r := range LocalRoutes {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	fmt.Fprintf(&b, "\nCtrl-C stops everything.\n")
	return b.String()
}

func authName(a string) string {
	if a == samtemplate.AuthNone {
		return "webhook token"
	}
	return a
}

// shellQuote quotes s for a POSIX shell: in double quotes when nothing in it is special there, else
// in single quotes.
func shellQuote(s string) string {
	if !strings.ContainsAny(s, "\"$`\\!") {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellWord leaves s bare when it is one plain shell word, else quotes it.
func shellWord(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/+=@%,", r)) {
			return shellQuote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
