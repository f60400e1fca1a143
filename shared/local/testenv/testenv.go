// Package testenv connects integration tests to the real local services that scripts/with-services.sh
// starts (dynalite for DynamoDB, local-kms for KMS). Tests call it; nothing else should.
//
// When a service's endpoint is not set, the test is skipped with the reason, unless CI=true, where a
// missing service fails the run: CI never passes by skipping.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wcbridge/wcbridge/shared/local/logship"
	"github.com/wcbridge/wcbridge/shared/table"
)

// Region is the region every local client uses.
const Region = "us-east-1"

// AWSConfig is an SDK configuration with static local credentials, for the local services.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// endpoint returns the service endpoint from env, or skips (fails under CI) when it is unset.
func endpoint(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		msg := env + " is not set: run this test through `make test` (scripts/with-services.sh)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

// DynamoDB returns a client for the local DynamoDB-compatible server.
func DynamoDB(t testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	ep := endpoint(t, "DYNAMODB_ENDPOINT")
	opts = append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep) }}, opts...)
	return dynamodb.NewFromConfig(AWSConfig(), opts...)
}

// Table creates a fresh table with the project's schema, unique to this test, and returns its name.
func Table(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	name := "wcbridge-test-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := table.Create(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// KMS returns a client for the local KMS-compatible server.
func KMS(t testing.TB, opts ...func(*kms.Options)) *kms.Client {
	t.Helper()
	ep := endpoint(t, "KMS_ENDPOINT")
	opts = append([]func(*kms.Options){func(o *kms.Options) { o.BaseEndpoint = aws.String(ep) }}, opts...)
	return kms.NewFromConfig(AWSConfig(), opts...)
}

// S3 returns a client for the local S3-compatible server (path-style addressing).
func S3(t testing.TB) *s3.Client {
	t.Helper()
	ep := endpoint(t, "S3_ENDPOINT")
	return s3.NewFromConfig(AWSConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ep)
		o.UsePathStyle = true
	})
}

// LogGroup creates a fresh log group in the local CloudWatch-Logs-compatible server (LOGS_ENDPOINT)
// and returns its name, a client for it, and a Writer that delivers each line to it as Lambda would.
func LogGroup(t testing.TB) (name string, client *cloudwatchlogs.Client, w *logship.Writer) {
	t.Helper()
	client = logship.Client(endpoint(t, "LOGS_ENDPOINT"), "us-east-1")
	name = "/aws/lambda/wcbridge-test-" + randomHex(6)
	w, err := logship.New(context.Background(), client, name, "2026/12/03/[$LATEST]"+randomHex(8))
	if err != nil {
		t.Fatal(err)
	}
	return name, client, w
}

// LockedBucket creates a fresh bucket as template.yaml's AuditDigestBucket is: versioning and Object
// Lock on, default retention COMPLIANCE for six years. It returns its name.
func LockedBucket(t testing.TB, c *s3.Client) string {
	t.Helper()
	ctx := context.Background()
	name := "wcbridge-test-" + randomHex(6)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String(name),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
			ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{
				Mode: s3types.ObjectLockRetentionModeCompliance, Years: aws.Int32(6),
			}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	return name
}

// SymmetricKey creates a new symmetric encryption key and returns its ARN.
func SymmetricKey(t testing.TB, c *kms.Client) string {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{
		Description: aws.String("wcbridge test data key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// HMACKey creates a new HMAC_256 key (GenerateMac/VerifyMac) and returns its ARN.
func HMACKey(t testing.TB, c *kms.Client) string {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{
		Description: aws.String("wcbridge test digest key"),
		KeySpec:     kmstypes.KeySpecHmac256,
		KeyUsage:    kmstypes.KeyUsageTypeGenerateVerifyMac,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// SigningKey creates a new ECC_NIST_P256 SIGN_VERIFY key (ECDSA_SHA_256) and returns its ARN and its
// public key as KMS GetPublicKey exports it (DER SubjectPublicKeyInfo).
func SigningKey(t testing.TB, c *kms.Client) (arn string, publicKeyDER []byte) {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{
		Description: aws.String("wcbridge test signing key"),
		KeySpec:     kmstypes.KeySpecEccNistP256,
		KeyUsage:    kmstypes.KeyUsageTypeSignVerify,
	})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: out.KeyMetadata.Arn})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn), pub.PublicKey
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fixture reads one of the real WhatConverts webhook payloads kept in the shared/ folder that sits
// beside the repository (../shared/fixtures from its root). They are not copied into the repository,
// so a missing folder fails the test with where it was looked for.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(FixturesDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FixturesDir is the folder of the real webhook payloads: ../shared/fixtures from the repository root.
func FixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
	fixtures := filepath.Join(filepath.Dir(dir), "shared", "fixtures")
	if _, err := os.Stat(fixtures); err != nil {
		t.Fatalf("testenv: the webhook fixtures are missing: want them in %s (the shared/ folder beside the repository)", fixtures)
	}
	return fixtures
}

// Logs collects log output written from several goroutines (handlers, emulated processes), so a test
// can scan everything that was logged for synthetic PHI.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger is a JSON slog logger, at debug level, writing to l: the shape the functions log in.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ItemText is every attribute of a raw table item as text, sorted by name, binary values as their raw
// bytes: a substring scan of it finds any value stored in clear, whatever its type.
func ItemText(item map[string]ddbtypes.AttributeValue) string {
	names := make([]string, 0, len(item))
	for k := range item {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "=" + AttrText(item[k]) + "\n")
	}
	return b.String()
}

// AttrText is one attribute value as ItemText renders it.
func AttrText(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	case *ddbtypes.AttributeValueMemberB:
		return string(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return strconv.FormatBool(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		return strings.Join(v.Value, ",")
	case *ddbtypes.AttributeValueMemberNS:
		return strings.Join(v.Value, ",")
	case *ddbtypes.AttributeValueMemberBS:
		parts := make([]string, len(v.Value))
		for i, p := range v.Value {
			parts[i] = string(p)
		}
		return strings.Join(parts, ",")
	case *ddbtypes.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = AttrText(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *ddbtypes.AttributeValueMemberM:
		return "{" + strings.TrimSuffix(strings.ReplaceAll(ItemText(v.Value), "\n", ","), ",") + "}"
	default:
		return ""
	}
}

// RawTable is every item of the table, read with a plain Scan (no decryption), each as ItemText.
func RawTable(t testing.TB, db *dynamodb.Client, tableName string) []string {
	t.Helper()
	var items []string
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(tableName)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			items = append(items, ItemText(item))
		}
	}
	return items
}

// MTH is RFC 6962's Merkle tree hash of leaf hashes, straight from its recursive definition: tests
// that check or write audit digests compute it independently of shared/audit.
func MTH(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.Sum256(append(append([]byte{1}, MTH(leaves[:k])...), MTH(leaves[k:])...))
	return h[:]
}

// StartChild runs this test binary again as a helper process, with env set to value (its TestMain
// serves something on seeing it: a benchmark's simulator or table, kept out of the measured
// heap), and returns the first line the child prints (its URL). The child serves until its stdin
// is closed, at the test's cleanup.
func StartChild(tb testing.TB, env, value string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("the child process (%s) did not start: %v", env, err)
	}
	return strings.TrimSpace(line)
}
