package samtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kind is what a Value holds.
type Kind uint8

// The kinds of Value.
const (
	Null      Kind = iota // absent, or an explicit null
	Scalar                // a string, number or boolean, as written
	List                  // a sequence
	Map                   // a mapping with string keys
	Intrinsic             // an intrinsic function call: !Ref X, {"Fn::Sub": …}
)

// ScalarType says how a Scalar was written, so that JSON output keeps numbers and booleans as such
// (an EventBridge pattern matches 1001 and "1001" differently).
type ScalarType uint8

// The scalar types.
const (
	String ScalarType = iota
	Number
	Bool
)

// Value is one node of a template: a scalar, a list, a map or an intrinsic function call. Short-form
// tags and long-form maps decode to the same Intrinsic value, named in long form ("Ref", "Fn::Sub",
// "Fn::GetAtt", …); !GetAtt "A.B" becomes the list ["A", "B"] as in its long form.
type Value struct {
	Kind Kind
	// Text is a Scalar's text, or an Intrinsic's function name.
	Text string
	// Type is a Scalar's type.
	Type ScalarType
	// Items are a List's items.
	Items []Value
	// Keys are a Map's keys in document order; Fields holds their values.
	Keys   []string
	Fields map[string]Value
	// Arg is an Intrinsic's argument.
	Arg *Value
}

// Str is a string scalar.
func Str(s string) Value { return Value{Kind: Scalar, Text: s} }

// Get is a Map's field (Null when v is not a Map or has no such key).
func (v Value) Get(key string) Value {
	if v.Kind != Map {
		return Value{}
	}
	return v.Fields[key]
}

// Path follows keys through nested Maps.
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// String is a Scalar's text; ok is false for anything else.
func (v Value) String() (s string, ok bool) {
	if v.Kind != Scalar {
		return "", false
	}
	return v.Text, true
}

// IsResolved reports whether v holds no intrinsic function call anywhere.
func (v Value) IsResolved() bool {
	switch v.Kind {
	case Intrinsic:
		return false
	case List:
		for _, it := range v.Items {
			if !it.IsResolved() {
				return false
			}
		}
	case Map:
		for _, f := range v.Fields {
			if !f.IsResolved() {
				return false
			}
		}
	}
	return true
}

// MarshalJSON writes v as JSON, intrinsics in their long form ({"Fn::GetAtt": ["A", "Arn"]}).
func (v Value) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := v.writeJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (v Value) writeJSON(b *bytes.Buffer) error {
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Scalar:
		switch v.Type {
		case Number:
			if !json.Valid([]byte(v.Text)) {
				return fmt.Errorf("samtemplate: number %q is not valid JSON", v.Text)
			}
			b.WriteString(v.Text)
		case Bool:
			b.WriteString(strconv.FormatBool(v.Text == "true"))
		default:
			writeJSONString(b, v.Text)
		}
	case List:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := it.writeJSON(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case Map:
		b.WriteByte('{')
		for i, k := range v.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := v.Fields[k].writeJSON(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case Intrinsic:
		b.WriteByte('{')
		writeJSONString(b, v.Text)
		b.WriteByte(':')
		arg := Value{}
		if v.Arg != nil {
			arg = *v.Arg
		}
		if err := arg.writeJSON(b); err != nil {
			return err
		}
		b.WriteByte('}')
	}
	return nil
}

// writeJSONString writes s as a JSON string, without escaping <, > and & (a pattern's ">" stays
// readable).
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// decodeNode turns a YAML node into a Value.
func decodeNode(n *yaml.Node) (Value, error) {
	d := &decoder{budget: maxNodes}
	return d.decode(n, 0)
}

// Limits on what a template may expand to: aliases are copied, so without a budget a few lines of
// nested aliases ("billion laughs") would expand without end.
const (
	maxDepth = 200
	maxNodes = 200_000 // CloudFormation caps a template at 1 MB: far fewer nodes
)

type decoder struct {
	budget int
}

func (d *decoder) decode(n *yaml.Node, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, fmt.Errorf("line %d: nested too deeply", n.Line)
	}
	if d.budget--; d.budget < 0 {
		return Value{}, errors.New("template expands to too many nodes (aliases?)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return Value{}, nil
		}
		return d.decode(n.Content[0], depth+1)
	case yaml.AliasNode:
		return d.decode(n.Alias, depth+1)
	}

	if name, ok := shortFormName(n.Tag); ok {
		// Decode the node as if untagged, then wrap it: !Sub "x" and {"Fn::Sub": "x"} are one thing.
		inner := *n
		inner.Tag = ""
		inner.Style &^= yaml.TaggedStyle
		if n.Kind == yaml.ScalarNode {
			inner.Tag = "!!str"
		}
		arg, err := d.decode(&inner, depth+1)
		if err != nil {
			return Value{}, err
		}
		if name == "Fn::GetAtt" && arg.Kind == Scalar {
			// !GetAtt Resource.Attribute (the attribute may itself hold dots).
			res, attr, _ := strings.Cut(arg.Text, ".")
			arg = Value{Kind: List, Items: []Value{Str(res), Str(attr)}}
		}
		return Value{Kind: Intrinsic, Text: name, Arg: &arg}, nil
	}

	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return Value{}, nil
		case "!!int", "!!float":
			return Value{Kind: Scalar, Text: normalizeNumber(n.Value), Type: Number}, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return Value{}, fmt.Errorf("line %d: bad boolean", n.Line)
			}
			return Value{Kind: Scalar, Text: strconv.FormatBool(b), Type: Bool}, nil
		default:
			return Str(n.Value), nil
		}
	case yaml.SequenceNode:
		v := Value{Kind: List, Items: make([]Value, 0, len(n.Content))}
		for _, c := range n.Content {
			it, err := d.decode(c, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.Items = append(v.Items, it)
		}
		return v, nil
	case yaml.MappingNode:
		v := Value{Kind: Map, Fields: map[string]Value{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				merged, err := d.decode(vn, depth+1)
				if err != nil {
					return Value{}, err
				}
				mergeInto(&v, merged)
				continue
			}
			key := k.Value
			val, err := d.decode(vn, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.set(key, val)
		}
		// The long form of an intrinsic: a map whose one key is "Ref" or "Fn::…".
		if len(v.Keys) == 1 {
			if k := v.Keys[0]; k == "Ref" || strings.HasPrefix(k, "Fn::") {
				arg := v.Fields[k]
				return Value{Kind: Intrinsic, Text: k, Arg: &arg}, nil
			}
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mergeInto applies a YAML merge key ("<<: *anchor"): keys already set win.
func mergeInto(v *Value, merged Value) {
	switch merged.Kind {
	case Map:
		for _, k := range merged.Keys {
			if _, ok := v.Fields[k]; !ok {
				v.set(k, merged.Fields[k])
			}
		}
	case List:
		for _, m := range merged.Items {
			mergeInto(v, m)
		}
	}
}

func (v *Value) set(key string, val Value) {
	if _, ok := v.Fields[key]; !ok {
		v.Keys = append(v.Keys, key)
	}
	v.Fields[key] = val
}

// shortFormName maps a CloudFormation short-form tag to its long-form name: !Ref → Ref,
// !Condition → Condition, !Sub → Fn::Sub. Any other local tag "!X" is taken as Fn::X, so an intrinsic
// this package does not know still loads.
func shortFormName(tag string) (string, bool) {
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") || len(tag) < 2 {
		return "", false
	}
	switch name := tag[1:]; name {
	case "Ref", "Condition":
		return name, true
	default:
		return "Fn::" + name, true
	}
}

// normalizeNumber keeps a YAML number in a form JSON accepts where it can (YAML allows "+1", "0x1F").
func normalizeNumber(s string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}
