package report

import (
	"strconv"
	"strings"

	"github.com/wcbridge/wcbridge/shared/apierr"
)

// Format is a representation of a report.
type Format string

// The representations GET /reports/{date} offers, in the order a tie is decided.
const (
	FormatJSON Format = "json"
	FormatHTML Format = "html"
	FormatCSV  Format = "csv"
)

// mediaTypes are the offered representations' media types.
var mediaTypes = []struct {
	format    Format
	mediaType string
}{
	{FormatJSON, "application/json"},
	{FormatHTML, "text/html"},
	{FormatCSV, "text/csv"},
}

// ParseFormat reads the format query parameter: a presigned URL opened in a browser cannot choose
// its Accept header, so the URL may name the representation instead. The error names "format".
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatJSON, FormatHTML, FormatCSV:
		return f, nil
	}
	return "", apierr.Invalid(apierr.FieldProblem{Field: "format", Problem: "must be json, html or csv"})
}

// Negotiate picks the representation an Accept header prefers (RFC 9110 §12.5.1): each offer takes
// the quality of the most specific media range that matches it (type/subtype, then type/*, then
// */*), the highest quality above zero wins, and a tie goes to the earlier offer (JSON, HTML, CSV).
// No Accept header, or one that accepts none of them, gets JSON: the API's default, which RFC 9110
// allows in place of 406 (the contract has no 406).
func Negotiate(accept string) Format {
	if strings.TrimSpace(accept) == "" {
		return FormatJSON
	}
	ranges := parseAccept(accept)
	best, bestQ := FormatJSON, 0.0
	for _, offer := range mediaTypes {
		if q := quality(ranges, offer.mediaType); q > bestQ {
			best, bestQ = offer.format, q
		}
	}
	return best
}

type mediaRange struct {
	typ, sub string
	q        float64
}

// parseAccept reads "type/subtype;param=v;q=0.5, …"; a malformed range or quality is skipped.
func parseAccept(h string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(h, ",") {
		params := strings.Split(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(params[0])), "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			continue
		}
		r := mediaRange{typ: typ, sub: sub, q: 1}
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || q < 0 || q > 1 {
					r.q = -1
				} else {
					r.q = q
				}
			}
		}
		if r.q >= 0 {
			out = append(out, r)
		}
	}
	return out
}

// quality is the q of the most specific range matching mediaType (0 when none does).
func quality(ranges []mediaRange, mediaType string) float64 {
	typ, sub, _ := strings.Cut(mediaType, "/")
	q, specificity := 0.0, -1
	for _, r := range ranges {
		s := -1
		switch {
		case r.typ == typ && r.sub == sub:
			s = 2
		case r.typ == typ && r.sub == "*":
			s = 1
		case r.typ == "*":
			s = 0
		}
		if s > specificity {
			q, specificity = r.q, s
		}
	}
	return q
}
