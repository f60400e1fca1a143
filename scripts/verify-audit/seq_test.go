package main

import (
	"regexp"
	"strings"
	"testing"
)

// The insider deletes a record before its period is digested: the digest commits to the trail
// without it, and the command line names the hole in its writer's numbers (exit 1).
func TestARecordDeletedBeforeItsDigest(t *testing.T) {
	var gone string
	tr := newTrailWith(t, func(tr *trail) {
		gone = tr.records[1].Writer
		deleteItem(t, tr.db, tr.table, recordKey(tr.records[1].ID))
	})
	code, stdout, stderr := execute(t, tr.env, "-date", "2025-03-15", "-public-key", tr.env["PUBLIC_KEY_FILE"])
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	// 08:00 holds seqs 1-4 of the writer, 09:00 seqs 5-8: the second of 09:00 is seq 6.
	want := regexp.MustCompile(`^missing-record 2025-03-15T09 writer ` + regexp.QuoteMeta(gone) + ` seq 6: no record`)
	if code != 1 || len(lines) != 2 || !want.MatchString(lines[0]) || !strings.HasSuffix(lines[1], ": TAMPERED, 1 finding") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
