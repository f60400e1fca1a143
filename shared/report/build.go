package report

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/setup"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// BuildOption adjusts what a builder wires (the local stack and tests; Lambda uses none).
type BuildOption func(*buildOptions)

type buildOptions struct {
	clients    *setup.Clients
	logger     *slog.Logger
	httpClient *http.Client
	now        func() time.Time
}

// WithClients reuses AWS clients built once (the local stack builds every function in one process).
func WithClients(c *setup.Clients) BuildOption { return func(o *buildOptions) { o.clients = c } }

// WithLogger sets the logger (default setup.Logger()).
func WithLogger(l *slog.Logger) BuildOption { return func(o *buildOptions) { o.logger = l } }

// WithHTTPClient sets the HTTP client of the WhatConverts client (default: its own).
func WithHTTPClient(h *http.Client) BuildOption { return func(o *buildOptions) { o.httpClient = h } }

// WithClock sets the clock of the report, its audit store and the budget counters (tests).
func WithClock(now func() time.Time) BuildOption { return func(o *buildOptions) { o.now = now } }

func (o *buildOptions) apply(ctx context.Context, cfg config.Config, opts []BuildOption) error {
	for _, opt := range opts {
		opt(o)
	}
	if o.clients == nil {
		c, err := setup.NewClients(ctx, cfg)
		if err != nil {
			return err
		}
		o.clients = c
	}
	if o.logger == nil {
		o.logger = setup.Logger()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return nil
}

// BudgetLimits are the daily request limits the report spends against, per key kind: its share of
// WhatConverts' 1,000 (profile key) and 10,000 (master key). The counters are the ones the actions
// spend, so the report stops at its share and the rest of the day stays theirs.
func BudgetLimits(share float64) (profileKey, masterKey int64) {
	limit := func(total int64) int64 { return max(1, int64(math.Floor(share*float64(total)))) }
	return limit(whatconverts.ProfileKeyDailyLimit), limit(whatconverts.MasterKeyDailyLimit)
}

// BuildDaily wires the daily report from cfg, once per cold start: the WhatConverts credentials (read
// once, only when profiles are configured), a WhatConverts client spending at most
// cfg.ReportBudgetShare of each key's daily budget, the report store, and an audit store that reads
// the day, builds and verifies digests (the digest key's MAC) and writes records without PHI (no
// Sealer, no Opener: the role needs neither kms:GenerateDataKey nor kms:Decrypt on the data key).
// Errors name settings, never secret values.
func BuildDaily(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Daily, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDigestKey, config.EnvTagKey); err != nil {
		return nil, err
	}
	var o buildOptions
	if err := o.apply(ctx, cfg, opts); err != nil {
		return nil, err
	}
	d := &Daily{
		Audit: audit.New(audit.Config{
			DB: o.clients.DynamoDB, Table: cfg.Table, MAC: o.clients.KMS, DigestKeyID: cfg.DigestKeyID,
			Tagger: o.clients.Tagger(cfg), Now: o.now,
		}),
		Reports:  NewStore(o.clients.DynamoDB, cfg.Table),
		Profiles: cfg.ReportProfiles,
		Now:      o.now,
		Log:      o.logger,
	}
	if len(cfg.ReportProfiles) > 0 {
		raw, err := cfg.Secret(ctx, o.clients.SecretsManager, config.WhatConverts)
		if err != nil {
			return nil, err
		}
		if d.Credentials, err = whatconverts.ParseCredentials(raw); err != nil {
			return nil, err
		}
		profileLimit, masterLimit := BudgetLimits(cfg.ReportBudgetShare)
		wcOpts := []whatconverts.Option{
			whatconverts.WithBudget(budget.New(o.clients.DynamoDB, cfg.Table, budget.WithClock(o.now))),
			whatconverts.WithDailyLimits(profileLimit, masterLimit),
		}
		if o.httpClient != nil {
			wcOpts = append(wcOpts, whatconverts.WithHTTPClient(o.httpClient))
		}
		d.WhatConverts = whatconverts.New(cfg.WhatConvertsURL, wcOpts...)
	}
	return d, nil
}

// BuildGet wires GET /reports/{date} from cfg, once per cold start: the report store and an audit
// store that only appends records without PHI.
func BuildGet(ctx context.Context, cfg config.Config, opts ...BuildOption) (*Get, error) {
	if err := cfg.Require(config.EnvTable, config.EnvTagKey); err != nil {
		return nil, err
	}
	var o buildOptions
	if err := o.apply(ctx, cfg, opts); err != nil {
		return nil, err
	}
	return &Get{
		Reports: NewStore(o.clients.DynamoDB, cfg.Table),
		Audit:   audit.New(audit.Config{DB: o.clients.DynamoDB, Table: cfg.Table, Tagger: o.clients.Tagger(cfg), Now: o.now}),
		Now:     o.now,
		Log:     o.logger,
	}, nil
}
