package wirewebhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

// IngestWebhook builds IngestWebhookFunction: the live webhook tokens (read once), the bus, and an
// audit store that seals and writes but neither reads back nor opens (the role has no kms:Decrypt).
func IngestWebhook(ctx context.Context, cfg config.Config, log *slog.Logger) (*webhook.Ingest, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey, config.EnvEventBus); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := wiring.Secret(ctx, cfg, ac, config.WebhookTokens)
	if err != nil {
		return nil, err
	}
	live, err := config.ParseTokens(raw)
	if err != nil {
		return nil, err
	}
	tokens, err := webhook.NewTokens(live)
	if err != nil {
		return nil, fmt.Errorf("webhook tokens: %w", err)
	}
	// Events recorded before the body hash joined the de-duplication key are looked for under their
	// old key when their state predates this instance (webhook.LegacyKeyMargin).
	store := audit.New(audit.Config{DB: cfg.DynamoDB(ac), Table: cfg.Table, Sealer: wiring.Encryptor(cfg, ac),
		Tagger: wiring.Tagger(cfg, ac), LegacyKeysBefore: time.Now().Add(webhook.LegacyKeyMargin)})
	return &webhook.Ingest{
		Tokens:   tokens,
		Store:    store,
		Bus:      cfg.EventBridge(ac),
		EventBus: cfg.EventBus,
		Log:      log,
	}, nil
}

// PublishOutbox builds PublishOutboxFunction: it reads the outbox index and clears markers, and uses
// no key (bus details are clear metadata).
func PublishOutbox(ctx context.Context, cfg config.Config, log *slog.Logger) (*webhook.Publisher, error) {
	if err := cfg.Require(config.EnvTable, config.EnvEventBus); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &webhook.Publisher{
		Store:    audit.New(audit.Config{DB: cfg.DynamoDB(ac), Table: cfg.Table}),
		Bus:      cfg.EventBridge(ac),
		EventBus: cfg.EventBus,
		Log:      log,
		Settle:   cfg.OutboxSettle,
	}, nil
}

// TriggerSamples builds TriggerSamplesFunction: it opens payloads (kms:Decrypt) and seals the event
// IDs of its own audit record; the access policy and the API it serves come from cfg (access.Build).
func TriggerSamples(ctx context.Context, cfg config.Config, log *slog.Logger) (*webhook.Samples, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	authz, origin, err := access.Build(ctx, cfg, ac, log)
	if err != nil {
		return nil, err
	}
	enc := wiring.Encryptor(cfg, ac)
	return &webhook.Samples{
		Store:  audit.New(audit.Config{DB: cfg.DynamoDB(ac), Table: cfg.Table, Sealer: enc, Opener: enc, Tagger: wiring.Tagger(cfg, ac)}),
		Access: authz,
		Origin: &origin,
		Log:    log,
	}, nil
}
