package wireactions

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/budget"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/idempotency"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/secrets"
)

// GetLeads builds GetLeadsFunction.
func GetLeads(ctx context.Context, cfg config.Config, log *slog.Logger) (*actions.Handler, error) {
	return action(ctx, cfg, log, false, actions.GetLeadsHandler)
}

// GetLead builds GetLeadFunction.
func GetLead(ctx context.Context, cfg config.Config, log *slog.Logger) (*actions.Handler, error) {
	return action(ctx, cfg, log, false, actions.GetLeadHandler)
}

// CreateLead builds CreateLeadFunction.
func CreateLead(ctx context.Context, cfg config.Config, log *slog.Logger) (*actions.Handler, error) {
	return action(ctx, cfg, log, true, actions.CreateLeadHandler)
}

// UpdateLead builds UpdateLeadFunction.
func UpdateLead(ctx context.Context, cfg config.Config, log *slog.Logger) (*actions.Handler, error) {
	return action(ctx, cfg, log, true, actions.UpdateLeadHandler)
}

// action builds one action: the access policy and the API its events must come through
// (access.Build), the WhatConverts credentials (read once), a WhatConverts client spending the keys'
// daily budgets in the table (each caller at most its share, the report's share left alone), an audit store that seals but never opens, and, when
// idempotent, the Idempotency-Key store (which seals and opens stored answers, so create and update
// need kms:Decrypt). The rules of WORKFLOW_RULE_ARNS may invoke the function directly; the template
// sets them on UpdateLeadFunction only.
func action(ctx context.Context, cfg config.Config, log *slog.Logger, idempotent bool, handler func(*actions.Service) *actions.Handler) (*actions.Handler, error) {
	if err := cfg.Require(config.EnvTable, config.EnvDataKey, config.EnvTagKey); err != nil {
		return nil, err
	}
	// Rules are matched exactly: a malformed entry would silently allow nothing.
	for _, arn := range cfg.WorkflowRules {
		if !actions.ValidRuleARN(arn) {
			return nil, fmt.Errorf("configuration: %s must be a comma-separated list of EventBridge rule ARNs", config.EnvWorkflowRules)
		}
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := secrets.Read(ctx, cfg, ac, config.WhatConverts)
	if err != nil {
		return nil, err
	}
	creds, err := whatconverts.ParseCredentials(raw)
	if err != nil {
		return nil, err
	}
	authz, origin, err := access.Build(ctx, cfg, ac, log)
	if err != nil {
		return nil, err
	}
	db, enc := wiring.DynamoDB(cfg, ac), wiring.Encryptor(cfg, ac)
	// Each caller spends at most CALLER_BUDGET_SHARE of a key's day, and all callers together leave
	// REPORT_BUDGET_SHARE of it to the daily report.
	spend := budget.New(db, cfg.Table, budget.WithLogger(log), budget.WithShares(cfg.ReportBudgetShare, cfg.CallerBudgetShare))
	d := actions.Deps{
		WhatConverts:  whatconverts.New(cfg.WhatConvertsURL, whatconverts.WithBudget(spend)),
		Credentials:   creds,
		Audit:         audit.New(audit.Config{DB: db, Table: cfg.Table, Sealer: enc, Tagger: wiring.Tagger(cfg, ac), Log: log}),
		Logger:        log,
		WorkflowRules: cfg.WorkflowRules,
		Access:        authz,
		Origin:        &origin,
	}
	if idempotent {
		d.Idempotency = idempotency.New(idempotency.Config{DB: db, Table: cfg.Table, Crypter: enc})
	}
	return handler(actions.NewService(d)), nil
}
