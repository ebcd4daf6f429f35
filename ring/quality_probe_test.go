package ring

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// probeMembers builds the series the probe measures: "equal" (Nodes(n)),
// "mixed" (weights 1,2,3 cycling) and "zones" (3 zones, equal weights).
func probeMembers(kind string, n int) (ms, joiners []Member) {
	ms = Nodes(n)
	for i := range ms {
		switch kind {
		case "mixed":
			ms[i].Weight = 1 + i%3
		case "zones":
			ms[i].Zone = fmt.Sprintf("z%d", i%3)
		}
	}
	for k := range 3 {
		j := Member{Name: fmt.Sprintf("new-%d", k), Weight: 1}
		switch kind {
		case "mixed":
			j.Weight = 1 + k
		case "zones":
			j.Zone = fmt.Sprintf("z%d", k)
		}
		joiners = append(joiners, j)
	}
	return ms, joiners
}

// probeCheck verifies the placement constraints: N distinct owners, distinct
// zones when there are enough, and loads within the Slack cap.
func probeCheck(t *testing.T, r *Ring) {
	t.Helper()
	zones := map[string]bool{}
	for _, m := range r.Members() {
		zones[m.Zone] = true
	}
	for p := range uint32(r.Config().Partitions) {
		own := r.Owners(p)
		if len(own) != r.N() {
			t.Fatalf("partition %d: %d owners", p, len(own))
		}
		seen, zs := map[string]bool{}, map[string]bool{}
		for _, o := range own {
			m, _ := r.Member(o)
			if seen[o] || (len(zones) >= r.N() && len(zones) > 1 && zs[m.Zone]) {
				t.Fatalf("partition %d: owners %v break distinctness", p, own)
			}
			seen[o], zs[m.Zone] = true, true
		}
	}
	checkCaps(t, r)
}

func TestQualityProbe(t *testing.T) {
	cfg := Config{Partitions: 256, N: 3}
	kinds := []string{"equal", "mixed", "zones"}
	if k := os.Getenv("PROBE"); k != "" {
		kinds = []string{k}
	}
	show := []int{3, 4, 5, 10, 20, 30, 40, 50}
	for _, kind := range kinds {
		wb, wj, wl := 0.0, 0.0, 0.0
		var sj, sl float64
		fmt.Printf("%s\n  n  balance  join  leave\n", kind)
		for n := 3; n <= 50; n++ {
			ms, joiners := probeMembers(kind, n)
			r, err := New(cfg, ms)
			if err != nil {
				t.Fatal(err)
			}
			probeCheck(t, r)
			for _, j := range joiners {
				probeCheck(t, mustRing(t, cfg, append(slices.Clone(ms), j)))
			}
			q, err := Evaluate(cfg, ms, joiners)
			if err != nil {
				t.Fatal(err)
			}
			wb, wj, wl = max(wb, q.Balance), max(wj, q.JoinMovement), max(wl, q.LeaveMovement)
			sj += q.JoinMovement
			sl += q.LeaveMovement
			if slices.Contains(show, n) || os.Getenv("PROBE_ALL") != "" {
				fmt.Printf("%3d  %.3f  %.3f  %.3f\n", n, q.Balance, q.JoinMovement, q.LeaveMovement)
			}
		}
		fmt.Printf("worst  %.3f  %.3f  %.3f   (mean join %.3f leave %.3f)\n", wb, wj, wl, sj/48, sl/48)
	}
	start := time.Now()
	for range 5 {
		mustRing(t, Config{Partitions: 1024, N: 3}, Nodes(50))
	}
	fmt.Printf("New Q=1024 n=50: %v\n", time.Since(start)/5)
}
