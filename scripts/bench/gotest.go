package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// testBinary is one package's compiled test binary. The figures come from the packages' own
// benchmarks, run by their test binaries as `go test -bench` would run them: compiled once, then run
// as often as the figure needs (interleaved rounds cost no recompilation).
type testBinary struct {
	pkg  string // import path relative to the module root, e.g. ./shared/webhook
	path string // the compiled binary
	dir  string // the package's directory: go test runs a test binary there
}

// compileTests builds pkg's test binary into tmp.
func compileTests(ctx context.Context, root, tmp, pkg string) (testBinary, error) {
	name := strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_") + ".test"
	bin := testBinary{pkg: pkg, path: filepath.Join(tmp, name), dir: filepath.Join(root, filepath.FromSlash(pkg))}
	if _, err := os.Stat(bin.dir); err != nil {
		return bin, fmt.Errorf("package %s does not exist yet", pkg)
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin.path, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return bin, fmt.Errorf("go test -c %s: %v\n%s", pkg, err, tail(out, 20))
	}
	if _, err := os.Stat(bin.path); err != nil {
		return bin, fmt.Errorf("package %s has no tests", pkg)
	}
	return bin, nil
}

// benchResult is one line of benchmark output: the name (without the -GOMAXPROCS suffix), the
// iterations, and every metric by unit (ns/op, B/op, allocs/op and the ReportMetric ones).
type benchResult struct {
	Name    string
	N       int
	Metrics map[string]float64
}

// bench runs the benchmarks matching pattern, and no test, and returns their results. It fails when
// the binary fails or a matching benchmark was skipped (e.g. without the local services), naming why.
func (b testBinary) bench(ctx context.Context, pattern, benchtime string, extra ...string) ([]benchResult, error) {
	args := append([]string{"-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.benchmem"}, extra...)
	cmd := exec.CommandContext(ctx, b.path, args...)
	cmd.Dir = b.dir
	out, err := cmd.CombinedOutput()
	results := parseBench(out)
	if err != nil {
		return results, fmt.Errorf("%s -test.bench %s: %v\n%s", b.pkg, pattern, err, tail(out, 20))
	}
	if m := skipLine.FindSubmatch(out); m != nil {
		return results, fmt.Errorf("%s: a benchmark skipped: %s", b.pkg, strings.TrimSpace(string(m[1])))
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("%s: no benchmark matches %s", b.pkg, pattern)
	}
	return results, nil
}

var (
	skipLine    = regexp.MustCompile(`(?m)--- SKIP: \S+\s*(?:\([^)]*\))?\s*\n\s*(.*)`)
	procsSuffix = regexp.MustCompile(`-\d+$`)
)

// parseBench reads the standard benchmark lines:
//
//	BenchmarkIngest-2   	   31274	     38210 ns/op	   41.2 MB/s	    9120 B/op	     112 allocs/op
func parseBench(out []byte) []benchResult {
	var rs []benchResult
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		r := benchResult{Name: procsSuffix.ReplaceAllString(f[0], ""), N: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r.Metrics[f[i+1]] = v
		}
		rs = append(rs, r)
	}
	return rs
}

// find returns the result named name.
func find(rs []benchResult, name string) (benchResult, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return benchResult{}, false
}

// tail is the last n lines of out, for an error message.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.TrimSpace([]byte(strings.Join(lines, "\n"))))
}
