// Package logship plays Lambda's part in delivering a function's output to its CloudWatch Logs
// group, for the local stack and tests: each line written to a Writer becomes one log event, put
// synchronously (so a test that reads the log right after a request sees the request's lines), in
// whatever CloudWatch-Logs-compatible server LOGS_ENDPOINT names (moto under make test and make dev).
package logship

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Client is a CloudWatch Logs client for endpoint with static local credentials.
func Client(endpoint, region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// Writer delivers what is written to it, line by line, to one stream of a log group.
type Writer struct {
	// Now stamps the events (time.Now; a test with its own clock sets that instead).
	Now func() time.Time

	client        *cloudwatchlogs.Client
	group, stream string

	mu      sync.Mutex
	partial []byte
}

// New creates the group (when it does not exist) and a stream named stream in it.
func New(ctx context.Context, client *cloudwatchlogs.Client, group, stream string) (*Writer, error) {
	var exists *types.ResourceAlreadyExistsException
	if _, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("logship: create log group %s: %w", group, err)
	}
	if _, err := client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("logship: create log stream %s/%s: %w", group, stream, err)
	}
	return &Writer{Now: time.Now, client: client, group: group, stream: stream}, nil
}

// Write puts every complete line of p as one event; a line's end may come in a later Write. An
// event that cannot be put is an error, as a lost line would hide a record from the verifier.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	var events []types.InputLogEvent
	ts := aws.Int64(w.Now().UnixMilli())
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(w.partial[:i]); len(line) > 0 {
			events = append(events, types.InputLogEvent{Message: aws.String(string(line)), Timestamp: ts})
		}
		w.partial = w.partial[i+1:]
	}
	if len(events) == 0 {
		return len(p), nil
	}
	out, err := w.client.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(w.group), LogStreamName: aws.String(w.stream), LogEvents: events,
	})
	if err != nil {
		return 0, fmt.Errorf("logship: put %d events to %s: %w", len(events), w.group, err)
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		// CloudWatch Logs refuses events more than 14 days old or 2 hours ahead.
		return 0, fmt.Errorf("logship: %s refused events (too old before index %d, too new from index %d)",
			w.group, aws.ToInt32(r.TooOldLogEventEndIndex), aws.ToInt32(r.TooNewLogEventStartIndex))
	}
	return len(p), nil
}
