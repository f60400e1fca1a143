package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// standInPrefix is where the code lives that only stands in for AWS and WhatConverts on a laptop
// (the local API Gateway, bus, rules, dev stack, simulator and test helpers). None of it may ship.
const standInPrefix = "github.com/wcbridge/wcbridge/shared/local/"

// standIns returns the packages of a `go list -deps` listing that are local stand-ins.
func standIns(deps string) []string {
	var found []string
	for _, p := range strings.Fields(deps) {
		if strings.HasPrefix(p, standInPrefix) || p == strings.TrimSuffix(standInPrefix, "/") {
			found = append(found, p)
		}
	}
	return found
}

func goListDeps(t *testing.T, pattern string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return string(out)
}

func TestNoFunctionLinksALocalStandIn(t *testing.T) {
	deps := goListDeps(t, "../functions/...")
	if !strings.Contains(deps, "github.com/wcbridge/wcbridge/shared/audit") {
		t.Fatalf("go list -deps ../functions/... does not list shared/audit; is the listing empty?\n%s", deps)
	}
	if bad := standIns(deps); len(bad) > 0 {
		t.Fatalf("the shipped functions link local stand-ins: %s", strings.Join(bad, ", "))
	}
}

// The check itself catches a binary that links a stand-in: the dev command does, by design.
func TestTheBoundaryCheckCatchesAStandIn(t *testing.T) {
	if bad := standIns(goListDeps(t, "../scripts/dev")); len(bad) == 0 {
		t.Fatal("scripts/dev links the dev stack, yet the check found no stand-in in its dependencies")
	}
}
