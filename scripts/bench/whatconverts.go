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
// simulator holding 10,500 leads, for max_items N ∈ {1, 100, 2500, 10000}, with Lambda's 6 MB
// response bound on as deployed; the simulator counts the requests. The floor is ⌈N/2500⌉, 2,500
// being the API's page maximum, or, for an answer that stops at the bound, ⌈leads answered/2500⌉.
func measureP5(ctx context.Context, b *bench) (result, error) {
	b.progress("  P5: compiling the actions package's benchmarks")
	bin, err := compileTests(ctx, b.root, b.tmp, "./shared/actions")
	if err != nil {
		return result{}, err
	}
	b.progress("  P5: BenchmarkGetLeadsRequests (seeds 10,500 leads, then N = 1, 100, 2500, 10000, 6 MB bound on)")
	rs, err := bin.bench(ctx, "^BenchmarkGetLeadsRequests$", "2x")
	if err != nil {
		return result{}, err
	}
	type point struct {
		n                      int
		requests, floor, leads float64
		truncated              bool
	}
	var points []point
	var details []string
	for _, r := range rs {
		sub, ok := strings.CutPrefix(r.Name, "BenchmarkGetLeadsRequests/N=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(sub)
		if err != nil {
			continue
		}
		points = append(points, point{n: n, requests: r.Metrics["wc_requests/op"], floor: r.Metrics["floor_requests/op"],
			leads: r.Metrics["leads/op"], truncated: r.Metrics["truncated"] == 1})
	}
	if len(points) == 0 {
		return result{}, errors.New("BenchmarkGetLeadsRequests reported no N=<n> sub-benchmarks")
	}
	sort.Slice(points, func(i, j int) bool { return points[i].n < points[j].n })
	var vals, floors, ns []string
	worst, equal := 0.0, true
	for _, p := range points {
		if p.floor == 0 {
			return result{}, fmt.Errorf("BenchmarkGetLeadsRequests N=%d reported no floor_requests/op", p.n)
		}
		vals = append(vals, fmtCount(p.requests))
		floors = append(floors, fmtCount(p.floor))
		ns = append(ns, strconv.Itoa(p.n))
		worst = max(worst, p.requests/p.floor)
		equal = equal && p.requests == p.floor
		line := fmt.Sprintf("N=%d: requests %s, floor %s, leads answered %s", p.n, fmtCount(p.requests), fmtCount(p.floor), fmtCount(p.leads))
		if p.truncated {
			line += fmt.Sprintf(" (the answer stops at Lambda's 6 MB response bound, and so does the paging: floor ⌈answered/2500⌉; ⌈N/2500⌉ would be %.0f)",
				math.Ceil(float64(p.n)/2500))
		}
		details = append(details, line)
	}
	return result{
		Rows: []row{{ID: "P5", Name: "WhatConverts requests, Get Leads N=" + strings.Join(ns, "/") + ", 6 MB bound on",
			Value: strings.Join(vals, "/"), Baseline: "floor " + strings.Join(floors, "/"),
			Ratio: fmtRatio(worst) + " worst", Target: "target equal", Verdict: verdict(equal)}},
		Details: append([]string{"shared/actions BenchmarkGetLeadsRequests against the simulator (wcsim counts the requests), Deps.MaxResponseBytes at Lambda's 6 MB"}, details...),
	}, nil
}
