package eventbus

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

const amzJSON = "application/x-amz-json-1.1"

// wireRequest is PutEvents' request body in EventBridge's JSON protocol.
type wireRequest struct {
	Entries []struct {
		Source       string   `json:"Source"`
		DetailType   string   `json:"DetailType"`
		Detail       *string  `json:"Detail"`
		EventBusName string   `json:"EventBusName"`
		Resources    []string `json:"Resources"`
		Time         *float64 `json:"Time"` // epoch seconds
		TraceHeader  string   `json:"TraceHeader"`
	} `json:"Entries"`
	EndpointID string `json:"EndpointId"`
}

type wireResponse struct {
	Entries          []resultEntry `json:"Entries"`
	FailedEntryCount int           `json:"FailedEntryCount"`
}

// ServeHTTP is EventBridge's API (POST / with X-Amz-Target: AWSEvents.PutEvents) at whatever path
// it is mounted: point an SDK client's BaseEndpoint at it.
func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-Requestid", newUUID())
	if r.Method != http.MethodPost {
		writeAPIError(w, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "EventBridge operations are POST requests"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	if target != "AWSEvents.PutEvents" {
		op := strings.TrimPrefix(target, "AWSEvents.")
		writeAPIError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", "The local bus implements PutEvents only, not " + op})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4*MaxEntryBody))
	if err != nil {
		writeAPIError(w, &apiError{http.StatusBadRequest, "SerializationException", "could not read the request"})
		return
	}
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeAPIError(w, &apiError{http.StatusBadRequest, "SerializationException", "the request is not valid JSON for PutEvents"})
		return
	}
	entries := make([]entry, len(req.Entries))
	for i, e := range req.Entries {
		entries[i] = entry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, EventBusName: e.EventBusName, Resources: e.Resources}
		if e.Time != nil {
			sec, frac := math.Modf(*e.Time)
			t := time.Unix(int64(sec), int64(frac*1e9))
			entries[i].Time = &t
		}
	}
	results, failed, apiErr := b.put(entries)
	if apiErr != nil {
		writeAPIError(w, apiErr)
		return
	}
	out, _ := json.Marshal(wireResponse{Entries: results, FailedEntryCount: failed})
	w.Header().Set("Content-Type", amzJSON)
	_, _ = w.Write(out)
}

// writeAPIError answers in the JSON protocol's error shape: __type, message and x-amzn-ErrorType.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("Content-Type", amzJSON)
	w.Header().Set("X-Amzn-Errortype", e.code)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// LocalPath is where LocalHandler expects to be mounted.
const LocalPath = "/_local/bus"

// LocalHandler is the bus's local-only control API, mounted at LocalPath:
//
//	GET    /_local/bus          {"events": [...]}, oldest first, as delivered to targets
//	DELETE /_local/bus          forget the events
//	GET    /_local/bus/faults   the pending faults
//	PUT    /_local/bus/faults   {"fail_requests": n, "fail_all_requests": bool, "fail_entries": n}
//	DELETE /_local/bus/faults   clear the faults
func (b *Bus) LocalHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := strings.TrimSuffix(r.URL.Path, "/"); {
		case p == LocalPath && r.Method == http.MethodGet:
			events := b.Events()
			if events == nil {
				events = []Event{}
			}
			writeJSON(w, http.StatusOK, map[string][]Event{"events": events})
		case p == LocalPath && r.Method == http.MethodDelete:
			b.Reset()
			w.WriteHeader(http.StatusNoContent)
		case p == LocalPath+"/faults" && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, b.PendingFaults())
		case p == LocalPath+"/faults" && r.Method == http.MethodPut:
			var f Faults
			if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&f); err != nil || f.FailRequests < 0 || f.FailEntries < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "want {\"fail_requests\": n, \"fail_all_requests\": bool, \"fail_entries\": n}, n >= 0"})
				return
			}
			b.ClearFaults()
			if f.FailAllRequests {
				b.FailAllRequests()
			} else {
				b.FailNextRequests(f.FailRequests)
			}
			b.FailNextEntries(f.FailEntries)
			writeJSON(w, http.StatusOK, b.PendingFaults())
		case p == LocalPath+"/faults" && r.Method == http.MethodDelete:
			b.ClearFaults()
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "not found"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
