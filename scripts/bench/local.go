package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/wcbridge/wcbridge/shared/local/devstack"
)

// The local services scripts/with-services.sh starts (make bench runs under it).

const region = "us-east-1"

func localEndpoint(env string) (string, error) {
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("%s is not set: run under scripts/with-services.sh (make bench)", env)
	}
	return v, nil
}

func awsConfig() aws.Config {
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
}

// localKMS is a KMS client on local-kms.
func localKMS(opts ...func(*kms.Options)) (*kms.Client, error) {
	ep, err := localEndpoint("KMS_ENDPOINT")
	if err != nil {
		return nil, err
	}
	opts = append([]func(*kms.Options){func(o *kms.Options) { o.BaseEndpoint = aws.String(ep) }}, opts...)
	return kms.NewFromConfig(awsConfig(), opts...), nil
}

// localDynamoDB is a DynamoDB client on dynalite.
func localDynamoDB(opts ...func(*dynamodb.Options)) (*dynamodb.Client, string, error) {
	ep, err := localEndpoint("DYNAMODB_ENDPOINT")
	if err != nil {
		return nil, "", err
	}
	opts = append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep) }}, opts...)
	return dynamodb.NewFromConfig(awsConfig(), opts...), ep, nil
}

// newKey creates a KMS key of spec (SYMMETRIC_DEFAULT for data keys, HMAC_256 for digests).
func newKey(ctx context.Context, c *kms.Client, spec kmstypes.KeySpec) (string, error) {
	usage := kmstypes.KeyUsageTypeEncryptDecrypt
	if spec == kmstypes.KeySpecHmac256 {
		usage = kmstypes.KeyUsageTypeGenerateVerifyMac
	}
	out, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage, Description: aws.String("wcbridge bench")})
	if err != nil {
		return "", fmt.Errorf("create a %s key on local-kms: %w", spec, err)
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}

// startQuietStack starts the whole local stack in process (shared/local/devstack: API Gateway, the
// functions, the bus, the simulator) on dynalite and local-kms, in a table of its own that is deleted
// on close, schedules off, template parameters overridden by params. The functions log JSON lines on
// stderr, as in Lambda, which would drown the bench's progress lines (the reliability suite is where
// logs are read): os.Stderr is /dev/null from here until restore is called.
func startQuietStack(ctx context.Context, b *bench, params map[string]string) (stack *devstack.Stack, restore func(), err error) {
	ddbURL, err := localEndpoint("DYNAMODB_ENDPOINT")
	if err != nil {
		return nil, nil, err
	}
	kmsURL, err := localEndpoint("KMS_ENDPOINT")
	if err != nil {
		return nil, nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	stderr := os.Stderr
	os.Stderr = devnull
	restore = func() { os.Stderr = stderr } // devnull stays open: the functions built keep writing to it
	stack, err = devstack.Start(ctx, devstack.Options{
		Dir: b.root, DynamoDBEndpoint: ddbURL, KMSEndpoint: kmsURL, DisableSchedules: true,
		Table: "wcbridge-bench-" + randomHex(4), DeleteTableOnClose: true, ParameterOverrides: params,
	})
	if err != nil {
		restore()
		return nil, nil, err
	}
	return stack, restore, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
