package access

import (
	"crypto/sha256"
	_ "embed" // the schema and the built-in local policy
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
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
	// named are the principals a statement's scope names; subsets caches statements by principal
	// and action (see subset).
	named   map[cedar.EntityUID]bool
	subsets sync.Map
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
	p := &Policy{set: set, Version: sourceVersion + "@sha256:" + hex.EncodeToString(sum[:8]), Statements: n,
		named: map[cedar.EntityUID]bool{}}
	p.profiles = namedProfiles(p)
	for _, st := range set.All() {
		switch sc := st.AST().Principal.(type) {
		case xast.ScopeTypeEq:
			p.named[sc.Entity] = true
		case xast.ScopeTypeIn:
			p.named[sc.Entity] = true
		case xast.ScopeTypeIsIn:
			p.named[sc.Entity] = true
		}
	}
	return p, nil
}

// statements is the part of a policy that can apply to one principal and action: the statements
// whose scopes can match them. Cedar evaluates every statement of the set it is given, and a
// deployment's policy grows with its callers; the scopes are what tell most statements apart, and
// without entity parents a scope's "in" is equality, so leaving out a statement whose scope cannot
// match changes no decision.
type statements []statement

type statement struct {
	id cedar.PolicyID
	p  *cedar.Policy
}

// All makes statements a cedar.PolicyIterator.
func (ss statements) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, s := range ss {
			if !yield(s.id, s.p) {
				return
			}
		}
	}
}

// subset is the statements that can apply to principal and action, built once per pair and kept:
// every principal no statement names shares one entry, so there are at most (named principals + 1)
// x actions of them.
func (p *Policy) subset(principal, action cedar.EntityUID) *subset {
	key := [2]cedar.EntityUID{principal, action}
	if !p.named[principal] {
		key[0] = cedar.EntityUID{}
	}
	if v, ok := p.subsets.Load(key); ok {
		return v.(*subset)
	}
	out := &subset{}
	for id, st := range p.set.All() {
		a := st.AST()
		if !scopeMay(a.Principal, principal) || !scopeMay(a.Action, action) {
			continue
		}
		if len(a.Conditions) == 0 {
			out.plain = append(out.plain, statement{id, st})
		} else {
			out.conditional = append(out.conditional, statement{id, st})
		}
	}
	p.subsets.Store(key, out)
	return out
}

// subset is the statements that can apply to one principal and action: those without conditions,
// decided by their resource scope, and those with conditions, evaluated by Cedar.
type subset struct {
	plain, conditional statements
}

// scopeMay says whether a scope can match uid. Without entity parents, "in" is equality.
func scopeMay(scope any, uid cedar.EntityUID) bool {
	switch s := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return s.Entity == uid
	case xast.ScopeTypeIn:
		return s.Entity == uid
	case xast.ScopeTypeInSet:
		return slices.Contains(s.Entities, uid)
	case xast.ScopeTypeIs:
		return s.Type == uid.Type
	case xast.ScopeTypeIsIn:
		return s.Type == uid.Type && s.Entity == uid
	}
	return true // a scope this code does not know: evaluation decides
}

// allows evaluates one request: default deny, a forbid wins over any permit. There are no entity
// attributes or parents: a policy names callers, actions and profiles directly. Cedar skips a
// statement whose condition fails to evaluate; a skipped forbid would widen access, so any
// evaluation error denies.
func (p *Policy) allows(principal, action string, profileID string) bool {
	if p == nil {
		return false
	}
	req := cedar.Request{
		Principal: cedar.NewEntityUID(TypeCaller, cedar.String(principal)),
		Action:    cedar.NewEntityUID(TypeAction, cedar.String(action)),
		Resource:  cedar.NewEntityUID(TypeProfile, cedar.String(profileID)),
	}
	sub := p.subset(req.Principal, req.Action)
	// A statement without conditions matches when its scopes do (the principal's and the
	// action's already did); only statements with conditions need Cedar's evaluator.
	permitted := false
	for _, st := range sub.plain {
		if scopeMay(st.p.AST().Resource, req.Resource) {
			if st.p.Effect() == cedar.Forbid {
				return false
			}
			permitted = true
		}
	}
	if len(sub.conditional) == 0 {
		return permitted
	}
	decision, diag := cedar.Authorize(sub.conditional, nil, req)
	switch {
	case len(diag.Errors) > 0:
		return false
	case decision == cedar.Allow:
		return true
	case len(diag.Reasons) > 0: // a forbid matched
		return false
	}
	return permitted
}

// oneLine keeps an error on one log line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
