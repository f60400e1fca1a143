package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every function, built as it ships (stripped, linux/arm64, the Makefile's flags), fits P4's size
// limit (docs/performance.md). make bench reports the sizes; this fails the build of one that grew
// past it, naming it, whatever else the bench run measures.
func TestEveryFunctionFitsTheSizeLimit(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/<name>/main.go under %s: %v", root, err)
	}
	var pkgs []string
	for _, m := range mains {
		pkgs = append(pkgs, "./functions/"+filepath.Base(filepath.Dir(m)))
	}
	dir := t.TempDir()
	if err := goBuild(context.Background(), root, "arm64", dir, pkgs); err != nil {
		t.Fatal(err)
	}
	var over []string
	for _, p := range pkgs {
		name := filepath.Base(p)
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s was not built: %v", name, err)
		}
		t.Logf("%-16s %s", name, fmtMB(fi.Size()))
		if fi.Size() > maxBinary {
			over = append(over, name+" "+fmtMB(fi.Size()))
		}
	}
	slices.Sort(over)
	if len(over) > 0 {
		t.Fatalf("over the %s limit of a stripped arm64 binary: %s", fmtMB(maxBinary), strings.Join(over, ", "))
	}
}

func TestSizeVerdictNamesEveryFunctionOverTheLimit(t *testing.T) {
	if got := sizeVerdict(nil); got != "OK" {
		t.Errorf("none over: %q", got)
	}
	if got := sizeVerdict([]string{"get-report 14.7 MB", "replay 12.6 MB"}); got != "MISS: over the limit: get-report 14.7 MB, replay 12.6 MB" {
		t.Errorf("two over: %q", got)
	}
}
