package wirereport

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

// DailyReport builds DailyReportFunction: the report store; an audit store that reads the day,
// verifies its hourly digests as `make verify-audit` does (the signing key's public key, one
// kms:GetPublicKey; the digest bucket; record tags) but cannot sign or write a digest, and writes
// records without PHI (neither kms:Decrypt nor kms:GenerateDataKey on the data key); and, only when
// profiles are configured, the WhatConverts credentials and a client spending what each key has
// left of its day (REPORT_BUDGET_SHARE of it is kept for the report: the actions never spend it).
func DailyReport(ctx context.Context, cfg config.Config, log *slog.Logger) (*report.Daily, error) {
	if err := cfg.Require(config.EnvTable, config.EnvTagKey, config.EnvSigningKey, config.EnvAuditBucket); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	db := cfg.DynamoDB(ac)
	d := &report.Daily{
		Reports:  report.NewStore(db, cfg.Table),
		Profiles: cfg.ReportProfiles,
		Log:      log,
	}
	if len(cfg.ReportProfiles) > 0 {
		raw, err := wiring.Secret(ctx, cfg, ac, config.WhatConverts)
		if err != nil {
			return nil, err
		}
		if d.Credentials, err = whatconverts.ParseCredentials(raw); err != nil {
			return nil, err
		}
		// The report spends without a caller, up to each key's whole day: REPORT_BUDGET_SHARE of it
		// is reserved for it on the actions' side (budget.WithShares), not a ceiling here.
		d.WhatConverts = whatconverts.New(cfg.WhatConvertsURL,
			whatconverts.WithBudget(budget.New(db, cfg.Table, budget.WithLogger(log))))
	}
	pub, err := audit.FetchPublicKey(ctx, cfg.KMS(ac), cfg.SigningKeyID)
	if err != nil {
		return nil, err
	}
	tags := wiring.Tagger(cfg, ac)
	d.Audit = audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: tags, TagChecker: tags, PublicKey: pub,
		Anchor: &anchor.S3{Client: cfg.S3(ac), Bucket: cfg.AuditBucket}})
	return d, nil
}

// GetReport builds GetReportFunction (GET /reports/{date} and GET /reports): the report store, an audit store that only appends records
// without PHI, and the access policy and API of cfg (access.Build).
func GetReport(ctx context.Context, cfg config.Config, log *slog.Logger) (*report.Get, error) {
	if err := cfg.Require(config.EnvTable, config.EnvTagKey); err != nil {
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
	db := cfg.DynamoDB(ac)
	return &report.Get{Reports: report.NewStore(db, cfg.Table), Audit: audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: wiring.Tagger(cfg, ac)}),
		Access: authz, Origin: &origin, Log: log}, nil
}
