// Package writelog reads the audit writers' "audit record stored" lines back from CloudWatch Logs,
// where Lambda delivers each function's output: the trail's second record, outside the table, that
// the verifier compares with it (audit.WriteLog; the lines themselves are written by audit.Store).
package writelog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Client is the part of the CloudWatch Logs API the reader uses (logs:FilterLogEvents).
type Client interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

var _ Client = (*cloudwatchlogs.Client)(nil)

// filterPattern selects the stored lines on CloudWatch's side. The reader checks every field itself
// all the same: a server that ignores the pattern (moto does) only costs bandwidth.
var filterPattern = fmt.Sprintf(`{ $.msg = %q }`, audit.StoredLogMessage)

// CloudWatch reads the stored lines of the writers' log groups (config.EnvWriterLogGroups).
type CloudWatch struct {
	Client Client
	Groups []string
}

var _ audit.WriteLog = CloudWatch{}

// Lines reports the stored lines of the periods from..to, reading each group from the start of from
// to the end of to plus audit.LogDelay. A group that cannot be read is an error, never an empty log:
// a verification without its second record must not pass as one made with it.
func (c CloudWatch) Lines(ctx context.Context, from, to time.Time, fn func(audit.StoredLine) error) error {
	if len(c.Groups) == 0 {
		return fmt.Errorf("writelog: no log groups to read")
	}
	first, last := audit.PeriodOf(from), audit.PeriodOf(to)
	in := &cloudwatchlogs.FilterLogEventsInput{
		FilterPattern: aws.String(filterPattern),
		StartTime:     aws.Int64(from.UnixMilli()),
		EndTime:       aws.Int64(to.Add(audit.PeriodLength + audit.LogDelay).UnixMilli()),
	}
	for _, g := range c.Groups {
		in.LogGroupName, in.NextToken = aws.String(g), nil
		for {
			out, err := c.Client.FilterLogEvents(ctx, in)
			if err != nil {
				return fmt.Errorf("writelog: read log group %s: %w", g, err)
			}
			for _, e := range out.Events {
				l, ok := Parse(aws.ToString(e.Message))
				if !ok || l.Period < first || l.Period > last {
					continue
				}
				l.Logged = time.UnixMilli(aws.ToInt64(e.Timestamp))
				if err := fn(l); err != nil {
					return err
				}
			}
			if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return nil
}

// Parse reads one log event: a stored line as the writer printed it (slog's JSON), or wrapped by
// Lambda's JSON log format in a "message" string. ok is false for any other event.
func Parse(message string) (audit.StoredLine, bool) {
	var v struct {
		Msg     string          `json:"msg"`
		Writer  string          `json:"audit_writer"`
		Seq     json.RawMessage `json:"audit_seq"`
		Period  string          `json:"audit_period"`
		Message *string         `json:"message"`
	}
	if json.Unmarshal([]byte(message), &v) != nil {
		return audit.StoredLine{}, false
	}
	if v.Msg != audit.StoredLogMessage && v.Message != nil {
		return Parse(*v.Message)
	}
	seq, err := strconv.ParseInt(string(v.Seq), 10, 64)
	if v.Msg != audit.StoredLogMessage || err != nil || seq < 1 || v.Writer == "" {
		return audit.StoredLine{}, false
	}
	if _, err := audit.ParsePeriod(v.Period); err != nil {
		return audit.StoredLine{}, false
	}
	return audit.StoredLine{Writer: v.Writer, Seq: seq, Period: v.Period}, true
}
