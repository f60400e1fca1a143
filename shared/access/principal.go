package access

import "strings"

// Principal is the Cedar principal ID of an IAM principal ARN as API Gateway reports it
// (requestContext.identity.userArn): an assumed-role session,
// arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, is its role, arn:PARTITION:iam::ACCOUNT:role/ROLE,
// so that a policy grants a role once for all its sessions (the session name is the caller's choice).
// The session ARN carries no role path, so neither does the role's ID: write policies with the role's
// ARN without its path. Every other ARN (an IAM user, with its path) is its own ID.
func Principal(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return arn
	}
	// PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION
	parts := strings.SplitN(rest, ":", 5)
	if len(parts) != 5 || parts[1] != "sts" || parts[2] != "" || parts[3] == "" {
		return arn
	}
	res, ok := strings.CutPrefix(parts[4], "assumed-role/")
	if !ok {
		return arn
	}
	role, session, ok := strings.Cut(res, "/")
	if !ok || role == "" || session == "" {
		return arn
	}
	return "arn:" + parts[0] + ":iam::" + parts[3] + ":role/" + role
}
