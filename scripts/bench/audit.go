package main

import (
	"context"
	"errors"
	"fmt"
)

// measureD1 runs the audit package's BenchmarkPeriodDigest: one period's digest built and verified
// over R = 10,000 and 100,000 records of one hour, through the DynamoDB SDK client, from an
// in-memory table that pages like DynamoDB and lives in a child process (signing with a local P-256
// key, tags with a local HMAC key: no service latency). The figures are the build and verify times
// per 100,000 records, and the peak live-heap growth of each at 10,000 and at 100,000 records.
func measureD1(ctx context.Context, b *bench) (result, error) {
	b.progress("  D1: compiling the audit package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/audit")
	if err != nil {
		return result{}, err
	}
	b.progress("  D1: BenchmarkPeriodDigest, R = 10,000 and 100,000")
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
	timeRow := func(name, k string) row {
		return row{ID: "D1", Name: name, Value: fmt.Sprintf("%.1f s", m(large, k)),
			Baseline: fmt.Sprintf("at R=10k %.1f s", m(small, k)), Ratio: fmtRatio(m(large, k) / m(small, k)),
			Target: "linear (≤1.5x)", Verdict: verdict(m(large, k) <= 1.5*m(small, k))}
	}
	memRow := func(name, k string) row {
		return row{ID: "D1", Name: name, Value: fmt.Sprintf("%.1f MiB at R=100k", m(large, k)),
			Baseline: fmt.Sprintf("%.1f MiB at R=10k", m(small, k)), Ratio: fmtRatio(m(large, k) / m(small, k)),
			Target: "flat (≤2x)", Verdict: verdict(m(large, k) <= 2*m(small, k))}
	}
	return result{
		Rows: []row{
			timeRow("audit digest build, per 100k records", "build-s/100k"),
			timeRow("audit digest verify, per 100k records", "verify-s/100k"),
			memRow("audit digest build, peak memory", "build-peak-MB"),
			memRow("audit digest verify, peak memory", "verify-peak-MB"),
		},
		Details: []string{
			"shared/audit BenchmarkPeriodDigest: all R records in one hour; the table is an in-memory fake (sorted partitions, 200-item pages)",
			"served over DynamoDB's JSON protocol by a child process and read through the SDK's client, so the measured heap holds the digest only",
			"times: build and verify run alone, each page through the SDK's HTTP and JSON as against DynamoDB; peak = the largest live heap",
			"(runtime/metrics /gc/heap/live:bytes after a forced GC, every 5 ms)",
			"over the heap before, in a second run of each: one page of records a shard, one leaf chunk and the Merkle frontier, whatever R",
		},
	}, nil
}
