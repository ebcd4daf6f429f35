package main

import (
	"fmt"
	"testing"
	"time"
)

// An agent stopped with SIGTERM persists its vnodes' Merkle trees and
// loads them at its next start (no scan); one killed with SIGKILL after
// writes finds no record it can trust and builds every tree from a scan,
// serving meanwhile. Every key reads back after each restart.
func TestE2ERestartLoadsOrBuildsMerkleTrees(t *testing.T) {
	e := newE2EWith(t, 2, []string{"--n", "2", "--r", "1", "--w", "2"})
	c := e.client()
	const n, partitions = 300, 16
	check := func(prefix string) {
		t.Helper()
		if res := writeKeys(c, prefix, n, 8, 2); len(res.failed) > 0 {
			t.Fatalf("%d writes of %s failed: %v", len(res.failed), prefix, firstFew(res.failed))
		}
	}
	read := func(prefix string) {
		t.Helper()
		if res := readKeys(c, prefix, n, 8, 1); len(res.missing)+len(res.wrong)+len(res.errs) > 0 {
			t.Fatalf("reads of %s: missing %v wrong %v errors %v", prefix, firstFew(res.missing), firstFew(res.wrong), firstFew(res.errs))
		}
	}
	check("before")
	const victim = 1
	name := e.agents[victim].name
	e.stop(victim)
	e.start(victim)
	e.waitUp(2)
	st, err := stats(c, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.TreesLoaded != partitions || st.TreesBuilt != 0 || st.TreesBuilding != 0 {
		t.Fatalf("after a clean stop: %d trees loaded, %d built, %d building; want %d, 0, 0", st.TreesLoaded, st.TreesBuilt, st.TreesBuilding, partitions)
	}
	read("before")
	check("between") // every partition changes: the records are void
	e.kill(victim)
	e.start(victim)
	e.waitUp(2)
	read("before")
	read("between")
	waitFor(t, 30*time.Second, "trees built after SIGKILL", func() (bool, string) {
		st, err := stats(c, name)
		if err != nil {
			return false, err.Error()
		}
		return st.TreesBuilt == partitions && st.TreesBuilding == 0 && st.TreesLoaded == 0,
			fmt.Sprintf("%d loaded, %d built, %d building", st.TreesLoaded, st.TreesBuilt, st.TreesBuilding)
	})
}
