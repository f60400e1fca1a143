package access

import (
	"crypto/sha256"
	_ "embed" // the schema and the built-in local policy
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// Schema is the Cedar schema every policy is validated against (cedar/schema.cedarschema).
//
//go:embed cedar/schema.cedarschema
var Schema []byte

// LocalPolicy is the built-in policy of the local stack: the default local caller may do everything.
// Only the local stack chooses it (BuiltinSource); a deployed function never falls back to it.
//
//go:embed cedar/local.cedar
var LocalPolicy []byte

// MaxPolicyBytes bounds a policy document (Parameter Store's advanced tier holds 8 KB; a file or a
// parameter far larger than any sensible policy is refused rather than parsed).
const MaxPolicyBytes = 64 << 10

// ErrInvalidPolicy is matched (errors.Is) by every error of ParsePolicy.
var ErrInvalidPolicy = errors.New("access: invalid policy")

// validator is the schema's validator, built once: the schema is part of the binary.
var validator = func() *validate.Validator {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar(Schema); err != nil {
		panic("access: the embedded schema does not parse: " + err.Error())
	}
	r, err := s.Resolve()
	if err != nil {
		panic("access: the embedded schema does not resolve: " + err.Error())
	}
	return validate.New(r)
}()

// Policy is a parsed policy set that validated against Schema, and its version.
type Policy struct {
	set *cedar.PolicySet
	// Version names the policy in audit records: where it came from and what it said,
	// "<source version>@sha256:<first 16 hex digits of the text's SHA-256>".
	Version string
	// Statements is the number of permit and forbid statements.
	Statements int
	// profiles are the profile IDs the policy names, and one it does not (see Anywhere).
	profiles []string
}

// ParsePolicy parses a Cedar policy document and validates every statement against Schema. name is
// for error positions (a file name, a parameter name); sourceVersion is what the source calls this
// version ("ssm:7", "file", "builtin"). An empty document is a valid policy that permits nothing.
// Errors name the position and the problem; policy documents hold ARNs and profile IDs, never secrets.
func ParsePolicy(name string, text []byte, sourceVersion string) (*Policy, error) {
	if len(text) > MaxPolicyBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrInvalidPolicy, name, len(text), MaxPolicyBytes)
	}
	if !utf8.Valid(text) {
		return nil, fmt.Errorf("%w: %s is not UTF-8 text", ErrInvalidPolicy, name)
	}
	set, err := cedar.NewPolicySetFromBytes(name, text)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not parse: %s", ErrInvalidPolicy, name, oneLine(err))
	}
	var errs []error
	n := 0
	for id, p := range set.All() {
		n++
		if err := validator.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
			pos := p.Position()
			errs = append(errs, fmt.Errorf("%s:%d:%d: %s", name, pos.Line, pos.Column, oneLine(err)))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s does not validate against the schema: %w", ErrInvalidPolicy, name, errors.Join(errs...))
	}
	sum := sha256.Sum256(text)
	p := &Policy{set: set, Version: sourceVersion + "@sha256:" + hex.EncodeToString(sum[:8]), Statements: n}
	p.profiles = namedProfiles(p)
	return p, nil
}

// allows evaluates one request: default deny, a forbid wins over any permit. There are no entity
// attributes or parents: a policy names callers, actions and profiles directly. Cedar skips a
// statement whose condition fails to evaluate; a skipped forbid would widen access, so any
// evaluation error denies.
func (p *Policy) allows(principal, action string, profileID string) bool {
	if p == nil {
		return false
	}
	decision, diag := cedar.Authorize(p.set, nil, cedar.Request{
		Principal: cedar.NewEntityUID(TypeCaller, cedar.String(principal)),
		Action:    cedar.NewEntityUID(TypeAction, cedar.String(action)),
		Resource:  cedar.NewEntityUID(TypeProfile, cedar.String(profileID)),
	})
	return decision == cedar.Allow && len(diag.Errors) == 0
}

// oneLine keeps an error on one log line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
