package chaos

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testseed"
)

func TestPlanIsSeededHealedAndNeverAMajority(t *testing.T) {
	rng, _ := testseed.New(t)
	withs := 0
	for range 200 {
		seed := rng.Uint64()
		cfg := PlanConfig{Nodes: 3 + rng.IntN(5), Duration: time.Duration(1+rng.IntN(120)) * time.Second,
			Fault: time.Duration(1+rng.IntN(8)) * time.Second, Calm: time.Duration(1+rng.IntN(5)) * time.Second}
		if rng.IntN(2) == 0 {
			cfg.Faults = AllFaults
		}
		a, err := Plan(seed, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Plan(seed, cfg)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("seed %d gives two schedules", seed)
		}
		var last time.Duration
		for i, e := range a {
			if e.At < last || e.At > cfg.Duration {
				t.Fatalf("event %v out of order or past the end (%v)", e, cfg.Duration)
			}
			last = e.At
			if e.Heal != (i%2 == 1) {
				t.Fatalf("schedule does not alternate fault and heal: %v", a)
			}
			switch {
			case e.Heal:
			case e.Fault == Join:
				if len(e.Nodes) != 0 {
					t.Fatalf("join names cluster nodes %v: only the spare joins", e.Nodes)
				}
			case e.Fault == Leave && len(e.Nodes) != 1:
				t.Fatalf("%d nodes leave at once", len(e.Nodes))
			case e.Fault == Partition:
			case len(e.Nodes) == 0 || len(e.Nodes) > (cfg.Nodes-1)/2 && len(e.Nodes) > 1:
				t.Fatalf("fault on %v of %d nodes: a majority or nothing", e.Nodes, cfg.Nodes)
			}
			if !e.Heal && e.Length <= 0 {
				t.Fatalf("fault %v without a length", e)
			}
			if e.With != 0 {
				withs++
				if e.With == e.Fault || !nodeFault(e.With) || !nodeFault(e.Fault) || len(e.Nodes) != 1 || len(e.WithNodes) != 1 ||
					e.Nodes[0] == e.WithNodes[0] || e.WithNodes[0] < 0 || e.WithNodes[0] >= cfg.Nodes {
					t.Fatalf("a bad pair of faults: %v", e)
				}
			}
			for _, n := range e.Nodes {
				if n < 0 || n >= cfg.Nodes {
					t.Fatalf("node %d of %d", n, cfg.Nodes)
				}
			}
		}
		if len(a)%2 != 0 {
			t.Fatalf("schedule does not end healed: %v", a)
		}
	}
	if withs == 0 {
		t.Fatal("no pair of faults drawn")
	}
	if _, err := Plan(1, PlanConfig{Nodes: 2, Duration: time.Second, Fault: time.Second, Calm: time.Second}); err == nil {
		t.Fatal("2 nodes accepted")
	}
	if evs, _ := Plan(1, PlanConfig{Nodes: 5, Duration: time.Minute, Fault: 5 * time.Second, Calm: 3 * time.Second}); len(evs) < 8 {
		t.Fatalf("a minute of faults gives only %d events", len(evs))
	}
	for _, k := range AllFaults {
		if p, err := ParseFault(k.String()); err != nil || p != k {
			t.Fatalf("ParseFault(%q) = %v, %v", k, p, err)
		}
	}
	if _, err := ParseFault("flood"); err == nil {
		t.Fatal("an unknown fault parses")
	}
}

// Partition shapes: halves split the nodes, an isolated node reaches
// nobody, a bridge node reaches everyone, and in the majorities ring each
// node reaches a majority, no two the same set.
func TestPartitionShapes(t *testing.T) {
	rng, _ := testseed.New(t)
	seen := map[string]bool{}
	for range 400 {
		n := 3 + rng.IntN(6)
		shape, nodes, blocked := partition(rng, n)
		seen[shape] = true
		reach := make([]map[int]bool, n)
		for i := range n {
			reach[i] = map[int]bool{i: true}
			for j := range n {
				reach[i][j] = true
			}
		}
		for _, b := range blocked {
			if b[0] >= b[1] || b[1] >= n {
				t.Fatalf("%s: bad pair %v of %d", shape, b, n)
			}
			delete(reach[b[0]], b[1])
			delete(reach[b[1]], b[0])
		}
		switch shape {
		case ShapeHalves:
			if len(nodes) != n/2 {
				t.Fatalf("halves of %d: side %v", n, nodes)
			}
			for i := range n {
				want := n - n/2
				if slices.Contains(nodes, i) {
					want = n / 2
				}
				if len(reach[i]) != want {
					t.Fatalf("halves: %d reaches %d, want its side of %d", i, len(reach[i]), want)
				}
			}
		case ShapeIsolated:
			if len(reach[nodes[0]]) != 1 {
				t.Fatalf("isolated %d reaches %v", nodes[0], reach[nodes[0]])
			}
		case ShapeBridge:
			if len(reach[nodes[0]]) != n {
				t.Fatalf("bridge %d reaches %v", nodes[0], reach[nodes[0]])
			}
		case ShapeRing:
			sets := map[string]bool{}
			for i := range n {
				if len(reach[i]) <= n/2 {
					t.Fatalf("ring of %d: %d reaches %d, not a majority", n, i, len(reach[i]))
				}
				sets[fmt.Sprint(slices.Sorted(maps.Keys(reach[i])))] = true
			}
			if n >= 5 && len(sets) != n {
				t.Fatalf("ring of %d: only %d distinct views", n, len(sets))
			}
		}
	}
	if len(seen) != 4 {
		t.Fatalf("shapes drawn: %v", seen)
	}
}
