package wiregetreport

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/wireiam"
)

// GetReport builds GetReportFunction (GET /reports/{date} and GET /reports): the report store, an audit store that only appends records
// without PHI, and the access policy and API of cfg (access.Build).
func GetReport(ctx context.Context, cfg config.Config, log *slog.Logger) (*report.Get, error) {
	ac, authz, origin, err := wireiam.Start(ctx, cfg, log, config.EnvTable, config.EnvTagKey)
	if err != nil {
		return nil, err
	}
	db := wiring.DynamoDB(cfg, ac)
	return &report.Get{Reports: report.NewStore(db, cfg.Table), Audit: audit.New(audit.Config{DB: db, Table: cfg.Table, Tagger: wiring.Tagger(cfg, ac), Log: log}),
		Access: authz, Origin: &origin, Log: log}, nil
}
