package devstack

import (
	"context"

	"github.com/wcbridge/wcbridge/shared/local/apigateway"
)

// localAccess is the local stack's access policy until the Cedar one (shared/access) is wired in:
// the local user (apigateway.LocalUserARN) may do everything, anyone else nothing.
type localAccess struct{}

// localPolicyVersion names this policy in answers that report a version.
const localPolicyVersion = "local-allow-local-user"

func (localAccess) Authorize(_ context.Context, principalARN, _ string, _ int64) (bool, string, error) {
	return principalARN == apigateway.LocalUserARN, localPolicyVersion, nil
}
