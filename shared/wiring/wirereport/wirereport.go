package wirereport

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/anchors"
	"github.com/wcbridge/wcbridge/shared/wiring/secrets"
	"github.com/wcbridge/wcbridge/shared/wiring/writelogs"
)

// DailyReport builds DailyReportFunction: the report store; an audit store that reads the day,
// verifies its hourly digests as `make verify-audit` does (the signing key's public key, one
// kms:GetPublicKey; the digest bucket; record tags; the writers' stored lines) but cannot sign or
// write a digest, and writes records without PHI (neither kms:Decrypt nor kms:GenerateDataKey on the
// data key); and, only when profiles are configured, the WhatConverts credentials and a client
// spending what each key has left of its day (REPORT_BUDGET_SHARE of it is kept for the report: the actions never spend it).
func DailyReport(ctx context.Context, cfg config.Config, log *slog.Logger) (*report.Daily, error) {
	if err := cfg.Require(config.EnvTable, config.EnvTagKey, config.EnvSigningKey, config.EnvAuditBucket, config.EnvWriterLogGroups); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	db := wiring.DynamoDB(cfg, ac)
	d := &report.Daily{
		Reports:  report.NewStore(db, cfg.Table),
		Profiles: cfg.ReportProfiles,
		Log:      log,
	}
	if len(cfg.ReportProfiles) > 0 {
		raw, err := secrets.Read(ctx, cfg, ac, config.WhatConverts)
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
	pub, err := audit.FetchPublicKey(ctx, wiring.KMS(cfg, ac), cfg.SigningKeyID)
	if err != nil {
		return nil, err
	}
	tags := wiring.Tagger(cfg, ac)
	d.Audit = audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: tags, TagChecker: tags, PublicKey: pub,
		Anchor: anchors.Bucket(cfg, ac), WriteLog: writelogs.CloudWatch(cfg, ac), Log: log})
	return d, nil
}
