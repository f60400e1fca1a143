package samtemplate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The pseudo parameters' local values, as `sam local` gives them.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	Partition = "aws"
	StackName = "local"
)

// FunctionARN is the local ARN of a function: what !GetAtt Function.Arn resolves to, and what the
// local Lambda Invoke API accepts besides the bare name.
func FunctionARN(name string) string {
	return "arn:" + Partition + ":lambda:" + Region + ":" + AccountID + ":function:" + name
}

// resolver evaluates intrinsic functions against one template's parameters, resources, mappings and
// conditions.
type resolver struct {
	params     map[string]Value  // parameter values, pseudo parameters included
	resources  map[string]string // logical ID → resource type
	mappings   Value
	conditions Value
	condCache  map[string]bool
	condBusy   map[string]bool // conditions being evaluated, to refuse cycles
}

// errUnresolvable marks an intrinsic that has no local value (an attribute only a deployment has);
// the resolver keeps such a call as it is rather than failing the template.
var errUnresolvable = errors.New("no local value")

// noValue is AWS::NoValue: the enclosing map key or list item disappears.
func isNoValue(v Value) bool {
	return v.Kind == Intrinsic && v.Text == "Ref" && v.Arg != nil && v.Arg.Kind == Scalar && v.Arg.Text == "AWS::NoValue"
}

// resolve replaces every intrinsic that has a local value by that value. Calls without one (GetAtt of
// most attributes, ImportValue, a parameter with no default) are kept, resolved inside as far as
// possible. A malformed call or a reference to nothing is an error, as CloudFormation refuses it.
func (r *resolver) resolve(v Value) (Value, error) {
	switch v.Kind {
	case List:
		out := Value{Kind: List, Items: make([]Value, 0, len(v.Items))}
		for _, it := range v.Items {
			rv, err := r.resolve(it)
			if err != nil {
				return Value{}, err
			}
			if !isNoValue(rv) {
				out.Items = append(out.Items, rv)
			}
		}
		return out, nil
	case Map:
		out := Value{Kind: Map, Fields: make(map[string]Value, len(v.Fields))}
		for _, k := range v.Keys {
			rv, err := r.resolve(v.Fields[k])
			if err != nil {
				return Value{}, fmt.Errorf("%s: %w", k, err)
			}
			if !isNoValue(rv) {
				out.set(k, rv)
			}
		}
		return out, nil
	case Intrinsic:
		rv, err := r.call(v)
		if errors.Is(err, errUnresolvable) {
			return r.keep(v)
		}
		if err != nil {
			return Value{}, fmt.Errorf("%s: %w", v.Text, err)
		}
		return rv, nil
	}
	return v, nil
}

// keep returns an intrinsic that has no local value with its argument resolved as far as possible.
func (r *resolver) keep(v Value) (Value, error) {
	if v.Text == "Fn::If" || v.Arg == nil {
		return v, nil
	}
	arg, err := r.resolve(*v.Arg)
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: Intrinsic, Text: v.Text, Arg: &arg}, nil
}

func (r *resolver) call(v Value) (Value, error) {
	if v.Arg == nil {
		return Value{}, errors.New("missing argument")
	}
	switch v.Text {
	case "Ref":
		name, ok := v.Arg.String()
		if !ok {
			return Value{}, errors.New("argument must be a name")
		}
		return r.ref(name)
	case "Fn::GetAtt":
		return r.getAtt(*v.Arg)
	case "Fn::Sub":
		return r.sub(*v.Arg)
	case "Fn::If":
		return r.fnIf(*v.Arg)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		b, err := r.condition(v)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: Scalar, Text: strconv.FormatBool(b), Type: Bool}, nil
	}

	// The remaining functions take their argument fully resolved.
	arg, err := r.resolve(*v.Arg)
	if err != nil {
		return Value{}, err
	}
	if !arg.IsResolved() {
		return Value{}, errUnresolvable
	}
	switch v.Text {
	case "Fn::Join":
		if arg.Kind != List || len(arg.Items) != 2 {
			return Value{}, errors.New("argument must be [delimiter, [values]]")
		}
		delim, ok := arg.Items[0].String()
		if !ok || arg.Items[1].Kind != List {
			return Value{}, errors.New("argument must be [delimiter, [values]]")
		}
		parts := make([]string, 0, len(arg.Items[1].Items))
		for _, it := range arg.Items[1].Items {
			s, ok := it.String()
			if !ok {
				return Value{}, errors.New("values must be strings")
			}
			parts = append(parts, s)
		}
		return Str(strings.Join(parts, delim)), nil
	case "Fn::Select":
		if arg.Kind != List || len(arg.Items) != 2 || arg.Items[1].Kind != List {
			return Value{}, errors.New("argument must be [index, [values]]")
		}
		is, _ := arg.Items[0].String()
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 || i >= len(arg.Items[1].Items) {
			return Value{}, errors.New("index out of range")
		}
		return arg.Items[1].Items[i], nil
	case "Fn::Split":
		if arg.Kind != List || len(arg.Items) != 2 {
			return Value{}, errors.New("argument must be [delimiter, string]")
		}
		delim, ok1 := arg.Items[0].String()
		s, ok2 := arg.Items[1].String()
		if !ok1 || !ok2 || delim == "" {
			return Value{}, errors.New("argument must be [delimiter, string]")
		}
		out := Value{Kind: List}
		for _, p := range strings.Split(s, delim) {
			out.Items = append(out.Items, Str(p))
		}
		return out, nil
	case "Fn::FindInMap":
		if arg.Kind != List || len(arg.Items) < 3 {
			return Value{}, errors.New("argument must be [map, key, key]")
		}
		keys := make([]string, 3)
		for i := range keys {
			s, ok := arg.Items[i].String()
			if !ok {
				return Value{}, errors.New("keys must be strings")
			}
			keys[i] = s
		}
		found := r.mappings.Path(keys...)
		if found.Kind == Null {
			return Value{}, fmt.Errorf("no mapping %s", strings.Join(keys, "."))
		}
		return found, nil
	case "Fn::Base64":
		s, ok := arg.String()
		if !ok {
			return Value{}, errors.New("argument must be a string")
		}
		return Str(base64.StdEncoding.EncodeToString([]byte(s))), nil
	case "Fn::GetAZs":
		return Value{Kind: List, Items: []Value{Str(Region + "a"), Str(Region + "b"), Str(Region + "c")}}, nil
	case "Fn::ToJsonString":
		b, err := arg.MarshalJSON()
		if err != nil {
			return Value{}, err
		}
		return Str(string(b)), nil
	}
	// ImportValue, Cidr, Transform, and anything newer: only a deployment knows.
	return Value{}, errUnresolvable
}

func (r *resolver) ref(name string) (Value, error) {
	if name == "AWS::NoValue" {
		return Value{Kind: Intrinsic, Text: "Ref", Arg: &Value{Kind: Scalar, Text: name}}, nil
	}
	if p, ok := r.params[name]; ok {
		if p.Kind == Null {
			return Value{}, errUnresolvable // a parameter without a default or an override
		}
		return p, nil
	}
	if _, ok := r.resources[name]; ok {
		// A resource's Ref is its physical ID; locally, as in `sam local`, its logical ID.
		return Str(name), nil
	}
	if strings.HasPrefix(name, "AWS::") {
		return Value{}, errUnresolvable // a pseudo parameter without a local value
	}
	return Value{}, fmt.Errorf("unknown parameter or resource %q", name)
}

func (r *resolver) getAtt(arg Value) (Value, error) {
	resolved, err := r.resolve(arg)
	if err != nil {
		return Value{}, err
	}
	if resolved.Kind != List || len(resolved.Items) != 2 {
		return Value{}, errors.New("argument must be [resource, attribute]")
	}
	res, ok1 := resolved.Items[0].String()
	attr, ok2 := resolved.Items[1].String()
	if !ok1 || !ok2 {
		return Value{}, errUnresolvable
	}
	typ, ok := r.resources[res]
	if !ok {
		return Value{}, fmt.Errorf("unknown resource %q", res)
	}
	if attr == "Arn" && (typ == typeFunction || typ == "AWS::Lambda::Function") {
		return Str(FunctionARN(res)), nil
	}
	return Value{}, errUnresolvable
}

// sub evaluates Fn::Sub: "${Name}", "${Resource.Attribute}", "${!Literal}", with an optional map of
// variables.
func (r *resolver) sub(arg Value) (Value, error) {
	var tmpl string
	vars := map[string]Value{}
	switch arg.Kind {
	case Scalar:
		tmpl = arg.Text
	case List:
		if len(arg.Items) != 2 || arg.Items[0].Kind != Scalar || arg.Items[1].Kind != Map {
			return Value{}, errors.New("argument must be a string or [string, {variables}]")
		}
		tmpl = arg.Items[0].Text
		for _, k := range arg.Items[1].Keys {
			rv, err := r.resolve(arg.Items[1].Fields[k])
			if err != nil {
				return Value{}, err
			}
			vars[k] = rv
		}
	default:
		return Value{}, errors.New("argument must be a string or [string, {variables}]")
	}

	var out strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			out.WriteString(tmpl)
			break
		}
		out.WriteString(tmpl[:i])
		rest := tmpl[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			out.WriteString(tmpl[i:])
			break
		}
		name := strings.TrimSpace(rest[:j])
		tmpl = rest[j+1:]
		if strings.HasPrefix(name, "!") {
			out.WriteString("${" + name[1:] + "}")
			continue
		}
		val, ok := vars[name]
		if !ok {
			var err error
			if res, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
				val, err = r.getAtt(Value{Kind: List, Items: []Value{Str(res), Str(attr)}})
			} else {
				val, err = r.ref(name)
			}
			if err != nil {
				return Value{}, err
			}
		}
		s, ok := val.String()
		if !ok {
			return Value{}, errUnresolvable
		}
		out.WriteString(s)
	}
	return Str(out.String()), nil
}

func (r *resolver) fnIf(arg Value) (Value, error) {
	if arg.Kind != List || len(arg.Items) != 3 {
		return Value{}, errors.New("argument must be [condition, then, else]")
	}
	name, ok := arg.Items[0].String()
	if !ok {
		return Value{}, errors.New("condition must be a name")
	}
	b, err := r.namedCondition(name)
	if err != nil {
		return Value{}, err
	}
	if b {
		return r.resolve(arg.Items[1])
	}
	return r.resolve(arg.Items[2])
}

// namedCondition evaluates the template's condition called name, once.
func (r *resolver) namedCondition(name string) (bool, error) {
	if b, ok := r.condCache[name]; ok {
		return b, nil
	}
	def, ok := r.conditions.Fields[name]
	if r.conditions.Kind != Map || !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	if r.condBusy[name] {
		return false, fmt.Errorf("condition %q refers to itself", name)
	}
	r.condBusy[name] = true
	defer delete(r.condBusy, name)
	b, err := r.condition(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.condCache[name] = b
	return b, nil
}

// condition evaluates a condition expression: Fn::Equals, Fn::Not, Fn::And, Fn::Or, a Condition
// reference, or a literal boolean.
func (r *resolver) condition(v Value) (bool, error) {
	if v.Kind == Map && len(v.Keys) == 1 && v.Keys[0] == "Condition" {
		arg := v.Fields["Condition"]
		v = Value{Kind: Intrinsic, Text: "Condition", Arg: &arg}
	}
	if v.Kind == Scalar {
		b, err := strconv.ParseBool(v.Text)
		if err != nil {
			return false, errors.New("not a boolean")
		}
		return b, nil
	}
	if v.Kind != Intrinsic || v.Arg == nil {
		return false, errors.New("not a condition")
	}
	switch v.Text {
	case "Condition":
		name, ok := v.Arg.String()
		if !ok {
			return false, errors.New("condition must be a name")
		}
		return r.namedCondition(name)
	case "Fn::Equals":
		arg, err := r.resolve(*v.Arg)
		if err != nil {
			return false, err
		}
		if arg.Kind != List || len(arg.Items) != 2 {
			return false, errors.New("Fn::Equals takes two values")
		}
		if !arg.IsResolved() {
			return false, errors.New("Fn::Equals of a value only a deployment knows")
		}
		// CloudFormation compares scalars as strings: 1 equals "1".
		sa, oka := arg.Items[0].String()
		sb, okb := arg.Items[1].String()
		if oka && okb {
			return sa == sb, nil
		}
		a, err := arg.Items[0].MarshalJSON()
		if err != nil {
			return false, err
		}
		b, err := arg.Items[1].MarshalJSON()
		if err != nil {
			return false, err
		}
		return string(a) == string(b), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		if v.Arg.Kind != List || len(v.Arg.Items) == 0 {
			return false, fmt.Errorf("%s takes a list of conditions", v.Text)
		}
		results := make([]bool, 0, len(v.Arg.Items))
		for _, c := range v.Arg.Items {
			b, err := r.condition(c)
			if err != nil {
				return false, err
			}
			results = append(results, b)
		}
		switch v.Text {
		case "Fn::Not":
			if len(results) != 1 {
				return false, errors.New("Fn::Not takes one condition")
			}
			return !results[0], nil
		case "Fn::And":
			for _, b := range results {
				if !b {
					return false, nil
				}
			}
			return true, nil
		default:
			for _, b := range results {
				if b {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return false, fmt.Errorf("%s is not a condition function", v.Text)
}
