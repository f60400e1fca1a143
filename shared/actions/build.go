package actions

import (
	"context"
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
	svc, err := BuildService(ctx, cfg, false, opts...)
	if err != nil {
		return nil, err
	}
	return GetLeadsHandler(svc), nil
}

// BuildGetLead wires Get Lead from cfg, once per cold start.
func BuildGetLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	svc, err := BuildService(ctx, cfg, false, opts...)
	if err != nil {
		return nil, err
	}
	return GetLeadHandler(svc), nil
}

// BuildCreateLead wires Create Lead from cfg, once per cold start.
func BuildCreateLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	svc, err := BuildService(ctx, cfg, true, opts...)
	if err != nil {
		return nil, err
	}
	return CreateLeadHandler(svc), nil
}

// BuildUpdateLead wires Update Lead from cfg, once per cold start.
func BuildUpdateLead(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Handler, error) {
	svc, err := BuildService(ctx, cfg, true, opts...)
	if err != nil {
		return nil, err
	}
	return UpdateLeadHandler(svc), nil
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
	if err := cfg.Require(config.EnvTable, config.EnvDataKey); err != nil {
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
		Audit:           audit.New(audit.Config{DB: o.clients.DynamoDB, Table: cfg.Table, Sealer: enc}),
		Logger:          o.logger,
		UpstreamTimeout: o.upstreamTimeout,
	}
	if idempotent {
		d.Idempotency = idempotency.New(idempotency.Config{DB: o.clients.DynamoDB, Table: cfg.Table, Crypter: enc})
	}
	return NewService(d), nil
}
