// Package anchors builds the client of the audit digests' anchor bucket (package anchor, S3 Object
// Lock). It is a package of its own so that only what anchors or reads anchors (the digest function,
// the daily report's verification, verify-audit, the local stack) links the S3 client: every SDK
// service package a binary imports costs its size and its package initialisation at every cold start.
package anchors

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/config"
)

// S3 is the S3 client at the local endpoint when one is set (path-style there, as local servers need).
func S3(cfg config.Config, ac aws.Config) *s3.Client {
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.BaseEndpoint = config.Endpoint(cfg.S3Endpoint)
		o.UsePathStyle = cfg.S3Endpoint != ""
	})
}

// Bucket is the anchor of cfg's digest bucket (AUDIT_BUCKET_NAME).
func Bucket(cfg config.Config, ac aws.Config) *anchor.S3 {
	return &anchor.S3{Client: S3(cfg, ac), Bucket: cfg.AuditBucket}
}
