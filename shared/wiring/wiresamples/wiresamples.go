package wiresamples

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireiam"
)

// TriggerSamples builds TriggerSamplesFunction: it opens payloads (kms:Decrypt) and seals the event
// IDs of its own audit record; the access policy and the API it serves come from cfg (access.Build).
func TriggerSamples(ctx context.Context, cfg config.Config, log *slog.Logger) (*webhook.Samples, error) {
	ac, authz, origin, err := wireiam.Start(ctx, cfg, log, config.EnvTable, config.EnvDataKey, config.EnvTagKey)
	if err != nil {
		return nil, err
	}
	enc := wiring.Encryptor(cfg, ac)
	return &webhook.Samples{
		Store:  audit.New(audit.Config{DB: wiring.DynamoDB(cfg, ac), Table: cfg.Table, Sealer: enc, Opener: enc, Tagger: wiring.Tagger(cfg, ac), Log: log}),
		Access: authz,
		Origin: &origin,
		Log:    log,
	}, nil
}
