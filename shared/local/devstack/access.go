package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/wcbridge/wcbridge/shared/access"
	"github.com/wcbridge/wcbridge/shared/local/apigateway"
)

// ParseCallers reads WCBRIDGE_LOCAL_CALLERS_FILE: a JSON list of local IAM callers, each with its
// own SigV4 key and the principal ARN the functions see (an assumed-role session ARN is allowed:
// the policy sees its role).
//
//	[{"access_key_id": "AKIA…", "secret_access_key": "…", "principal_arn": "arn:aws:iam::123456789012:role/crm"}]
//
// Errors name the entry and the member, never a secret.
func ParseCallers(b []byte) ([]apigateway.Principal, error) {
	var list []struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		PrincipalARN    string `json:"principal_arn"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, errors.New(`local callers: want a JSON list of {"access_key_id", "secret_access_key", "principal_arn"}`)
	}
	seen := map[string]bool{}
	out := make([]apigateway.Principal, 0, len(list))
	for i, c := range list {
		switch {
		case c.AccessKeyID == "" || c.SecretAccessKey == "" || c.PrincipalARN == "":
			return nil, fmt.Errorf("local callers: entry %d needs access_key_id, secret_access_key and principal_arn", i+1)
		case !strings.HasPrefix(c.PrincipalARN, "arn:"):
			return nil, fmt.Errorf("local callers: entry %d: principal_arn must be an IAM principal ARN", i+1)
		case seen[c.AccessKeyID]:
			return nil, fmt.Errorf("local callers: entry %d: access key %s is listed twice", i+1, c.AccessKeyID)
		}
		seen[c.AccessKeyID] = true
		out = append(out, apigateway.Principal{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, ARN: c.PrincipalARN})
	}
	return out, nil
}

// AccessPolicy says which policy the IAM routes are authorised with now: its source and version, or
// why there is none in force (then every IAM route answers 403). The functions read the same source
// themselves; this is a reading of it for the banner.
func (s *Stack) AccessPolicy() string {
	o := s.Options
	if o.AccessPolicyFile == "" {
		a := access.New(context.Background(), access.BuiltinSource{Text: access.LocalPolicy}, access.Options{Logger: slog.New(slog.DiscardHandler)})
		v, _ := a.Version()
		return fmt.Sprintf("built-in (%s): the default local caller may do everything; WCBRIDGE_ACCESS_POLICY_FILE names a Cedar file instead", v)
	}
	src := access.FileSource{Path: o.AccessPolicyFile}
	text, version, err := src.Load(context.Background())
	if err == nil {
		var p *access.Policy
		if p, err = access.ParsePolicy(o.AccessPolicyFile, text, version); err == nil {
			return fmt.Sprintf("%s (%s, %d statements), read again when it changes", o.AccessPolicyFile, p.Version, p.Statements)
		}
	}
	return fmt.Sprintf("%s is REFUSED, so every IAM route answers 403 until it is fixed: %v", o.AccessPolicyFile, err)
}
