// Package anchor keeps the write-once copy of every audit period digest outside the table: objects in
// an S3 bucket with Object Lock in COMPLIANCE mode (template.yaml's AuditDigestBucket: versioning on,
// default retention six years, SSE-KMS with the data key). Someone who can write the audit table but
// has no access to the bucket cannot delete, replace or add a digest there; not even the bucket's
// owner can delete a locked version before its retention ends.
//
// Put writes an object only where none exists (If-None-Match: *) and locks it explicitly (COMPLIANCE,
// Retention from now) rather than relying on the bucket default alone. Get reads the newest version
// that is not a delete marker and counts the versions under the name: more than one is a second
// digest for the period, a finding for the verifier. It lives apart from package audit so that the
// functions that only write records do not link the S3 client.
package anchor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Retention is how long each anchored object is locked: six years, like the records.
const Retention = 2192 * 24 * time.Hour

// S3API is the part of the S3 client the anchor uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3 is an audit.Anchor over one bucket.
type S3 struct {
	Client S3API
	Bucket string
	Now    func() time.Time // defaults to time.Now
}

var _ audit.Anchor = (*S3)(nil)

// Put stores doc under name once, locked in COMPLIANCE mode for Retention. An existing object under
// name is audit.ErrDigestExists; nothing is overwritten.
func (a *S3) Put(ctx context.Context, name string, doc []byte) error {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	_, err := a.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:                    aws.String(a.Bucket),
		Key:                       aws.String(name),
		Body:                      bytes.NewReader(doc),
		ContentType:               aws.String("application/json"),
		IfNoneMatch:               aws.String("*"),
		ChecksumAlgorithm:         s3types.ChecksumAlgorithmSha256, // Object Lock requires an integrity check
		ObjectLockMode:            s3types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: aws.Time(now().Add(Retention).UTC().Truncate(time.Second)),
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return fmt.Errorf("%w: s3://%s/%s", audit.ErrDigestExists, a.Bucket, name)
	}
	if err != nil {
		return fmt.Errorf("anchor: put s3://%s/%s: %w", a.Bucket, name, err)
	}
	return nil
}

// Get returns the newest version of name that is not a delete marker (nil when there is none) and how
// many versions and delete markers the bucket holds under name.
func (a *S3) Get(ctx context.Context, name string) ([]byte, int, error) {
	out, err := a.Client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
		Bucket: aws.String(a.Bucket), Prefix: aws.String(name), MaxKeys: aws.Int32(100),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("anchor: list versions of s3://%s/%s: %w", a.Bucket, name, err)
	}
	var (
		n      int
		newest *s3types.ObjectVersion
	)
	for i, v := range out.Versions {
		if aws.ToString(v.Key) != name {
			continue
		}
		n++
		if newest == nil || aws.ToTime(v.LastModified).After(aws.ToTime(newest.LastModified)) || aws.ToBool(v.IsLatest) {
			newest = &out.Versions[i]
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == name {
			n++
		}
	}
	if newest == nil {
		return nil, n, nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(name)}
	if id := aws.ToString(newest.VersionId); id != "" && id != "null" {
		in.VersionId = aws.String(id)
	}
	obj, err := a.Client.GetObject(ctx, in)
	if err != nil {
		return nil, n, fmt.Errorf("anchor: get s3://%s/%s: %w", a.Bucket, name, err)
	}
	defer obj.Body.Close()
	doc, err := io.ReadAll(io.LimitReader(obj.Body, 1<<20))
	if err != nil {
		return nil, n, fmt.Errorf("anchor: read s3://%s/%s: %w", a.Bucket, name, err)
	}
	return doc, n, nil
}
