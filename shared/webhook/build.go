package webhook

import (
	"context"
	"fmt"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/setup"
)

// BuildIngest builds the webhook handler from configuration, once per cold start: the clients, the
// live tokens (read once from Secrets Manager, or WCBRIDGE_WEBHOOK_TOKENS locally), and an audit store
// that can seal and write but neither read back nor open (no Opener: the role has no kms:Decrypt).
// Errors name settings, never secret values.
func BuildIngest(ctx context.Context, cfg config.Config) (*Ingest, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey, config.EnvEventBus); err != nil {
		return nil, err
	}
	c, err := setup.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	raw, err := cfg.Secret(ctx, c.SecretsManager, config.WebhookTokens)
	if err != nil {
		return nil, err
	}
	live, err := config.ParseTokens(raw)
	if err != nil {
		return nil, err
	}
	tokens, err := NewTokens(live)
	if err != nil {
		return nil, fmt.Errorf("webhook tokens: %w", err)
	}
	return &Ingest{
		Tokens:   tokens,
		Store:    audit.New(audit.Config{DB: c.DynamoDB, Table: cfg.Table, Sealer: c.Encryptor(cfg), Tagger: c.Tagger(cfg)}),
		Bus:      c.EventBridge,
		EventBus: cfg.EventBus,
		Log:      setup.Logger(),
	}, nil
}

// BuildPublisher builds the outbox sweep: it reads the outbox index and clears markers, and touches no
// key at all (bus details are clear metadata).
func BuildPublisher(ctx context.Context, cfg config.Config) (*Publisher, error) {
	if err := cfg.Require(config.EnvTable, config.EnvEventBus); err != nil {
		return nil, err
	}
	c, err := setup.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Publisher{
		Store:    audit.New(audit.Config{DB: c.DynamoDB, Table: cfg.Table}),
		Bus:      c.EventBridge,
		EventBus: cfg.EventBus,
		Log:      setup.Logger(),
		Settle:   cfg.OutboxSettle,
	}, nil
}

// BuildSamples builds the trigger samples handler: it opens payloads (kms:Decrypt) and seals the
// event IDs of its own audit record.
func BuildSamples(ctx context.Context, cfg config.Config) (*Samples, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey); err != nil {
		return nil, err
	}
	c, err := setup.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	enc := c.Encryptor(cfg)
	return &Samples{
		Store: audit.New(audit.Config{DB: c.DynamoDB, Table: cfg.Table, Sealer: enc, Opener: enc, Tagger: c.Tagger(cfg)}),
		Log:   setup.Logger(),
	}, nil
}
