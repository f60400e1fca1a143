package wireiam

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// Start checks that every required setting is set, then loads the AWS configuration and builds the
// route's access control: the authorizer over the policy cfg names, and the API its events must come
// through.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, required ...string) (aws.Config, *access.Authorizer, httpapi.Origin, error) {
	if err := cfg.Require(required...); err != nil {
		return aws.Config{}, nil, httpapi.Origin{}, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return aws.Config{}, nil, httpapi.Origin{}, err
	}
	authz, origin, err := access.Build(ctx, cfg, ac, log)
	if err != nil {
		return aws.Config{}, nil, httpapi.Origin{}, err
	}
	return ac, authz, origin, nil
}
