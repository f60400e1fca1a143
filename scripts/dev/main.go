// Command dev is `make dev`: the whole wcbridge stack on this machine (shared/local/devstack), with the
// routes of template.yaml on 127.0.0.1:$PORT (3000) and Lambda's Invoke API on 127.0.0.1:$LAMBDA_PORT
// (3001), like `sam local start-api` and `sam local start-lambda`, without an AWS account or Docker.
//
// It only reads its settings from the environment, starts the stack, prints what runs where, and
// stops everything on SIGINT (Ctrl-C) or SIGTERM. `make dev` runs it under scripts/with-services.sh,
// which starts dynalite, local-kms and moto and sets DYNAMODB_ENDPOINT, KMS_ENDPOINT, S3_ENDPOINT
// and LOGS_ENDPOINT.
//
// With -writer-log-groups it only prints the audit writers' local log groups, comma-separated (what
// `make verify-audit` gives the verifier as AUDIT_WRITER_LOG_GROUPS against this stack).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/devstack"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// How long Ctrl-C waits for requests in flight before giving up on them.
const shutdownGrace = 15 * time.Second

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: make dev   (or: scripts/with-services.sh go run ./scripts/dev)\n\n%s", envHelp)
	}
	writerGroups := flag.Bool("writer-log-groups", false, "print the audit writers' local log groups and exit")
	flag.Parse()
	if *writerGroups {
		if err := printWriterLogGroups(); err != nil {
			fmt.Fprintln(os.Stderr, "dev:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run() error {
	opts, err := optionsFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	st, err := devstack.Start(startCtx, opts)
	cancel()
	if err != nil {
		return err
	}
	fmt.Print(st.Banner(time.Now()))

	<-ctx.Done()
	stop() // a second Ctrl-C kills at once
	fmt.Fprintln(os.Stderr, "dev: stopping")
	closeCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := st.Close(closeCtx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "dev: stopped")
	return nil
}

// printWriterLogGroups prints the writers' log groups of a stack started from this repository.
func printWriterLogGroups() error {
	dir, err := devstack.FindRoot()
	if err != nil {
		return err
	}
	tmpl, err := devstack.LoadTemplate(dir, nil)
	if err != nil {
		return err
	}
	groups, err := devstack.TemplateWriterLogGroups(tmpl, "")
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(groups, ","))
	return nil
}

const envHelp = `Environment (all optional under make dev):
  PORT                                 REST API port (default 3000)
  LAMBDA_PORT                          Lambda Invoke API port (default 3001)
  WCBRIDGE_WEBHOOK_TOKENS              comma-separated webhook tokens, 1 or 2, each >= 32 characters
  WCBRIDGE_LOCAL_ACCESS_KEY_ID         the access key the IAM routes accept (SigV4)
  WCBRIDGE_LOCAL_SECRET_ACCESS_KEY     its secret
  WCBRIDGE_LOCAL_CALLERS_FILE          more IAM callers: [{"access_key_id", "secret_access_key", "principal_arn"}]
  WCBRIDGE_ACCESS_POLICY_FILE          a Cedar access policy instead of the built-in one (read again when it changes)
  DYNAMODB_ENDPOINT, KMS_ENDPOINT      DynamoDB and KMS (make dev starts dynalite and local-kms unless both are set)
  S3_ENDPOINT                          S3, for the audit digest bucket (make dev starts moto for it)
  LOGS_ENDPOINT                        CloudWatch Logs: each function's output also goes to its group there,
                                       /aws/lambda/local-<LogicalID> (the same moto)
  WHATCONVERTS_BASE_URL                a real WhatConverts API instead of the simulator ...
  WHATCONVERTS_CREDENTIALS             ... and its keys: {"profiles": {"<id>": {"token": "...", "secret": "..."}}}
  AUDIT_TABLE_NAME                     the table's name (default wcbridge-local-audit)
  DATA_KEY_ID                          an existing data key to use instead of creating one at start
  REPORT_PROFILE_IDS                   profiles the daily report covers (default: the simulator's 1001,1002)
  WCBRIDGE_PARAMETER_OVERRIDES         template parameters, "Key=Value Key2=Value2" (sam local --parameter-overrides)
`

// envCallersFile names the JSON file of extra local callers (devstack.ParseCallers).
const envCallersFile = "WCBRIDGE_LOCAL_CALLERS_FILE"

// optionsFromEnv reads the stack's settings. The Makefile passes endpoints the user set before
// scripts/with-services.sh replaced them as WCBRIDGE_DEV_DYNAMODB_ENDPOINT / _KMS_ENDPOINT.
func optionsFromEnv(lookup func(string) (string, bool)) (devstack.Options, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := get(k); v != "" {
				return v
			}
		}
		return ""
	}
	var errs []error
	port := func(k string, def int) int {
		s := get(k)
		if s == "" {
			return def
		}
		p, err := strconv.Atoi(s)
		if err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s must be a port number (0-65535)", k))
		}
		return p
	}
	o := devstack.Options{
		APIPort:          port("PORT", devstack.DefaultAPIPort),
		LambdaPort:       port("LAMBDA_PORT", devstack.DefaultLambdaPort),
		DynamoDBEndpoint: first("WCBRIDGE_DEV_DYNAMODB_ENDPOINT", config.EnvDynamoDBEndpoint),
		KMSEndpoint:      first("WCBRIDGE_DEV_KMS_ENDPOINT", config.EnvKMSEndpoint),
		S3Endpoint:       first("WCBRIDGE_DEV_S3_ENDPOINT", config.EnvS3Endpoint),
		LogsEndpoint:     first("WCBRIDGE_DEV_LOGS_ENDPOINT", config.EnvLogsEndpoint),
		WhatConvertsURL:  get(config.EnvWhatConvertsURL),
		AccessKeyID:      get("WCBRIDGE_LOCAL_ACCESS_KEY_ID"),
		SecretAccessKey:  get("WCBRIDGE_LOCAL_SECRET_ACCESS_KEY"),
		Table:            get(config.EnvTable),
		DataKeyID:        get(config.EnvDataKey),
		AWSEnv:           map[string]string{},
	}
	if o.S3Endpoint != "" {
		// The digest function's cron schedule does not run here: the chain starts with yesterday,
		// so that the report of yesterday (the banner's example) verifies its 24 hours.
		o.ChainSince = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	}
	if o.APIPort != 0 && o.APIPort == o.LambdaPort {
		errs = append(errs, errors.New("PORT and LAMBDA_PORT must differ"))
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		errs = append(errs, errors.New("set both WCBRIDGE_LOCAL_ACCESS_KEY_ID and WCBRIDGE_LOCAL_SECRET_ACCESS_KEY, or neither"))
	}
	if s := get(config.EnvWebhookTokensLocal); s != "" {
		tokens, err := config.ParseTokens([]byte(s))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", config.EnvWebhookTokensLocal, err))
		}
		o.WebhookTokens = tokens
	}
	if o.WhatConvertsURL != "" {
		o.WhatConvertsCredentials = get(config.EnvWhatConvertsLocal)
		creds, err := whatconverts.ParseCredentials([]byte(o.WhatConvertsCredentials))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s is set, so %s must hold its keys: %w", config.EnvWhatConvertsURL, config.EnvWhatConvertsLocal, err))
		}
		// The report covers the profiles the keys name, unless told otherwise.
		for id := range creds.Profiles {
			o.ReportProfiles = append(o.ReportProfiles, id)
		}
		sort.Slice(o.ReportProfiles, func(i, j int) bool { return o.ReportProfiles[i] < o.ReportProfiles[j] })
	}
	if s := get(config.EnvReportProfiles); s != "" {
		cfg, err := config.FromMap(map[string]string{config.EnvReportProfiles: s})
		if err != nil {
			errs = append(errs, err)
		}
		o.ReportProfiles = cfg.ReportProfiles
	}
	if s := get(config.EnvAccessPolicyFile); s != "" {
		abs, err := filepath.Abs(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", config.EnvAccessPolicyFile, err))
		}
		o.AccessPolicyFile = abs
	}
	if s := get(envCallersFile); s != "" {
		b, err := os.ReadFile(s)
		if err == nil {
			o.Callers, err = devstack.ParseCallers(b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envCallersFile, err))
		}
	}
	if s := get("WCBRIDGE_PARAMETER_OVERRIDES"); s != "" {
		params, err := parseOverrides(s)
		if err != nil {
			errs = append(errs, err)
		}
		o.ParameterOverrides = params
	}
	// Passed to the functions as Lambda passes its role's credentials, for real services.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if v := get(k); v != "" {
			o.AWSEnv[k] = v
		}
	}
	return o, errors.Join(errs...)
}

// parseOverrides reads WCBRIDGE_PARAMETER_OVERRIDES: Key=Value pairs separated by spaces, as
// `sam local --parameter-overrides` takes them (the ParameterKey=K,ParameterValue=V form too).
func parseOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range strings.Fields(s) {
		if k, ok := strings.CutPrefix(f, "ParameterKey="); ok {
			key, value, found := strings.Cut(k, ",ParameterValue=")
			if !found || key == "" {
				return nil, errors.New("WCBRIDGE_PARAMETER_OVERRIDES: want Key=Value pairs separated by spaces")
			}
			out[key] = value
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, errors.New("WCBRIDGE_PARAMETER_OVERRIDES: want Key=Value pairs separated by spaces")
		}
		out[k] = v
	}
	return out, nil
}
