package main

import (
	"context"
	"errors"
	"fmt"
)

// measureP6 runs the report package's BenchmarkReport: the daily report of one profile holding
// L = 10,000 and 100,000 leads on the day, against the simulator (in a child process, so that its
// leads do not weigh on the report's heap). The figures are the WhatConverts requests against
// ⌈L/2500⌉, and the peak heap growth at 100,000 against the peak at 10,000.
func measureP6(ctx context.Context, b *bench) (result, error) {
	b.progress("  P6: compiling the report package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/report")
	if err != nil {
		return result{}, err
	}
	b.progress("  P6: BenchmarkReport, L = 10,000 and 100,000 (the simulator generates the leads first)")
	rs, err := bin.bench(ctx, "^BenchmarkReport$", "1x")
	if err != nil {
		return result{}, err
	}
	small, ok1 := find(rs, "BenchmarkReport/leads=10000")
	large, ok2 := find(rs, "BenchmarkReport/leads=100000")
	if !ok1 || !ok2 {
		return result{}, errors.New("BenchmarkReport reported no leads=10000 and leads=100000 sub-benchmarks")
	}
	reqS, wantS := small.Metrics["requests/op"], small.Metrics["want-requests"]
	reqL, wantL := large.Metrics["requests/op"], large.Metrics["want-requests"]
	peakS, peakL := small.Metrics["peak-MB"], large.Metrics["peak-MB"]
	if wantS == 0 || wantL == 0 || peakS == 0 {
		return result{}, errors.New("BenchmarkReport reported no requests/op, want-requests or peak-MB")
	}
	return result{
		Rows: []row{
			{ID: "P6", Name: "report WhatConverts requests, L=10k/100k",
				Value: fmtCount(reqS) + "/" + fmtCount(reqL), Baseline: "⌈L/2500⌉ " + fmtCount(wantS) + "/" + fmtCount(wantL),
				Ratio: fmtRatio(max(reqS/wantS, reqL/wantL)) + " worst", Target: "target equal",
				Verdict: verdict(reqS == wantS && reqL == wantL)},
			{ID: "P6", Name: "report peak memory at L=100k", Value: fmt.Sprintf("%.1f MiB", peakL),
				Baseline: fmt.Sprintf("L=10k %.1f MiB", peakS), Ratio: fmtRatio(peakL / peakS), Target: "target ≤2x",
				Verdict: verdict(peakL <= 2*peakS)},
		},
		Details: []string{
			"shared/report BenchmarkReport: one profile, all leads on the report's day, simulator in a child process, in-memory audit and report store",
			"peak = the largest growth of live+unswept heap objects over the heap after a GC, sampled every millisecond during the run",
		},
	}, nil
}
