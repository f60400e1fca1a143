package wcsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error messages. The two 401 messages are WhatConverts' own, as documented; the others
// are the simulator's wording, since the real ones are undocumented. None carries a request value.
const (
	msgAuthNotProvided   = "Authentication not provided."
	msgAuthFailed        = "Authentication failed."
	msgTooManyConcurrent = "Too many concurrent requests. Please try again later."
	msgQuotaExceeded     = "Daily API request limit reached. The limit resets at midnight UTC."
	msgRateLimited       = "Too many requests. Please try again later."
	msgServerError       = "An unexpected error occurred."
	msgInvalidLeadID     = "Invalid lead ID."
	msgLeadNotFound      = "Lead not found."
)

const apiPrefix = "/api/v1/"

type route int

const (
	routeNone route = iota
	routeListLeads
	routeGetLead
	routeCreateLead
	routeEditLead
)

// matchRoute maps a method and path to a resource; anything else is an unknown page.
// A trailing slash is accepted (the documented base URL ends in one).
func matchRoute(method, path string) (route, string) {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return routeNone, ""
	}
	rest = strings.TrimSuffix(rest, "/")
	first, id, nested := strings.Cut(rest, "/")
	if first != "leads" {
		return routeNone, ""
	}
	switch {
	case !nested && method == http.MethodGet:
		return routeListLeads, ""
	case !nested && method == http.MethodPost:
		return routeCreateLead, ""
	case nested && id != "" && !strings.Contains(id, "/") && method == http.MethodGet:
		return routeGetLead, id
	case nested && id != "" && !strings.Contains(id, "/") && method == http.MethodPost:
		return routeEditLead, id
	}
	return routeNone, ""
}

// apiError is a refusal answered as {"error_message": msg}.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(msg string) *apiError { return &apiError{status: http.StatusBadRequest, msg: msg} }

func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error_message": msg})
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeEnvelope answers the paginated list shape of GET /leads with leads already encoded.
func writeEnvelope(w http.ResponseWriter, page, perPage, totalPages, total int, leads [][]byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"page_number":%d,"leads_per_page":%d,"total_pages":%d,"total_leads":%d,"leads":[`,
		page, perPage, totalPages, total)
	for i, l := range leads {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(l)
	}
	b.WriteString("]}")
	writeRaw(w, http.StatusOK, b.Bytes())
}

// notFoundPage is the web app's HTML page, which WhatConverts answers for unknown paths under /api/v1.
const notFoundPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Page Not Found | WhatConverts</title>
</head>
<body>
<h1>404</h1>
<h2>Sorry, this page couldn't be found.</h2>
<p>The page you are looking for may have been moved or no longer exists.</p>
<p><a href="https://app.whatconverts.com/">Back to WhatConverts</a></p>
</body>
</html>
`

func writeNotFoundPage(w http.ResponseWriter) {
	writeHTML(w, http.StatusNotFound, notFoundPage)
}

// writeGatewayPage answers an injected 502/503/504 as a load balancer would: HTML, not JSON.
func writeGatewayPage(w http.ResponseWriter, status int) {
	text := http.StatusText(status)
	writeHTML(w, status, fmt.Sprintf("<html>\n<head><title>%d %s</title></head>\n<body>\n<center><h1>%d %s</h1></center>\n</body>\n</html>\n",
		status, text, status, text))
}

func writeHTML(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(page))
}
