package devstack

import (
	"context"
	"log/slog"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/report"
)

// localAccess is the local stack's access policy until the Cedar one (shared/access) is wired in:
// the local user (apigateway.LocalUserARN) may do everything, anyone else nothing.
type localAccess struct{}

// localPolicyVersion names this policy in answers that report a version.
const localPolicyVersion = "local-allow-local-user"

func (localAccess) Authorize(_ context.Context, principalARN, _ string, _ int64) (bool, string, error) {
	return principalARN == apigateway.LocalUserARN, localPolicyVersion, nil
}

// localReportAccess builds GetReportFunction as Lambda does, then gives it the local policy.
func localReportAccess(build func(context.Context, config.Config, *slog.Logger) (*report.Get, error)) func(context.Context, config.Config, *slog.Logger) (*report.Get, error) {
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) (*report.Get, error) {
		g, err := build(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		g.Access = localAccess{}
		return g, nil
	}
}
