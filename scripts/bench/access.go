package main

import (
	"context"
	"errors"
	"fmt"
)

// The access policy's figure (security.md S17: authorization may add at most 5% to a warm action's
// CPU). Registered here, in its own file, so that the P figures stay as performance.md lists them.
func init() {
	figures = append(figures, figure{"A1", "authorization's share of a warm action's CPU", "target ≤5%", measureA1})
}

// measureA1 runs the actions package's BenchmarkWarmGetLead (a warm Get Lead through the API
// Gateway adapter with the Cedar authorizer over a 41-statement policy, WhatConverts and the audit
// log in memory) and BenchmarkAuthorize (that authorization step alone), interleaved, and reports
// the median of the step over the median of the action. Without network and KMS the action's CPU
// is a lower bound of the deployed one, so the share is an upper bound.
func measureA1(ctx context.Context, b *bench) (result, error) {
	b.progress("  A1: compiling the actions package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/actions")
	if err != nil {
		return result{}, err
	}
	var action, authz []float64
	for i := range b.rounds {
		b.progress("  A1: round %d of %d", i+1, b.rounds)
		rs, err := bin.bench(ctx, "^(BenchmarkWarmGetLead|BenchmarkAuthorize)$", "300ms")
		if err != nil {
			return result{}, err
		}
		a, okA := find(rs, "BenchmarkWarmGetLead")
		z, okZ := find(rs, "BenchmarkAuthorize")
		if !okA || !okZ {
			return result{}, errors.New("BenchmarkWarmGetLead or BenchmarkAuthorize did not report")
		}
		action = append(action, a.Metrics["ns/op"])
		authz = append(authz, z.Metrics["ns/op"])
	}
	share := median(authz) / median(action)
	return result{
		Rows: []row{{ID: "A1", Name: "authorization's share of a warm action's CPU",
			Value: fmt.Sprintf("%.2f%%", 100*share), Baseline: "warm Get Lead " + fmtNanos(median(action)),
			Ratio: fmtRatio(share), Target: "target ≤5%", Verdict: verdict(share <= 0.05)}},
		Details: []string{
			"shared/actions BenchmarkAuthorize over BenchmarkWarmGetLead, medians of interleaved rounds",
			fmt.Sprintf("authorize %s, warm Get Lead %s (41-statement policy, caller an assumed-role session)",
				fmtNanos(median(authz)), fmtNanos(median(action))),
		},
	}, nil
}
