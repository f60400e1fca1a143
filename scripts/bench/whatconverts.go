package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// measureP5 runs the actions package's BenchmarkGetLeadsRequests: Get Leads against the WhatConverts
// simulator holding 10,500 leads, for max_items N ∈ {1, 100, 2500, 10000}; the simulator counts the
// requests. The floor is ⌈N/2500⌉, 2,500 being the API's page maximum.
func measureP5(ctx context.Context, b *bench) (result, error) {
	b.progress("  P5: compiling the actions package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/actions")
	if err != nil {
		return result{}, err
	}
	b.progress("  P5: BenchmarkGetLeadsRequests (seeds 10,500 leads, then N = 1, 100, 2500, 10000)")
	rs, err := bin.bench(ctx, "^BenchmarkGetLeadsRequests$", "2x")
	if err != nil {
		return result{}, err
	}
	type point struct {
		n               int
		requests, floor float64
	}
	var points []point
	var details []string
	for _, r := range rs {
		sub, ok := strings.CutPrefix(r.Name, "BenchmarkGetLeadsRequests/N=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(sub)
		if err != nil { // e.g. N=10000,lambda-6MB: a detail, not a point of the figure
			details = append(details, fmt.Sprintf("N=%s: requests %s, leads answered %s (the answer stops at Lambda's 6 MB response bound, and so does the paging)",
				sub, fmtCount(r.Metrics["wc_requests/op"]), fmtCount(r.Metrics["leads/op"])))
			continue
		}
		points = append(points, point{n: n, requests: r.Metrics["wc_requests/op"],
			floor: math.Ceil(float64(n) / 2500)})
	}
	if len(points) == 0 {
		return result{}, errors.New("BenchmarkGetLeadsRequests reported no N=<n> sub-benchmarks")
	}
	sort.Slice(points, func(i, j int) bool { return points[i].n < points[j].n })
	var vals, floors []string
	worst, equal := 0.0, true
	for _, p := range points {
		vals = append(vals, fmtCount(p.requests))
		floors = append(floors, fmtCount(p.floor))
		worst = max(worst, p.requests/p.floor)
		equal = equal && p.requests == p.floor
		details = append(details, fmt.Sprintf("N=%d: requests %s, floor %s", p.n, fmtCount(p.requests), fmtCount(p.floor)))
	}
	ns := make([]string, len(points))
	for i, p := range points {
		ns[i] = strconv.Itoa(p.n)
	}
	return result{
		Rows: []row{{ID: "P5", Name: "WhatConverts requests, Get Leads N=" + strings.Join(ns, "/"),
			Value: strings.Join(vals, "/"), Baseline: "⌈N/2500⌉ " + strings.Join(floors, "/"),
			Ratio: fmtRatio(worst) + " worst", Target: "target equal", Verdict: verdict(equal)}},
		Details: append([]string{"shared/actions BenchmarkGetLeadsRequests against the simulator (wcsim counts the requests)"}, details...),
	}, nil
}
