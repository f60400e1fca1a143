package auditjob

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/setup"
)

// Build wires the job from cfg, once per cold start: the signing key and its public key (one KMS
// GetPublicKey), the tag key for checking tags, the anchor bucket, and a store with no Sealer and no
// Tagger: this role writes no audit record.
func Build(ctx context.Context, cfg config.Config) (*Job, error) {
	if err := cfg.Require(config.EnvTable, config.EnvSigningKey, config.EnvTagKey, config.EnvAuditBucket); err != nil {
		return nil, err
	}
	c, err := setup.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out, err := c.KMS.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(cfg.SigningKeyID)})
	if err != nil {
		return nil, fmt.Errorf("auditjob: get the signing key's public key: %w", err)
	}
	pub, err := audit.ParsePublicKey(out.PublicKey)
	if err != nil {
		return nil, err
	}
	store := audit.New(audit.Config{
		DB: c.DynamoDB, Table: cfg.Table,
		Signer: c.KMS, SigningKey: cfg.SigningKeyID, PublicKey: pub,
		TagChecker: c.Tagger(cfg),
		Anchor:     &anchor.S3{Client: c.S3, Bucket: cfg.AuditBucket},
	})
	return &Job{Trail: store, Checkpoints: store, Metrics: os.Stdout, Log: setup.Logger(), Now: time.Now}, nil
}
