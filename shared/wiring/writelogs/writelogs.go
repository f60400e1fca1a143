// Package writelogs builds the reader of the audit writers' stored lines (shared/writelog) from the
// configuration. It is a package of its own so that only the verifiers (the digest function, the
// daily report, verify-audit) link the CloudWatch Logs client.
package writelogs

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/wcbridge/wcbridge/shared/config"
	"github.com/wcbridge/wcbridge/shared/writelog"
)

// CloudWatch reads the log groups of AUDIT_WRITER_LOG_GROUPS, at LOGS_ENDPOINT when one is set.
func CloudWatch(cfg config.Config, ac aws.Config) writelog.CloudWatch {
	client := cloudwatchlogs.NewFromConfig(ac, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = config.Endpoint(cfg.LogsEndpoint) })
	return writelog.CloudWatch{Client: client, Groups: cfg.WriterLogGroups}
}
