package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceBlockRewritesOnlyTheGeneratedBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# title\n\nintro\n\n" + docBegin + "\nthe last run's table\n" + docEnd + "\n\n## after\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceBlock(path, "this run's table\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# title\n\nintro\n\n" + docBegin + "\nthis run's table\n" + docEnd + "\n\n## after\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	for name, text := range map[string]string{
		"no markers":         "# title\n",
		"markers reversed":   docEnd + "\n" + docBegin + "\n",
		"only the begin one": docBegin + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := replaceBlock(path, "x\n"); err == nil || !strings.Contains(err.Error(), "block") {
				t.Fatalf("want an error naming the missing block, got %v", err)
			}
			if got, _ := os.ReadFile(path); string(got) != text {
				t.Fatalf("a file without a block was changed: %q", got)
			}
		})
	}
}

func TestMarkdownTable(t *testing.T) {
	rows := []row{
		{ID: "P1", Name: "CPU per webhook", Value: "90 µs", Baseline: "fair floor 40 µs", Ratio: "2.25x", Target: "target ≤2x",
			Verdict: "MISS (explained: the audit record's build; see details)"},
		{ID: "P5", Name: "requests N=1|100", Value: "1/1", Baseline: "floor 1/1", Ratio: "1.00x", Target: "target equal", Verdict: "OK"},
	}
	long, short := markdownTable(rows, false), markdownTable(rows, true)
	for _, c := range []struct{ what, table, want string }{
		{"the full verdict in the results document", long, "| MISS (explained: the audit record's build; see details) |"},
		{"the short verdict in the README", short, "| P1 | CPU per webhook | 90 µs | fair floor 40 µs | 2.25x | target ≤2x | MISS (explained) |"},
		{"a verdict without explanation as it is", short, "| OK |"},
		{"a pipe in a cell escaped", short, `requests N=1\|100`},
	} {
		if !strings.Contains(c.table, c.want) {
			t.Errorf("%s: %q not in\n%s", c.what, c.want, c.table)
		}
	}
	if strings.Contains(short, "audit record's build") {
		t.Errorf("the short table carries the explanation:\n%s", short)
	}
}
