package wiring

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/envelope"
)

// Logger is the one logger: JSON lines on stderr, which Lambda sends to the function's log group.
// Log IDs, codes and counts; never a value taken from a request or a lead.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ColdStart is what every main begins with: a context, the configuration and the logger, or a logged
// cold-start failure.
func ColdStart() (context.Context, config.Config, *slog.Logger) {
	cfg, err := config.Load()
	if err != nil {
		fail("load configuration", err)
	}
	return context.Background(), cfg, Logger()
}

// Must is v, or a logged cold-start failure when err is set. Only for main.
func Must[T any](v T, err error) T {
	if err != nil {
		fail("build the handler", err)
	}
	return v
}

// fail logs a cold-start failure and exits non-zero, so Lambda reports an init error. The errors of
// config and the builders name settings and steps, never secret values.
func fail(step string, err error) {
	Logger().Error("cold start failed", "step", step, "error", err.Error())
	os.Exit(1)
}

// DynamoDB is the DynamoDB client, at the local endpoint when one is set. Every function uses the
// table; its other clients are built where they are used (config.Endpoint says why).
func DynamoDB(cfg config.Config, ac aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(ac, func(o *dynamodb.Options) { o.BaseEndpoint = config.Endpoint(cfg.DynamoDBEndpoint) })
}

// KMS is the KMS client, at the local endpoint when one is set. Every function links it (the audit
// store's signing and MAC types are KMS's).
func KMS(cfg config.Config, ac aws.Config) *kms.Client {
	return kms.NewFromConfig(ac, func(o *kms.Options) { o.BaseEndpoint = config.Endpoint(cfg.KMSEndpoint) })
}

// Encryptor is the envelope encryptor under the data key, with the default data-key reuse bounds.
func Encryptor(cfg config.Config, ac aws.Config) *envelope.Encryptor {
	return envelope.New(KMS(cfg, ac), cfg.DataKeyID, envelope.Options{})
}

// Tagger tags audit records under tag keys wrapped by the tag key (TAG_KEY_ID), with the data keys'
// reuse bounds; it also checks tags (the verifiers' kms:Decrypt on that key, never on the data key).
func Tagger(cfg config.Config, ac aws.Config) *envelope.Tagger {
	return envelope.NewTagger(KMS(cfg, ac), cfg.TagKeyID, envelope.Options{})
}
