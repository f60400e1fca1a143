// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests, as API Gateway's IAM auth
// does, so that the local API accepts exactly the signed clients the deployed one accepts (the AWS
// SDKs, `curl --aws-sigv4`, awscurl) and refuses the rest with API Gateway's own messages.
//
// It verifies rather than re-signs: the canonical request is rebuilt from the client's own
// SignedHeaders list, the path (as sent) URI-encoded once more, and the query's parameters decoded,
// URI-encoded (RFC 3986 unreserved characters only left as they are, a space as %20) and sorted, as
// the specification says. A signer that sends characters such as "@", "+" or ":" unencoded in the
// query may have signed them so: botocore (the AWS CLI's and boto3's signer) signs the query of a
// URL as written, only sorted. API Gateway accepts such a request, so the query as sent, sorted, is
// the one other canonical query tried. A query signed in any other order (curl 7.88 signs it as
// written) is refused, as API Gateway refuses it. Re-signing with an SDK signer would pick the
// signer's header set (the Go SDK adds content-length) and refuse clients that signed fewer headers.
//
// Both forms of signature are verified: the Authorization header, and a presigned URL
// (X-Amz-Signature and the other X-Amz-* parameters in the query, valid from X-Amz-Date until
// X-Amz-Expires seconds later; presign.go), which is how a browser opens an IAM route.
package sigv4
