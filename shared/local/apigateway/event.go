package apigateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// callerIdentity is the IAM principal that signed a request, as API Gateway's IAM auth reports it.
type callerIdentity struct {
	accessKey string
	principal Principal
}

// requestInfo is what the gateway knows of a request besides the request itself.
type requestInfo struct {
	route     *route
	params    map[string]string
	body      []byte
	caller    *callerIdentity // nil on a NONE route
	requestID string
	stage     string
	now       time.Time
}

// proxyRequest builds the event API Gateway's REST proxy integration (payload format 1.0) sends.
func proxyRequest(r *http.Request, info requestInfo) events.APIGatewayProxyRequest {
	headers, multiHeaders := requestHeaders(r)
	query, multiQuery := queryParameters(r.URL.RawQuery)
	rawPath := r.URL.EscapedPath()
	if rawPath == "" {
		rawPath = "/"
	}
	host := hostname(r.Host)
	ev := events.APIGatewayProxyRequest{
		Resource:                        info.route.resource.path,
		Path:                            rawPath,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multiHeaders,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  info.params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         samtemplate.AccountID,
			ResourceID:        info.route.resource.id,
			Stage:             info.stage,
			DomainName:        host,
			DomainPrefix:      domainPrefix(host),
			RequestID:         info.requestID,
			ExtendedRequestID: extendedRequestID(info.requestID),
			Protocol:          r.Proto,
			Identity: events.APIGatewayRequestIdentity{
				SourceIP:  clientIP(r),
				UserAgent: r.Header.Get("User-Agent"),
			},
			ResourcePath:     info.route.resource.path,
			Path:             "/" + info.stage + rawPath,
			HTTPMethod:       r.Method,
			RequestTime:      info.now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch: info.now.UnixMilli(),
			APIID:            info.route.apiID,
		},
	}
	if c := info.caller; c != nil {
		id := &ev.RequestContext.Identity
		id.AccessKey = c.accessKey
		id.AccountID = samtemplate.AccountID
		id.Caller = c.principal.ID
		id.User = c.principal.ID
		id.UserArn = c.principal.ARN
	}
	if len(info.body) > 0 {
		if isBinary(r.Header.Get("Content-Type"), info.route.api.BinaryMediaTypes) {
			ev.Body = base64.StdEncoding.EncodeToString(info.body)
			ev.IsBase64Encoded = true
		} else {
			ev.Body = string(info.body)
		}
	}
	return ev
}

// marshalEvent writes the event as API Gateway does: "body" null when there is none, and
// "isBase64Encoded" always present (the events struct would write "" and leave it out).
func marshalEvent(ev events.APIGatewayProxyRequest) ([]byte, error) {
	wire := struct {
		events.APIGatewayProxyRequest
		Body            *string `json:"body"`
		IsBase64Encoded bool    `json:"isBase64Encoded"`
	}{APIGatewayProxyRequest: ev, IsBase64Encoded: ev.IsBase64Encoded}
	if ev.Body != "" {
		wire.Body = &ev.Body
	}
	return json.Marshal(wire)
}

// requestHeaders are the client's headers plus those API Gateway adds. headers holds the last value
// of a repeated header, multiValueHeaders all of them. Go's server hands header names over in
// canonical case (Content-Type), where API Gateway keeps the client's: handlers must look them up
// without regard to case (httpapi.Header does).
func requestHeaders(r *http.Request) (map[string]string, map[string][]string) {
	multi := map[string][]string{}
	for k, vs := range r.Header {
		multi[k] = append([]string(nil), vs...)
	}
	multi["Host"] = []string{r.Host}
	ip := clientIP(r)
	if prev := multi["X-Forwarded-For"]; len(prev) > 0 {
		multi["X-Forwarded-For"] = []string{strings.Join(prev, ", ") + ", " + ip}
	} else {
		multi["X-Forwarded-For"] = []string{ip}
	}
	multi["X-Forwarded-Port"] = []string{serverPort(r)}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	multi["X-Forwarded-Proto"] = []string{proto}

	single := make(map[string]string, len(multi))
	for k, vs := range multi {
		single[k] = vs[len(vs)-1]
	}
	return single, multi
}

// queryParameters decodes the query as API Gateway does ("+" is a space); nil maps when there is
// none, as API Gateway sends null.
func queryParameters(raw string) (map[string]string, map[string][]string) {
	var single map[string]string
	var multi map[string][]string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if single == nil {
			single, multi = map[string]string{}, map[string][]string{}
		}
		single[k] = v
		multi[k] = append(multi[k], v)
	}
	return single, multi
}

func queryUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// textMediaTypes are sent to functions as text when the API declares no BinaryMediaTypes; any other
// content type arrives base64-encoded.
func isTextMediaType(mt string) bool {
	switch {
	case mt == "", strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/x-www-form-urlencoded", mt == "application/javascript",
		mt == "application/graphql", mt == "application/yaml":
		return true
	}
	return false
}

// isBinary decides whether a request body reaches the function base64-encoded. With BinaryMediaTypes
// declared, API Gateway's rule: the content type matches one of them ("*/*", "image/*" wildcards).
// Without, anything but a text type.
func isBinary(contentType string, binaryTypes []string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	if len(binaryTypes) == 0 {
		return !isTextMediaType(mt)
	}
	for _, bt := range binaryTypes {
		bt = strings.ToLower(bt)
		if bt == "*/*" || bt == mt {
			return true
		}
		if prefix, ok := strings.CutSuffix(bt, "/*"); ok && strings.HasPrefix(mt, prefix+"/") {
			return true
		}
	}
	return false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func serverPort(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// domainPrefix is the first label of the host name (the API ID, on execute-api domains).
func domainPrefix(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}

// extendedRequestID is derived from the request ID, so that it is as unique and as reproducible.
func extendedRequestID(requestID string) string {
	sum := sha256.Sum256([]byte(requestID))
	return base64.StdEncoding.EncodeToString(sum[:12])
}

// proxyResponse is a function's answer to a REST proxy integration.
type proxyResponse struct {
	status  int
	headers http.Header
	body    []byte
}

// errMalformed is a function answer that API Gateway cannot map ("Malformed Lambda proxy response").
var errMalformed = errors.New("malformed Lambda proxy response")

// parseProxyResponse maps a function's result as API Gateway does: statusCode, headers and
// multiValueHeaders (merged; a key in both takes multiValueHeaders' values), body (base64-decoded when
// isBase64Encoded). Anything else, any other key, or a wrong type is malformed.
func parseProxyResponse(payload []byte) (proxyResponse, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil || fields == nil {
		return proxyResponse{}, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	var (
		status  *int
		headers map[string]string
		multi   map[string][]string
		body    *string
		isB64   bool
	)
	for k, raw := range fields {
		var err error
		switch k {
		case "statusCode":
			err = strictUnmarshal(raw, &status)
		case "headers":
			err = strictUnmarshal(raw, &headers)
		case "multiValueHeaders":
			err = strictUnmarshal(raw, &multi)
		case "body":
			err = strictUnmarshal(raw, &body)
		case "isBase64Encoded":
			err = strictUnmarshal(raw, &isB64)
		default:
			return proxyResponse{}, fmt.Errorf("%w: unexpected field %q", errMalformed, k)
		}
		if err != nil {
			return proxyResponse{}, fmt.Errorf("%w: field %q: %v", errMalformed, k, err)
		}
	}
	if status == nil || *status < 100 || *status > 599 {
		return proxyResponse{}, fmt.Errorf("%w: statusCode missing or out of range", errMalformed)
	}
	out := proxyResponse{status: *status, headers: http.Header{}}
	for k, v := range headers {
		if _, inMulti := lookupFold(multi, k); !inMulti {
			out.headers.Add(k, v)
		}
	}
	for k, vs := range multi {
		for _, v := range vs {
			out.headers.Add(k, v)
		}
	}
	if body != nil {
		if isB64 {
			b, err := base64.StdEncoding.DecodeString(*body)
			if err != nil {
				return proxyResponse{}, fmt.Errorf("%w: body is not base64", errMalformed)
			}
			out.body = b
		} else {
			out.body = []byte(*body)
		}
	}
	return out, nil
}

func strictUnmarshal(raw json.RawMessage, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func lookupFold(m map[string][]string, key string) ([]string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
