package writelog_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wcbridge/wcbridge/shared/audit"
	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/writelog"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		message string
		want    audit.StoredLine
		ok      bool
	}{
		{"as slog prints it", `{"time":"2026-12-03T04:00:01Z","level":"INFO","msg":"audit record stored","audit_writer":"w_1","audit_seq":7,"audit_period":"2026-12-03T04"}`,
			audit.StoredLine{Writer: "w_1", Seq: 7, Period: "2026-12-03T04"}, true},
		{"wrapped by Lambda's JSON format", `{"timestamp":"2026-12-03T04:00:01Z","level":"INFO","message":"{\"msg\":\"audit record stored\",\"audit_writer\":\"w_1\",\"audit_seq\":7,\"audit_period\":\"2026-12-03T04\"}"}`,
			audit.StoredLine{Writer: "w_1", Seq: 7, Period: "2026-12-03T04"}, true},
		{"another line", `{"msg":"report read","audit_writer":"w_1","audit_seq":7,"audit_period":"2026-12-03T04"}`, audit.StoredLine{}, false},
		{"not JSON", `START RequestId: 1`, audit.StoredLine{}, false},
		{"seq as a string", `{"msg":"audit record stored","audit_writer":"w_1","audit_seq":"7","audit_period":"2026-12-03T04"}`, audit.StoredLine{}, false},
		{"seq zero", `{"msg":"audit record stored","audit_writer":"w_1","audit_seq":0,"audit_period":"2026-12-03T04"}`, audit.StoredLine{}, false},
		{"no writer", `{"msg":"audit record stored","audit_seq":7,"audit_period":"2026-12-03T04"}`, audit.StoredLine{}, false},
		{"bad period", `{"msg":"audit record stored","audit_writer":"w_1","audit_seq":7,"audit_period":"2026-12-03"}`, audit.StoredLine{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := writelog.Parse(tc.message)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("Parse = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestLinesReadsEveryGroupOfTheRange delivers lines to two groups of the local CloudWatch Logs, as
// Lambda does with the writers' output, and reads back those of a range of periods, across pages.
func TestLinesReadsEveryGroupOfTheRange(t *testing.T) {
	ctx := context.Background()
	g1, client, w1 := testenv.LogGroup(t)
	g2, _, w2 := testenv.LogGroup(t)
	log1 := slog.New(slog.NewJSONHandler(w1, nil))
	log2 := slog.New(slog.NewJSONHandler(w2, nil))
	stored := func(l *slog.Logger, writer string, seq int64, period string) {
		l.Info(audit.StoredLogMessage, audit.LogWriter, writer, audit.LogSeq, seq, audit.LogPeriod, period)
	}
	now := time.Now().UTC()
	this, before := audit.PeriodOf(now), audit.PeriodOf(now.Add(-2*time.Hour))
	for i := int64(1); i <= 120; i++ {
		stored(log1, "w_a", i, this)
	}
	stored(log1, "w_a", 121, before) // outside the range
	log1.Info("report read", "status", 200)
	stored(log2, "w_b", 1, this)

	p, _ := audit.ParsePeriod(this)
	var got []string
	err := writelog.CloudWatch{Client: client, Groups: []string{g1, g2}}.Lines(ctx, p, p, func(l audit.StoredLine) error {
		got = append(got, fmt.Sprintf("%s/%d", l.Writer, l.Seq))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 121 || !slices.Contains(got, "w_b/1") || !slices.Contains(got, "w_a/120") || slices.Contains(got, "w_a/121") {
		t.Fatalf("read %d lines (%v…), want w_a 1..120 and w_b 1", len(got), got[:min(len(got), 3)])
	}

	t.Run("a group that cannot be read is an error, not an empty log", func(t *testing.T) {
		err := writelog.CloudWatch{Client: client, Groups: []string{g1, "/aws/lambda/no-such-group"}}.Lines(ctx, p, p, func(audit.StoredLine) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "no-such-group") {
			t.Fatalf("err = %v, want the group named", err)
		}
	})
	t.Run("no groups is an error", func(t *testing.T) {
		if err := (writelog.CloudWatch{Client: client}).Lines(ctx, p, p, func(audit.StoredLine) error { return nil }); err == nil {
			t.Fatal("read nothing without an error")
		}
	})
}
