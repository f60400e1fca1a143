#!/usr/bin/env bash
# Runs every fuzz target of the module (every parser of untrusted input), one at a time, for FUZZTIME each.
#   scripts/fuzz.sh [FUZZTIME]          FUZZTIME as go test's -fuzztime: 60s (default), 10s, 5000x
#   FUZZ_SAVE_CORPUS=1 scripts/fuzz.sh  also copy the corpus each target grew into its testdata/fuzz
#   FUZZ_MATCH=Ingest scripts/fuzz.sh   only the targets whose name matches (an extended regexp)
#
# The targets are discovered (go test -list '^Fuzz' ./...), so a new one is fuzzed without editing this
# script. Every target runs even when an earlier one failed; the script fails if any did, and names
# them. Where inputs land, as go test -fuzz does it:
#   - an input that fails is written to <package>/testdata/fuzz/<Target>/ (minimised for at most 5 s):
#     commit it, and it runs as a regression case in every `go test` from then on;
#   - new interesting inputs go to the fuzz cache ($(go env GOCACHE)/fuzz), so each run starts from
#     the corpus the previous runs grew. With FUZZ_SAVE_CORPUS=1 the script copies each target's
#     cached corpus into its testdata/fuzz as well, for committing (hundreds of files per target after
#     a minute, so it is a choice, not the default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fuzztime=${1:-${FUZZTIME:-60s}}
match=${FUZZ_MATCH:-.}
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz"

echo "fuzz: discovering targets (go test -list '^Fuzz' ./...)"
# go test -list prints each matching name, then "ok  <package> <time>" for the package they belong to.
listing=$(go test -list '^Fuzz' ./... 2>&1) || { echo "$listing" >&2; echo "fuzz: listing the targets failed" >&2; exit 1; }
targets=()
pending=()
while IFS= read -r line; do
  case "$line" in
    Fuzz*) pending+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      for name in "${pending[@]}"; do
        if [[ "$name" =~ $match ]]; then targets+=("$pkg $name"); fi
      done
      pending=() ;;
    *) pending=() ;;
  esac
done <<<"$listing"

total=${#targets[@]}
if ((total == 0)); then echo "fuzz: no fuzz target matches '$match'" >&2; exit 1; fi
echo "fuzz: $total targets, $fuzztime each, -fuzzminimizetime=5s"

count_files() { if [[ -d "$1" ]]; then find "$1" -type f | wc -l; else echo 0; fi; }

failed=()
start=$SECONDS
i=0
for t in "${targets[@]}"; do
  i=$((i + 1))
  pkg=${t% *}
  name=${t#* }
  dir=${pkg#"$module"}
  dir=${dir#/}
  before=$(count_files "$cache/$pkg/$name")
  printf 'fuzz: [%d/%d] %s %s ... ' "$i" "$total" "${dir:-.}" "$name"
  t0=$SECONDS
  log=$(mktemp "${TMPDIR:-/tmp}/wcbridge-fuzz.XXXXXX")
  run() { go test -run "^${name}\$" -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" >"$log" 2>&1; }
  ok=0
  if run; then
    ok=1
  elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
    # On a loaded machine go test's fuzzing coordinator can run out of time stopping its workers and
    # report "context deadline exceeded" with no failing input: not a finding. Run the target again;
    # a second such failure counts.
    printf '(coordinator timed out with no failing input; again) '
    if run; then ok=1; fi
  fi
  if ((ok)); then
    after=$(count_files "$cache/$pkg/$name")
    # The last progress line says how many inputs were executed.
    execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    echo "ok ($((SECONDS - t0))s, ${execs:-?} execs, corpus $before -> $after in the cache)"
    if [[ "${FUZZ_SAVE_CORPUS:-0}" == 1 && -d "$cache/$pkg/$name" ]]; then
      mkdir -p "$dir/testdata/fuzz/$name"
      cp -n "$cache/$pkg/$name"/* "$dir/testdata/fuzz/$name/" 2>/dev/null || true
      echo "fuzz:   corpus copied to $dir/testdata/fuzz/$name"
    fi
  else
    echo "FAIL ($((SECONDS - t0))s)"
    # The failure as go test reports it: the panic or t.Error and the input's file.
    grep -vE '^fuzz: elapsed|^(ok|PASS)' "$log" | tail -40 | sed 's/^/    /' || true
    failed+=("${dir:-.} $name")
  fi
  rm -f "$log"
done

echo "fuzz: $((total - ${#failed[@]}))/$total targets passed in $((SECONDS - start))s"
if ((${#failed[@]} > 0)); then
  printf 'fuzz: FAILED %s (the failing input is under its testdata/fuzz; commit it with the fix)\n' "${failed[@]}"
  exit 1
fi
