package wirereplay

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/replay"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireiam"
)

// Replay builds ReplayFunction: an audit store that counts and reads events and appends records
// without PHI (no key use at all: it never reads a sealed part), the replay job store, the bus, and
// a Lambda client that invokes this very function (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets) for
// the next chunk; and the access policy and API of cfg (access.Build): a replay needs "replay" on
// every profile it touches.
func Replay(ctx context.Context, cfg config.Config, log *slog.Logger) (*replay.Handler, error) {
	ac, authz, origin, err := wireiam.Start(ctx, cfg, log, config.EnvTable, config.EnvTagKey, config.EnvEventBus, config.EnvLambdaFunctionName)
	if err != nil {
		return nil, err
	}
	db := wiring.DynamoDB(cfg, ac)
	store := audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: wiring.Tagger(cfg, ac), Log: log})
	lc := lambda.NewFromConfig(ac, func(o *lambda.Options) { o.BaseEndpoint = config.Endpoint(cfg.LambdaEndpoint) })
	bus := eventbridge.NewFromConfig(ac, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint(cfg.EventBridgeEndpoint) })
	return &replay.Handler{
		Events:     store,
		Audit:      store,
		Jobs:       &replay.Jobs{DB: db, Table: cfg.Table},
		Bus:        bus,
		EventBus:   cfg.EventBus,
		Next:       &replay.SelfInvoker{Lambda: lc, FunctionName: cfg.FunctionName},
		Authorizer: authz,
		Origin:     &origin,
		Log:        log,
		Rate:       cfg.ReplayRate,
		ChunkTime:  cfg.ReplayChunk,
	}, nil
}
