package replay

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/setup"
)

// Option adjusts what Build wires (the local stack and tests; Lambda uses none until the access
// policy is wired in).
type Option func(*Handler)

// WithAuthorizer sets the access policy that decides who may replay which profile. Without one,
// every replay is refused.
func WithAuthorizer(a Authorizer) Option { return func(h *Handler) { h.Authorizer = a } }

// Build wires ReplayFunction from cfg, once per cold start: an audit store that reads events (no
// key: it never reads a sealed part, and its own records have none), the job store, the bus, and a
// Lambda client that invokes this very function (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets).
func Build(ctx context.Context, cfg config.Config, opts ...Option) (*Handler, error) {
	if err := cfg.Require(config.EnvTable, config.EnvEventBus, config.EnvFunctionName); err != nil {
		return nil, err
	}
	c, err := setup.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	store := audit.New(audit.Config{DB: c.DynamoDB, Table: cfg.Table})
	lc := lambda.NewFromConfig(c.AWS, func(o *lambda.Options) {
		if cfg.LambdaEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.LambdaEndpoint)
		}
	})
	h := &Handler{
		Events:    store,
		Audit:     store,
		Jobs:      &Jobs{DB: c.DynamoDB, Table: cfg.Table},
		Bus:       c.EventBridge,
		EventBus:  cfg.EventBus,
		Next:      &SelfInvoker{Lambda: lc, FunctionName: cfg.FunctionName},
		Log:       setup.Logger(),
		Rate:      cfg.ReplayRate,
		ChunkTime: cfg.ReplayChunk,
	}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// LambdaInvoker is the part of the Lambda API SelfInvoker uses.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// SelfInvoker invokes a function asynchronously (an Event invocation: Lambda queues it, retries it
// twice when it fails, then sends it to the function's on-failure destination).
type SelfInvoker struct {
	Lambda       LambdaInvoker
	FunctionName string
}

// InvokeAsync queues one invocation with payload.
func (s *SelfInvoker) InvokeAsync(ctx context.Context, payload []byte) error {
	_, err := s.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(s.FunctionName),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	})
	return err
}
