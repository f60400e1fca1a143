// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests, as API Gateway's IAM auth
// does, so that the local API accepts exactly the signed clients the deployed one accepts (the AWS
// SDKs, `curl --aws-sigv4`, awscurl) and refuses the rest with API Gateway's own messages.
//
// It verifies rather than re-signs: the canonical request is rebuilt from the client's own
// SignedHeaders list, the path URI-encoded and the query sorted and URI-encoded as the specification
// says. Re-signing with an SDK signer would pick the signer's header set (the Go SDK adds
// content-length) and refuse clients that signed fewer headers. Both forms are verified: the
// Authorization header, and a presigned URL (X-Amz-Signature in the query, valid from X-Amz-Date
// until X-Amz-Expires seconds later), which is how a browser opens an IAM route.
package sigv4
