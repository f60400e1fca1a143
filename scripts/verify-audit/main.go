// Command verify-audit checks one UTC day of wcbridge's audit trail against its MACed, chained digest
// and names every record edited, deleted, inserted or reordered, a forged digest and a broken chain.
//
//	go run ./scripts/verify-audit -date 2026-11-28      (or: make verify-audit DATE=2026-11-28)
//
// Environment: AUDIT_TABLE_NAME and DIGEST_KEY_ID (the HMAC_256 KMS key of the digests) are required;
// AWS_REGION and credentials as for any AWS SDK client; DYNAMODB_ENDPOINT and KMS_ENDPOINT point it at
// other services than AWS's (the local stack). It needs dynamodb:GetItem and dynamodb:Query on the table
// and kms:VerifyMac on the key, and never kms:Decrypt: it does not open PHI.
//
// Exit status: 0 the day is intact, 1 tampering was found (one finding a line on stdout:
// kind, record ID, detail), 2 a usage or operational error (nothing was verified).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/logging"

	"github.com/wcbridge/wcbridge/shared/audit"
)

const (
	exitIntact   = 0
	exitTampered = 1
	exitError    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: verify-audit -date YYYY-MM-DD

Verifies one UTC day of the audit trail against its digest.
Environment: AUDIT_TABLE_NAME, DIGEST_KEY_ID and AWS_REGION (required);
DYNAMODB_ENDPOINT, KMS_ENDPOINT (optional, for local services).
Exit status: 0 intact, 1 tampering found, 2 usage or operational error.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	date := fs.String("date", "", "the UTC day to verify, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil || *date == "" || fs.NArg() > 0 {
		switch {
		case errors.Is(err, flag.ErrHelp):
		case err != nil:
			fmt.Fprintf(stderr, "verify-audit: %v\n", err)
		case *date == "":
			fmt.Fprintln(stderr, "verify-audit: -date is required")
		default:
			fmt.Fprintf(stderr, "verify-audit: unexpected argument %q\n", fs.Arg(0))
		}
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var missing []string
	for _, name := range []string{"AUDIT_TABLE_NAME", "DIGEST_KEY_ID", "AWS_REGION"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "verify-audit: %s not set\n%s", strings.Join(missing, ", "), usage)
		return exitError
	}

	// The SDK's own logger is silenced: its warnings (a response body that could not be drained) are
	// not findings, and stdout holds the findings and the summary only. Every failure still comes
	// back as an error, which stderr reports.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(getenv("AWS_REGION")), config.WithLogger(logging.Nop{}))
	if err != nil {
		fmt.Fprintf(stderr, "verify-audit: AWS configuration: %v\n", err)
		return exitError
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := getenv("DYNAMODB_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	keys := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if ep := getenv("KMS_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	store := audit.New(audit.Config{DB: db, Table: getenv("AUDIT_TABLE_NAME"), MAC: keys, DigestKeyID: getenv("DIGEST_KEY_ID")})

	fmt.Fprintf(stderr, "verify-audit: %s in table %s\n", *date, getenv("AUDIT_TABLE_NAME"))
	rep, err := store.VerifyWithProgress(ctx, *date, func(n int) {
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
	plural := "s"
	if len(rep.Findings) == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, "TAMPERED, %d finding%s\n", len(rep.Findings), plural)
	return exitTampered
}
