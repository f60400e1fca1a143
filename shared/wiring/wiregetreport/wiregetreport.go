package wiregetreport

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

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
	db := wiring.DynamoDB(cfg, ac)
	return &report.Get{Reports: report.NewStore(db, cfg.Table), Audit: audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: wiring.Tagger(cfg, ac)}),
		Access: authz, Origin: &origin, Log: log}, nil
}
