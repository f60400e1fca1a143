package secrets

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/wcbridge/wcbridge/shared/config"
)

// Read reads a secret. The Secrets Manager client is built only when the secret is read from
// Secrets Manager, not from its local variable.
func Read(ctx context.Context, cfg config.Config, ac aws.Config, s config.Secret) ([]byte, error) {
	return cfg.Secret(ctx, lazyStore{cfg: cfg, aws: ac}, s)
}

type lazyStore struct {
	cfg config.Config
	aws aws.Config
}

// SecretValue is the secret's string, or its binary value when it has no string.
func (l lazyStore) SecretValue(ctx context.Context, arn string) ([]byte, error) {
	sm := secretsmanager.NewFromConfig(l.aws, func(o *secretsmanager.Options) { o.BaseEndpoint = config.Endpoint(l.cfg.SecretsEndpoint) })
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	return out.SecretBinary, nil
}
