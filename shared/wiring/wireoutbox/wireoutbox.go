package wireoutbox

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

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
		Store:    audit.New(audit.Config{DB: wiring.DynamoDB(cfg, ac), Table: cfg.Table}),
		Bus:      eventbridge.NewFromConfig(ac, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint(cfg.EventBridgeEndpoint) }),
		EventBus: cfg.EventBus,
		Log:      log,
		Settle:   cfg.OutboxSettle,
	}, nil
}
