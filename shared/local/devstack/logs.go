package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/local/apigateway/samtemplate"
	"github.com/wcbridge/wcbridge/shared/local/logship"
	"github.com/wcbridge/wcbridge/shared/wiring"
)

// logGroups are the functions' local log groups: one per function, named LogGroupPrefix and its
// logical ID, as Lambda gives each function its own.
type logGroups struct {
	// byFunction is the local group of each function, by its logical ID.
	byFunction map[string]string
	// byResource is the local group of each AWS::Logs::LogGroup a function's LoggingConfig names,
	// by that resource's logical ID (which is what a !Ref of it resolves to locally).
	byResource map[string]string
	// writers is the AUDIT_WRITER_LOG_GROUPS value of each function the template gives it: the
	// local groups of the log groups its !Join names.
	writers map[string][]string
}

// localLogGroups reads the functions' log groups from the template. A function whose
// AUDIT_WRITER_LOG_GROUPS names a log group no function logs to is an error: the verifier would read
// a group no writer's lines reach.
func localLogGroups(tmpl *samtemplate.Template, prefix string) (logGroups, error) {
	g := logGroups{byFunction: map[string]string{}, byResource: map[string]string{}, writers: map[string][]string{}}
	for _, fn := range tmpl.Functions {
		name := prefix + fn.LogicalID
		g.byFunction[fn.LogicalID] = name
		ref, err := tmpl.Resolve(tmpl.Resources[fn.LogicalID].Properties.Path("LoggingConfig", "LogGroup"))
		if err != nil {
			return g, fmt.Errorf("devstack: %s: LoggingConfig: %w", fn.LogicalID, err)
		}
		if id, ok := ref.String(); ok && id != "" {
			g.byResource[id] = name
		}
	}
	for _, fn := range tmpl.Functions {
		v, declared := fn.Environment[config.EnvWriterLogGroups]
		if !declared {
			continue
		}
		groups := []string{}
		for _, id := range strings.Split(v, ",") {
			name, ok := g.byResource[strings.TrimSpace(id)]
			if !ok {
				return g, fmt.Errorf("devstack: %s: %s names %q, the LoggingConfig.LogGroup of no function", fn.LogicalID, config.EnvWriterLogGroups, id)
			}
			groups = append(groups, name)
		}
		g.writers[fn.LogicalID] = groups
	}
	return g, nil
}

// LogGroup is the local log group of a function (by logical ID), where its lines go when the stack
// has a Logs endpoint.
func (b *Backends) LogGroup(functionID string) string { return b.logGroups.byFunction[functionID] }

// WriterLogGroups are the local log groups of the audit writers, as the template names them in
// AUDIT_WRITER_LOG_GROUPS, in its order: what the verifier reads. Empty when no function declares
// the variable.
func (b *Backends) WriterLogGroups() []string { return b.logGroups.writerGroups() }

// TemplateWriterLogGroups is WriterLogGroups of a stack with that template and LogGroupPrefix (empty:
// DefaultLogGroupPrefix), without starting one: what `make verify-audit` reads against `make dev`.
func TemplateWriterLogGroups(tmpl *samtemplate.Template, prefix string) ([]string, error) {
	if prefix == "" {
		prefix = DefaultLogGroupPrefix
	}
	g, err := localLogGroups(tmpl, prefix)
	return g.writerGroups(), err
}

// writerGroups is the value of the first function (by logical ID) the template gives
// AUDIT_WRITER_LOG_GROUPS: the verifier's.
func (g logGroups) writerGroups() []string {
	ids := slices.Sorted(maps.Keys(g.writers))
	if len(ids) == 0 {
		return nil
	}
	return slices.Clone(g.writers[ids[0]])
}

// LogOutput is where a function's output goes: stderr, and with a Logs endpoint also the function's
// local log group (a new stream each call, as a new Lambda environment starts one), line by line,
// as Lambda delivers it. A line that cannot be delivered still reaches stderr and is reported on
// Options.Logger, never to the function: Lambda's delivery does not fail a function either.
func (b *Backends) LogOutput(ctx context.Context, functionID string) (io.Writer, error) {
	w, err := b.LogDelivery(ctx, functionID)
	if err != nil || w == nil {
		return os.Stderr, err
	}
	return io.MultiWriter(os.Stderr, w), nil
}

// LogDelivery is the function's local log group as a writer that never fails (nil without a Logs
// endpoint): for output captured elsewhere, such as an emulated process's.
func (b *Backends) LogDelivery(ctx context.Context, functionID string) (io.Writer, error) {
	if b.Options.LogsEndpoint == "" {
		return nil, nil
	}
	group := b.LogGroup(functionID)
	if group == "" {
		return nil, fmt.Errorf("devstack: the template has no function %s", functionID)
	}
	w, err := logship.New(ctx, b.logs, group, streamName(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("devstack: at %s: %w", b.Options.LogsEndpoint, err)
	}
	return delivery{w: w, group: group, log: b.Options.Logger}, nil
}

// functionLogger is the logger a function's builder gets: wiring.Logger's JSON lines, onto
// LogOutput.
func (b *Backends) functionLogger(ctx context.Context, functionID string) (*slog.Logger, error) {
	if b.Options.LogsEndpoint == "" {
		return wiring.Logger(), nil
	}
	out, err := b.LogOutput(ctx, functionID)
	if err != nil {
		return nil, err
	}
	// The handler wiring.Logger makes, writing to both.
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo})), nil
}

// streamName is a stream name as Lambda makes them: the day, the version and a random instance ID.
func streamName(now time.Time) string {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return now.UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(id)
}

// delivery reports a line it could not deliver (by group and error, never the line) and carries on.
type delivery struct {
	w     io.Writer
	group string
	log   *slog.Logger
}

func (d delivery) Write(p []byte) (int, error) {
	if _, err := d.w.Write(p); err != nil {
		d.log.Error("devstack: log delivery failed", "group", d.group, "error", err)
	}
	return len(p), nil
}
