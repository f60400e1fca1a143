// Command verify-audit checks wcbridge's audit trail over a range of UTC days: every hourly period's
// signed digest, the chain into the range and through it, the write-once copy in the digest bucket,
// and every record against its hash, its tag and its leaf, and each writer's record numbers. It names
// each record edited, deleted, inserted or reordered, each record whose tag fails, each number of a
// writer no record carries or that its writer logged as stored and the table lacks (a record deleted,
// even before its period was digested, even its writer's last), and each digest forged, deleted,
// rebuilt, missing or restarted.
//
//	go run ./scripts/verify-audit -from 2026-11-28 -to 2026-12-01 -public-key signing-key.pem
//	make verify-audit FROM=2026-11-28 TO=2026-12-01 PUBLIC_KEY=signing-key.pem   (or DATE=2026-11-28)
//
// The signatures are checked with the public key alone (-public-key: PEM, DER or the base64 text
// `aws kms get-public-key --query PublicKey --output text` prints); without it, SIGNING_KEY_ID names
// the key and kms:GetPublicKey fetches it. Environment: AUDIT_TABLE_NAME and AWS_REGION (required);
// AUDIT_BUCKET_NAME (the digest bucket: compare table and bucket), TAG_KEY_ID (check record tags:
// kms:Decrypt on the tag key, never on the data key), AUDIT_WRITER_LOG_GROUPS (the writers' log
// groups, the stack's AuditWriterLogGroups output: logs:FilterLogEvents) — each missing one is said
// on stderr, and the summary says what was not checked; DYNAMODB_ENDPOINT, KMS_ENDPOINT, S3_ENDPOINT,
// LOGS_ENDPOINT for local services.
//
// Legacy daily digests (before the hourly chain) verify with -legacy-date YYYY-MM-DD and DIGEST_KEY_ID
// (kms:VerifyMac); see docs/audit.md.
//
// Output: findings on stdout, one a line (kind, record or period, detail), then one summary line;
// progress on stderr. Exit status: 0 intact, 1 tampering found, 2 a usage or operational error
// (nothing, or not everything, was verified).
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/envelope"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/anchors"
	"github.com/wcbridge/wcbridge/shared/wiring/writelogs"
)

const (
	exitIntact   = 0
	exitTampered = 1
	exitError    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, time.Now, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: verify-audit -from YYYY-MM-DD -to YYYY-MM-DD [-public-key FILE]
       verify-audit -date YYYY-MM-DD [-public-key FILE]
       verify-audit -legacy-date YYYY-MM-DD          (a daily digest from before the hourly chain)

Verifies every hourly period of the UTC days given, and the chain into them.
Environment: AUDIT_TABLE_NAME, AWS_REGION (required); AUDIT_BUCKET_NAME, TAG_KEY_ID,
AUDIT_WRITER_LOG_GROUPS (compare with the digest bucket, check record tags, compare with the
writers' stored lines); SIGNING_KEY_ID (when no -public-key); DIGEST_KEY_ID (-legacy-date);
DYNAMODB_ENDPOINT, KMS_ENDPOINT, S3_ENDPOINT, LOGS_ENDPOINT (local services).
Exit status: 0 intact, 1 tampering found, 2 usage or operational error.
`

func run(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "first UTC day, YYYY-MM-DD")
	to := fs.String("to", "", "last UTC day, YYYY-MM-DD (default: -from)")
	date := fs.String("date", "", "one UTC day, YYYY-MM-DD")
	legacy := fs.String("legacy-date", "", "a legacy daily digest's day, YYYY-MM-DD")
	pubFile := fs.String("public-key", "", "the signing key's public key (PEM, DER or base64 DER)")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "verify-audit: "+format+"\n", a...)
		fmt.Fprint(stderr, usage)
		return exitError
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			return exitError
		}
		return fail("%v", err)
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *date != "" {
		if *from != "" || *to != "" {
			return fail("-date and -from/-to exclude each other")
		}
		*from, *to = *date, *date
	}
	if *to == "" {
		*to = *from
	}
	if *legacy == "" && *from == "" {
		return fail("-from (or -date) is required")
	}
	var missing []string
	for _, name := range []string{config.EnvTable, "AWS_REGION"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fail("%s not set", strings.Join(missing, ", "))
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_REGION", config.EnvTable, config.EnvDigestKey, config.EnvTagKey, config.EnvSigningKey,
		config.EnvAuditBucket, config.EnvWriterLogGroups, config.EnvDynamoDBEndpoint, config.EnvKMSEndpoint, config.EnvS3Endpoint, config.EnvLogsEndpoint,
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if v := getenv(k); v != "" {
			env[k] = v
		}
	}
	cfg, err := config.FromMap(env)
	if err != nil {
		return fail("%v", err)
	}
	// An operator runs this with a profile (SSO, a shared config file): the SDK's default chain,
	// which the functions' configuration (config.AWS) does not link. Against the local stand-ins,
	// the local credentials.
	var awsCfg aws.Config
	if cfg.Local() {
		awsCfg, err = cfg.AWS(ctx)
	} else {
		awsCfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	}
	if err != nil {
		fmt.Fprintf(stderr, "verify-audit: AWS configuration: %v\n", err)
		return exitError
	}
	// The SDK's own logger is silenced: its warnings (a response body that could not be drained) are
	// not findings, and stdout holds the findings and the summary only. Every failure still comes
	// back as an error, which stderr reports.
	awsCfg.Logger = logging.Nop{}
	db, keys := wiring.DynamoDB(cfg, awsCfg), wiring.KMS(cfg, awsCfg)
	if *legacy != "" {
		return runLegacy(ctx, *legacy, audit.New(audit.Config{DB: db, Table: cfg.Table, MAC: keys, DigestKeyID: cfg.DigestKeyID}), cfg, stdout, stderr)
	}

	first, err1 := time.Parse("2006-01-02", *from)
	last, err2 := time.Parse("2006-01-02", *to)
	if err1 != nil || err2 != nil {
		return fail("days must be YYYY-MM-DD")
	}
	if last.Before(first) {
		return fail("-to is before -from")
	}

	var pub *ecdsa.PublicKey
	switch {
	case *pubFile != "":
		b, err := os.ReadFile(*pubFile)
		if err != nil {
			return fail("read the public key: %v", err)
		}
		if pub, err = audit.ParsePublicKey(b); err != nil {
			return fail("%v", err)
		}
	case cfg.SigningKeyID != "":
		if pub, err = audit.FetchPublicKey(ctx, keys, cfg.SigningKeyID); err != nil {
			fmt.Fprintf(stderr, "verify-audit: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stderr, "verify-audit: public key from KMS (%s)\n", cfg.SigningKeyID)
	default:
		return fail("-public-key (or SIGNING_KEY_ID) is required")
	}
	scfg := audit.Config{DB: db, Table: cfg.Table, PublicKey: pub, Now: now}
	var notChecked []string
	if cfg.TagKeyID != "" {
		scfg.TagChecker = envelope.NewTagger(keys, cfg.TagKeyID, envelope.Options{})
	} else {
		notChecked = append(notChecked, "record tags (TAG_KEY_ID not set)")
	}
	if cfg.AuditBucket != "" {
		scfg.Anchor = anchors.Bucket(cfg, awsCfg)
	} else {
		notChecked = append(notChecked, "the digest bucket (AUDIT_BUCKET_NAME not set)")
	}
	if len(cfg.WriterLogGroups) > 0 {
		scfg.WriteLog = writelogs.CloudWatch(cfg, awsCfg)
	} else {
		notChecked = append(notChecked, "the writers' stored lines (AUDIT_WRITER_LOG_GROUPS not set)")
	}
	for _, n := range notChecked {
		fmt.Fprintf(stderr, "verify-audit: NOT checking %s\n", n)
	}
	store := audit.New(scfg)

	firstP := audit.PeriodOf(first)
	lastP := audit.PeriodOf(last.Add(24*time.Hour - audit.PeriodLength))
	fmt.Fprintf(stderr, "verify-audit: periods %s to %s in table %s\n", firstP, lastP, cfg.Table)
	rep, err := store.VerifyPeriods(ctx, firstP, lastP, func(f audit.Finding) {
		fmt.Fprintln(stdout, f.String())
	}, func(period string, records int) {
		fmt.Fprintf(stderr, "verify-audit: %s %d records\n", period, records)
	})
	if err != nil {
		fmt.Fprintf(stderr, "verify-audit: %v\n", err)
		return exitError
	}
	head := rep.Head
	if head == "" {
		head = "none"
	}
	fmt.Fprintf(stdout, "%s..%s: %d periods, %d digested, %d not due yet, %d before the chain, %d records, %d writers, head %s",
		firstP, lastP, rep.Periods, rep.Digested, rep.Pending, rep.BeforeChain, rep.Records, rep.Writers, head)
	if rep.LogChecked {
		fmt.Fprintf(stdout, ", %d stored lines", rep.LogLines)
	}
	if len(notChecked) > 0 {
		fmt.Fprintf(stdout, ", not checked: %s", strings.Join(notChecked, "; "))
	}
	if rep.Findings == 0 {
		fmt.Fprintln(stdout, ": intact")
		return exitIntact
	}
	plural := "s"
	if rep.Findings == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, ": TAMPERED, %d finding%s\n", rep.Findings, plural)
	return exitTampered
}

// runLegacy verifies a daily digest of the format before the hourly chain (a KMS HMAC, checked with
// kms:VerifyMac).
func runLegacy(ctx context.Context, day string, store *audit.Store, cfg config.Config, stdout, stderr io.Writer) int {
	if cfg.DigestKeyID == "" {
		fmt.Fprintf(stderr, "verify-audit: -legacy-date needs DIGEST_KEY_ID\n%s", usage)
		return exitError
	}
	fmt.Fprintf(stderr, "verify-audit: legacy daily digest of %s in table %s\n", day, cfg.Table)
	rep, err := store.VerifyWithProgress(ctx, day, func(n int) {
		fmt.Fprintf(stderr, "verify-audit: %d records read\n", n)
	})
	if err != nil {
		fmt.Fprintf(stderr, "verify-audit: %v\n", err)
		return exitError
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(stdout, f.String())
	}
	prev := rep.Digest.Previous
	if prev == "" {
		prev = "none"
	}
	fmt.Fprintf(stdout, "%s: %d records, digest %s, previous %s: ", rep.Day, rep.Records, rep.Digest.Value, prev)
	if rep.Intact() {
		fmt.Fprintln(stdout, "intact")
		return exitIntact
	}
	fmt.Fprintf(stdout, "TAMPERED, %d findings\n", len(rep.Findings))
	return exitTampered
}
