package main

import (
	"context"
	"errors"
	"fmt"
)

// measureD1 runs the audit package's BenchmarkPeriodDigest: one period's digest built and verified
// over R = 10,000 and 100,000 records in an in-memory table that pages like DynamoDB (signing with a
// local P-256 key, tags with a local HMAC key: no service latency). The figures are the build and
// verify times per 100,000 records, and the peak live-heap growth of each at 100,000 against 10,000.
func measureD1(ctx context.Context, b *bench) (result, error) {
	b.progress("  A1: compiling the audit package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/audit")
	if err != nil {
		return result{}, err
	}
	b.progress("  A1: BenchmarkPeriodDigest, R = 10,000 and 100,000")
	rs, err := bin.bench(ctx, "^BenchmarkPeriodDigest$", "1x")
	if err != nil {
		return result{}, err
	}
	small, ok1 := find(rs, "BenchmarkPeriodDigest/records=10000")
	large, ok2 := find(rs, "BenchmarkPeriodDigest/records=100000")
	if !ok1 || !ok2 || small.Metrics["build-peak-MB"] == 0 || small.Metrics["verify-peak-MB"] == 0 {
		return result{}, errors.New("BenchmarkPeriodDigest reported no records=10000 and records=100000 figures")
	}
	m := func(r benchResult, k string) float64 { return r.Metrics[k] }
	return result{
		Rows: []row{
			{ID: "D1", Name: "audit digest build, per 100k records", Value: fmt.Sprintf("%.1f s", m(large, "build-s/100k")),
				Baseline: fmt.Sprintf("at R=10k %.1f s", m(small, "build-s/100k")), Ratio: fmtRatio(m(large, "build-s/100k") / m(small, "build-s/100k")),
				Target: "linear (≤1.5x)", Verdict: verdict(m(large, "build-s/100k") <= 1.5*m(small, "build-s/100k"))},
			{ID: "D1", Name: "audit digest verify, per 100k records", Value: fmt.Sprintf("%.1f s", m(large, "verify-s/100k")),
				Baseline: fmt.Sprintf("at R=10k %.1f s", m(small, "verify-s/100k")), Ratio: fmtRatio(m(large, "verify-s/100k") / m(small, "verify-s/100k")),
				Target: "linear (≤1.5x)", Verdict: verdict(m(large, "verify-s/100k") <= 1.5*m(small, "verify-s/100k"))},
			{ID: "D1", Name: "audit digest peak memory, build/verify at R=100k", Value: fmt.Sprintf("%.1f/%.1f MiB", m(large, "build-peak-MB"), m(large, "verify-peak-MB")),
				Baseline: fmt.Sprintf("R=10k %.1f/%.1f MiB", m(small, "build-peak-MB"), m(small, "verify-peak-MB")),
				Ratio:    fmtRatio(max(m(large, "build-peak-MB")/m(small, "build-peak-MB"), m(large, "verify-peak-MB")/m(small, "verify-peak-MB"))) + " worst",
				Target:   "flat (≤2x)", Verdict: verdict(m(large, "build-peak-MB") <= 2*m(small, "build-peak-MB") && m(large, "verify-peak-MB") <= 2*m(small, "verify-peak-MB"))},
		},
		Details: []string{
			"shared/audit BenchmarkPeriodDigest: all R records in one hour, in-memory table (sorted partitions, 200-item pages), local signer and tagger",
			"peak = the largest live heap (runtime/metrics /gc/heap/live:bytes after a forced GC, every 5 ms) over the heap before; the table lives in the",
			"same heap, so a GC cycle over it is longer at R=100k and what the digest allocates during a cycle counts as live: the ratio overstates growth",
		},
	}, nil
}
