package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm SigV4 header auth uses.
const Algorithm = "AWS4-HMAC-SHA256"

// DefaultMaxSkew is how far X-Amz-Date may be from the server's clock, before or after.
const DefaultMaxSkew = 5 * time.Minute

const (
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// Credential is an access key the verifier accepts.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must arrive as X-Amz-Security-Token; when empty, a request carrying
	// one is refused, as a token of no known session.
	SessionToken string
}

// Verifier checks requests signed for one region and service.
type Verifier struct {
	Region      string // e.g. us-east-1
	Service     string // e.g. execute-api
	Credentials []Credential
	// Now is the server's clock (time.Now when nil).
	Now func() time.Time
	// MaxSkew is the clock window either side of Now (DefaultMaxSkew when 0).
	MaxSkew time.Duration
}

// Kind classifies a refusal the way API Gateway's x-amzn-ErrorType does.
type Kind uint8

// The kinds of refusal.
const (
	// NotSigned: no Authorization header at all.
	NotSigned Kind = iota + 1
	// Incomplete: an Authorization header that is not a complete SigV4 one.
	Incomplete
	// InvalidSignature: a wrong signature, scope, or a date outside the clock window.
	InvalidSignature
	// UnrecognizedClient: an access key (or session token) that is not known.
	UnrecognizedClient
)

// Error is a refused request: Message is API Gateway's text for it. It never holds the request's
// query or body (unlike API Gateway's mismatch message, which quotes the canonical request).
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return "sigv4: " + e.Message }

// Type is the x-amzn-ErrorType API Gateway sends with the refusal.
func (e *Error) Type() string {
	switch e.Kind {
	case NotSigned:
		return "MissingAuthenticationTokenException"
	case Incomplete:
		return "IncompleteSignatureException"
	case UnrecognizedClient:
		return "UnrecognizedClientException"
	default:
		return "InvalidSignatureException"
	}
}

// The messages of API Gateway's refusals.
const (
	MsgMissingToken = "Missing Authentication Token"
	MsgMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgInvalidToken = "The security token included in the request is invalid."
)

// Verify checks r's signature against body (the request body, already read) and returns the
// credential that signed it, or an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Credential, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" && isPresigned(r) {
		return v.verifyPresigned(r, body) // presign.go
	}
	if authz == "" {
		return Credential{}, &Error{NotSigned, MsgMissingToken}
	}
	auth, err := parseAuthorization(authz, r.Header)
	if err != nil {
		return Credential{}, err
	}

	scope := strings.Split(auth.credential, "/")
	if len(scope) != 5 {
		return Credential{}, &Error{Incomplete, fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", auth.credential)}
	}
	keyID, scopeDate, region, service, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	switch {
	case region != v.Region:
		return Credential{}, &Error{InvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", region)}
	case service != v.Service:
		return Credential{}, &Error{InvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", v.Service)}
	case term != "aws4_request":
		return Credential{}, &Error{InvalidSignature, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", term)}
	}

	cred, ok := v.credential(keyID)
	if !ok || !hmac.Equal([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(cred.SessionToken)) {
		return Credential{}, &Error{UnrecognizedClient, MsgInvalidToken}
	}

	signedAt, amzDate, err := requestTime(r.Header)
	if err != nil {
		return Credential{}, err
	}
	if day := signedAt.Format(scopeDateFormat); day != scopeDate {
		return Credential{}, &Error{InvalidSignature, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", scopeDate, day, amzDate)}
	}
	if err := v.checkClock(signedAt); err != nil {
		return Credential{}, err
	}

	payloadHash := hashHex(body)
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" {
		// A claimed hash is what the client signed; it must also be the body's, or a body swapped in
		// transit would pass.
		if claimed != unsignedPayload && claimed != payloadHash {
			return Credential{}, &Error{InvalidSignature, MsgMismatch}
		}
		payloadHash = claimed
	}

	key := signingKey(cred.SecretAccessKey, scopeDate, region, service)
	got := []byte(strings.ToLower(auth.signature))
	for _, query := range signedQueries(r.URL.RawQuery) {
		canonical := canonicalRequest(r, query, auth.signedHeaders, payloadHash)
		stringToSign := strings.Join([]string{Algorithm, amzDate, strings.Join(scope[1:], "/"), hashHex([]byte(canonical))}, "\n")
		if hmac.Equal([]byte(hex.EncodeToString(hmacSHA256(key, []byte(stringToSign)))), got) {
			return cred, nil
		}
	}
	return Credential{}, &Error{InvalidSignature, MsgMismatch}
}

// signedQueries are the canonical query strings a signer may have signed for a query sent as raw:
// SigV4's (CanonicalQuery), and, when the query was sent with characters that form does not keep as
// sent (an "@", a "+", ":" or "/"), the query as sent with its parameters sorted. That second form is
// botocore's, the AWS CLI's and boto3's signer, for a URL given with its query: it takes the query as
// already encoded and only sorts it, so "email=a@b.example" is signed with its "@". API Gateway accepts
// both. Neither is the query as written in any other order: curl 7.88 signs that, and it is refused.
func signedQueries(raw string) []string {
	canonical := CanonicalQuery(raw)
	if sorted := sortedAsSent(raw); sorted != canonical {
		return []string{canonical, sorted}
	}
	return []string{canonical}
}

// sortedAsSent is raw's parameters, each as sent, sorted by name then value (botocore's
// _canonical_query_string_url).
func sortedAsSent(raw string) string {
	if raw == "" {
		return ""
	}
	type param struct{ k, v string }
	parts := strings.Split(raw, "&")
	params := make([]param, len(parts))
	for i, part := range parts {
		k, v, _ := strings.Cut(part, "=")
		params[i] = param{k, v}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	for i, p := range params {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

func (v *Verifier) credential(keyID string) (Credential, bool) {
	for _, c := range v.Credentials {
		if c.AccessKeyID == keyID && keyID != "" {
			return c, true
		}
	}
	return Credential{}, false
}

func (v *Verifier) checkClock(signedAt time.Time) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC().Truncate(time.Second)
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	minutes := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	if earliest := now.Add(-skew); signedAt.Before(earliest) {
		return &Error{InvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s min.)",
			signedAt.Format(amzDateFormat), earliest.Format(amzDateFormat), now.Format(amzDateFormat), minutes)}
	}
	if latest := now.Add(skew); signedAt.After(latest) {
		return &Error{InvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s min.)",
			signedAt.Format(amzDateFormat), latest.Format(amzDateFormat), now.Format(amzDateFormat), minutes)}
	}
	return nil
}

type authorization struct {
	credential    string
	signedHeaders []string
	signature     string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".
func parseAuthorization(h string, header http.Header) (authorization, error) {
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		sum := sha256.Sum256([]byte(h))
		return authorization{}, &Error{Incomplete, fmt.Sprintf(
			"Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '%s'.",
			base64.StdEncoding.EncodeToString(sum[:]))}
	}
	var a authorization
	var signed string
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			a.signature = val
		}
	}
	var missing []string
	if a.credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if signed == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if header.Get("X-Amz-Date") == "" && header.Get("Date") == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return authorization{}, &Error{Incomplete, strings.Join(missing, " ") + " Authorization=" + h}
	}
	a.signedHeaders = strings.Split(signed, ";")
	hasHost := false
	for _, name := range a.signedHeaders {
		hasHost = hasHost || name == "host"
	}
	if !hasHost {
		return authorization{}, &Error{Incomplete, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	return a, nil
}

// requestTime is the signing time: X-Amz-Date, else Date.
func requestTime(h http.Header) (time.Time, string, error) {
	if s := h.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(amzDateFormat, s)
		if err != nil {
			return time.Time{}, "", &Error{Incomplete, fmt.Sprintf(
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", s)}
		}
		return t, s, nil
	}
	t, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}, "", &Error{Incomplete, "Date must be in RFC 1123 format."}
	}
	t = t.UTC()
	return t, t.Format(amzDateFormat), nil
}

// CanonicalRequest is SigV4's canonical request for r over the given signed headers (lower case, in
// the client's order) and payload hash.
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	return canonicalRequest(r, CanonicalQuery(r.URL.RawQuery), signedHeaders, payloadHash)
}

func canonicalRequest(r *http.Request, query string, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalPath(r.URL))
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalPath is the path as the client sent it (still percent-encoded), URI-encoded once more:
// every service but S3 signs the path encoded twice.
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// CanonicalQuery is the query's parameters decoded, URI-encoded as SigV4 says (space as %20,
// only A-Z a-z 0-9 - _ . ~ left as they are), and sorted by name then value after encoding.
func CanonicalQuery(rawQuery string) string {
	type param struct{ k, v string }
	var params []param
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, param{uriEncode(queryUnescape(k), true), uriEncode(queryUnescape(v), true)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// queryUnescape decodes a query component as the SDKs read one ("+" is a space); an invalid escape
// is kept as written, so the signature, not the parser, decides.
func queryUnescape(s string) string {
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return d
}

func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	default:
		values = r.Header.Values(name)
		if len(values) == 0 && name == "content-length" && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

// uriEncode percent-encodes every byte but the unreserved ones (and "/" unless encodeSlash), upper
// case hex, as SigV4's UriEncode.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
