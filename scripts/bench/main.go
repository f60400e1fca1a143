// Command bench prints the figures P1–P7 of docs/performance.md and the replay's throughput (R1),
// each against a floor or baseline measured in the same run, with the ratio and a verdict against the
// target, one line each:
//
//	scripts/with-services.sh go run ./scripts/bench -doc docs/performance-results.md -readme README.md   (make bench)
//	scripts/with-services.sh go run ./scripts/bench -only P1,P4
//
// The machines are shared and noisy, so every time is a median of interleaved rounds and every
// verdict is a ratio, never an absolute time. Where a package's own benchmark measures a figure, it
// is that benchmark that runs (its test binary, compiled once); what no package benchmark can measure
// (cold starts under the Lambda runtime interface emulator, latency through the local stack, KMS calls
// of 10,000 webhooks through the real handler) is measured here. A figure whose benchmark does not
// exist yet prints "not measured: <why>" instead of a number.
//
// Progress goes to stderr; the table, then the details of each figure, go to stdout. With -doc and
// -readme, the table (and in -doc the details) also replace the generated blocks of those Markdown
// files, with the run's date and machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table.
type row struct {
	ID, Name string
	Value    string // the figure
	Baseline string // "floor 20.1 µs", "naive 10,000", ...
	Ratio    string // "2.05x"
	Target   string // "target ≤3x"
	Verdict  string // OK, MISS, MISS (explained: ...), not measured: ...
}

// result is what one figure's measurement gives: its rows and the details printed under the table.
type result struct {
	Rows    []row
	Details []string
}

// notMeasured is the row of a figure that could not be measured, with why.
func notMeasured(id, name, target string, err error) result {
	why := strings.SplitN(err.Error(), "\n", 2)[0]
	return result{Rows: []row{{ID: id, Name: name, Value: "-", Baseline: "-", Ratio: "-", Target: target,
		Verdict: "not measured: " + why}}, Details: detailLines(err)}
}

// detailLines keeps the whole error (build output, a benchmark's failure) for the details section.
func detailLines(err error) []string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) <= 1 {
		return nil
	}
	return lines
}

// figure is one of the figures of docs/performance.md and how it is measured.
type figure struct {
	ID      string
	Name    string
	Target  string
	Measure func(ctx context.Context, b *bench) (result, error)
}

var figures = []figure{
	{"P1", "CPU per webhook", "target ≤2x", measureP1},
	{"P2", "KMS requests: warm 10,000 webhooks; a fleet's day", "target ≤2; reported", measureP2},
	{"P3", "DynamoDB requests and write units per webhook", "target ≤2 new, ≤1 redelivered; ≤1.5x units", measureP3},
	{"P4", "cold start under aws-lambda-rie", "target ≤1.2x clients, ≤1.5x hello, ≤12 MB", measureP4},
	{"P5", "WhatConverts requests, Get Leads", "target equal", measureP5},
	{"P6", "daily report: requests, peak memory", "target equal; ≤2x", measureP6},
	{"P7", "webhook latency, local stack", "target p50 ≤2x", measureP7},
	{"R1", "replay throughput, local stack", "reported", measureReplay},
	{"D1", "audit digest build and verify per 100,000 records", "linear; memory flat", measureD1}, // scripts/bench/audit.go
}

// bench is the run's shared state: where the module is, a scratch directory, options.
type bench struct {
	root    string // module root
	tmp     string // scratch: test binaries, bootstraps
	rounds  int    // interleaved rounds of every timed figure
	webhook testBinary
	started time.Time
}

// progress reports what is being measured, on stderr.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %5.1fs  %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	only := flag.String("only", "", "comma-separated figures to measure (default: all), e.g. P1,P4")
	rounds := flag.Int("rounds", 7, "interleaved rounds of each timed figure (medians are reported)")
	doc := flag.String("doc", "", "a Markdown file whose generated block (between "+docBegin+" and "+docEnd+") gets this run's table and details")
	readme := flag.String("readme", "", "a Markdown file whose generated block gets this run's table alone, its verdicts without their explanations")
	flag.Parse()
	if *only != "" && (*doc != "" || *readme != "") {
		fmt.Fprintln(os.Stderr, "bench: -only measures some figures: it writes no table into -doc or -readme, whose tables are whole runs")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *only, *rounds, *doc, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, only string, rounds int, doc, readme string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "wcbridge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{root: root, tmp: tmp, rounds: max(rounds, 1), started: time.Now()}

	want := map[string]bool{}
	for _, id := range strings.Split(only, ",") {
		if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
			want[id] = true
		}
	}
	var rows []row
	var details []string
	for _, f := range figures {
		if len(want) > 0 && !want[f.ID] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		b.progress("%s %s ...", f.ID, f.Name)
		start := time.Now()
		res, err := f.Measure(ctx, b)
		if err != nil {
			res = notMeasured(f.ID, f.Name, f.Target, err)
		}
		b.progress("%s done in %.1fs", f.ID, time.Since(start).Seconds())
		rows = append(rows, res.Rows...)
		if len(res.Details) > 0 {
			details = append(details, f.ID+" "+f.Name+":")
			for _, d := range res.Details {
				details = append(details, "    "+d)
			}
		}
	}

	heading := fmt.Sprintf("wcbridge performance figures (docs/performance.md), %s, %s/%s, %d CPUs (%s), %s, %d rounds, %.0fs",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(),
		runtime.Version(), b.rounds, time.Since(b.started).Seconds())
	fmt.Printf("%s\n\n", heading)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Value, r.Baseline, r.Ratio, r.Target, r.Verdict)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(details) > 0 {
		fmt.Println("\ndetails:")
		for _, d := range details {
			fmt.Println("  " + d)
		}
	}
	generated := "Generated by `make bench`: " + strings.TrimPrefix(heading, "wcbridge performance figures (docs/performance.md), ") + "."
	for _, out := range []struct {
		path  string
		block string
	}{
		{doc, generated + "\n\n" + markdownTable(rows, false) + detailsBlock(details)},
		{readme, generated + " Each figure's baseline and why a target is missed: " +
			"[docs/performance-results.md](docs/performance-results.md).\n\n" + markdownTable(rows, true)},
	} {
		if out.path == "" {
			continue
		}
		if err := replaceBlock(filepath.Join(b.root, out.path), out.block); err != nil {
			return err
		}
		b.progress("wrote the table into %s", out.path)
	}
	return nil
}

// The generated block of a Markdown file: everything between the markers is this run's.
const (
	docBegin = "<!-- make bench: begin -->"
	docEnd   = "<!-- make bench: end -->"
)

// replaceBlock replaces the generated block of the Markdown file at path with block, leaving the
// rest of the file as it is.
func replaceBlock(path, block string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(old)
	i, j := strings.Index(text, docBegin), strings.Index(text, docEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s block", path, docBegin, docEnd)
	}
	text = text[:i] + docBegin + "\n" + block + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}

// markdownTable is the run's table; short keeps each verdict's first words, without the
// explanation of a missed target (the results document has it).
func markdownTable(rows []row, short bool) string {
	var b strings.Builder
	b.WriteString("| # | figure | value | baseline (same run) | ratio | target | verdict |\n|---|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, r := range rows {
		v := r.Verdict
		if short {
			v = shortVerdict(v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.ID, cell(r.Name), cell(r.Value), cell(r.Baseline), cell(r.Ratio),
			cell(r.Target), cell(v))
	}
	return b.String()
}

// shortVerdict is "MISS (explained)" for "MISS (explained: why)", the verdict itself otherwise.
func shortVerdict(v string) string {
	if head, _, ok := strings.Cut(v, " (explained:"); ok {
		return head + " (explained)"
	}
	return v
}

// detailsBlock is the details section as a fenced block ("" without details).
func detailsBlock(details []string) string {
	if len(details) == 0 {
		return ""
	}
	return "\n```text\n" + strings.Join(details, "\n") + "\n```\n"
}

// cpuModel is the processor's name as Linux reports it ("unknown" elsewhere).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// moduleRoot is the directory of go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the module (no go.mod found)")
		}
		dir = parent
	}
}
