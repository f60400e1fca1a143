package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/apierr"
	"github.com/wcbridge/wcbridge/shared/table"
)

const dateLayout = "2006-01-02"

// ParseDate checks a report date: YYYY-MM-DD, a real calendar day. The error is an invalid_request
// naming "date", never quoting the value.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return time.Time{}, apierr.Invalid(apierr.FieldProblem{Field: "date", Problem: "must be a calendar date, YYYY-MM-DD"})
	}
	return t, nil
}

// Invocation is what the daily report function is invoked with. Every field is optional.
//
// The schedule (template.yaml) sends the EventBridge Scheduler context attributes:
//
//	{"schedule_arn": "<aws.scheduler.schedule-arn>", "scheduled_time": "<aws.scheduler.scheduled-time>",
//	 "execution_id": "<aws.scheduler.execution-id>", "attempt": "<aws.scheduler.attempt-number>"}
//
// An operator sends {"date": "YYYY-MM-DD"} to (re)build that date. An empty payload, {} and an
// EventBridge rule's "Scheduled Event" are accepted too.
type Invocation struct {
	Date          *string `json:"date"`
	ScheduleARN   string  `json:"schedule_arn"`
	ScheduledTime string  `json:"scheduled_time"`
	ExecutionID   string  `json:"execution_id"`
	Attempt       string  `json:"attempt"`

	// An EventBridge rule's scheduled event.
	Source     string   `json:"source"`
	DetailType string   `json:"detail-type"`
	Time       string   `json:"time"`
	Resources  []string `json:"resources"`
}

// Target is the date an invocation asks for, and who asked (for the run's audit record).
type Target struct {
	Date  string
	Actor string // the schedule's ARN when the schedule invoked; "" otherwise (the caller fills in)
}

// ResolveInvocation decides the date a payload asks for, at time now:
//   - {"date": "YYYY-MM-DD"}: that date, which must be a real calendar date and not after today (UTC);
//   - the schedule's payload: the UTC day before scheduled_time, so that a retry after midnight
//     still builds the day the schedule meant;
//   - an EventBridge rule's scheduled event: the UTC day before its time;
//   - anything else ({}, empty, null): the UTC day before now.
//
// Errors are invalid_request naming the field ("payload" or "date"), never quoting a value.
func ResolveInvocation(payload []byte, now time.Time) (Target, error) {
	now = now.UTC()
	previous := func(t time.Time) string { return table.Day(t.UTC().AddDate(0, 0, -1)) }
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || string(payload) == "null" {
		return Target{Date: previous(now)}, nil
	}
	if payload[0] != '{' {
		return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "payload", Problem: "must be a JSON object"})
	}
	var in Invocation
	if err := json.Unmarshal(payload, &in); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field == "date" {
			return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "date", Problem: "must be a string, YYYY-MM-DD"})
		}
		return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "payload", Problem: "must be a JSON object"})
	}
	actor := ""
	if validARN(in.ScheduleARN) {
		actor = in.ScheduleARN
	}
	switch {
	case in.Date != nil:
		d, err := ParseDate(*in.Date)
		if err != nil {
			return Target{}, err
		}
		if d.After(now) {
			return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "date", Problem: "must not be after today (UTC)"})
		}
		return Target{Date: *in.Date, Actor: actor}, nil
	case in.ScheduledTime != "":
		t, err := time.Parse(time.RFC3339, in.ScheduledTime)
		if err != nil {
			return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "scheduled_time", Problem: "must be an RFC 3339 time"})
		}
		return Target{Date: previous(t), Actor: actor}, nil
	case in.Source == "aws.events" && in.Time != "":
		t, err := time.Parse(time.RFC3339, in.Time)
		if err != nil {
			return Target{}, apierr.Invalid(apierr.FieldProblem{Field: "time", Problem: "must be an RFC 3339 time"})
		}
		if len(in.Resources) > 0 && validARN(in.Resources[0]) {
			actor = in.Resources[0]
		}
		return Target{Date: previous(t), Actor: actor}, nil
	}
	return Target{Date: previous(now), Actor: actor}, nil
}

// validARN accepts what an AWS ARN is made of, so that only an ARN (no free text) becomes the actor
// of an audit record.
func validARN(s string) bool {
	if !strings.HasPrefix(s, "arn:") || len(s) > 512 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(":/_-.+=,@*$", c):
		default:
			return false
		}
	}
	return true
}
