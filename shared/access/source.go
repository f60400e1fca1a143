package access

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
)

// BuiltinSource is a fixed document compiled into the binary (the local stack's LocalPolicy).
type BuiltinSource struct{ Text []byte }

// Load returns the document.
func (s BuiltinSource) Load(context.Context) ([]byte, string, error) { return s.Text, "builtin", nil }

// Name is "built-in".
func (BuiltinSource) Name() string { return "built-in" }

// FileSource is a policy file, read again at every refresh (the local stack's hot reload).
type FileSource struct{ Path string }

// Load reads the file (at most MaxPolicyBytes and one more, so that a larger one is refused).
func (s FileSource) Load(context.Context) ([]byte, string, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, "", err
	}
	return b, "file", nil
}

// Name is the file's path.
func (s FileSource) Name() string { return s.Path }

// SSM reads a Systems Manager parameter's current value and version (Parameters does).
type SSM interface {
	GetParameter(ctx context.Context, name string) (value string, version int64, err error)
}

var _ SSM = (*Parameters)(nil)

// ParameterSource is a Systems Manager Parameter Store parameter holding the policy: it changes
// without a redeploy, every change is a new parameter version (kept in its history, and named in
// audit records as "ssm:<version>"), and reading it needs only ssm:GetParameter on that one ARN.
type ParameterSource struct {
	Client    SSM
	Parameter string // its name, "/wcbridge/<stack>/access-policy"
}

// Load reads the parameter's current version.
func (s ParameterSource) Load(ctx context.Context) ([]byte, string, error) {
	value, version, err := s.Client.GetParameter(ctx, s.Parameter)
	if err != nil {
		return nil, "", fmt.Errorf("read parameter %s: %w", s.Parameter, err)
	}
	return []byte(value), "ssm:" + strconv.FormatInt(version, 10), nil
}

// Name is the parameter's name.
func (s ParameterSource) Name() string { return "ssm:" + s.Parameter }
