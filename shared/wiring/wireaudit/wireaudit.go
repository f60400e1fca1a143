package wireaudit

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/wiring"
	"github.com/wcbridge/wcbridge/shared/wiring/anchors"
	"github.com/wcbridge/wcbridge/shared/wiring/writelogs"
)

// AuditDigest builds AuditDigestFunction: the signing key and its public key (one kms:GetPublicKey),
// the tag key for checking tags, the anchor bucket, the writers' log groups, and a store with no Sealer and no Tagger: this
// role writes no audit record.
func AuditDigest(ctx context.Context, cfg config.Config, log *slog.Logger) (*auditjob.Job, error) {
	if err := cfg.Require(config.EnvTable, config.EnvSigningKey, config.EnvTagKey, config.EnvAuditBucket, config.EnvWriterLogGroups); err != nil {
		return nil, err
	}
	ac, err := cfg.AWS(ctx)
	if err != nil {
		return nil, err
	}
	k := wiring.KMS(cfg, ac)
	pub, err := audit.FetchPublicKey(ctx, k, cfg.SigningKeyID)
	if err != nil {
		return nil, err
	}
	store := audit.New(audit.Config{
		DB: wiring.DynamoDB(cfg, ac), Table: cfg.Table,
		Signer: k, SigningKey: cfg.SigningKeyID, PublicKey: pub,
		TagChecker: wiring.Tagger(cfg, ac),
		Anchor:     anchors.Bucket(cfg, ac),
		WriteLog:   writelogs.CloudWatch(cfg, ac),
	})
	return &auditjob.Job{Trail: store, Checkpoints: store, Metrics: os.Stdout, Log: log, Now: time.Now}, nil
}
