package apigateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// Lambda's payload limits: a synchronous invocation's request, and an Event invocation's.
const (
	MaxSyncPayload  = 6 * 1024 * 1024
	MaxAsyncPayload = 256 * 1024
)

const invokePathPrefix = "/2015-03-31/functions/"

// InvokeAPI is Lambda's Invoke API for the local functions: POST
// /2015-03-31/functions/{FunctionName}/invocations. Signatures are not checked (the AWS CLI signs
// with whatever credentials it has).
type InvokeAPI struct {
	fns *Functions
}

// NewInvokeAPI serves Lambda's Invoke API for fns.
func NewInvokeAPI(fns *Functions) *InvokeAPI { return &InvokeAPI{fns: fns} }

// ServeHTTP answers one Invoke call as Lambda does: RequestResponse (200 with the result, or with
// X-Amz-Function-Error: Unhandled and the error document), Event (202, run in the background), or
// DryRun (204).
func (a *InvokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newUUID()
	w.Header().Set("X-Amzn-Requestid", requestID)

	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), invokePathPrefix)
	escapedName, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || escapedName == "" || strings.Contains(escapedName, "/") {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.EscapedPath())
		return
	}
	if r.Method != http.MethodPost {
		lambdaError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "Unknown operation "+r.Method+" on invocations")
		return
	}
	name, err := url.PathUnescape(escapedName)
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "FunctionName is not valid")
		return
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		name += ":" + q
	}
	if _, err := a.fns.lookup(name); err != nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+functionARNForMessage(name))
		return
	}

	invocationType := r.Header.Get("X-Amz-Invocation-Type")
	limit := int64(MaxSyncPayload)
	switch invocationType {
	case "", "RequestResponse", "DryRun":
	case "Event":
		limit = MaxAsyncPayload
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"1 validation error detected: Value '"+invocationType+"' at 'invocationType' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read request body")
		return
	}
	if int64(len(payload)) > limit {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit))
		return
	}
	if len(strings.TrimSpace(string(payload))) == 0 {
		payload = []byte("{}") // an invocation without a payload gets an empty object, as in Lambda
	} else if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException",
			"Could not parse request body into json: Could not parse payload into json: Unexpected character")
		return
	}
	in := InvokeInput{FunctionName: name, Payload: payload, RequestID: requestID}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		var c lambdacontext.ClientContext
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || json.Unmarshal(raw, &c) != nil {
			lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
			return
		}
		in.ClientContext = &c
	}

	switch invocationType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		if _, err := a.fns.InvokeAsync(in); err != nil {
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+functionARNForMessage(name))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}

	// Answered even if the caller hangs up; the function runs to its end regardless.
	out, err := a.fns.Invoke(context.WithoutCancel(r.Context()), in)
	if err != nil {
		lambdaError(w, http.StatusInternalServerError, "ServiceException", "The invocation could not be run")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(logTail(out))))
	}
	body := out.Payload
	if out.Error != nil {
		h.Set("X-Amz-Function-Error", "Unhandled")
		body, _ = json.Marshal(out.Error)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// logTail is the START/END/REPORT lines Lambda would return for --log-type Tail; the function's own
// output goes to the process's stderr, not here.
func logTail(out InvokeOutput) string {
	ms := float64(out.Duration.Microseconds()) / 1000
	return fmt.Sprintf("START RequestId: %s Version: $LATEST\nEND RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\t\n",
		out.RequestID, out.RequestID, out.RequestID, ms)
}

// functionARNForMessage is how Lambda names a missing function: its full ARN.
func functionARNForMessage(name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	if strings.Contains(name, ":function:") {
		return "arn:" + samtemplate.Partition + ":lambda:" + samtemplate.Region + ":" + name
	}
	return samtemplate.FunctionARN(name)
}

// lambdaError answers as Lambda's API does: x-amzn-ErrorType and {"Type": "User", "Message": …}.
func lambdaError(w http.ResponseWriter, status int, errorType, message string) {
	fault := "User"
	if status >= 500 {
		fault = "Service"
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}{fault, message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", errorType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
