package report

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wcbridge/wcbridge/shared/local/testenv"
	"github.com/wcbridge/wcbridge/shared/local/wcsim"
	"github.com/wcbridge/wcbridge/shared/whatconverts"
)

// BenchmarkReport is performance figure P6: the WhatConverts requests and the peak memory of a
// report of one profile with L leads on the day, at L = 10,000 and 100,000. Target: requests/op =
// ⌈L/2500⌉ (want-requests), and peak-MB at 100,000 at most twice peak-MB at 10,000 (the report holds
// one page, whatever L).
//
// peak-MB is the largest growth of the heap (runtime/metrics /memory/classes/heap/objects:bytes: live
// objects and garbage not yet swept, sampled every millisecond) over the heap after a GC right before
// the run. The simulator runs in a child process (this test binary, re-executed): in this process
// its hundreds of MB of generated leads would raise the GC's heap goal, and the report's garbage
// would pile up to match, so the figure would measure the simulator rather than the report. Audit
// trail and report table are in-memory fakes: this measures the WhatConverts part of the run.
func BenchmarkReport(b *testing.B) {
	for _, leads := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("leads=%d", leads), func(b *testing.B) { benchmarkReport(b, leads) })
	}
}

// benchSimEnv names the environment variable that makes this test binary serve the simulator.
const benchSimEnv = "WCBRIDGE_REPORT_BENCH_SIM_LEADS"

var benchKey = wcsim.Key{Token: "1001-0123456789abcdef", Secret: "bench-secret-0123456789abcdef"}

// TestMain serves the benchmark's simulator when this binary is started as its child.
func TestMain(m *testing.M) {
	if v := os.Getenv(benchSimEnv); v != "" {
		serveBenchSim(v)
		return
	}
	os.Exit(m.Run())
}

// serveBenchSim generates the leads, serves the simulator on a loopback port, prints its URL and
// serves until stdin is closed (the parent is done, or gone).
func serveBenchSim(leads string) {
	n, err := strconv.Atoi(leads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench sim: bad lead count")
		os.Exit(2)
	}
	sim := wcsim.New(wcsim.Options{Now: func() time.Time { return runAt }, Seed: 6})
	sim.AddProfile(wcsim.Profile{ID: 1001, AccountID: 2001})
	sim.AddProfileKey(1001, benchKey)
	sim.AddLeadsBetween(1001, n, reportDay, reportDay.Add(24*time.Hour))
	sim.SetDailyQuota(benchKey.Token, 1<<30)
	srv := httptest.NewServer(sim)
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// startBenchSim starts the child serving L leads and returns its base URL.
func startBenchSim(b *testing.B, leads int) string {
	return testenv.StartChild(b, benchSimEnv, strconv.Itoa(leads)) + "/api/v1"
}

func benchmarkReport(b *testing.B, leads int) {
	url := startBenchSim(b, leads)
	wc := whatconverts.New(url)
	var item map[string]types.AttributeValue
	d := &Daily{
		Audit: &fakeAudit{}, Reports: memoryStore(&item, nil), WhatConverts: wc,
		Credentials: whatconverts.Credentials{Profiles: map[int64]whatconverts.Key{1001: {Token: benchKey.Token, Secret: benchKey.Secret}}},
		Profiles:    []int64{1001}, Now: func() time.Time { return runAt }, Log: (&testenv.Logs{}).Logger(),
	}
	want := (leads + whatconverts.MaxLeadsPerPage - 1) / whatconverts.MaxLeadsPerPage

	var requests int64
	var peak uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		stop := sampleHeap()
		b.StartTimer()
		res, err := d.Run(context.Background(), "2026-11-28", Caller{})
		b.StopTimer()
		grown := stop()
		if err != nil {
			b.Fatal(err)
		}
		if p := storedReport(b, item).Profiles[0]; p.Partial || p.LeadsTotal != int64(leads) {
			b.Fatalf("the report counted %d leads (partial %t), want %d", p.LeadsTotal, p.Partial, leads)
		}
		requests += res.WhatConvertsRequests
		peak = max(peak, grown)
		b.StartTimer()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(want), "want-requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
}

// sampleHeap starts sampling the heap every millisecond; stop returns its largest growth over the
// heap at the start.
func sampleHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var (
		mu   sync.Mutex
		top  = base
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := read()
				mu.Lock()
				top = max(top, v)
				mu.Unlock()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		v := read()
		mu.Lock()
		defer mu.Unlock()
		top = max(top, v)
		return top - base
	}
}
