package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxPresignExpiry is the longest X-Amz-Expires SigV4 allows: seven days.
const MaxPresignExpiry = 7 * 24 * time.Hour

// presignParams are the query parameters of a presigned URL; all but the token are required.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}

// isPresigned reports whether r is signed in its query string (a presigned URL) rather than in an
// Authorization header.
func isPresigned(r *http.Request) bool {
	return strings.Contains(r.URL.RawQuery, "X-Amz-Signature=") || strings.Contains(r.URL.RawQuery, "X-Amz-Algorithm=")
}

// verifyPresigned checks a presigned URL, as API Gateway's IAM auth accepts one. A presigned
// request is a header-signed one with the signature's parts moved into the query: the canonical
// request holds every query parameter but X-Amz-Signature. So it is verified by the same code, on a
// copy of r carrying those parts as headers, once its own time window is checked: valid from
// X-Amz-Date (less the clock skew) until X-Amz-Date plus X-Amz-Expires.
func (v *Verifier) verifyPresigned(r *http.Request, body []byte) (Credential, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Credential{}, &Error{Incomplete, "The query string is not a valid URL query."}
	}
	for _, p := range presignParams {
		if len(q[p]) != 1 || q.Get(p) == "" {
			return Credential{}, &Error{Incomplete, "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', " +
				"'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters."}
		}
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return Credential{}, &Error{Incomplete, fmt.Sprintf("X-Amz-Algorithm only supports %s, not '%s'.", Algorithm, alg)}
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > MaxPresignExpiry {
		return Credential{}, &Error{Incomplete, "X-Amz-Expires must be a whole number of seconds from 1 to 604800 (a week)."}
	}
	signedAt, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return Credential{}, &Error{Incomplete, fmt.Sprintf(
			"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", q.Get("X-Amz-Date"))}
	}

	// The header check allows X-Amz-Date only within the clock skew of now; a presigned URL stays
	// valid until it expires. Past X-Amz-Date, it is checked as if now were X-Amz-Date.
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC().Truncate(time.Second)
	if expires := signedAt.Add(time.Duration(secs) * time.Second); now.After(expires) {
		return Credential{}, &Error{InvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s + %d s).",
			expires.Format(amzDateFormat), now.Format(amzDateFormat), signedAt.Format(amzDateFormat), secs)}
	}
	if now.After(signedAt) {
		now = signedAt
	}
	header := v.clone(now)

	c := r.Clone(r.Context())
	c.Header = r.Header.Clone()
	c.Header.Del("Authorization")
	c.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s, SignedHeaders=%s, Signature=%s",
		Algorithm, q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")))
	c.Header.Set("X-Amz-Date", q.Get("X-Amz-Date"))
	c.Header.Del("X-Amz-Security-Token")
	if token := q.Get("X-Amz-Security-Token"); token != "" {
		c.Header.Set("X-Amz-Security-Token", token)
	}
	u := *r.URL
	u.RawQuery = withoutSignature(r.URL.RawQuery)
	c.URL = &u
	return header.Verify(c, body)
}

// clone is v with its clock fixed at now.
func (v *Verifier) clone(now time.Time) *Verifier {
	c := *v
	c.Now = func() time.Time { return now }
	return &c
}

// withoutSignature is the raw query less its X-Amz-Signature parameter, the rest as sent.
func withoutSignature(raw string) string {
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		if k, _, _ := strings.Cut(p, "="); k != "X-Amz-Signature" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}
