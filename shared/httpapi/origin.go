package httpapi

import "github.com/wcbridge/wcbridge/shared/apierr"

// Origin is the API that a function's API Gateway events must come through: this stack's REST API
// in this account. A principal allowed only to invoke the function (lambda:InvokeFunction) could
// otherwise write an API Gateway event naming any caller it likes; an event that names another API
// or another account is refused before its identity is believed. (The API ID is not a secret: the
// check stops events from other APIs, stacks and accounts, and test events sent by hand; who may
// invoke the functions at all is IAM's to restrict, see docs/access.md.)
type Origin struct {
	APIID     string
	AccountID string
}

// Caller is the authenticated IAM principal of a request that came through o, or 403 forbidden.
// An Origin that names no API refuses every request: a function that does not know its API
// believes no identity.
func (o Origin) Caller(req Request) (string, error) {
	rc := req.RequestContext
	if o.APIID == "" || o.AccountID == "" {
		return "", apierr.New(apierr.Forbidden, "the function does not know which API it serves")
	}
	if rc.APIID != o.APIID || rc.AccountID != o.AccountID {
		return "", apierr.New(apierr.Forbidden, "the request did not come through this stack's API")
	}
	return Caller(req)
}
