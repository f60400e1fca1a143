package apigateway

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// route is one method of one resource: what a function's Api event declares.
type route struct {
	api      *samtemplate.API
	apiID    string // the API's (local, stable) REST API ID
	fn       *samtemplate.Function
	event    samtemplate.APIEvent
	resource *resource
}

// resource is an API Gateway resource: a path template and its methods.
type resource struct {
	path     string // as in the template: /leads/{lead_id}
	id       string // API Gateway resource ID
	segments []segment
	methods  map[string]*route // by method; "ANY" matches every method
}

type segmentKind uint8

// The kinds of path segment, in increasing specificity: API Gateway prefers a literal segment to a
// {param}, and a {param} to a greedy {proxy+}.
const (
	greedySegment segmentKind = iota
	paramSegment
	literalSegment
)

type segment struct {
	kind  segmentKind
	value string // the literal, or the parameter's name
}

// routeTable finds the resource and method of a request.
type routeTable struct {
	resources []*resource
}

func newRouteTable(tmpl *samtemplate.Template) (*routeTable, error) {
	byPath := map[string]*resource{}
	t := &routeTable{}
	for _, fn := range tmpl.Functions {
		for _, e := range fn.APIEvents {
			api := tmpl.APIs[e.RestAPIID]
			if e.Authorizer != samtemplate.AuthNone && e.Authorizer != samtemplate.AuthIAM {
				return nil, fmt.Errorf("apigateway: %s %s %s: authorizer %q is not supported locally (only NONE and AWS_IAM)", fn.LogicalID, e.Method, e.Path, e.Authorizer)
			}
			segs, err := parsePathTemplate(e.Path)
			if err != nil {
				return nil, fmt.Errorf("apigateway: %s: %w", fn.LogicalID, err)
			}
			key := canonicalTemplate(segs)
			res, ok := byPath[key]
			if !ok {
				res = &resource{path: e.Path, segments: segs, methods: map[string]*route{}}
				res.id = stableID(e.RestAPIID+" "+e.Path, 6)
				byPath[key] = res
				t.resources = append(t.resources, res)
			}
			if other, taken := res.methods[e.Method]; taken {
				return nil, fmt.Errorf("apigateway: %s %s is both %s's and %s's", e.Method, e.Path, other.fn.LogicalID, fn.LogicalID)
			}
			res.methods[e.Method] = &route{api: api, apiID: APIID(e.RestAPIID), fn: fn, event: e, resource: res}
		}
	}
	sort.Slice(t.resources, func(i, j int) bool { return t.resources[i].path < t.resources[j].path })
	return t, nil
}

// parsePathTemplate reads /a/{b}/{c+}: a greedy parameter only as the last segment.
func parsePathTemplate(p string) ([]segment, error) {
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		return nil, nil
	}
	parts := strings.Split(trimmed, "/")
	segs := make([]segment, 0, len(parts))
	for i, part := range parts {
		switch {
		case part == "":
			return nil, fmt.Errorf("path %s has an empty segment", p)
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("path %s: a greedy {name+} must be the last segment", p)
			}
			segs = append(segs, segment{greedySegment, part[1 : len(part)-2]})
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			segs = append(segs, segment{paramSegment, part[1 : len(part)-1]})
		case strings.ContainsAny(part, "{}"):
			return nil, fmt.Errorf("path %s: a parameter must be a whole segment", p)
		default:
			segs = append(segs, segment{literalSegment, part})
		}
	}
	return segs, nil
}

// canonicalTemplate identifies a path template regardless of its parameters' names.
func canonicalTemplate(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		switch s.kind {
		case literalSegment:
			b.WriteString("/" + s.value)
		case paramSegment:
			b.WriteString("/{}")
		case greedySegment:
			b.WriteString("/{+}")
		}
	}
	return b.String()
}

// match finds the most specific resource whose template matches the request path (as sent, still
// percent-encoded) and its route for method. Path parameters are returned decoded. found is false
// when no resource matches or the resource has neither the method nor ANY: API Gateway answers both
// the same way.
func (t *routeTable) match(method, escapedPath string) (rt *route, params map[string]string, found bool) {
	// API Gateway ignores a trailing slash: /leads/ is /leads.
	trimmed := strings.Trim(escapedPath, "/")
	var parts []string
	if trimmed != "" {
		parts = strings.Split(trimmed, "/")
	}
	var best *resource
	var bestParams map[string]string
	for _, res := range t.resources {
		p, ok := res.match(parts)
		if ok && (best == nil || moreSpecific(res, best)) {
			best, bestParams = res, p
		}
	}
	if best == nil {
		return nil, nil, false
	}
	if rt, ok := best.methods[method]; ok {
		return rt, bestParams, true
	}
	if rt, ok := best.methods["ANY"]; ok {
		return rt, bestParams, true
	}
	return nil, nil, false
}

func (res *resource) match(parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, seg := range res.segments {
		if i >= len(parts) {
			return nil, false
		}
		switch seg.kind {
		case literalSegment:
			if unescape(parts[i]) != seg.value {
				return nil, false
			}
		case paramSegment:
			if parts[i] == "" {
				return nil, false
			}
			set(seg.value, unescape(parts[i]))
		case greedySegment:
			rest := make([]string, 0, len(parts)-i)
			for _, part := range parts[i:] {
				rest = append(rest, unescape(part))
			}
			set(seg.value, strings.Join(rest, "/"))
			return params, true
		}
	}
	return params, len(parts) == len(res.segments)
}

// moreSpecific compares two matching resources segment by segment: literal beats {param} beats
// {proxy+}.
func moreSpecific(a, b *resource) bool {
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind > b.segments[i].kind
		}
	}
	return len(a.segments) > len(b.segments)
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// stableID derives an API Gateway style ID (lower-case letters and digits) from a name, so that the
// same template gives the same IDs on every run.
// APIID is the ID the local gateway gives the REST API of that logical ID: requestContext.apiId of
// its events, as API Gateway gives each deployed API its own.
func APIID(logicalID string) string { return stableID(logicalID, 10) }

func stableID(name string, n int) string {
	sum := sha256.Sum256([]byte(name))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:n]
}
