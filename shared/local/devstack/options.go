package devstack

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// Local defaults. They are printed at start-up and are obviously not for AWS.
const (
	// DefaultWebhookToken is the local webhook token: 64 characters, as long as the one the template
	// generates in Secrets Manager.
	DefaultWebhookToken = "local-webhook-token-do-not-use-in-aws-00000000000000000000000000"
	// DefaultAccessKeyID and DefaultSecretAccessKey are the local IAM caller's access key: the IAM
	// routes accept SigV4 signatures made with them.
	DefaultAccessKeyID     = "AKIALOCALWCBRIDGE0001"
	DefaultSecretAccessKey = "wcbridge-local-secret-do-not-use-in-aws-0000"
	// DefaultTable is the local name of the audit table.
	DefaultTable = "wcbridge-local-audit"
	// DefaultLogGroupPrefix begins the local log groups' names: /aws/lambda/local-GetLeadFunction.
	DefaultLogGroupPrefix = "/aws/lambda/local-"
	// DefaultAPIPort and DefaultLambdaPort are what `make dev` listens on (PORT, LAMBDA_PORT), as
	// `sam local start-api` and `sam local start-lambda` do.
	DefaultAPIPort    = 3000
	DefaultLambdaPort = 3001
)

// host is where everything listens: loopback only, so nothing local is reachable from the network.
const host = "127.0.0.1"

// SimulatorProfiles are the profiles of the seeded simulator, which the daily report covers locally.
var SimulatorProfiles = []int64{1001, 1002}

// Options configures StartBackends and Start. The zero value of every field but the endpoints is a
// working default.
type Options struct {
	// Dir is the repository root (template.yaml). Empty: found from the working directory upward.
	Dir string
	// ParameterOverrides set template parameters, as `sam local --parameter-overrides` does (for
	// example EnableQuoteValueUpdate=true turns that workflow's rule on).
	ParameterOverrides map[string]string

	// APIPort and LambdaPort are the loopback ports of the REST API and the Invoke API; 0 picks free
	// ports (tests). scripts/dev passes DefaultAPIPort and DefaultLambdaPort unless told otherwise.
	APIPort, LambdaPort int

	// DynamoDBEndpoint and KMSEndpoint are the DynamoDB- and KMS-compatible services (dynalite and
	// local-kms under `make dev`, or real ones). Both are required.
	DynamoDBEndpoint, KMSEndpoint string
	// S3Endpoint is the S3-compatible service (moto_server) that holds the audit digest bucket,
	// created at start; empty: none, and AuditDigestFunction's anchoring fails when invoked.
	S3Endpoint string
	// LogsEndpoint is the CloudWatch-Logs-compatible service (moto_server) the stack delivers every
	// function's log lines to, as Lambda does: each function its own group (LogGroupPrefix and its
	// logical ID), a stream per start. Empty: the functions log to stderr only, and the digest
	// function's reading of the writers' groups fails when invoked.
	LogsEndpoint string
	// LogGroupPrefix begins the name of every function's local log group (default
	// DefaultLogGroupPrefix); stacks that share one Logs server and read their logs need one each.
	LogGroupPrefix string

	// WhatConvertsURL is a real WhatConverts API base URL; empty starts the simulator.
	// WhatConvertsCredentials is its credentials secret (whatconverts.ParseCredentials's JSON),
	// required with WhatConvertsURL and ignored with the simulator, whose keys are used.
	WhatConvertsURL, WhatConvertsCredentials string

	// WebhookTokens are the live webhook tokens (1 or 2); default DefaultWebhookToken.
	WebhookTokens []string
	// AccessKeyID and SecretAccessKey are the local IAM caller's key; defaults DefaultAccessKeyID and
	// DefaultSecretAccessKey.
	AccessKeyID, SecretAccessKey string

	// AccessPolicyFile is a Cedar policy file the IAM routes are authorised with, read again when
	// it changes (WCBRIDGE_ACCESS_POLICY_FILE). Empty: the built-in policy, access.LocalPolicy, which
	// permits the default local caller everything.
	AccessPolicyFile string
	// Callers are more local IAM callers, each with its own access key (WCBRIDGE_LOCAL_CALLERS_FILE,
	// see ParseCallers), besides the default one.
	Callers []apigateway.Principal

	// Table is the audit table's name (default DefaultTable); created if missing.
	Table string
	// DeleteTableOnClose deletes the table at Close (tests that share one DynamoDB server).
	DeleteTableOnClose bool
	// DataKeyID, TagKeyID and SigningKeyID are existing KMS keys to use; each empty one is created
	// at start.
	DataKeyID, TagKeyID, SigningKeyID string
	// AuditBucket is the digest bucket's name in the S3 stand-in (default DefaultAuditBucket);
	// stacks that share one S3 server and build digests need one each.
	AuditBucket string
	// ChainSince, when set, starts the hourly digest chain at that hour (UTC) if it has not
	// started, digesting every due period since, as AuditDigestFunction would have done had it run
	// all along (cron schedules do not run locally): `make dev` starts it at the beginning of the
	// previous UTC day, so that the report of that day verifies. Needs S3Endpoint.
	ChainSince time.Time
	// EventBus is the bus name the functions publish to. Empty: the template's own value, as `sam
	// local` resolves it (!Ref LeadEventBus is "LeadEventBus"), which is also the bus the template's
	// rules listen on locally.
	EventBus string
	// ReportProfiles are the profiles the daily report covers (default SimulatorProfiles).
	ReportProfiles []int64

	// SimulatorSeed and SimulatorNow are the simulator's options (wcsim.Options).
	SimulatorSeed int64
	SimulatorNow  func() time.Time

	// DisableSchedules leaves the template's rate() schedules unrun. ScheduleEvery, when positive,
	// runs each of them at that interval instead of the template's (tests).
	DisableSchedules bool
	ScheduleEvery    time.Duration

	// AWSEnv are variables passed to every function as Lambda passes its role's credentials
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), for real services. Empty: the
	// functions use static local credentials, which dynalite and local-kms accept.
	AWSEnv map[string]string

	// Logger gets the local API's request and invocation lines and the rule engine's (never a
	// payload). Discarded when nil.
	// The functions log as in Lambda, JSON lines on stderr.
	Logger *slog.Logger
}

// withDefaults fills the defaults and checks what has none.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		dir, err := FindRoot()
		if err != nil {
			return o, err
		}
		o.Dir = dir
	}
	if o.DynamoDBEndpoint == "" || o.KMSEndpoint == "" {
		return o, errors.New("devstack: DYNAMODB_ENDPOINT and KMS_ENDPOINT must be set: `make dev` starts dynalite and local-kms for them (scripts/with-services.sh)")
	}
	if o.WhatConvertsURL != "" && o.WhatConvertsCredentials == "" {
		return o, errors.New("devstack: WHATCONVERTS_BASE_URL is set without WHATCONVERTS_CREDENTIALS (the API keys, as JSON)")
	}
	if len(o.WebhookTokens) == 0 {
		o.WebhookTokens = []string{DefaultWebhookToken}
	}
	if o.AccessKeyID == "" {
		o.AccessKeyID = DefaultAccessKeyID
	}
	if o.SecretAccessKey == "" {
		o.SecretAccessKey = DefaultSecretAccessKey
	}
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if o.LogGroupPrefix == "" {
		o.LogGroupPrefix = DefaultLogGroupPrefix
	}
	if o.AuditBucket == "" {
		o.AuditBucket = DefaultAuditBucket
	}
	if !o.ChainSince.IsZero() && o.S3Endpoint == "" {
		return o, errors.New("devstack: starting the digest chain needs the S3 stand-in (S3_ENDPOINT) for its bucket")
	}
	keys := map[string]bool{o.AccessKeyID: true}
	for _, c := range o.Callers {
		if keys[c.AccessKeyID] {
			return o, fmt.Errorf("devstack: access key %s is given to two local callers", c.AccessKeyID)
		}
		keys[c.AccessKeyID] = true
	}
	if len(o.ReportProfiles) == 0 {
		o.ReportProfiles = SimulatorProfiles
	}
	if o.APIPort < 0 || o.APIPort > 65535 || o.LambdaPort < 0 || o.LambdaPort > 65535 {
		return o, fmt.Errorf("devstack: ports must be 0-65535")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// FindRoot is the repository root: the nearest directory at or above the working directory that
// holds go.mod and template.yaml.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	for {
		_, errMod := os.Stat(filepath.Join(dir, "go.mod"))
		_, errTmpl := os.Stat(filepath.Join(dir, "template.yaml"))
		if errMod == nil && errTmpl == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devstack: no go.mod with a template.yaml above the working directory")
		}
		dir = parent
	}
}

// LoadTemplate reads the repository's template.yaml as `sam local` would, with parameter overrides.
func LoadTemplate(dir string, params map[string]string) (*samtemplate.Template, error) {
	return samtemplate.Load(filepath.Join(dir, "template.yaml"), params)
}
