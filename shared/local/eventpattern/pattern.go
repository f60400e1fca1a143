package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Compile returns.
var ErrInvalid = errors.New("invalid event pattern")

// maxNumeric is the largest magnitude EventBridge's numeric matching accepts in a pattern.
const maxNumeric = 5e9

// Pattern is a compiled event pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	root *node
}

// node is one object of a pattern: fields that must all match, and $or groups of which one
// alternative each must match.
type node struct {
	fields []field
	ors    [][]*node
}

// field is one named field: a nested object, or a list of values any of which may match.
type field struct {
	name     string
	sub      *node
	matchers []matcher
}

type kind uint8

const (
	kindString kind = iota + 1 // exact string
	kindNumber                 // exact number, by its JSON text
	kindBool
	kindNull
	kindPrefix
	kindPrefixFold
	kindSuffix
	kindSuffixFold
	kindEqualsFold
	kindNumeric
	kindExists
	kindAnythingBut
)

// matcher is one entry of a field's value list.
type matcher struct {
	kind kind
	text string // string, number text, or the operator's operand (lower-cased for the *Fold kinds)
	b    bool   // kindBool's value, kindExists' operand
	rng  numericRange
	not  *anythingBut
}

// numericRange is a numeric operator: an optional lower and upper bound, or equality (both bounds
// equal and inclusive).
type numericRange struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loIncl, hiIncl bool
}

// anythingBut is what an anything-but excludes: exact strings, numbers (compared as numbers), or
// string operators (prefix, suffix, equals-ignore-case).
type anythingBut struct {
	strings []string
	numbers []float64
	ops     []matcher
}

// Compile parses and checks an event pattern. Errors wrap ErrInvalid and name the offending field by
// its path (detail.state[0]); patterns are configuration, not event data, so they may quote it.
func Compile(patternJSON []byte) (*Pattern, error) {
	v, err := decode(patternJSON)
	if err != nil {
		return nil, invalid("", "pattern is not valid JSON")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("", "a pattern must be a JSON object")
	}
	root, err := compileNode(obj, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known at build time; it panics on an invalid one.
func MustCompile(patternJSON string) *Pattern {
	p, err := Compile([]byte(patternJSON))
	if err != nil {
		panic(err)
	}
	return p
}

// decode parses one JSON document, keeping numbers as written (exact matching compares their text).
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func invalid(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrInvalid, msg)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func compileNode(obj map[string]any, path string) (*node, error) {
	if len(obj) == 0 {
		return nil, invalid(path, "empty objects are not allowed")
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names) // errors and evaluation in a stable order
	n := &node{}
	for _, name := range names {
		p := join(path, name)
		switch v := obj[name].(type) {
		case map[string]any:
			sub, err := compileNode(v, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: name, sub: sub})
		case []any:
			if name == "$or" {
				group, err := compileOr(v, p)
				if err != nil {
					return nil, err
				}
				n.ors = append(n.ors, group)
				continue
			}
			ms, err := compileValues(v, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: name, matchers: ms})
		default:
			return nil, invalid(p, "must be an object (nested fields) or an array (the values to match)")
		}
	}
	return n, nil
}

func compileOr(alts []any, path string) ([]*node, error) {
	if len(alts) < 2 {
		return nil, invalid(path, "$or needs at least two alternatives")
	}
	group := make([]*node, 0, len(alts))
	for i, a := range alts {
		p := fmt.Sprintf("%s[%d]", path, i)
		obj, ok := a.(map[string]any)
		if !ok {
			return nil, invalid(p, "each $or alternative must be an object")
		}
		n, err := compileNode(obj, p)
		if err != nil {
			return nil, err
		}
		group = append(group, n)
	}
	return group, nil
}

func compileValues(values []any, path string) ([]matcher, error) {
	if len(values) == 0 {
		return nil, invalid(path, "empty arrays are not allowed")
	}
	ms := make([]matcher, 0, len(values))
	for i, v := range values {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, err := compileValue(v, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func compileValue(v any, path string) (matcher, error) {
	switch v := v.(type) {
	case string:
		return matcher{kind: kindString, text: v}, nil
	case json.Number:
		return matcher{kind: kindNumber, text: v.String()}, nil
	case bool:
		return matcher{kind: kindBool, b: v}, nil
	case nil:
		return matcher{kind: kindNull}, nil
	case []any:
		return matcher{}, invalid(path, "a value must be a string, number, true, false, null or an operator object, not an array")
	}
	obj := v.(map[string]any)
	if len(obj) != 1 {
		return matcher{}, invalid(path, "an operator object must have exactly one key")
	}
	var op string
	var arg any
	for k, a := range obj { // its one key
		op, arg = k, a
	}
	return compileOperator(op, arg, path)
}

const supportedOperators = "prefix, suffix, equals-ignore-case, anything-but, exists, numeric"

func compileOperator(op string, arg any, path string) (matcher, error) {
	switch op {
	case "prefix", "suffix":
		plain, fold := kindPrefix, kindPrefixFold
		if op == "suffix" {
			plain, fold = kindSuffix, kindSuffixFold
		}
		switch a := arg.(type) {
		case string:
			return matcher{kind: plain, text: a}, nil
		case map[string]any:
			s, ok := a["equals-ignore-case"].(string)
			if len(a) != 1 || !ok {
				return matcher{}, invalid(path, "%s takes a string or {\"equals-ignore-case\": string}", op)
			}
			return matcher{kind: fold, text: strings.ToLower(s)}, nil
		}
		return matcher{}, invalid(path, "%s takes a string or {\"equals-ignore-case\": string}", op)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return matcher{}, invalid(path, "equals-ignore-case takes a string")
		}
		return matcher{kind: kindEqualsFold, text: strings.ToLower(s)}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return matcher{}, invalid(path, "exists takes true or false")
		}
		return matcher{kind: kindExists, b: b}, nil
	case "numeric":
		rng, err := compileNumeric(arg, path)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kindNumeric, rng: rng}, nil
	case "anything-but":
		ab, err := compileAnythingBut(arg, path)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kindAnythingBut, not: ab}, nil
	}
	return matcher{}, invalid(path, "unknown operator %q (supported: %s)", op, supportedOperators)
}

func compileAnythingBut(arg any, path string) (*anythingBut, error) {
	ab := &anythingBut{}
	switch a := arg.(type) {
	case string:
		ab.strings = []string{a}
	case json.Number:
		f, err := number(a, path)
		if err != nil {
			return nil, err
		}
		ab.numbers = []float64{f}
	case []any:
		if len(a) == 0 {
			return nil, invalid(path, "anything-but needs at least one value")
		}
		for _, it := range a {
			switch it := it.(type) {
			case string:
				ab.strings = append(ab.strings, it)
			case json.Number:
				f, err := number(it, path)
				if err != nil {
					return nil, err
				}
				ab.numbers = append(ab.numbers, f)
			default:
				return nil, invalid(path, "an anything-but list holds only strings or only numbers")
			}
		}
		if len(ab.strings) > 0 && len(ab.numbers) > 0 {
			return nil, invalid(path, "an anything-but list holds only strings or only numbers")
		}
	case map[string]any:
		if len(a) != 1 {
			return nil, invalid(path, "anything-but takes one of prefix, suffix or equals-ignore-case")
		}
		for op, operand := range a {
			var k kind
			switch op {
			case "prefix":
				k = kindPrefix
			case "suffix":
				k = kindSuffix
			case "equals-ignore-case":
				k = kindEqualsFold
			default:
				return nil, invalid(path, "anything-but takes one of prefix, suffix or equals-ignore-case, not %q", op)
			}
			texts, err := stringOrStrings(operand)
			if err != nil {
				return nil, invalid(path, "anything-but %s takes a string or a list of strings", op)
			}
			for _, s := range texts {
				if s == "" && k != kindEqualsFold {
					return nil, invalid(path, "anything-but %s must not be empty", op)
				}
				if k == kindEqualsFold {
					s = strings.ToLower(s)
				}
				ab.ops = append(ab.ops, matcher{kind: k, text: s})
			}
		}
	default:
		return nil, invalid(path, "anything-but takes a string, a number, a list of strings or numbers, or an operator object")
	}
	return ab, nil
}

func stringOrStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, errors.New("empty list")
		}
		out := make([]string, 0, len(v))
		for _, it := range v {
			s, ok := it.(string)
			if !ok {
				return nil, errors.New("not a string")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("not a string")
}

func number(n json.Number, path string) (float64, error) {
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid(path, "%s is not a usable number", n)
	}
	return f, nil
}

// compileNumeric parses [op, n] or [op, n, op, n]: "=" alone, or at most one lower bound (> >=) and one
// upper bound (< <=), the lower below the upper.
func compileNumeric(arg any, path string) (numericRange, error) {
	var r numericRange
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		return r, invalid(path, "numeric takes [operator, number] or [operator, number, operator, number]")
	}
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		if !ok {
			return r, invalid(path, "numeric: %v is not an operator (=, <, <=, >, >=)", list[i])
		}
		n, ok := list[i+1].(json.Number)
		if !ok {
			return r, invalid(path, "numeric: the operand of %q must be a number", op)
		}
		f, err := number(n, path)
		if err != nil {
			return r, err
		}
		if math.Abs(f) > maxNumeric {
			return r, invalid(path, "numeric: %s is outside the supported range -5e9 to 5e9", n)
		}
		switch op {
		case "=":
			if len(list) != 2 {
				return r, invalid(path, "numeric: \"=\" cannot be combined with another operator")
			}
			r = numericRange{lo: f, hi: f, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}
		case ">", ">=":
			if r.hasLo {
				return r, invalid(path, "numeric: at most one lower bound (> or >=)")
			}
			r.lo, r.hasLo, r.loIncl = f, true, op == ">="
		case "<", "<=":
			if r.hasHi {
				return r, invalid(path, "numeric: at most one upper bound (< or <=)")
			}
			r.hi, r.hasHi, r.hiIncl = f, true, op == "<="
		default:
			return r, invalid(path, "numeric: unknown operator %q (=, <, <=, >, >=)", op)
		}
	}
	if r.hasLo && r.hasHi && r.lo >= r.hi && !(r.lo == r.hi && r.loIncl && r.hiIncl) {
		return r, invalid(path, "numeric: the lower bound must be below the upper bound")
	}
	return r, nil
}
