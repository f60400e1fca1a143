package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/deadline"
	"github.com/wcbridge/wcbridge/shared/httpapi"
)

// The samples window and cap (contract: the last 5 minutes, newest first, at most 500).
const (
	SamplesWindow = 5 * time.Minute
	SamplesLimit  = 500
)

// MaxSamplesBytes bounds the leads of one answer: a Lambda response may be at most 6 MB, and 500 leads
// of up to 256 KiB each could be far more. Past it the older samples are left out and the answer says
// "truncated": true.
const MaxSamplesBytes = 5 << 20

// ActionTriggerSamples is the audit action of a samples read.
const ActionTriggerSamples = "trigger-samples"

// SampleReader is the part of the audit store the samples route uses: the recent events of a
// trigger, their sealed payloads opened (kms:Decrypt), and the audit record of the read.
type SampleReader interface {
	RecentEvents(ctx context.Context, trigger string, window time.Duration, limit int) ([]audit.Record, error)
	OpenPayload(ctx context.Context, r audit.Record) ([]byte, error)
	Append(ctx context.Context, r audit.Record, payload []byte) (audit.Record, error)
}

var _ SampleReader = (*audit.Store)(nil)

// Authorizer is the access policy as the samples route asks it (shared/access's Authorizer is one,
// as a test holds): may the caller see samples on a profile, and on any profile at all.
type Authorizer interface {
	Authorize(ctx context.Context, principalARN, action string, profileID int64) (allowed bool, policyVersion string, err error)
	Anywhere(ctx context.Context, principalARN, action string) (allowed bool, policyVersion string, err error)
}

// Samples handles GET /triggers/{trigger}/samples: the events of a trigger received in the last 5
// minutes, decrypted, for building a workflow against real data. Every call is audited as a PHI read
// by the calling IAM principal, naming the leads (and, sealed, the events) it read.
//
// Only the events of profiles on which the access policy lets the caller trigger-samples are
// answered (others are neither decrypted nor named); a caller who may see samples of no profile is
// answered 403 and the refusal audited. The window's newest SamplesLimit events are read, then
// filtered.
type Samples struct {
	Store SampleReader
	// Access is the access policy; nil denies every request (never fail open).
	Access Authorizer
	// Origin, when set, is the API the events must come through (BuildSamples sets it).
	Origin *httpapi.Origin
	Log    *slog.Logger
}

// SamplesResponse is the body of a 200 answer.
type SamplesResponse struct {
	Trigger       string   `json:"trigger"`
	WindowSeconds int      `json:"window_seconds"`
	Limit         int      `json:"limit"`
	Samples       []Sample `json:"samples"`
	Truncated     bool     `json:"truncated,omitempty"` // older samples left out to stay under MaxSamplesBytes
}

// Sample is one event: its ID, when it was received, and the lead as WhatConverts sent it.
type Sample struct {
	EventID    string          `json:"event_id"`
	ReceivedAt string          `json:"received_at"`
	Lead       json.RawMessage `json:"lead"`
}

// readPayload is the sealed part of a samples read's audit record: which events were read.
type readPayload struct {
	Trigger  string   `json:"trigger"`
	EventIDs []string `json:"event_ids"`
}

// Handle answers one samples request.
func (h *Samples) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	reqID := httpapi.RequestID(req)
	callerOf := httpapi.Caller
	if h.Origin != nil {
		callerOf = h.Origin.Caller
	}
	caller, err := callerOf(req)
	if err != nil {
		h.logger().InfoContext(ctx, "trigger samples refused", "request_id", reqID, "status", http.StatusForbidden)
		return httpapi.Error(err), nil
	}
	rec := audit.Record{
		Kind: audit.KindPHIRead, Actor: caller, Action: ActionTriggerSamples, RequestID: reqID,
	}
	trigger := req.PathParameters["trigger"]
	if trigger != audit.TriggerNewLead && trigger != audit.TriggerUpdatedLead {
		rec.Outcome, rec.Status = audit.OutcomeRejected, http.StatusNotFound
		return h.answer(ctx, rec, nil, httpapi.Error(apierr.New(apierr.NotFound, "unknown trigger; use new-lead or updated-lead"))), nil
	}

	may, err := h.mayAnywhere(ctx, &rec)
	if err != nil {
		rec.Outcome, rec.Status = audit.OutcomeRejected, http.StatusForbidden
		return h.answer(ctx, rec, nil, httpapi.Error(err)), nil
	}

	recs, err := h.Store.RecentEvents(ctx, trigger, SamplesWindow, SamplesLimit)
	if err != nil {
		rec.Outcome, rec.Status = audit.OutcomeFailed, http.StatusInternalServerError
		h.logger().ErrorContext(ctx, "trigger samples not read", "request_id", reqID, "error", err.Error())
		return h.answer(ctx, rec, nil, httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))), nil
	}
	recs = recs[:min(len(recs), SamplesLimit)]
	resp := SamplesResponse{Trigger: trigger, WindowSeconds: int(SamplesWindow / time.Second), Limit: SamplesLimit,
		Samples: make([]Sample, 0, len(recs))}
	read := readPayload{Trigger: trigger, EventIDs: make([]string, 0, len(recs))}
	size := 0
	for _, r := range recs {
		if !may(ctx, r.ProfileID) {
			continue // another profile's: not opened, not named
		}
		lead, err := h.Store.OpenPayload(ctx, r)
		if err != nil || !json.Valid(lead) {
			// A record that does not open is an integrity failure (or a key outage): answer nothing
			// rather than a silently shortened list.
			h.logger().ErrorContext(ctx, "trigger sample does not open", "request_id", reqID, "event_id", r.ID,
				"error", errText(err))
			rec.Outcome, rec.Status = audit.OutcomeFailed, http.StatusInternalServerError
			return h.answer(ctx, rec, nil, httpapi.Error(apierr.New(apierr.Internal, "internal error"))), nil
		}
		if size += len(lead); size > MaxSamplesBytes && len(resp.Samples) > 0 {
			resp.Truncated = true // newest first: what is left out is the oldest
			break
		}
		resp.Samples = append(resp.Samples, Sample{
			EventID: r.ID, ReceivedAt: r.ReceivedAt.UTC().Format(time.RFC3339Nano), Lead: lead,
		})
		read.EventIDs = append(read.EventIDs, r.ID)
		rec.LeadIDs = append(rec.LeadIDs, r.LeadIDs...)
	}
	rec.Outcome, rec.Status = audit.OutcomeOK, http.StatusOK
	payload, _ := json.Marshal(read) // IDs only: cannot fail
	return h.answer(ctx, rec, payload, httpapi.JSON(http.StatusOK, resp)), nil
}

// answer writes the audit record of the call, then returns resp: data leaves only once its read is
// on record, and an audit write that fails fails the request. The write is detached, so a read
// that failed or a caller that went away is still on record.
func (h *Samples) answer(ctx context.Context, rec audit.Record, payload []byte, resp events.APIGatewayProxyResponse) events.APIGatewayProxyResponse {
	wctx, cancel := deadline.Detach(ctx)
	stored, err := h.Store.Append(wctx, rec, payload)
	cancel()
	if err != nil {
		h.logger().ErrorContext(ctx, "trigger samples read not audited", "request_id", rec.RequestID,
			"status", http.StatusInternalServerError, "error", err.Error())
		return httpapi.Error(apierr.Wrap(err, apierr.Internal, "internal error"))
	}
	h.logger().InfoContext(ctx, "trigger samples", "request_id", rec.RequestID, "audit_id", stored.ID,
		"outcome", string(rec.Outcome), "status", rec.Status, "leads", len(rec.LeadIDs), "policy_version", rec.PolicyVersion)
	return resp
}

// mayAnywhere refuses (403, the policy's version on rec) a caller who may see samples of no
// profile, and otherwise returns the per-profile check, asked once per profile.
func (h *Samples) mayAnywhere(ctx context.Context, rec *audit.Record) (func(context.Context, int64) bool, error) {
	if h.Access == nil {
		return nil, apierr.DeniedAnywhere(ActionTriggerSamples)
	}
	ok, version, err := h.Access.Anywhere(ctx, rec.Actor, ActionTriggerSamples)
	rec.PolicyVersion = version
	if err != nil || !ok {
		return nil, apierr.DeniedAnywhere(ActionTriggerSamples)
	}
	seen := map[int64]bool{}
	return func(ctx context.Context, profileID int64) bool {
		allowed, done := seen[profileID]
		if !done {
			ok, _, err := h.Access.Authorize(ctx, rec.Actor, ActionTriggerSamples, profileID)
			allowed = err == nil && ok
			seen[profileID] = allowed
		}
		return allowed
	}, nil
}

func (h *Samples) logger() *slog.Logger { return loggerOr(h.Log) }

func errText(err error) string {
	if err == nil {
		return "payload is not JSON"
	}
	return err.Error()
}
