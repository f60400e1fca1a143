package devstack

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/webhook"
)

// A builder makes one function's handler from its configuration, once, as its main does at a cold
// start.
type builder func(ctx context.Context, cfg config.Config) (lambda.Handler, error)

// registry is every function of template.yaml by logical ID, built by the same builder and served by
// the same Handle method as its functions/<name>/main.go (`lambda.Start(h.Handle)`). A template
// function missing here stops the stack from starting, naming it.
var registry = map[string]builder{
	"IngestWebhookFunction":  handler(webhook.BuildIngest, func(h *webhook.Ingest) any { return h.Handle }),
	"PublishOutboxFunction":  handler(webhook.BuildPublisher, func(h *webhook.Publisher) any { return h.Handle }),
	"TriggerSamplesFunction": handler(webhook.BuildSamples, func(h *webhook.Samples) any { return h.Handle }),
	"GetLeadsFunction":       handler(noOptions(actions.BuildGetLeads), actionHandle),
	"GetLeadFunction":        handler(noOptions(actions.BuildGetLead), actionHandle),
	"CreateLeadFunction":     handler(noOptions(actions.BuildCreateLead), actionHandle),
	"UpdateLeadFunction":     handler(noOptions(actions.BuildUpdateLead), actionHandle),
	"DailyReportFunction":    handler(noOptions(report.BuildDaily), func(h *report.Daily) any { return h.Handle }),
	"GetReportFunction":      handler(noOptions(report.BuildGet), func(h *report.Get) any { return h.Handle }),
	"AuditDigestFunction":    handler(auditjob.Build, func(h *auditjob.Job) any { return h.Handle }),
}

func actionHandle(h *actions.Handler) any { return h.Handle }

// handler adapts a package's builder and its handler's Handle method to a builder.
func handler[T any](build func(context.Context, config.Config) (T, error), handle func(T) any) builder {
	return func(ctx context.Context, cfg config.Config) (lambda.Handler, error) {
		h, err := build(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(handle(h)), nil
	}
}

// noOptions calls a builder that takes options (for tests and the stack) with none, as main does.
func noOptions[T, O any](build func(context.Context, config.Config, ...O) (T, error)) func(context.Context, config.Config) (T, error) {
	return func(ctx context.Context, cfg config.Config) (T, error) { return build(ctx, cfg) }
}
