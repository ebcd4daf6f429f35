package admission

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

func busy(meanMs float64) Window {
	return Window{Requests: 100, LatencyNs: uint64(meanMs * 100 * 1e6)}
}

func mustNew(t *testing.T, cfg Config) *Controller {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIdleForegroundLeavesBackgroundAtFullRate(t *testing.T) {
	c := mustNew(t, DefaultConfig())
	for i := int64(1); i <= 10; i++ {
		if s := c.Step(i*250, Window{Requests: 19, LatencyNs: 19 * 1e9}); s != 1 || c.State() != Open {
			t.Fatalf("idle window %d: share %v state %v, want 1 open", i, s, c.State())
		}
	}
}

func TestProbeSetsTheBaselineAndLatencyMovesTheShare(t *testing.T) {
	cfg := DefaultConfig()
	c := mustNew(t, cfg)
	now := int64(0)
	step := func(w Window) float64 { now += cfg.TickMs; return c.Step(now, w) }
	if s := step(busy(9)); s != 0 || c.State() != Probing {
		t.Fatalf("first busy window: share %v state %v, want a probe", s, c.State())
	}
	if s := step(busy(2)); s != 1 || c.Baseline() != 2 || c.State() != Tracking {
		t.Fatalf("after the probe: share %v baseline %v state %v, want 1, 2 ms, tracking", s, c.Baseline(), c.State())
	}
	// Tolerated: 2 ms * 1.1 + 0.5 ms = 2.7 ms.
	if s := step(busy(2.69)); s != 1 {
		t.Fatalf("latency within tolerance: share %v, want 1", s)
	}
	want := 1.0
	for range 8 {
		want = max(cfg.MinShare, want/2)
		if s := step(busy(2.71)); s != want {
			t.Fatalf("latency above tolerance: share %v, want %v", s, want)
		}
	}
	if want != cfg.MinShare {
		t.Fatalf("the share did not reach its floor: %v", want)
	}
	for range 3 {
		want += cfg.Increase
		if s := step(busy(2)); s != want {
			t.Fatalf("latency back to baseline: share %v, want %v", s, want)
		}
	}
}

func TestProbesRecurWhileBusy(t *testing.T) {
	cfg := DefaultConfig()
	c := mustNew(t, cfg)
	probes := []int64{}
	for now := cfg.TickMs; now <= 20_000; now += cfg.TickMs {
		if c.Step(now, busy(3)) == 0 {
			probes = append(probes, now)
		}
	}
	if len(probes) < 4 || len(probes) > 5 {
		t.Fatalf("probes at %v over 20 s, want one about every %d ms", probes, cfg.ProbeEveryMs)
	}
	for i := 1; i < len(probes); i++ {
		if gap := probes[i] - probes[i-1]; gap < cfg.ProbeEveryMs || gap > cfg.ProbeEveryMs+2*cfg.TickMs {
			t.Fatalf("probes %d ms apart (%v), want about %d", gap, probes, cfg.ProbeEveryMs)
		}
	}
	// A baseline that changes with the load follows it (half per probe).
	c2 := mustNew(t, cfg)
	c2.Step(250, busy(4))
	c2.Step(500, busy(4))
	if c2.Baseline() != 4 {
		t.Fatalf("baseline %v, want 4", c2.Baseline())
	}
	for now := int64(750); now <= 5500; now += 250 {
		c2.Step(now, busy(4))
	}
	if c2.State() != Probing {
		t.Fatalf("no probe %d ms after the last: %v", cfg.ProbeEveryMs, c2.State())
	}
	c2.Step(5750, busy(8))
	if c2.Baseline() != 6 {
		t.Fatalf("baseline after a probe at 8 ms: %v, want 6", c2.Baseline())
	}
}

// TestKeepsTheForegroundWithinTolerance runs the controller against a
// model whose foreground latency grows with background's share (plus
// noise): on average, the foreground's latency stays within the
// tolerance of its baseline (plus what the floor share costs), and
// background keeps most of its rate when it costs little. Seeded.
func TestKeepsTheForegroundWithinTolerance(t *testing.T) {
	rng, _ := testseed.New(t)
	cfg := DefaultConfig()
	for _, tc := range []struct {
		costMs       float64 // added latency at full background rate
		minMeanShare float64
	}{{0.2, 0.9}, {5, 0.04}, {50, 0.04}} {
		c := mustNew(t, cfg)
		const base = 5.0
		share, sumLat, sumShare, n := 1.0, 0.0, 0.0, 0
		for now := cfg.TickMs; now <= 120_000; now += cfg.TickMs {
			lat := base + tc.costMs*share + rng.NormFloat64()*0.1
			share = c.Step(now, busy(lat))
			if now > 10_000 {
				sumLat += lat
				sumShare += share
				n++
			}
		}
		mean, meanShare := sumLat/float64(n), sumShare/float64(n)
		// Beyond the tolerance only by what the floor share costs.
		if bound := base*(1+cfg.Tolerance) + cfg.SlackMs + tc.costMs*cfg.MinShare; mean > bound {
			t.Errorf("cost %v ms: mean foreground latency %.2f ms, baseline %.1f ms: above %.2f ms", tc.costMs, mean, base, bound)
		}
		if meanShare < tc.minMeanShare {
			t.Errorf("cost %v ms: mean background share %.2f, want >= %.2f", tc.costMs, meanShare, tc.minMeanShare)
		}
		t.Logf("cost %v ms at full rate: foreground %.2f ms (baseline %.1f), background share %.2f", tc.costMs, mean, base, meanShare)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for field, spoil := range map[string]func(*Config){
		"TickMs":       func(c *Config) { c.TickMs = 0 },
		"Tolerance":    func(c *Config) { c.Tolerance = -1 },
		"SlackMs":      func(c *Config) { c.SlackMs = -1 },
		"MinShare":     func(c *Config) { c.MinShare = 0 },
		"Increase":     func(c *Config) { c.Increase = 2 },
		"ProbeEveryMs": func(c *Config) { c.ProbeEveryMs = 10 },
	} {
		cfg := DefaultConfig()
		spoil(&cfg)
		_, err := New(cfg)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s out of range: %v", field, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Few requests that are slow are a suffering foreground, not an idle one:
// with clients that wait for each answer, background work that slows them
// also cuts how many complete.
func TestFewSlowRequestsStillThrottle(t *testing.T) {
	cfg := DefaultConfig()
	c := mustNew(t, cfg)
	c.Step(250, busy(2))
	c.Step(500, busy(2)) // probe: baseline 2 ms
	if c.Baseline() != 2 {
		t.Fatalf("baseline %v", c.Baseline())
	}
	few := Window{Requests: 5, LatencyNs: 5 * 50e6} // 5 requests of 50 ms
	if s := c.Step(750, few); s != 0.5 {
		t.Fatalf("5 requests of 50 ms against a 2 ms baseline: share %v, want 0.5", s)
	}
	if s := c.Step(1000, Window{Requests: 5, LatencyNs: 5 * 2e6}); s != 1 || c.State() != Open {
		t.Fatalf("5 requests at the baseline: share %v state %v, want 1 open", s, c.State())
	}
	if s := c.Step(1250, Window{}); s != 1 {
		t.Fatalf("no requests: share %v, want 1", s)
	}
}

// A probe that saw too few requests measures nothing: the controller
// opens (it does not throttle against a zero baseline) and probes again
// when the foreground is busy.
func TestIdleProbeMeasuresNothing(t *testing.T) {
	c := mustNew(t, DefaultConfig())
	if s := c.Step(250, busy(3)); s != 0 {
		t.Fatalf("first busy window: share %v, want a probe", s)
	}
	if s := c.Step(500, Window{Requests: 3, LatencyNs: 3e6}); s != 1 || c.Baseline() != 0 || c.State() != Open {
		t.Fatalf("idle probe: share %v baseline %v state %v", s, c.Baseline(), c.State())
	}
	if s := c.Step(750, busy(3)); s != 0 || c.State() != Probing {
		t.Fatalf("busy again without a baseline: share %v state %v, want a probe", s, c.State())
	}
	// After going idle with a fresh baseline, busy windows need no probe
	// until ProbeEveryMs has passed.
	c.Step(1000, busy(3))
	c.Step(1250, Window{})
	if s := c.Step(1500, busy(3)); s != 1 || c.State() != Tracking {
		t.Fatalf("busy again with a fresh baseline: share %v state %v, want 1 tracking", s, c.State())
	}
}
