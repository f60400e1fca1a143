// Package access decides, with a Cedar policy, what an authenticated caller may do on which
// WhatConverts profile (contract: "Access policy"). API Gateway's AWS_IAM auth says who the caller
// is; Authorizer.Authorize says whether that caller may do an action on a profile.
//
// Entities. The principal is Wcbridge::Caller::"<IAM principal ARN>", an assumed-role session being
// its role (Principal); the action is Wcbridge::Action::"get-leads" (and the others of Actions); the
// resource is Wcbridge::Profile::"<decimal profile ID>". cedar/schema.cedarschema is the schema;
// cedar/examples holds example policies, and cedar/local.cedar the local stack's built-in policy.
// Entities have no attributes and no parents: a policy names callers, actions and profiles.
//
// Never fail open. Default deny: no policy, or no permit that matches, is a denial; a forbid wins
// over any permit; a statement that cannot be evaluated denies (Cedar would skip it, and a skipped
// forbid would widen access). A document that cannot be read, does not parse or does not validate
// against the schema is never used: the last good policy stays in force, or, before any was read,
// everything is denied; the error is logged (positions and problems, never the document) with the
// AccessPolicyErrors metric in CloudWatch's embedded metric format, which template.yaml alarms on.
//
// Sources. Deployed, the policy is a Systems Manager parameter (ParameterSource), read at the cold
// start and again on the first request after DefaultRefresh, so that a change is in force within a
// minute without a redeploy; its version names the parameter version and a hash of the text
// ("ssm:7@sha256:…"), and every audit record of a call says which version decided it. It is read
// with Parameters, one signed GetParameter, not the SDK's SSM client (1.2 MB of every IAM route's
// binary for that one call). Locally it is a file (FileSource, WCBRIDGE_ACCESS_POLICY_FILE) read again every second, or the built-in
// LocalPolicy (BuiltinSource), chosen only by the local stack.
//
// Consumers declare the one method they use, with plain types, and treat an error or a nil
// authorizer as a denial:
//
//	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
//
// Routes that show several profiles at once (trigger samples, reports) also use Anywhere, to answer
// 403 to a caller who may see none, and filter what is left with Authorize.
package access
