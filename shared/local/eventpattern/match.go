package eventpattern

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// ErrEvent is returned (wrapped) by Match for an event that is not one JSON object. The error says no
// more than that: it never quotes the event.
var ErrEvent = errors.New("eventpattern: the event is not a JSON object")

// Match reports whether the event (one JSON object, as EventBridge delivers it to targets) matches.
func (p *Pattern) Match(eventJSON []byte) (bool, error) {
	v, err := decode(eventJSON)
	if err != nil {
		return false, ErrEvent
	}
	return p.MatchValue(v)
}

// MatchValue is Match for an event already decoded with encoding/json into map[string]any, []any,
// string, json.Number or float64, bool and nil (decode with UseNumber for exact number matching: a
// float64 matches exact numbers by its shortest text).
func (p *Pattern) MatchValue(event any) (bool, error) {
	if _, ok := event.(map[string]any); !ok {
		return false, ErrEvent
	}
	return p.root.match(event, true), nil
}

// match evaluates a pattern object against a value of the event (present is false for a field the
// event does not have). An array is matched element by element, so that all of the object's fields
// are satisfied within one element.
func (n *node) match(v any, present bool) bool {
	if arr, ok := v.([]any); ok {
		elems := flatten(arr, nil)
		if len(elems) == 0 {
			return n.match(nil, false)
		}
		for _, e := range elems {
			if n.match(e, true) {
				return true
			}
		}
		return false
	}
	obj, _ := v.(map[string]any) // nil for a leaf or an absent value: every field is absent
	for i := range n.fields {
		f := &n.fields[i]
		fv, ok := obj[f.name]
		if !f.match(fv, ok) {
			return false
		}
	}
	for _, alts := range n.ors {
		matched := false
		for _, alt := range alts {
			if alt.match(v, present) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

func (f *field) match(v any, present bool) bool {
	if f.sub != nil {
		return f.sub.match(v, present)
	}
	leaves := leafValues(v, present)
	for i := range f.matchers {
		m := &f.matchers[i]
		if m.kind == kindExists {
			if (len(leaves) > 0) == m.b {
				return true
			}
			continue
		}
		for _, l := range leaves {
			if m.matchLeaf(l) {
				return true
			}
		}
	}
	return false
}

// flatten appends the elements of an array, arrays within it expanded in place.
func flatten(arr []any, out []any) []any {
	for _, e := range arr {
		if inner, ok := e.([]any); ok {
			out = flatten(inner, out)
			continue
		}
		out = append(out, e)
	}
	return out
}

// leafValues are the values a field offers to a value list: nothing when absent or an object, the
// scalar elements of an array, else the value itself.
func leafValues(v any, present bool) []any {
	if !present {
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		return nil
	case []any:
		var out []any
		for _, e := range flatten(v, nil) {
			if _, isObj := e.(map[string]any); !isObj {
				out = append(out, e)
			}
		}
		return out
	}
	return []any{v}
}

// matchLeaf reports whether one scalar of the event satisfies m.
func (m *matcher) matchLeaf(l any) bool {
	switch m.kind {
	case kindString:
		s, ok := l.(string)
		return ok && s == m.text
	case kindNumber:
		t, ok := numberText(l)
		return ok && t == m.text
	case kindBool:
		b, ok := l.(bool)
		return ok && b == m.b
	case kindNull:
		return l == nil
	case kindPrefix:
		s, ok := l.(string)
		return ok && strings.HasPrefix(s, m.text)
	case kindPrefixFold:
		s, ok := l.(string)
		return ok && strings.HasPrefix(strings.ToLower(s), m.text)
	case kindSuffix:
		s, ok := l.(string)
		return ok && strings.HasSuffix(s, m.text)
	case kindSuffixFold:
		s, ok := l.(string)
		return ok && strings.HasSuffix(strings.ToLower(s), m.text)
	case kindEqualsFold:
		s, ok := l.(string)
		return ok && strings.ToLower(s) == m.text
	case kindNumeric:
		f, ok := numberValue(l)
		return ok && m.rng.contains(f)
	case kindAnythingBut:
		return !m.not.excludes(l)
	}
	return false
}

func (r *numericRange) contains(f float64) bool {
	if r.hasLo && (f < r.lo || (f == r.lo && !r.loIncl)) {
		return false
	}
	if r.hasHi && (f > r.hi || (f == r.hi && !r.hiIncl)) {
		return false
	}
	return true
}

// excludes reports whether an anything-but rules the leaf out.
func (a *anythingBut) excludes(l any) bool {
	if s, ok := l.(string); ok {
		for _, x := range a.strings {
			if s == x {
				return true
			}
		}
	}
	if len(a.numbers) > 0 {
		if f, ok := numberValue(l); ok {
			for _, x := range a.numbers {
				if f == x {
					return true
				}
			}
		}
	}
	for i := range a.ops {
		if a.ops[i].matchLeaf(l) {
			return true
		}
	}
	return false
}

func numberText(l any) (string, bool) {
	switch n := l.(type) {
	case json.Number:
		return n.String(), true
	case float64:
		return strconv.FormatFloat(n, 'g', -1, 64), true
	}
	return "", false
}

func numberValue(l any) (float64, bool) {
	switch n := l.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(n.String(), 64)
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}
