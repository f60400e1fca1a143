package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/eventbus"
	"github.com/wcbridge/wcbridge/shared/local/eventpattern"
)

// Invoker runs a function of the template in process; *apigateway.Functions is one.
type Invoker interface {
	Invoke(ctx context.Context, in apigateway.InvokeInput) (apigateway.InvokeOutput, error)
}

var _ Invoker = (*apigateway.Functions)(nil)

// typeQueue is the resource type of the queues the engine keeps in memory.
const typeQueue = "AWS::SQS::Queue"

// DefaultBusName is the bus of a rule without EventBusName.
const DefaultBusName = eventbus.DefaultBusName

// Options configures New.
type Options struct {
	// Logger gets a line per matched rule and per failed delivery: rule, target, event ID and error
	// type, never an event or a payload. Discarded when nil.
	Logger *slog.Logger
	// Now stamps <aws.events.event.ingestion-time> and queue messages; time.Now when nil.
	Now func() time.Time
}

// Engine evaluates the template's rules against bus events and delivers to their targets.
type Engine struct {
	rules []*rule
	fns   Invoker
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	queues  map[string][]Message // by the queue's logical ID
	pending int
	idle    *sync.Cond // signalled when pending drops to 0
}

// RuleInfo describes a rule the engine evaluates.
type RuleInfo struct {
	LogicalID string
	Name      string
	ARN       string
	Bus       string
	// Targets are the targets delivered to locally, as "lambda:<function>" or "sqs:<queue>".
	Targets []string
	// Skipped are the Ids of targets that cannot run locally.
	Skipped []string
}

type rule struct {
	info    RuleInfo
	pattern *eventpattern.Pattern
	targets []*target
}

type targetKind uint8

const (
	targetLambda targetKind = iota + 1
	targetQueue
)

type target struct {
	id       string
	kind     targetKind
	function string // targetLambda: the function's ARN
	queue    string // targetQueue: the queue's logical ID
	input    input
	dlq      string // a queue's logical ID, or ""
}

func (t *target) describe() string {
	if t.kind == targetLambda {
		return "lambda:" + t.function[strings.LastIndex(t.function, ":")+1:]
	}
	return "sqs:" + t.queue
}

// New reads the template's rules. A rule whose pattern or target is malformed is an error (the
// template is wrong); a target that cannot run locally is skipped and logged. fns may be nil when
// no rule targets a function.
func New(tmpl *samtemplate.Template, fns Invoker, opts Options) (*Engine, error) {
	e := &Engine{fns: fns, log: opts.Logger, now: opts.Now, queues: map[string][]Message{}}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.idle = sync.NewCond(&e.mu)
	for id, res := range tmpl.Resources {
		if res.Type == typeQueue {
			e.queues[id] = nil
		}
	}
	for _, r := range tmpl.Rules {
		if strings.EqualFold(r.State, "DISABLED") || r.EventPattern.Kind == samtemplate.Null {
			continue // disabled, or a schedule: no bus event reaches it
		}
		cr, err := e.compileRule(tmpl, r)
		if err != nil {
			return nil, fmt.Errorf("rules: rule %s: %w", r.LogicalID, err)
		}
		for _, id := range cr.info.Skipped {
			e.log.Warn("rule target cannot run locally; skipped", "rule", r.LogicalID, "target", id)
		}
		e.rules = append(e.rules, cr)
	}
	return e, nil
}

func (e *Engine) compileRule(tmpl *samtemplate.Template, r *samtemplate.Rule) (*rule, error) {
	patternJSON, err := patternText(r.EventPattern)
	if err != nil {
		return nil, err
	}
	pattern, err := eventpattern.Compile(patternJSON)
	if err != nil {
		return nil, fmt.Errorf("EventPattern: %w", err)
	}
	bus, err := ruleBus(tmpl, r)
	if err != nil {
		return nil, err
	}
	name := r.Name
	if name == "" {
		name = r.LogicalID
	}
	cr := &rule{pattern: pattern, info: RuleInfo{LogicalID: r.LogicalID, Name: name, ARN: RuleARN(bus, name), Bus: bus}}

	if r.Targets.Kind != samtemplate.List && r.Targets.Kind != samtemplate.Null {
		return nil, errors.New("property Targets must be a list")
	}
	for i, tv := range r.Targets.Items {
		t, skip, err := e.compileTarget(tmpl, tv)
		if err != nil {
			return nil, fmt.Errorf("target %d: %w", i, err)
		}
		if skip {
			cr.info.Skipped = append(cr.info.Skipped, t.id)
			continue
		}
		cr.targets = append(cr.targets, t)
		cr.info.Targets = append(cr.info.Targets, t.describe())
	}
	return cr, nil
}

// patternText is a rule's EventPattern as JSON: written as YAML/JSON in the template, or as a JSON
// string (the form that keeps CloudFormation from turning booleans into strings).
func patternText(v samtemplate.Value) ([]byte, error) {
	if !v.IsResolved() {
		return nil, errors.New("EventPattern holds a value only a deployment knows")
	}
	if s, ok := v.String(); ok {
		return []byte(s), nil
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("EventPattern: %w", err)
	}
	return b, nil
}

func (e *Engine) compileTarget(tmpl *samtemplate.Template, tv samtemplate.Value) (*target, bool, error) {
	t := &target{}
	var ok bool
	if t.id, ok = tv.Get("Id").String(); !ok || t.id == "" {
		return nil, false, errors.New("property Id is required")
	}
	switch ref := tv.Get("Arn"); {
	case queueRef(tmpl, ref) != "":
		t.kind, t.queue = targetQueue, queueRef(tmpl, ref)
	case isFunctionARN(ref):
		if e.fns == nil {
			return nil, false, fmt.Errorf("%s targets a function but the engine has no Invoker", t.id)
		}
		t.kind = targetLambda
		t.function, _ = ref.String()
	default:
		return t, true, nil
	}
	if dlq := tv.Path("DeadLetterConfig", "Arn"); dlq.Kind != samtemplate.Null {
		t.dlq = queueRef(tmpl, dlq) // a DLQ outside the template is not kept locally
	}

	in, err := targetInput(tv)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", t.id, err)
	}
	t.input = in
	return t, false, nil
}

// targetInput reads Input, InputPath or InputTransformer (at most one, as EventBridge requires).
func targetInput(tv samtemplate.Value) (input, error) {
	var in input
	set := 0
	if v := tv.Get("Input"); v.Kind != samtemplate.Null {
		s, ok := v.String()
		if !ok {
			return in, errors.New("property Input must be a string of JSON")
		}
		if !json.Valid([]byte(s)) {
			return in, errors.New("property Input must be valid JSON")
		}
		in.constant = &s
		set++
	}
	if v := tv.Get("InputPath"); v.Kind != samtemplate.Null {
		s, _ := v.String()
		p, err := parseJSONPath(s)
		if err != nil {
			return in, fmt.Errorf("InputPath: %w", err)
		}
		in.path = p
		set++
	}
	if v := tv.Get("InputTransformer"); v.Kind != samtemplate.Null {
		tmplText, ok := v.Get("InputTemplate").String()
		if !ok {
			return in, errors.New("property InputTransformer.InputTemplate is required")
		}
		paths := map[string]string{}
		pm := v.Get("InputPathsMap")
		for _, k := range pm.Keys {
			s, ok := pm.Fields[k].String()
			if !ok {
				return in, fmt.Errorf("InputPathsMap %s must be a string", k)
			}
			paths[k] = s
		}
		tr, err := newTransformer(paths, tmplText)
		if err != nil {
			return in, fmt.Errorf("InputTransformer: %w", err)
		}
		in.transformer = tr
		set++
	}
	if set > 1 {
		return in, errors.New("only one of Input, InputPath and InputTransformer may be set")
	}
	return in, nil
}

// queueRef is the logical ID of the template's queue that an Arn refers to (!GetAtt Queue.Arn), or "".
func queueRef(tmpl *samtemplate.Template, v samtemplate.Value) string {
	if v.Kind != samtemplate.Intrinsic || v.Text != "Fn::GetAtt" || v.Arg == nil || len(v.Arg.Items) != 2 {
		return ""
	}
	id, _ := v.Arg.Items[0].String()
	attr, _ := v.Arg.Items[1].String()
	if res, ok := tmpl.Resources[id]; ok && res.Type == typeQueue && attr == "Arn" {
		return id
	}
	return ""
}

// isFunctionARN reports whether v is a local function ARN (what !GetAtt Function.Arn resolves to).
func isFunctionARN(v samtemplate.Value) bool {
	s, ok := v.String()
	return ok && strings.HasPrefix(s, "arn:"+samtemplate.Partition+":lambda:") && strings.Contains(s, ":function:")
}

// ruleBus is the name of the bus a rule listens on. !Ref Bus resolves to the bus's logical ID
// locally, and so does !GetAtt Bus.Arn here (samtemplate leaves it unresolved): the local bus names
// buses as the functions' EVENT_BUS_NAME (!Ref Bus) does.
func ruleBus(tmpl *samtemplate.Template, r *samtemplate.Rule) (string, error) {
	if r.EventBusName != "" {
		return busName(r.EventBusName), nil
	}
	raw := tmpl.Resources[r.LogicalID].Properties.Get("EventBusName")
	if raw.Kind == samtemplate.Null {
		return DefaultBusName, nil
	}
	v, err := tmpl.Resolve(raw)
	if err != nil {
		return "", fmt.Errorf("EventBusName: %w", err)
	}
	if v.Kind == samtemplate.Intrinsic && v.Text == "Fn::GetAtt" && v.Arg != nil && len(v.Arg.Items) == 2 {
		id, _ := v.Arg.Items[0].String()
		if res, ok := tmpl.Resources[id]; ok && res.Type == "AWS::Events::EventBus" {
			return id, nil
		}
	}
	return "", errors.New("EventBusName has no local value (use !Ref or !GetAtt of a bus in the template)")
}

// busName reduces an EventBusName (name or ARN; "" for the default bus) to the name.
func busName(s string) string {
	if s == "" {
		return DefaultBusName
	}
	if i := strings.LastIndex(s, ":event-bus/"); i >= 0 {
		return s[i+len(":event-bus/"):]
	}
	return s
}

// RuleARN is a rule's local ARN, in EventBridge's form: rule/NAME on the default bus,
// rule/BUS/NAME on another.
func RuleARN(bus, name string) string {
	prefix := "arn:" + samtemplate.Partition + ":events:" + samtemplate.Region + ":" + samtemplate.AccountID + ":rule/"
	if bus == DefaultBusName {
		return prefix + name
	}
	return prefix + bus + "/" + name
}

// Rules describes the rules the engine evaluates, by logical ID.
func (e *Engine) Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(e.rules))
	for _, r := range e.rules {
		out = append(out, r.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

// Attach subscribes the engine to a bus: every event accepted from now on is evaluated. The returned
// func detaches it.
func (e *Engine) Attach(bus *eventbus.Bus) (detach func()) {
	return bus.Subscribe(e.Deliver)
}

// Matches returns the logical IDs of the rules that the event matches, without delivering it.
func (e *Engine) Matches(ev eventbus.Event) ([]string, error) {
	_, decoded, err := encodeEvent(ev)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range e.matching(ev, decoded) {
		ids = append(ids, r.info.LogicalID)
	}
	return ids, nil
}

// Deliver evaluates one event and starts the deliveries to the targets of the rules it matches.
// It returns at once; Wait waits for the deliveries.
func (e *Engine) Deliver(ev eventbus.Event) {
	eventJSON, decoded, err := encodeEvent(ev)
	if err != nil {
		e.log.Error("rules: event not evaluated", "event_id", ev.ID, "error_type", "encode")
		return
	}
	ingestion := e.now().UTC().Format(time.RFC3339)
	for _, r := range e.matching(ev, decoded) {
		e.log.Info("rule matched", "rule", r.info.LogicalID, "event_id", ev.ID, "targets", len(r.targets))
		d := delivery{ruleARN: r.info.ARN, ruleName: r.info.Name, ingestionTime: ingestion, eventJSON: eventJSON, event: decoded}
		for _, t := range r.targets {
			e.start()
			go func() {
				defer e.done()
				e.deliver(r, t, ev.ID, d)
			}()
		}
	}
}

func (e *Engine) matching(ev eventbus.Event, decoded any) []*rule {
	var out []*rule
	for _, r := range e.rules {
		if r.info.Bus != busName(ev.EventBusName) {
			continue
		}
		if ok, err := r.pattern.MatchValue(decoded); err == nil && ok {
			out = append(out, r)
		}
	}
	return out
}

// encodeEvent is the event as EventBridge delivers it to targets, and decoded for matching.
func encodeEvent(ev eventbus.Event) ([]byte, any, error) {
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	if len(ev.Detail) == 0 {
		ev.Detail = json.RawMessage("{}")
	}
	b, err := marshal(ev)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	return b, v, nil
}

func (e *Engine) deliver(r *rule, t *target, eventID string, d delivery) {
	payload, err := t.input.render(d)
	if err != nil {
		e.fail(r, t, eventID, d, "InputTransformationError")
		return
	}
	switch t.kind {
	case targetQueue:
		e.enqueue(t.queue, Message{Body: string(payload), Rule: r.info.LogicalID, Target: t.id})
	case targetLambda:
		if !json.Valid(payload) {
			e.fail(r, t, eventID, d, "InvalidPayload")
			return
		}
		out, err := e.fns.Invoke(context.Background(), apigateway.InvokeInput{FunctionName: t.function, Payload: payload})
		switch {
		case errors.Is(err, apigateway.ErrFunctionNotFound):
			e.fail(r, t, eventID, d, "ResourceNotFoundException")
		case err != nil:
			e.fail(r, t, eventID, d, "InvokeFailed")
		case out.Error != nil:
			// Lambda's asynchronous invocation owns retries of a failed function; the rule delivered.
			e.log.Warn("rule target function failed", "rule", r.info.LogicalID, "target", t.id,
				"event_id", eventID, "request_id", out.RequestID, "error_type", out.Error.Type)
		default:
			e.log.Info("rule target invoked", "rule", r.info.LogicalID, "target", t.id, "event_id", eventID, "request_id", out.RequestID)
		}
	}
}

// fail handles a delivery the engine could not make: to the target's dead-letter queue, as
// EventBridge sends it (the event as the body, the rule, target and error code as attributes).
func (e *Engine) fail(r *rule, t *target, eventID string, d delivery, code string) {
	e.log.Warn("rule delivery failed", "rule", r.info.LogicalID, "target", t.id, "event_id", eventID, "error_type", code, "dead_letter", t.dlq != "")
	if t.dlq == "" {
		return
	}
	e.enqueue(t.dlq, Message{
		Body: string(d.eventJSON), Rule: r.info.LogicalID, Target: t.id,
		Attributes: map[string]string{"RULE_ARN": r.info.ARN, "TARGET_ID": t.id, "ERROR_CODE": code},
	})
}

func (e *Engine) start() {
	e.mu.Lock()
	e.pending++
	e.mu.Unlock()
}

func (e *Engine) done() {
	e.mu.Lock()
	e.pending--
	if e.pending == 0 {
		e.idle.Broadcast()
	}
	e.mu.Unlock()
}

// Wait blocks until every delivery started so far (function invocations included) has finished,
// and the deliveries those started in turn (a function that publishes). It must not be called from
// inside a delivery, which would wait for itself.
func (e *Engine) Wait() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.pending > 0 {
		e.idle.Wait()
	}
}
