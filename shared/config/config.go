// Package config is the one configuration loader of every wcbridge function, locally and in AWS.
//
// Plain settings come from the environment variables that template.yaml sets (the same names under
// `make dev`). Secrets (webhook tokens, WhatConverts API keys) come from Secrets Manager in AWS, named
// by an *_SECRET_ARN variable, and from a plain variable locally; Secret chooses, so no function
// knows which one it runs under. Secrets are read once per cold start by the caller that needs them.
//
// Deployed (in Lambda, no local endpoint override) the local forms are refused rather than ignored:
// a secret comes from Secrets Manager or the function does not start, and WHATCONVERTS_BASE_URL
// must be https, since the API keys travel in its requests.
package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Environment variable names, as template.yaml sets them.
const (
	EnvTable                = "AUDIT_TABLE_NAME"
	EnvDataKey              = "DATA_KEY_ID"
	EnvDigestKey            = "DIGEST_KEY_ID"
	EnvTagKey               = "TAG_KEY_ID"
	EnvSigningKey           = "SIGNING_KEY_ID"
	EnvAuditBucket          = "AUDIT_BUCKET_NAME"
	EnvS3Endpoint           = "S3_ENDPOINT"
	EnvWriterLogGroups      = "AUDIT_WRITER_LOG_GROUPS" // the log groups of every function that writes audit records
	EnvLogsEndpoint         = "LOGS_ENDPOINT"
	EnvEventBus             = "EVENT_BUS_NAME"
	EnvWhatConvertsURL      = "WHATCONVERTS_BASE_URL"
	EnvReportProfiles       = "REPORT_PROFILE_IDS"
	EnvReportBudgetShare    = "REPORT_BUDGET_SHARE"
	EnvOutboxSettle         = "OUTBOX_SETTLE_SECONDS"
	EnvDynamoDBEndpoint     = "DYNAMODB_ENDPOINT"
	EnvKMSEndpoint          = "KMS_ENDPOINT"
	EnvEventBridgeEndpoint  = "EVENTBRIDGE_ENDPOINT"
	EnvSecretsEndpoint      = "SECRETSMANAGER_ENDPOINT"
	EnvWebhookTokensARN     = "WEBHOOK_TOKENS_SECRET_ARN"
	EnvWebhookTokensLocal   = "WCBRIDGE_WEBHOOK_TOKENS"
	EnvWhatConvertsARN      = "WHATCONVERTS_SECRET_ARN"
	EnvWhatConvertsLocal    = "WHATCONVERTS_CREDENTIALS"
	EnvWorkflowRules        = "WORKFLOW_RULE_ARNS"
	EnvReplayRate           = "REPLAY_RATE"
	EnvReplayChunk          = "REPLAY_CHUNK_SECONDS"
	EnvLambdaEndpoint       = "LAMBDA_ENDPOINT"
	EnvLambdaFunctionName   = "AWS_LAMBDA_FUNCTION_NAME" // set by Lambda (and aws-lambda-rie)
	DefaultWhatConvertsURL  = "https://app.whatconverts.com/api/v1"
	defaultReportBudgetPart = 0.5
	defaultCallerBudgetPart = 0.25
)

// Environment variable names of access control (shared/access) and of the per-caller budget.
// Deployed: the policy's parameter, and the parameter holding the API's ID (a function cannot name
// its own API in its environment: that is a circular dependency in CloudFormation). Locally: a
// policy file or the built-in local policy, and the API ID itself.
const (
	EnvAccessPolicyParameter = "ACCESS_POLICY_PARAMETER"
	EnvAccessPolicyFile      = "WCBRIDGE_ACCESS_POLICY_FILE"
	EnvAccessPolicyBuiltin   = "WCBRIDGE_ACCESS_POLICY_BUILTIN"
	EnvAPIIDParameter        = "API_ID_PARAMETER"
	EnvAPIID                 = "API_ID"
	EnvAccountID             = "ACCOUNT_ID"
	EnvSSMEndpoint           = "SSM_ENDPOINT"
	EnvCallerBudgetShare     = "CALLER_BUDGET_SHARE"
)

// Config is every setting a function may need. Each function checks the ones it uses with Require.
type Config struct {
	Region       string
	Table        string
	DataKeyID    string
	DigestKeyID  string // the HMAC key of the legacy daily digests
	TagKeyID     string // the symmetric key that wraps record tag keys
	SigningKeyID string // the ECC_NIST_P256 key that signs period digests
	AuditBucket  string // the S3 Object Lock bucket that anchors period digests
	// WriterLogGroups are the CloudWatch Logs groups of the functions that write audit records: their
	// "audit record stored" lines are the trail's second record, outside the table (shared/writelog).
	WriterLogGroups   []string
	EventBus          string
	WhatConvertsURL   string
	ReportProfiles    []int64
	ReportBudgetShare float64 // the share of a key's daily budget kept for the report, (0, 1]
	// CallerBudgetShare is the most of a key's daily budget one caller of the actions may spend,
	// (0, 1] (default 0.25): one caller cannot spend a key's whole day.
	CallerBudgetShare float64
	// Access control (see the Env names): the policy's parameter or file, or the built-in local
	// policy ("local"); the API the events must come through (its ID, or the parameter holding it)
	// and its account.
	AccessPolicyParameter string
	AccessPolicyFile      string
	AccessPolicyBuiltin   string
	APIIDParameter        string
	APIID                 string
	AccountID             string
	// OutboxSettle is how old an unpublished event must be before the publisher sweeps it, so that
	// it does not race the inline publish still in flight (0: the publisher's default, 30 s).
	OutboxSettle time.Duration
	// WorkflowRules are the ARNs of the EventBridge rules that may invoke an action function directly
	// (WORKFLOW_RULE_ARNS, comma-separated, blanks ignored). Package actions checks their form.
	WorkflowRules []string
	// ReplayRate is how many events a second a replay publishes (0: the replay's default);
	// ReplayChunk how long one invocation of a replay publishes before handing on (0: until shortly
	// before its deadline).
	ReplayRate  int
	ReplayChunk time.Duration
	// FunctionName is the running function's own name, as Lambda sets it (a replay invokes itself).
	FunctionName string

	// Endpoint overrides for the local stack and tests; empty in AWS.
	DynamoDBEndpoint    string
	KMSEndpoint         string
	EventBridgeEndpoint string
	SecretsEndpoint     string
	SSMEndpoint         string
	LambdaEndpoint      string // only the replay builds a Lambda client (shared/replay)
	S3Endpoint          string
	LogsEndpoint        string

	lookup func(string) (string, bool)
}

// Load reads the configuration from the environment.
func Load() (Config, error) { return load(os.LookupEnv) }

// FromMap reads the configuration from a map instead of the environment (the local stack and tests).
func FromMap(env map[string]string) (Config, error) {
	return load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func load(lookup func(string) (string, bool)) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	c := Config{
		Region:              get("AWS_REGION"),
		Table:               get(EnvTable),
		DataKeyID:           get(EnvDataKey),
		DigestKeyID:         get(EnvDigestKey),
		TagKeyID:            get(EnvTagKey),
		SigningKeyID:        get(EnvSigningKey),
		AuditBucket:         get(EnvAuditBucket),
		S3Endpoint:          get(EnvS3Endpoint),
		LogsEndpoint:        get(EnvLogsEndpoint),
		WriterLogGroups:     splitList(get(EnvWriterLogGroups)),
		EventBus:            get(EnvEventBus),
		WhatConvertsURL:     get(EnvWhatConvertsURL),
		DynamoDBEndpoint:    get(EnvDynamoDBEndpoint),
		KMSEndpoint:         get(EnvKMSEndpoint),
		EventBridgeEndpoint: get(EnvEventBridgeEndpoint),
		SecretsEndpoint:     get(EnvSecretsEndpoint),
		SSMEndpoint:         get(EnvSSMEndpoint),
		LambdaEndpoint:      get(EnvLambdaEndpoint),
		FunctionName:        get(EnvLambdaFunctionName),
		ReportBudgetShare:   defaultReportBudgetPart,
		CallerBudgetShare:   defaultCallerBudgetPart,

		AccessPolicyParameter: get(EnvAccessPolicyParameter),
		AccessPolicyFile:      get(EnvAccessPolicyFile),
		AccessPolicyBuiltin:   get(EnvAccessPolicyBuiltin),
		APIIDParameter:        get(EnvAPIIDParameter),
		APIID:                 get(EnvAPIID),
		AccountID:             get(EnvAccountID),
		lookup:                lookup,
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.WhatConvertsURL == "" {
		c.WhatConvertsURL = DefaultWhatConvertsURL
	}
	var errs []error
	if c.Deployed() {
		if u, err := url.Parse(c.WhatConvertsURL); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an https URL in a deployed function", EnvWhatConvertsURL))
		}
		for _, s := range []Secret{WebhookTokens, WhatConverts} {
			if _, set := lookup(s.LocalVar); set {
				errs = append(errs, fmt.Errorf("%s is set in a deployed function: secrets come from Secrets Manager (%s) only", s.LocalVar, s.ARNVar))
			}
		}
	}
	c.WorkflowRules = splitList(get(EnvWorkflowRules))
	if s := get(EnvReportProfiles); s != "" {
		for _, f := range strings.Split(s, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || id <= 0 {
				errs = append(errs, fmt.Errorf("%s must be a comma-separated list of positive profile IDs", EnvReportProfiles))
				break
			}
			c.ReportProfiles = append(c.ReportProfiles, id)
		}
	}
	if s := get(EnvReportBudgetShare); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be a number in (0, 1]", EnvReportBudgetShare))
		} else {
			c.ReportBudgetShare = v
		}
	}
	if s := get(EnvCallerBudgetShare); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be a number in (0, 1]", EnvCallerBudgetShare))
		} else {
			c.CallerBudgetShare = v
		}
	}
	if s := get(EnvOutboxSettle); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 3600 {
			errs = append(errs, fmt.Errorf("%s must be a whole number of seconds from 1 to 3600", EnvOutboxSettle))
		} else {
			c.OutboxSettle = time.Duration(v) * time.Second
		}
	}
	if s := get(EnvReplayRate); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 10000 {
			errs = append(errs, fmt.Errorf("%s must be a whole number of events a second from 1 to 10000", EnvReplayRate))
		} else {
			c.ReplayRate = v
		}
	}
	if s := get(EnvReplayChunk); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 900 {
			errs = append(errs, fmt.Errorf("%s must be a whole number of seconds from 1 to 900", EnvReplayChunk))
		} else {
			c.ReplayChunk = time.Duration(v) * time.Second
		}
	}
	return c, errors.Join(errs...)
}

// Require fails, naming every missing variable, unless each named setting is set.
func (c Config) Require(names ...string) error {
	have := map[string]string{
		EnvTable: c.Table, EnvDataKey: c.DataKeyID, EnvDigestKey: c.DigestKeyID, EnvEventBus: c.EventBus,
		EnvLambdaFunctionName: c.FunctionName,
		EnvTagKey:             c.TagKeyID, EnvSigningKey: c.SigningKeyID, EnvAuditBucket: c.AuditBucket,
	}
	var missing []string
	for _, n := range names {
		if v, known := have[n]; known && v == "" {
			missing = append(missing, n)
		} else if !known {
			if v, _ := c.lookup(n); strings.TrimSpace(v) == "" {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("configuration: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// AWS is a function's SDK configuration: its region, and the credentials Lambda gives the execution
// role in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: what the SDK's
// default chain resolves to in Lambda); static local credentials when an endpoint is local and none
// are set (the local stack needs no account). Without either, every AWS call fails, naming the
// variables, as the default chain's would. Clients take the SDK's defaults for the rest (standard
// retries, HTTP client).
//
// The default chain itself (shared config files, SSO, web identity, instance metadata) is not
// linked: its packages are about 1.8 MB of every binary and their own package initialisation at every
// cold start, for sources a Lambda function never uses. Tools run with an operator's profile
// (scripts/verify-audit) load the default chain themselves.
func (c Config) AWS(ctx context.Context) (aws.Config, error) {
	key, _ := c.lookup("AWS_ACCESS_KEY_ID")
	secret, _ := c.lookup("AWS_SECRET_ACCESS_KEY")
	token, _ := c.lookup("AWS_SESSION_TOKEN")
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(key, secret, token)
	switch {
	case key != "" && secret != "":
	case key == "" && c.local():
		creds = credentials.NewStaticCredentialsProvider("local", "local", "")
	default:
		creds = noCredentials{}
	}
	return aws.Config{Region: c.Region, Credentials: aws.NewCredentialsCache(creds)}, nil
}

// noCredentials fails every request of a configuration whose environment holds no credentials.
type noCredentials struct{}

func (noCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which Lambda sets)")
}

// Local reports whether an endpoint points at a local stand-in (the local stack, tests).
func (c Config) Local() bool { return c.local() }

func (c Config) local() bool {
	return c.DynamoDBEndpoint != "" || c.KMSEndpoint != "" || c.EventBridgeEndpoint != "" || c.SecretsEndpoint != "" ||
		c.LambdaEndpoint != "" ||
		c.S3Endpoint != "" || c.LogsEndpoint != ""
}

// Deployed reports whether the function runs in Lambda against AWS itself: Lambda names the
// function, and no endpoint points at a local stand-in (as under make dev and the e2e emulator).
func (c Config) Deployed() bool {
	name, _ := c.lookup(EnvLambdaFunctionName)
	return name != "" && !c.local()
}

// Endpoint is a client's BaseEndpoint: the local override s (one of the *Endpoint settings), or nil
// (the service's own endpoint) when s is empty. The clients themselves are built where they are used
// (shared/wiring and its subpackages, shared/access), so that a function links and initialises only
// the SDK service packages it calls: each costs hundreds of KB and its own package initialisation.
func Endpoint(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// SecretStore reads a secret's current value by its ARN: Secrets Manager in AWS (shared/wiring/secrets).
type SecretStore interface {
	SecretValue(ctx context.Context, arn string) ([]byte, error)
}

// A Secret names where one secret lives: a Secrets Manager ARN variable (AWS) and a plain
// variable (local).
type Secret struct{ ARNVar, LocalVar string }

// The secrets wcbridge reads.
var (
	WebhookTokens = Secret{ARNVar: EnvWebhookTokensARN, LocalVar: EnvWebhookTokensLocal}
	WhatConverts  = Secret{ARNVar: EnvWhatConvertsARN, LocalVar: EnvWhatConvertsLocal}
)

// Secret reads a secret's value: from Secrets Manager when its ARN variable is set, else from its
// local variable. store may be nil when no ARN is configured. Errors name variables, never values.
func (c Config) Secret(ctx context.Context, store SecretStore, s Secret) ([]byte, error) {
	if arn, _ := c.lookup(s.ARNVar); strings.TrimSpace(arn) != "" {
		if store == nil {
			return nil, fmt.Errorf("configuration: %s is set but no Secrets Manager client was given", s.ARNVar)
		}
		v, err := store.SecretValue(ctx, strings.TrimSpace(arn))
		if err != nil {
			return nil, fmt.Errorf("read the secret named by %s: %w", s.ARNVar, err)
		}
		return v, nil
	}
	if c.Deployed() {
		return nil, fmt.Errorf("configuration: set %s (Secrets Manager ARN); a deployed function reads no secret from its environment", s.ARNVar)
	}
	if v, _ := c.lookup(s.LocalVar); v != "" {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("configuration: set %s (Secrets Manager ARN) or, locally, %s", s.ARNVar, s.LocalVar)
}

// ParseTokens reads the webhook tokens secret: the object template.yaml generates,
// {"current": "...", "previous": "..."} (previous only while rotating), a JSON list, or a
// comma-separated list (the local form). Each token must be at least 32 characters; at most two
// are live (the current one and the one being rotated out).
func ParseTokens(raw []byte) ([]string, error) {
	var tokens []string
	s := strings.TrimSpace(string(raw))
	switch {
	case strings.HasPrefix(s, "{"):
		var v struct {
			Current  string `json:"current"`
			Previous string `json:"previous"`
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, errors.New(`webhook tokens: the secret is not {"current": "...", "previous": "..."} JSON`)
		}
		for _, t := range []string{v.Current, v.Previous} {
			if t != "" {
				tokens = append(tokens, t)
			}
		}
	case strings.HasPrefix(s, "["):
		if err := json.Unmarshal([]byte(s), &tokens); err != nil {
			return nil, errors.New("webhook tokens: the secret is not a JSON list of strings")
		}
	default:
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tokens = append(tokens, t)
			}
		}
	}
	if len(tokens) == 0 || len(tokens) > 2 {
		return nil, fmt.Errorf("webhook tokens: want 1 or 2 live tokens, got %d", len(tokens))
	}
	for i, t := range tokens {
		if len(t) < 32 {
			return nil, fmt.Errorf("webhook tokens: token %d is shorter than 32 characters", i+1)
		}
	}
	return tokens, nil
}

// splitList is a comma-separated list's non-empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
