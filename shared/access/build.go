package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// BuiltinLocal is the one value of WCBRIDGE_ACCESS_POLICY_BUILTIN: the local stack's LocalPolicy.
const BuiltinLocal = "local"

// SourceOf is the policy source cfg names: exactly one of ACCESS_POLICY_PARAMETER (deployed),
// WCBRIDGE_ACCESS_POLICY_FILE or WCBRIDGE_ACCESS_POLICY_BUILTIN=local (the local stack). None, or
// more than one, is a configuration error: a function never guesses its policy.
func SourceOf(cfg config.Config, client SSM) (Source, Options, error) {
	var set []string
	var src Source
	var opts Options
	if cfg.AccessPolicyParameter != "" {
		set = append(set, config.EnvAccessPolicyParameter)
		src = ParameterSource{Client: client, Parameter: cfg.AccessPolicyParameter}
	}
	if cfg.AccessPolicyFile != "" {
		set = append(set, config.EnvAccessPolicyFile)
		src, opts = FileSource{Path: cfg.AccessPolicyFile}, Options{Refresh: FileRefresh}
	}
	if cfg.AccessPolicyBuiltin != "" {
		if cfg.AccessPolicyBuiltin != BuiltinLocal {
			return nil, opts, fmt.Errorf("configuration: %s must be %q", config.EnvAccessPolicyBuiltin, BuiltinLocal)
		}
		set = append(set, config.EnvAccessPolicyBuiltin)
		src = BuiltinSource{Text: LocalPolicy}
	}
	switch len(set) {
	case 0:
		return nil, opts, fmt.Errorf("configuration: set %s (locally %s)", config.EnvAccessPolicyParameter, config.EnvAccessPolicyFile)
	case 1:
		return src, opts, nil
	}
	return nil, opts, fmt.Errorf("configuration: set only one of %s", strings.Join(set, ", "))
}

// Build is one IAM route's access control, once per cold start: the authorizer over the policy
// source cfg names (read once here), and the API the function's events must come through (its ID
// from API_ID, or read from the parameter API_ID_PARAMETER names; its account from ACCOUNT_ID).
// Errors name settings, never values.
func Build(ctx context.Context, cfg config.Config, awsCfg aws.Config, log *slog.Logger) (*Authorizer, httpapi.Origin, error) {
	authz, err := BuildAuthorizer(ctx, cfg, awsCfg, log)
	if err != nil {
		return nil, httpapi.Origin{}, err
	}
	origin, err := originOf(ctx, cfg, func() SSM { return NewParameters(awsCfg, cfg.SSMEndpoint) })
	if err != nil {
		return nil, httpapi.Origin{}, err
	}
	return authz, origin, nil
}

// BuildAuthorizer is the authorizer over the policy source cfg names, read once here.
func BuildAuthorizer(ctx context.Context, cfg config.Config, awsCfg aws.Config, log *slog.Logger) (*Authorizer, error) {
	var client SSM
	if cfg.AccessPolicyParameter != "" {
		client = NewParameters(awsCfg, cfg.SSMEndpoint)
	}
	src, opts, err := SourceOf(cfg, client)
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	return New(ctx, src, opts), nil
}

func originOf(ctx context.Context, cfg config.Config, client func() SSM) (httpapi.Origin, error) {
	o := httpapi.Origin{APIID: cfg.APIID, AccountID: cfg.AccountID}
	if o.AccountID == "" {
		return o, fmt.Errorf("configuration: missing %s", config.EnvAccountID)
	}
	switch {
	case o.APIID != "" && cfg.APIIDParameter != "":
		return o, fmt.Errorf("configuration: set only one of %s, %s", config.EnvAPIID, config.EnvAPIIDParameter)
	case o.APIID != "":
		return o, nil
	case cfg.APIIDParameter == "":
		return o, fmt.Errorf("configuration: set %s (locally %s)", config.EnvAPIIDParameter, config.EnvAPIID)
	}
	value, _, err := client().GetParameter(ctx, cfg.APIIDParameter)
	if err != nil {
		return o, fmt.Errorf("read the parameter named by %s: %w", config.EnvAPIIDParameter, err)
	}
	if strings.TrimSpace(value) == "" {
		return o, errors.New("the parameter named by " + config.EnvAPIIDParameter + " has no value")
	}
	o.APIID = strings.TrimSpace(value)
	return o, nil
}
