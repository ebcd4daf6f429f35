package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testseed"
)

func TestPlanIsSeededHealedAndNeverAMajority(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		seed := rng.Uint64()
		cfg := PlanConfig{Nodes: 3 + rng.IntN(5), Duration: time.Duration(1+rng.IntN(120)) * time.Second,
			Fault: time.Duration(1+rng.IntN(8)) * time.Second, Calm: time.Duration(1+rng.IntN(5)) * time.Second}
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
			if !e.Heal && (len(e.Nodes) == 0 || len(e.Nodes) > (cfg.Nodes-1)/2 && len(e.Nodes) > 1) {
				t.Fatalf("fault on %v of %d nodes: a majority or nothing", e.Nodes, cfg.Nodes)
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
	if _, err := Plan(1, PlanConfig{Nodes: 2, Duration: time.Second, Fault: time.Second, Calm: time.Second}); err == nil {
		t.Fatal("2 nodes accepted")
	}
	if evs, _ := Plan(1, PlanConfig{Nodes: 5, Duration: time.Minute, Fault: 5 * time.Second, Calm: 3 * time.Second}); len(evs) < 8 {
		t.Fatalf("a minute of faults gives only %d events", len(evs))
	}
}
