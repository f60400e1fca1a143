package auditjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
)

// Trail is the part of the audit store the job uses.
type Trail interface {
	BuildDue(ctx context.Context) ([]audit.PeriodDigest, error)
	VerifyPeriods(ctx context.Context, first, last string, onFinding func(audit.Finding), progress func(period string, records int)) (audit.RangeReport, error)
}

var _ Trail = (*audit.Store)(nil)

// Checkpoints keeps the last period a run verified without findings.
type Checkpoints interface {
	Checkpoint(ctx context.Context) (string, error) // "" when there is none
	SetCheckpoint(ctx context.Context, period string) error
}

// MaxLookback bounds how far back a run verifies from an old checkpoint, so that a run fits in the
// function's timeout; a longer gap is verified with `make verify-audit`.
const MaxLookback = 31 * 24 * time.Hour

// Job is the handler.
type Job struct {
	Trail       Trail
	Checkpoints Checkpoints
	Metrics     io.Writer // embedded metric format lines (stdout in Lambda)
	Log         *slog.Logger
	Now         func() time.Time
}

// Result is what a run did.
type Result struct {
	Built    []string `json:"built"`    // periods digested by this run
	From     string   `json:"from"`     // first period verified
	To       string   `json:"to"`       // last period verified
	Records  int      `json:"records"`  // records verified
	Findings int      `json:"findings"` // findings (the metric)
}

// Handle runs the job once. The scheduled event's content is not used.
func (j *Job) Handle(ctx context.Context, _ json.RawMessage) (Result, error) {
	now := j.Now()
	var res Result
	built, err := j.Trail.BuildDue(ctx)
	for _, d := range built {
		res.Built = append(res.Built, d.Period)
	}
	chainBroken := errors.Is(err, audit.ErrChainBroken)
	if err != nil && !chainBroken {
		j.publish(now, res.Findings, len(built), 1)
		return res, fmt.Errorf("auditjob: build digests: %w", err)
	}
	if chainBroken {
		// Someone removed the chain's head from the table and the bucket, or the job stopped for
		// longer than the verify window: the job will not restart the chain. A finding, alarmed.
		res.Findings++
		j.Log.Error("audit chain broken: refusing to restart it", "error", err.Error())
	}

	last := audit.LastDuePeriod(now)
	from := last.Add(-audit.VerifyWindow)
	if cp, err := j.Checkpoints.Checkpoint(ctx); err != nil {
		j.publish(now, res.Findings, len(built), 1)
		return res, fmt.Errorf("auditjob: read the checkpoint: %w", err)
	} else if t, err := audit.ParsePeriod(cp); cp != "" && err == nil && t.Before(from) {
		from = t
		if floor := last.Add(-MaxLookback); from.Before(floor) {
			from = floor
		}
	}
	res.From, res.To = audit.PeriodOf(from), audit.PeriodOf(last)
	rep, err := j.Trail.VerifyPeriods(ctx, res.From, res.To, func(f audit.Finding) {
		j.Log.Error("audit finding", "kind", string(f.Kind), "period", f.Period, "record_id", f.RecordID, "detail", f.Detail)
	}, nil)
	if err != nil {
		j.publish(now, res.Findings, len(built), 1)
		return res, fmt.Errorf("auditjob: verify %s..%s: %w", res.From, res.To, err)
	}
	res.Records, res.Findings = rep.Records, res.Findings+rep.Findings
	j.publish(now, res.Findings, len(built), 0)
	j.Log.Info("audit digests built and verified", "built", len(built), "from", res.From, "to", res.To,
		"periods", rep.Periods, "records", rep.Records, "findings", res.Findings, "head", rep.Head)
	if res.Findings == 0 && rep.Head != "" {
		if err := j.Checkpoints.SetCheckpoint(ctx, rep.Head); err != nil {
			return res, fmt.Errorf("auditjob: move the checkpoint: %w", err)
		}
	}
	return res, nil
}

// Metric names, namespace wcbridge/Audit.
const (
	MetricNamespace = "wcbridge/Audit"
	MetricFindings  = "AuditFindings"
	MetricBuilt     = "AuditDigestsBuilt"
	MetricErrors    = "AuditJobErrors"
)

// publish writes one embedded-metric-format line: CloudWatch turns it into the metrics, no API call.
func (j *Job) publish(now time.Time, findings, built, errs int) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}},
				"Metrics": []any{
					map[string]string{"Name": MetricFindings, "Unit": "Count"},
					map[string]string{"Name": MetricBuilt, "Unit": "Count"},
					map[string]string{"Name": MetricErrors, "Unit": "Count"},
				},
			}},
		},
		MetricFindings: findings + errs, // a run that could not verify counts as a finding: never fail open
		MetricBuilt:    built,
		MetricErrors:   errs,
	}
	b, _ := json.Marshal(line)
	_, _ = j.Metrics.Write(append(b, '\n'))
}
