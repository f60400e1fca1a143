package anchor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wcbridge/wcbridge/shared/anchor"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
)

// What the anchor relies on, checked on the local S3 server (moto) with a bucket configured as the
// template's: a digest is written once, and a locked digest cannot be deleted, by anyone.
func TestS3AnchorIsWriteOnce(t *testing.T) {
	ctx := context.Background()
	c := testenv.S3(t)
	bucket := testenv.LockedBucket(t, c)
	a := &anchor.S3{Client: c, Bucket: bucket}
	name := audit.AnchorName("2026-12-02T13")

	if doc, n, err := a.Get(ctx, name); err != nil || doc != nil || n != 0 {
		t.Fatalf("Get before Put: %q, %d, %v; want nothing", doc, n, err)
	}
	if err := a.Put(ctx, name, []byte(`{"first":true}`)); err != nil {
		t.Fatal(err)
	}
	t.Run("a second digest for the name is refused", func(t *testing.T) {
		if err := a.Put(ctx, name, []byte(`{"second":true}`)); !errors.Is(err, audit.ErrDigestExists) {
			t.Fatalf("err = %v; want ErrDigestExists", err)
		}
		doc, n, err := a.Get(ctx, name)
		if err != nil || string(doc) != `{"first":true}` || n != 1 {
			t.Fatalf("Get: %q, %d versions, %v; want the first document, 1 version", doc, n, err)
		}
	})
	t.Run("the object is locked in COMPLIANCE mode", func(t *testing.T) {
		out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.ObjectLockMode != "COMPLIANCE" || out.ObjectLockRetainUntilDate == nil {
			t.Fatalf("lock mode %q, retain until %v; want COMPLIANCE with a date", out.ObjectLockMode, out.ObjectLockRetainUntilDate)
		}
	})
	t.Run("a locked version cannot be deleted", func(t *testing.T) {
		vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(name)})
		if err != nil || len(vs.Versions) != 1 {
			t.Fatalf("versions: %v, %v", err, vs)
		}
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(name), VersionId: vs.Versions[0].VersionId})
		if err == nil {
			t.Fatal("deleting a locked version succeeded")
		}
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(name), VersionId: vs.Versions[0].VersionId,
			BypassGovernanceRetention: aws.Bool(true)})
		if err == nil {
			t.Fatal("deleting a COMPLIANCE-locked version with the governance bypass succeeded")
		}
		doc, _, err := a.Get(ctx, name)
		if err != nil || string(doc) != `{"first":true}` {
			t.Fatalf("after the attempts: %q, %v; want the digest still there", doc, err)
		}
	})
	t.Run("a delete marker hides nothing from the verifier", func(t *testing.T) {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		doc, n, err := a.Get(ctx, name)
		if err != nil || string(doc) != `{"first":true}` || n != 2 {
			t.Fatalf("Get: %q, %d, %v; want the locked version and 2 (version and marker)", doc, n, err)
		}
	})
}
