package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The input transformer's predefined variables.
const (
	varRuleARN       = "aws.events.rule-arn"
	varRuleName      = "aws.events.rule-name"
	varIngestionTime = "aws.events.event.ingestion-time"
	varEvent         = "aws.events.event"
	varEventJSON     = "aws.events.event.json"
)

// maxInputPaths is EventBridge's limit on an InputPathsMap.
const maxInputPaths = 100

// input is how a target's input is made from an event: at most one of constant, path and transformer.
type input struct {
	constant    *string
	path        jsonPath
	transformer *transformer
}

type transformer struct {
	vars     map[string]jsonPath
	template string
}

func newTransformer(pathsMap map[string]string, template string) (*transformer, error) {
	if len(pathsMap) > maxInputPaths {
		return nil, fmt.Errorf("InputPathsMap has %d variables, at most %d", len(pathsMap), maxInputPaths)
	}
	t := &transformer{vars: map[string]jsonPath{}, template: template}
	names := make([]string, 0, len(pathsMap))
	for name := range pathsMap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(name, "aws.events.") {
			return nil, fmt.Errorf("InputPathsMap: %s is a reserved variable name", name)
		}
		p, err := parseJSONPath(pathsMap[name])
		if err != nil {
			return nil, fmt.Errorf("InputPathsMap %s: %w", name, err)
		}
		t.vars[name] = p
	}
	return t, nil
}

// delivery is what the predefined variables of one delivery are made of.
type delivery struct {
	ruleARN, ruleName string
	ingestionTime     string
	eventJSON         []byte // the event as delivered to targets
	event             any    // eventJSON decoded (numbers as json.Number)
}

// render computes the target's input for one event.
func (in input) render(d delivery) ([]byte, error) {
	switch {
	case in.constant != nil:
		return []byte(*in.constant), nil
	case in.path != nil:
		v, ok := in.path.eval(d.event)
		if !ok {
			return []byte("null"), nil
		}
		return marshal(v)
	case in.transformer != nil:
		return in.transformer.render(d)
	}
	return d.eventJSON, nil
}

// render fills the template: <name> of a defined or predefined variable is replaced, any other <…>
// stays as written. Whether a placeholder stands inside a JSON string decides how it is written.
func (t *transformer) render(d delivery) ([]byte, error) {
	var out bytes.Buffer
	s := t.template
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inString && i+1 < len(s):
			out.WriteByte(c)
			out.WriteByte(s[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case c == '<':
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				break
			}
			name := s[i+1 : i+1+end]
			text, known, err := t.value(name, d, inString)
			if err != nil {
				return nil, err
			}
			if known {
				out.WriteString(text)
				i += end + 1
				continue
			}
		}
		out.WriteByte(c)
	}
	return out.Bytes(), nil
}

// value is the text that replaces <name>, or known false when name is no variable.
func (t *transformer) value(name string, d delivery, inString bool) (text string, known bool, err error) {
	var v any
	switch name {
	case varRuleARN:
		v = d.ruleARN
	case varRuleName:
		v = d.ruleName
	case varIngestionTime:
		v = d.ingestionTime
	case varEventJSON:
		v = d.event
	case varEvent:
		full, _ := d.event.(map[string]any)
		withoutDetail := make(map[string]any, len(full))
		for k, fv := range full {
			if k != "detail" {
				withoutDetail[k] = fv
			}
		}
		v = withoutDetail
	default:
		p, ok := t.vars[name]
		if !ok {
			return "", false, nil
		}
		var present bool
		if v, present = p.eval(d.event); !present {
			if inString {
				return "", true, nil
			}
			return "null", true, nil
		}
	}
	if s, ok := v.(string); ok && inString {
		return escapeInString(s), true, nil
	}
	b, err := marshal(v)
	if err != nil {
		return "", true, err
	}
	if inString {
		return escapeInString(string(b)), true, nil
	}
	return string(b), true, nil
}

// escapeInString is s JSON-escaped, without the surrounding quotes.
func escapeInString(s string) string {
	b, _ := marshal(s) // a string always encodes
	return string(b[1 : len(b)-1])
}

// marshal is json.Marshal without HTML escaping (a rule ARN's or a template's < > & stay readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
