package devstack

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wcbridge/wcbridge/shared/actions"
	"github.com/wcbridge/wcbridge/shared/auditjob"
	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/replay"
	"github.com/wcbridge/wcbridge/shared/report"
	"github.com/wcbridge/wcbridge/shared/webhook"
	"github.com/wcbridge/wcbridge/shared/wiring/wireactions"
	"github.com/wcbridge/wcbridge/shared/wiring/wireaudit"
	"github.com/wcbridge/wcbridge/shared/wiring/wiregetreport"
	"github.com/wcbridge/wcbridge/shared/wiring/wireoutbox"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereplay"
	"github.com/wcbridge/wcbridge/shared/wiring/wirereport"
	"github.com/wcbridge/wcbridge/shared/wiring/wiresamples"
	"github.com/wcbridge/wcbridge/shared/wiring/wirewebhook"
)

// A builder makes one function's handler from its configuration and logger, once, as its main does
// at a cold start.
type builder func(ctx context.Context, cfg config.Config, log *slog.Logger) (lambda.Handler, error)

// registry is every function of template.yaml by logical ID, built by the same wiring builder and
// served by the same Handle method as its functions/<name>/main.go. A template function missing here
// stops the stack from starting, naming it.
var registry = map[string]builder{
	"IngestWebhookFunction":  handler(wirewebhook.IngestWebhook, func(h *webhook.Ingest) any { return h.Handle }),
	"PublishOutboxFunction":  handler(wireoutbox.PublishOutbox, func(h *webhook.Publisher) any { return h.Handle }),
	"TriggerSamplesFunction": handler(wiresamples.TriggerSamples, func(h *webhook.Samples) any { return h.Handle }),
	"GetLeadsFunction":       handler(wireactions.GetLeads, actionHandle),
	"GetLeadFunction":        handler(wireactions.GetLead, actionHandle),
	"CreateLeadFunction":     handler(wireactions.CreateLead, actionHandle),
	"UpdateLeadFunction":     handler(wireactions.UpdateLead, actionHandle),
	"DailyReportFunction":    handler(wirereport.DailyReport, func(h *report.Daily) any { return h.Handle }),
	"GetReportFunction":      handler(wiregetreport.GetReport, func(h *report.Get) any { return h.Handle }),
	"ReplayFunction":         handler(wirereplay.Replay, func(h *replay.Handler) any { return h.Handle }),
	"AuditDigestFunction":    handler(wireaudit.AuditDigest, func(h *auditjob.Job) any { return h.Handle }),
}

func actionHandle(h *actions.Handler) any { return h.Handle }

// handler adapts a wiring builder and its handler's Handle method to a builder. The stack gives it
// the logger main uses (wiring.Logger), whose lines it also delivers to the function's local log
// group when it has a Logs endpoint.
func handler[T any](build func(context.Context, config.Config, *slog.Logger) (T, error), handle func(T) any) builder {
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) (lambda.Handler, error) {
		h, err := build(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(handle(h)), nil
	}
}
