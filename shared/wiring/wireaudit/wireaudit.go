package wireaudit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

// AuditDigest builds AuditDigestFunction: the signing key and its public key (one kms:GetPublicKey),
// the tag key for checking tags, the anchor bucket, and a store with no Sealer and no Tagger: this
// role writes no audit record.
func AuditDigest(ctx context.Context, cfg config.Config, log *slog.Logger) (*auditjob.Job, error) {
	if err := cfg.Require(config.EnvTable, config.EnvSigningKey, config.EnvTagKey, config.EnvAuditBucket); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	k := wiring.KMS(cfg, ac)
	out, err := k.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(cfg.SigningKeyID)})
	if err != nil {
		return nil, fmt.Errorf("audit digest: get the signing key's public key: %w", err)
	}
	pub, err := audit.ParsePublicKey(out.PublicKey)
	if err != nil {
		return nil, err
	}
	store := audit.New(audit.Config{
		DB: wiring.DynamoDB(cfg, ac), Table: cfg.Table,
		Signer: k, SigningKey: cfg.SigningKeyID, PublicKey: pub,
		TagChecker: wiring.Tagger(cfg, ac),
		Anchor:     &anchor.S3{Client: S3(cfg, ac), Bucket: cfg.AuditBucket},
	})
	return &auditjob.Job{Trail: store, Checkpoints: store, Metrics: os.Stdout, Log: log, Now: time.Now}, nil
}

// S3 is the client of the anchor bucket, at the local endpoint when one is set (path-style there, as
// local servers need). Only the digest function (and verify-audit, the local stack) anchors or reads
// anchors: the S3 package is linked nowhere else.
func S3(cfg config.Config, ac aws.Config) *s3.Client {
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.BaseEndpoint = config.Endpoint(cfg.S3Endpoint)
		o.UsePathStyle = cfg.S3Endpoint != ""
	})
}
