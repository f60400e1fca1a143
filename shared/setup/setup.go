// Package setup builds, once per cold start, what every function shares: the AWS clients (at local
// endpoints under make dev and in tests), the envelope encryptor, and the one logger.
//
// Functions call it from main (or the local stack from its registry); handlers never build clients.
package setup

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/envelope"
)

// Clients are the AWS service clients of one function instance.
type Clients struct {
	AWS            aws.Config
	DynamoDB       *dynamodb.Client
	KMS            *kms.Client
	EventBridge    *eventbridge.Client
	SecretsManager *secretsmanager.Client
	S3             *s3.Client
}

// NewClients builds every client from cfg. Building a client makes no network call, so a function
// pays only for the ones it uses.
func NewClients(ctx context.Context, cfg config.Config) (*Clients, error) {
	awsCfg, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &Clients{
		AWS:            awsCfg,
		DynamoDB:       cfg.DynamoDB(awsCfg),
		KMS:            cfg.KMS(awsCfg),
		EventBridge:    cfg.EventBridge(awsCfg),
		SecretsManager: cfg.SecretsManager(awsCfg),
		S3:             cfg.S3(awsCfg),
	}, nil
}

// Encryptor is the envelope encryptor under the data key of cfg, with the default data-key reuse
// bounds (5 minutes, 10,000 messages).
func (c *Clients) Encryptor(cfg config.Config) *envelope.Encryptor {
	return envelope.New(c.KMS, cfg.DataKeyID, envelope.Options{})
}

// Tagger tags audit records under tag keys wrapped by the tag key of cfg (TAG_KEY_ID), with the same
// reuse bounds as the data keys; it also checks tags (the verifiers' kms:Decrypt on that key).
func (c *Clients) Tagger(cfg config.Config) *envelope.Tagger {
	return envelope.NewTagger(c.KMS, cfg.TagKeyID, envelope.Options{})
}

// Logger is the one logger: JSON lines on stderr, which Lambda sends to the function's log group.
// Log IDs, codes and counts; never a value taken from a request or a lead.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ColdStart is what every function's main begins with: a context and the configuration, or a logged
// cold-start failure (exit 1, so Lambda reports an init error). Only for main.
func ColdStart() (context.Context, config.Config) {
	cfg, err := config.Load()
	if err != nil {
		Fail("load configuration", err)
	}
	return context.Background(), cfg
}

// Must is v, or a logged cold-start failure when err is set. Only for main:
//
//	h := setup.Must(webhook.BuildIngest(setup.ColdStart()))
//	lambda.Start(h.Handle)
func Must[T any](v T, err error) T {
	if err != nil {
		Fail("build the handler", err)
	}
	return v
}

// Fail logs a cold-start failure and exits non-zero, so Lambda reports an init error. Only for main.
// The errors of config and the builders name settings and steps, never secret values.
func Fail(what string, err error) {
	Logger().Error("cold start failed", "step", what, "error", err.Error())
	os.Exit(1)
}
