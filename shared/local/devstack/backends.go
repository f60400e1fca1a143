package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/logship"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/table"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/anchors"
)

// Backends are what the functions talk to, ready before any function starts: the audit table, the
// data, tag and signing keys, the digest bucket, the bus (served over HTTP, so functions in other processes reach it too) and
// WhatConverts (the simulator, served over HTTP, or a real one).
type Backends struct {
	// Options are the options with their defaults filled; DataKeyID, TagKeyID and SigningKeyID are the keys in
	// use (created at start unless given).
	Options Options

	// Bus holds every event the functions published; EventBridgeURL is its EventBridge API.
	Bus            *eventbus.Bus
	EventBridgeURL string
	// LambdaEndpoint is Lambda's Invoke API the functions call (a replay invokes itself); set by
	// Start once it listens.
	LambdaEndpoint string

	// Sim is the WhatConverts simulator (nil with a real WhatConverts). WhatConvertsURL is the API
	// base URL the functions use; WhatConvertsCredentials the credentials secret they get.
	Sim                     *wcsim.Sim
	WhatConvertsURL         string
	WhatConvertsCredentials string

	db        *dynamodb.Client
	logs      *cloudwatchlogs.Client // nil without Options.LogsEndpoint
	logGroups logGroups
	servers   []*http.Server
}

// StartBackends creates the table and the keys (unless given) and serves the bus and the simulator on
// free loopback ports. ctx bounds the start only. Close stops them.
func StartBackends(ctx context.Context, opts Options) (*Backends, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Backends{Options: opts, Bus: eventbus.New()}
	tmpl, err := LoadTemplate(opts.Dir, opts.ParameterOverrides)
	if err != nil {
		return nil, err
	}
	if b.logGroups, err = localLogGroups(tmpl, opts.LogGroupPrefix); err != nil {
		return nil, err
	}
	if opts.LogsEndpoint != "" {
		b.logs = logship.Client(opts.LogsEndpoint, samtemplate.Region)
	}
	ok := false
	defer func() {
		if !ok {
			_ = b.Close(context.Background())
		}
	}()

	// The stack's own clients come from the same loader as the functions'.
	cfg, err := config.FromMap(b.baseEnv())
	if err != nil {
		return nil, err
	}
	awsCfg, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	b.db = wiring.DynamoDB(cfg, awsCfg)
	if err := table.Create(ctx, b.db, opts.Table); err != nil {
		return nil, fmt.Errorf("devstack: at %s: %w", opts.DynamoDBEndpoint, err)
	}
	if err := b.createKeys(ctx, wiring.KMS(cfg, awsCfg)); err != nil {
		return nil, err
	}
	if opts.S3Endpoint != "" {
		// As template.yaml's AuditDigestBucket: versioned, Object Lock, COMPLIANCE six years.
		c := anchors.S3(cfg, awsCfg)
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(opts.AuditBucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil &&
			!strings.Contains(err.Error(), "BucketAlready") {
			return nil, fmt.Errorf("devstack: create the audit digest bucket at %s: %w", opts.S3Endpoint, err)
		}
		if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
			Bucket: aws.String(opts.AuditBucket),
			ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
				ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
				Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{
					Mode: s3types.ObjectLockRetentionModeCompliance, Years: aws.Int32(6),
				}},
			},
		}); err != nil {
			return nil, fmt.Errorf("devstack: lock the audit digest bucket: %w", err)
		}
		if !opts.ChainSince.IsZero() {
			if err := b.startChain(ctx, wiring.KMS(cfg, awsCfg), c); err != nil {
				return nil, err
			}
		}
	}

	url, err := b.serve(b.Bus)
	if err != nil {
		return nil, err
	}
	b.EventBridgeURL = url

	if opts.WhatConvertsURL != "" {
		b.WhatConvertsURL, b.WhatConvertsCredentials = opts.WhatConvertsURL, opts.WhatConvertsCredentials
	} else {
		b.Sim = wcsim.NewSeeded(wcsim.Options{Seed: opts.SimulatorSeed, Now: opts.SimulatorNow})
		url, err := b.serve(b.Sim)
		if err != nil {
			return nil, err
		}
		b.WhatConvertsURL = url + "/api/v1"
		b.WhatConvertsCredentials = SimulatorCredentials()
	}
	ok = true
	return b, nil
}

// SimulatorCredentials is the credentials secret for the seeded simulator: its two profile keys.
func SimulatorCredentials() string {
	type key struct {
		Token  string `json:"token"`
		Secret string `json:"secret"`
	}
	v := struct {
		Profiles map[string]key `json:"profiles"`
	}{Profiles: map[string]key{
		"1001": {wcsim.ProfileKey1001.Token, wcsim.ProfileKey1001.Secret},
		"1002": {wcsim.ProfileKey1002.Token, wcsim.ProfileKey1002.Secret},
	}}
	b, _ := json.Marshal(v)
	return string(b)
}

// DefaultAuditBucket is the local audit digest bucket's name.
const DefaultAuditBucket = "wcbridge-local-audit-digests"

// startChain digests every due period since Options.ChainSince, as AuditDigestFunction does (signed,
// anchored, refusing to rebuild or restart), unless the chain already runs from elsewhere.
func (b *Backends) startChain(ctx context.Context, k *kms.Client, c *s3.Client) error {
	store := audit.New(audit.Config{DB: b.db, Table: b.Options.Table, Signer: k, SigningKey: b.Options.SigningKeyID,
		Anchor: &anchor.S3{Client: c, Bucket: b.Options.AuditBucket}})
	for p := b.Options.ChainSince.UTC().Truncate(audit.PeriodLength); !p.After(audit.LastDuePeriod(time.Now())); p = p.Add(audit.PeriodLength) {
		_, err := store.BuildPeriod(ctx, audit.PeriodOf(p))
		switch {
		case errors.Is(err, audit.ErrDigestExists):
		case errors.Is(err, audit.ErrChainBroken):
			return nil // the chain started later, in this table or bucket: the digest function goes on from there
		case err != nil:
			return fmt.Errorf("devstack: start the digest chain: %w", err)
		}
	}
	return nil
}

// createKeys creates the data key (symmetric), the tag key (symmetric) and the signing key
// (ECC_NIST_P256), as template.yaml declares them, unless the options name existing ones.
func (b *Backends) createKeys(ctx context.Context, k *kms.Client) error {
	create := func(in *kms.CreateKeyInput) (string, error) {
		out, err := k.CreateKey(ctx, in)
		if err != nil {
			return "", fmt.Errorf("devstack: create a KMS key at %s: %w", b.Options.KMSEndpoint, err)
		}
		return aws.ToString(out.KeyMetadata.Arn), nil
	}
	var err error
	if b.Options.DataKeyID == "" {
		b.Options.DataKeyID, err = create(&kms.CreateKeyInput{Description: aws.String("wcbridge local data key")})
		if err != nil {
			return err
		}
	}
	if b.Options.TagKeyID == "" {
		b.Options.TagKeyID, err = create(&kms.CreateKeyInput{Description: aws.String("wcbridge local audit record tag key")})
		if err != nil {
			return err
		}
	}
	if b.Options.SigningKeyID == "" {
		b.Options.SigningKeyID, err = create(&kms.CreateKeyInput{
			Description: aws.String("wcbridge local audit digest signing key"),
			KeySpec:     kmstypes.KeySpecEccNistP256,
			KeyUsage:    kmstypes.KeyUsageTypeSignVerify,
		})
	}
	return err
}

// serve serves h on a free loopback port and returns its base URL.
func (b *Backends) serve(h http.Handler) (string, error) {
	ln, err := listen(0)
	if err != nil {
		return "", err
	}
	srv, url := serve(ln, h)
	b.servers = append(b.servers, srv)
	return url, nil
}

// listen listens on a loopback port (0: a free one).
func listen(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("devstack: listen on %s:%d: %w", host, port, err)
	}
	return ln, nil
}

// serve serves h on ln and returns the server and its base URL.
func serve(ln net.Listener, h http.Handler) (*http.Server, string) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String()
}

// baseEnv is what every function gets whatever the template says: the region, the endpoints, and
// the AWS credentials passed through (as Lambda passes its role's).
func (b *Backends) baseEnv() map[string]string {
	env := map[string]string{
		"AWS_REGION":                  samtemplate.Region,
		config.EnvDynamoDBEndpoint:    b.Options.DynamoDBEndpoint,
		config.EnvKMSEndpoint:         b.Options.KMSEndpoint,
		config.EnvS3Endpoint:          b.Options.S3Endpoint,
		config.EnvLogsEndpoint:        b.Options.LogsEndpoint,
		config.EnvEventBridgeEndpoint: b.EventBridgeURL,
	}
	for k, v := range b.Options.AWSEnv {
		env[k] = v
	}
	return env
}

// Env is the environment of one function of the template: its Environment.Variables overlaid with
// the local values (see the package comment). The in-process stack loads it with config.FromMap;
// the end-to-end suite gives it to the Lambda runtime interface emulator.
func (b *Backends) Env(fn *samtemplate.Function) map[string]string {
	env := map[string]string{}
	for k, v := range fn.Environment {
		env[k] = v
	}
	profiles := make([]string, len(b.Options.ReportProfiles))
	for i, p := range b.Options.ReportProfiles {
		profiles[i] = strconv.FormatInt(p, 10)
	}
	local := map[string]string{
		config.EnvTable:          b.Options.Table,
		config.EnvDataKey:        b.Options.DataKeyID,
		config.EnvTagKey:         b.Options.TagKeyID,
		config.EnvSigningKey:     b.Options.SigningKeyID,
		config.EnvAuditBucket:    b.Options.AuditBucket,
		config.EnvReportProfiles: strings.Join(profiles, ","),
	}
	if b.Options.EventBus != "" {
		local[config.EnvEventBus] = b.Options.EventBus
	}
	// The writers' local groups, where the stack delivers their lines. Named even without a Logs
	// endpoint, as a deployment always names them: the verifier's reading then fails when it runs.
	local[config.EnvWriterLogGroups] = strings.Join(b.logGroups.writers[fn.LogicalID], ",")
	for k, v := range local {
		if _, declared := fn.Environment[k]; declared {
			env[k] = v
		}
	}
	// Secrets: the local variable config.Secret falls back to, instead of the ARN.
	if _, declared := fn.Environment[config.EnvWebhookTokensARN]; declared {
		delete(env, config.EnvWebhookTokensARN)
		env[config.EnvWebhookTokensLocal] = strings.Join(b.Options.WebhookTokens, ",")
	}
	if _, declared := fn.Environment[config.EnvWhatConvertsARN]; declared {
		delete(env, config.EnvWhatConvertsARN)
		env[config.EnvWhatConvertsLocal] = b.WhatConvertsCredentials
		env[config.EnvWhatConvertsURL] = b.WhatConvertsURL
	}
	// Access control: the local policy instead of the parameter, and the local gateway's ID of the
	// function's API instead of the parameter that holds the deployed one.
	if _, declared := fn.Environment[config.EnvAccessPolicyParameter]; declared {
		delete(env, config.EnvAccessPolicyParameter)
		if b.Options.AccessPolicyFile != "" {
			env[config.EnvAccessPolicyFile] = b.Options.AccessPolicyFile
		} else {
			env[config.EnvAccessPolicyBuiltin] = access.BuiltinLocal
		}
	}
	if _, declared := fn.Environment[config.EnvAPIIDParameter]; declared {
		delete(env, config.EnvAPIIDParameter)
		if len(fn.APIEvents) > 0 {
			env[config.EnvAPIID] = apigateway.APIID(fn.APIEvents[0].RestAPIID)
		}
	}
	for k, v := range b.baseEnv() {
		env[k] = v
	}
	// As Lambda sets it: the function's name, which the Invoke API knows it by.
	env[config.EnvLambdaFunctionName] = fn.LogicalID
	if fn.FunctionName != "" {
		env[config.EnvLambdaFunctionName] = fn.FunctionName
	}
	if b.LambdaEndpoint != "" {
		env[config.EnvLambdaEndpoint] = b.LambdaEndpoint
	}
	return env
}

// Close stops the bus and simulator servers (and deletes the table if asked). The table and keys are
// otherwise left: under `make dev` they live and die with dynalite and local-kms.
func (b *Backends) Close(ctx context.Context) error {
	var errs []error
	if b.Sim != nil {
		b.Sim.SetWebhookURL("")
		b.Sim.WaitWebhooks()
	}
	for _, srv := range b.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	b.servers = nil
	if b.Options.DeleteTableOnClose && b.db != nil {
		_, err := b.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(b.Options.Table)})
		if err != nil {
			errs = append(errs, fmt.Errorf("devstack: delete table: %w", err))
		}
		b.db = nil
	}
	return errors.Join(errs...)
}
