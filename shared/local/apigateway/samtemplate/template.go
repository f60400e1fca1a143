package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Resource types this package reads.
const (
	typeFunction = "AWS::Serverless::Function"
	typeAPI      = "AWS::Serverless::Api"
	typeRule     = "AWS::Events::Rule"
)

// ImplicitAPI is the logical ID SAM gives the REST API it creates for Api events without a RestApiId.
const ImplicitAPI = "ServerlessRestApi"

// DefaultTimeout is a function's timeout when neither it nor Globals sets one, as in SAM.
const DefaultTimeout = 3 * time.Second

// The authorizers an Api event can end up with.
const (
	AuthNone = "NONE"
	AuthIAM  = "AWS_IAM"
)

// Template is what the local API needs of a SAM template, Globals merged and values resolved.
type Template struct {
	// Functions are the AWS::Serverless::Function resources, by logical ID order.
	Functions []*Function
	// APIs are the REST APIs by logical ID: each AWS::Serverless::Api, and ServerlessRestApi when an
	// Api event has no RestApiId.
	APIs map[string]*API
	// Rules are the AWS::Events::Rule resources, by logical ID order.
	Rules []*Rule
	// Resources are all resources (those whose Condition is false left out), Globals merged,
	// Properties unresolved.
	Resources map[string]Resource

	mu  sync.Mutex // Resolve caches conditions
	res *resolver
}

// Resource is one entry of the template's Resources.
type Resource struct {
	Type       string
	Properties Value
	// DeletionPolicy and UpdateReplacePolicy as written ("" when absent).
	DeletionPolicy, UpdateReplacePolicy string
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// FunctionName is the FunctionName property, or "" when CloudFormation would generate one.
	FunctionName string
	CodeURI      string
	Handler      string
	Runtime      string
	Timeout      time.Duration
	// Environment is Environment.Variables. A value only a deployment knows (!GetAtt Table.Arn) is "".
	Environment map[string]string
	// Events are all the function's events, by name, properties resolved.
	Events map[string]Event
	// APIEvents are its Api events, by event name order.
	APIEvents []APIEvent
}

// Event is one entry of a function's Events.
type Event struct {
	Type       string
	Properties Value
}

// APIEvent is a function's route on a REST API.
type APIEvent struct {
	Name string
	// Path is the route's resource path, e.g. /leads/{lead_id}.
	Path string
	// Method is upper case; ANY matches every method.
	Method string
	// RestAPIID is the API's logical ID (ImplicitAPI when the event names none).
	RestAPIID string
	// Authorizer is the event's Auth.Authorizer, else the API's DefaultAuthorizer, else AuthNone.
	Authorizer string
}

// API is a REST API (AWS::Serverless::Api, or the implicit one).
type API struct {
	LogicalID         string
	StageName         string
	DefaultAuthorizer string
	// BinaryMediaTypes are the API's binary media types, "~1" decoded to "/".
	BinaryMediaTypes []string
}

// Rule is an AWS::Events::Rule. Its pattern and targets are kept as values for a rule engine.
type Rule struct {
	LogicalID          string
	Name               string
	EventBusName       string
	State              string
	ScheduleExpression string
	EventPattern       Value
	Targets            Value
}

// Function returns the function with that logical ID.
func (t *Template) Function(logicalID string) (*Function, bool) {
	i := sort.Search(len(t.Functions), func(i int) bool { return t.Functions[i].LogicalID >= logicalID })
	if i < len(t.Functions) && t.Functions[i].LogicalID == logicalID {
		return t.Functions[i], true
	}
	return nil, false
}

// Resolve evaluates the intrinsics of v that have a local value, as Load did for the extracted
// fields. It is safe for concurrent use.
func (t *Template) Resolve(v Value) (Value, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res.resolve(v)
}

// Load reads and parses the template at path. params override Parameters' defaults (and may set
// pseudo parameters such as AWS::StackName), as `sam local --parameter-overrides` does.
func Load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	t, err := Parse(data, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template (YAML or JSON); see Load.
func Parse(data []byte, params map[string]string) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	root, err := decodeNode(&doc)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	if root.Kind != Map {
		return nil, errors.New("samtemplate: a template is a mapping")
	}
	t := &Template{APIs: map[string]*API{}, Resources: map[string]Resource{}}
	if err := t.build(root, params); err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	return t, nil
}

func (t *Template) build(root Value, overrides map[string]string) error {
	resources := root.Get("Resources")
	if resources.Kind != Map {
		return errors.New("no Resources")
	}
	r := &resolver{
		params:     pseudoParameters(),
		resources:  map[string]string{},
		mappings:   root.Get("Mappings"),
		conditions: root.Get("Conditions"),
		condCache:  map[string]bool{},
		condBusy:   map[string]bool{},
	}
	t.res = r
	for name, v := range overrides {
		if strings.HasPrefix(name, "AWS::") {
			r.params[name] = Str(v)
		}
	}
	params := root.Get("Parameters")
	for _, name := range params.Keys {
		r.params[name] = parameterValue(params.Fields[name], overrides[name], hasKey(overrides, name))
	}
	for _, id := range resources.Keys {
		typ, _ := resources.Fields[id].Get("Type").String()
		r.resources[id] = typ
	}

	globals := root.Get("Globals")
	var implicitAPI bool
	for _, id := range resources.Keys {
		def := resources.Fields[id]
		typ := r.resources[id]
		if cond, ok := def.Get("Condition").String(); ok {
			on, err := r.namedCondition(cond)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if !on {
				continue
			}
		}
		props := def.Get("Properties")
		switch typ {
		case typeFunction:
			props = mergeGlobals(globals.Get("Function"), props)
		case typeAPI:
			props = mergeGlobals(globals.Get("Api"), props)
		}
		deletion, _ := def.Get("DeletionPolicy").String()
		replace, _ := def.Get("UpdateReplacePolicy").String()
		t.Resources[id] = Resource{Type: typ, Properties: props, DeletionPolicy: deletion, UpdateReplacePolicy: replace}

		switch typ {
		case typeFunction:
			fn, err := t.function(id, props)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			for _, e := range fn.APIEvents {
				implicitAPI = implicitAPI || e.RestAPIID == ImplicitAPI
			}
			t.Functions = append(t.Functions, fn)
		case typeAPI:
			api, err := t.api(id, props)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			t.APIs[id] = api
		case typeRule:
			rule, err := t.rule(id, props)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			t.Rules = append(t.Rules, rule)
		}
	}
	if implicitAPI {
		if _, ok := t.APIs[ImplicitAPI]; !ok {
			api, err := t.api(ImplicitAPI, globals.Get("Api"))
			if err != nil {
				return fmt.Errorf("%s: %w", ImplicitAPI, err)
			}
			t.APIs[ImplicitAPI] = api
		}
	}

	// An event's auth falls back to its API's default authorizer, known only once all APIs are read.
	for _, fn := range t.Functions {
		for i := range fn.APIEvents {
			e := &fn.APIEvents[i]
			api, ok := t.APIs[e.RestAPIID]
			if !ok {
				return fmt.Errorf("%s: event %s: RestApiId %q is not an AWS::Serverless::Api of the template", fn.LogicalID, e.Name, e.RestAPIID)
			}
			if e.Authorizer == "" {
				e.Authorizer = api.DefaultAuthorizer
			}
			if e.Authorizer == "" {
				e.Authorizer = AuthNone
			}
		}
	}
	sort.Slice(t.Functions, func(i, j int) bool { return t.Functions[i].LogicalID < t.Functions[j].LogicalID })
	sort.Slice(t.Rules, func(i, j int) bool { return t.Rules[i].LogicalID < t.Rules[j].LogicalID })
	return nil
}

func (t *Template) function(id string, props Value) (*Function, error) {
	fn := &Function{LogicalID: id, Timeout: DefaultTimeout, Environment: map[string]string{}, Events: map[string]Event{}}
	var err error
	if fn.FunctionName, err = t.stringProp(props, "FunctionName"); err != nil {
		return nil, err
	}
	if fn.CodeURI, err = t.stringProp(props, "CodeUri"); err != nil {
		return nil, err
	}
	if fn.Handler, err = t.stringProp(props, "Handler"); err != nil {
		return nil, err
	}
	if fn.Runtime, err = t.stringProp(props, "Runtime"); err != nil {
		return nil, err
	}
	timeout, err := t.stringProp(props, "Timeout")
	if err != nil {
		return nil, err
	}
	if timeout != "" {
		secs, err := strconv.Atoi(timeout)
		if err != nil || secs < 1 {
			return nil, errors.New("property Timeout must be a positive whole number of seconds")
		}
		fn.Timeout = time.Duration(secs) * time.Second
	}

	vars, err := t.res.resolve(props.Path("Environment", "Variables"))
	if err != nil {
		return nil, fmt.Errorf("property Environment: %w", err)
	}
	for _, k := range vars.Keys {
		s, _ := vars.Fields[k].String() // "" for what only a deployment knows
		fn.Environment[k] = s
	}

	events := props.Get("Events")
	for _, name := range events.Keys {
		ev, err := t.res.resolve(events.Fields[name])
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		typ, _ := ev.Get("Type").String()
		fn.Events[name] = Event{Type: typ, Properties: ev.Get("Properties")}
		if typ != "Api" {
			continue
		}
		ae, err := apiEvent(name, ev.Get("Properties"))
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		fn.APIEvents = append(fn.APIEvents, ae)
	}
	sort.Slice(fn.APIEvents, func(i, j int) bool { return fn.APIEvents[i].Name < fn.APIEvents[j].Name })
	return fn, nil
}

func apiEvent(name string, props Value) (APIEvent, error) {
	e := APIEvent{Name: name, RestAPIID: ImplicitAPI}
	var ok bool
	if e.Path, ok = props.Get("Path").String(); !ok || !strings.HasPrefix(e.Path, "/") {
		return e, errors.New("property Path must be a string starting with /")
	}
	method, ok := props.Get("Method").String()
	if !ok || method == "" {
		return e, errors.New("property Method is required")
	}
	e.Method = strings.ToUpper(method)
	if id := props.Get("RestApiId"); id.Kind != Null {
		// Resolved already: a !Ref to the API is its logical ID.
		if e.RestAPIID, ok = id.String(); !ok {
			return e, errors.New("property RestApiId must reference an AWS::Serverless::Api")
		}
	}
	if a := props.Path("Auth", "Authorizer"); a.Kind != Null {
		if e.Authorizer, ok = a.String(); !ok {
			return e, errors.New("property Auth.Authorizer must be a name")
		}
	}
	return e, nil
}

func (t *Template) api(id string, props Value) (*API, error) {
	api := &API{LogicalID: id}
	var err error
	if api.StageName, err = t.stringProp(props, "StageName"); err != nil {
		return nil, err
	}
	auth, err := t.res.resolve(props.Path("Auth", "DefaultAuthorizer"))
	if err != nil {
		return nil, fmt.Errorf("property Auth.DefaultAuthorizer: %w", err)
	}
	api.DefaultAuthorizer, _ = auth.String()
	types, err := t.res.resolve(props.Get("BinaryMediaTypes"))
	if err != nil {
		return nil, fmt.Errorf("property BinaryMediaTypes: %w", err)
	}
	for _, it := range types.Items {
		if s, ok := it.String(); ok {
			api.BinaryMediaTypes = append(api.BinaryMediaTypes, strings.ReplaceAll(s, "~1", "/"))
		}
	}
	return api, nil
}

func (t *Template) rule(id string, props Value) (*Rule, error) {
	rv, err := t.res.resolve(props)
	if err != nil {
		return nil, err
	}
	rule := &Rule{LogicalID: id, EventPattern: rv.Get("EventPattern"), Targets: rv.Get("Targets")}
	rule.Name, _ = rv.Get("Name").String()
	rule.EventBusName, _ = rv.Get("EventBusName").String()
	rule.State, _ = rv.Get("State").String()
	rule.ScheduleExpression, _ = rv.Get("ScheduleExpression").String()
	return rule, nil
}

// stringProp is a resolved scalar property, "" when absent or known only to a deployment.
func (t *Template) stringProp(props Value, key string) (string, error) {
	v, err := t.res.resolve(props.Get(key))
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	s, _ := v.String()
	return s, nil
}

// mergeGlobals merges a Globals section into a resource's properties as SAM does: maps merge key by
// key with the resource's value winning, lists concatenate (Globals first), and anything else
// (scalars, intrinsics, mismatched kinds) is the resource's value.
func mergeGlobals(global, local Value) Value {
	switch {
	case global.Kind == Null:
		return local
	case local.Kind == Null:
		return global
	case global.Kind == Map && local.Kind == Map:
		out := Value{Kind: Map, Fields: map[string]Value{}}
		for _, k := range global.Keys {
			out.set(k, global.Fields[k])
		}
		for _, k := range local.Keys {
			out.set(k, mergeGlobals(out.Fields[k], local.Fields[k]))
		}
		return out
	case global.Kind == List && local.Kind == List:
		items := append(append([]Value{}, global.Items...), local.Items...)
		return Value{Kind: List, Items: items}
	}
	return local
}

func pseudoParameters() map[string]Value {
	return map[string]Value{
		"AWS::Region":           Str(Region),
		"AWS::AccountId":        Str(AccountID),
		"AWS::Partition":        Str(Partition),
		"AWS::StackName":        Str(StackName),
		"AWS::StackId":          Str("arn:" + Partition + ":cloudformation:" + Region + ":" + AccountID + ":stack/" + StackName + "/00000000-0000-0000-0000-000000000000"),
		"AWS::URLSuffix":        Str("amazonaws.com"),
		"AWS::NotificationARNs": {Kind: List},
	}
}

// parameterValue is a parameter's local value: the override if given, else its default; lists for
// the list types. Null when it has neither.
func parameterValue(def Value, override string, overridden bool) Value {
	var s string
	switch {
	case overridden:
		s = override
	case def.Get("Default").Kind == Scalar:
		s = def.Get("Default").Text
	case def.Get("Default").Kind == List:
		return def.Get("Default")
	default:
		return Value{}
	}
	typ, _ := def.Get("Type").String()
	if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
		out := Value{Kind: List}
		for _, p := range strings.Split(s, ",") {
			out.Items = append(out.Items, Str(strings.TrimSpace(p)))
		}
		return out
	}
	return Str(s)
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
