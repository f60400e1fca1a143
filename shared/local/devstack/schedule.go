package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/local/apigateway"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
)

// Schedule is one Schedule or ScheduleV2 event of a template function.
type Schedule struct {
	Function   string // logical ID
	Event      string // the event's name
	Expression string // rate(...) or cron(...)
	// Every is how often the stack runs it: the rate (or Options.ScheduleEvery); 0 when the stack
	// does not run it (a cron expression, or schedules disabled).
	Every time.Duration
}

// schedulesOf lists the template's schedules, by function and event name.
func schedulesOf(tmpl *samtemplate.Template, opts Options) ([]Schedule, error) {
	var out []Schedule
	for _, fn := range tmpl.Functions {
		for name, ev := range fn.Events {
			if ev.Type != "Schedule" && ev.Type != "ScheduleV2" {
				continue
			}
			expr, _ := ev.Properties.Get("ScheduleExpression").String()
			sc := Schedule{Function: fn.LogicalID, Event: name, Expression: expr}
			if strings.HasPrefix(expr, "rate(") && !opts.DisableSchedules {
				every, err := parseRate(expr)
				if err != nil {
					return nil, fmt.Errorf("devstack: %s.%s: %w", fn.LogicalID, name, err)
				}
				sc.Every = every
				if opts.ScheduleEvery > 0 {
					sc.Every = opts.ScheduleEvery
				}
			}
			out = append(out, sc)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Event < out[j].Event
	})
	return out, nil
}

// parseRate reads an EventBridge rate expression: rate(value unit), unit minute(s), hour(s) or
// day(s), the singular for 1 only.
func parseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(expr, "rate(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	fields := strings.Fields(inner)
	if !ok || !ok2 || len(fields) != 2 {
		return 0, fmt.Errorf("schedule %q is not rate(value unit)", expr)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule %q: the value must be a positive integer", expr)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := fields[1]
	if n != 1 {
		plural, ok := strings.CutSuffix(unit, "s")
		if !ok {
			return 0, fmt.Errorf("schedule %q: use the plural unit for a value other than 1", expr)
		}
		unit = plural
	}
	d, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("schedule %q: the unit must be minute(s), hour(s) or day(s)", expr)
	}
	return time.Duration(n) * d, nil
}

// run invokes the schedule's function every sc.Every until ctx ends, with the event EventBridge
// Scheduler sends. Its outcome is logged by apigateway.Functions.
func (s *Stack) run(ctx context.Context, sc Schedule) {
	t := time.NewTicker(sc.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, _ = s.Functions.Invoke(ctx, apigateway.InvokeInput{FunctionName: sc.Function, Payload: scheduledEvent(sc, now)})
		}
	}
}

// scheduledEvent is the event EventBridge Scheduler delivers to a Lambda target without an Input.
func scheduledEvent(sc Schedule, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"version":     "0",
		"id":          fmt.Sprintf("local-%s-%d", sc.Event, at.UnixNano()),
		"detail-type": "Scheduled Event",
		"source":      "aws.scheduler",
		"account":     samtemplate.AccountID,
		"time":        at.UTC().Format(time.RFC3339),
		"region":      samtemplate.Region,
		"resources":   []string{"arn:aws:scheduler:" + samtemplate.Region + ":" + samtemplate.AccountID + ":schedule/default/" + samtemplate.StackName + "-" + sc.Function + sc.Event},
		"detail":      "{}",
	})
	return b
}
