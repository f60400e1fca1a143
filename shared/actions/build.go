package actions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/setup"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// BuildOption adjusts what a builder wires (the local stack and tests; Lambda uses none).
type BuildOption func(*buildOptions)

type buildOptions struct {
	clients         *setup.Clients
	logger          *slog.Logger
	httpClient      *http.Client
	upstreamTimeout time.Duration
}

// WithClients reuses AWS clients built once (the local stack builds every function in one process).
func WithClients(c *setup.Clients) BuildOption { return func(o *buildOptions) { o.clients = c } }

// WithLogger sets the logger (default setup.Logger()).
func WithLogger(l *slog.Logger) BuildOption { return func(o *buildOptions) { o.logger = l } }

// WithHTTPClient sets the HTTP client of the WhatConverts client (default: its own).
func WithHTTPClient(h *http.Client) BuildOption { return func(o *buildOptions) { o.httpClient = h } }

// WithUpstreamTimeout caps the time given to WhatConverts (default DefaultUpstreamTimeout).
func WithUpstreamTimeout(d time.Duration) BuildOption {
	return func(o *buildOptions) { o.upstreamTimeout = d }
}

// BuildGetLeads wires Get Leads from cfg, once per cold start.
func BuildGetLeads(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	return build(ctx, cfg, false, GetLeadsHandler, opts)
}

// BuildGetLead wires Get Lead from cfg, once per cold start.
func BuildGetLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	return build(ctx, cfg, false, GetLeadHandler, opts)
}

// BuildCreateLead wires Create Lead from cfg, once per cold start.
func BuildCreateLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	return build(ctx, cfg, true, CreateLeadHandler, opts)
}

// BuildUpdateLead wires Update Lead from cfg, once per cold start.
func BuildUpdateLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	return build(ctx, cfg, true, UpdateLeadHandler, opts)
}

// build wires one action's handler: the core, and the EventBridge rules that may invoke the function
// directly, cfg.WorkflowRules (WORKFLOW_RULE_ARNS; the template sets it on UpdateLeadFunction only,
// the other actions have no direct form).
func build(ctx context.Context, cfg config.Config, idempotent bool, handler func(*Service, ...HandlerOption) *Handler, opts []BuildOption) (*Handler, error) {
	// Rules are matched exactly: a malformed entry would silently allow nothing, so it fails here.
	for _, arn := range cfg.WorkflowRules {
		if !ValidRuleARN(arn) {
			return nil, fmt.Errorf("configuration: %s must be a comma-separated list of EventBridge rule ARNs", config.EnvWorkflowRules)
		}
	}
	svc, err := BuildService(ctx, cfg, idempotent, opts...)
	if err != nil {
		return nil, err
	}
	return handler(svc, AllowRules(cfg.WorkflowRules...)), nil
}

// BuildService wires the core from cfg: the WhatConverts credentials (the secret, read once here),
// the WhatConverts client spending the keys' daily budgets in the table, the audit store (sealing
// only: it never opens a record), and, when idempotent, the Idempotency-Key store (which seals and
// opens stored responses: the role of create and update needs kms:Decrypt). Errors name settings,
// never secret values.
func BuildService(ctx context.Context, cfg config.Config, idempotent bool, opts ...BuildOption) (*Service, error) {
	var o buildOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey); err != nil {
		return nil, err
	}
	if o.clients == nil {
		c, err := setup.NewClients(ctx, cfg)
		if err != nil {
			return nil, err
		}
		o.clients = c
	}
	if o.logger == nil {
		o.logger = setup.Logger()
	}
	raw, err := cfg.Secret(ctx, o.clients.SecretsManager, config.WhatConverts)
	if err != nil {
		return nil, err
	}
	creds, err := whatconverts.ParseCredentials(raw)
	if err != nil {
		return nil, err
	}
	enc := o.clients.Encryptor(cfg)
	wcOpts := []whatconverts.Option{whatconverts.WithBudget(budget.New(o.clients.DynamoDB, cfg.Table))}
	if o.httpClient != nil {
		wcOpts = append(wcOpts, whatconverts.WithHTTPClient(o.httpClient))
	}
	d := Deps{
		WhatConverts:    whatconverts.New(cfg.WhatConvertsURL, wcOpts...),
		Credentials:     creds,
		Audit:           audit.New(audit.Config{DB: o.clients.DynamoDB, Table: cfg.Table, Sealer: enc, Tagger: o.clients.Tagger(cfg)}),
		Logger:          o.logger,
		UpstreamTimeout: o.upstreamTimeout,
	}
	if idempotent {
		d.Idempotency = idempotency.New(idempotency.Config{DB: o.clients.DynamoDB, Table: cfg.Table, Crypter: enc})
	}
	return NewService(d), nil
}
