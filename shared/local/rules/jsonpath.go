package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// jsonPath is a parsed path of the subset EventBridge's input transformer uses: $ followed by
// .name, ['name'] or [index] steps. Names may hold any character but . [ ] (dashes, underscores,
// slashes). Wildcards and filters are refused: a path that cannot be evaluated the same way locally
// is better refused than guessed.
type jsonPath []pathStep

type pathStep struct {
	name  string
	index int // -1 for a name step
}

func parseJSONPath(s string) (jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, errors.New("a path starts with $")
	}
	var p jsonPath
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" || strings.ContainsAny(name, "]*") {
				return nil, fmt.Errorf("%q: a step must be a field name (wildcards are not supported)", s)
			}
			p = append(p, pathStep{name: name, index: -1})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: unclosed [", s)
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				p = append(p, pathStep{name: inner[1 : len(inner)-1], index: -1})
				continue
			}
			i, err := strconv.Atoi(inner)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("%q: [%s] must be an index or a quoted name (wildcards are not supported)", s, inner)
			}
			p = append(p, pathStep{index: i})
		default:
			return nil, fmt.Errorf("%q: expected . or [ after %q", s, s[:len(s)-len(rest)])
		}
	}
	return p, nil
}

// eval follows the path through a decoded event; ok is false when a step is absent.
func (p jsonPath) eval(v any) (any, bool) {
	for _, st := range p {
		if st.index >= 0 {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.name]; !ok {
			return nil, false
		}
	}
	return v, true
}
