package wirewebhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/secrets"
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
	raw, err := secrets.Read(ctx, cfg, ac, config.WebhookTokens)
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
	store := audit.New(audit.Config{DB: wiring.DynamoDB(cfg, ac), Table: cfg.Table, Sealer: wiring.Encryptor(cfg, ac),
		Tagger: wiring.Tagger(cfg, ac), LegacyKeysBefore: time.Now().Add(webhook.LegacyKeyMargin), Log: log})
	return &webhook.Ingest{
		Tokens:   tokens,
		Store:    store,
		Bus:      eventbridge.NewFromConfig(ac, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint(cfg.EventBridgeEndpoint) }),
		EventBus: cfg.EventBus,
		Log:      log,
	}, nil
}
