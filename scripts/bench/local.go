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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
