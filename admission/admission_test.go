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
	few := Window{Requests: 19, LatencyNs: 19 * 2e6}
	for i := int64(1); i <= 10; i++ {
		if s := c.Step(i*250, Window{}); s != 1 || c.State() != Open {
			t.Fatalf("window %d without requests: share %v state %v, want 1 open", i, s, c.State())
		}
	}
	c.Step(2750, few) // the first requests: a probe measures them
	c.Step(3000, few)
	for i := int64(13); i <= 20; i++ {
		if s := c.Step(i*250, few); s != 1 || c.State() != Open {
			t.Fatalf("window %d of 19 requests at the baseline: share %v state %v, want 1 open", i, s, c.State())
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

// A probe window without requests measures nothing, and the next window
// with requests probes again; a probe with few requests still measures
// (a baseline from few requests beats none).
func TestProbeWithoutRequestsMeasuresNothing(t *testing.T) {
	c := mustNew(t, DefaultConfig())
	if s := c.Step(250, busy(3)); s != 0 {
		t.Fatalf("first busy window: share %v, want a probe", s)
	}
	if c.Step(500, Window{}); c.Baseline() != 0 {
		t.Fatalf("an empty probe window set the baseline to %v", c.Baseline())
	}
	if s := c.Step(750, busy(3)); s != 0 || c.State() != Probing {
		t.Fatalf("busy again without a baseline: share %v state %v, want a probe", s, c.State())
	}
	c.Step(1000, Window{Requests: 3, LatencyNs: 3 * 4e6})
	if c.Baseline() != 4 {
		t.Fatalf("a probe of 3 requests of 4 ms: baseline %v, want 4", c.Baseline())
	}
	// With a fresh baseline, busy windows need no probe until
	// ProbeEveryMs has passed.
	c.Step(1250, Window{})
	if s := c.Step(1500, busy(4)); s != 1 || c.State() != Tracking {
		t.Fatalf("busy again with a fresh baseline: share %v state %v, want 1 tracking", s, c.State())
	}
}

// A foreground slow from the start with few requests (clients that wait
// for each answer, slowed by background work) is measured and throttled,
// not taken for idle.
func TestFewSlowRequestsFromTheStartAreMeasured(t *testing.T) {
	c := mustNew(t, DefaultConfig())
	slow := Window{Requests: 10, LatencyNs: 10 * 60e6} // 60 ms each
	if s := c.Step(250, slow); s != 0 {
		t.Fatalf("first window with requests: share %v, want a probe", s)
	}
	c.Step(500, Window{Requests: 30, LatencyNs: 30 * 5e6}) // without background: 5 ms
	if s := c.Step(750, slow); s != 0.5 {
		t.Fatalf("slow few requests against a 5 ms baseline: share %v, want 0.5", s)
	}
}

// A light, steady foreground that is slower than an old baseline for
// reasons of its own (another kind of request) neither flips background
// work between 0 and 1 every window nor keeps the old baseline: the
// periodic probe measures the new level and background work recovers.
func TestSlowLightLoadDoesNotFlipFlop(t *testing.T) {
	cfg := DefaultConfig()
	c := mustNew(t, cfg)
	c.Step(250, busy(0.6))
	c.Step(500, busy(0.6)) // baseline 0.6 ms
	light := Window{Requests: 10, LatencyNs: 10 * 3e6}
	var shares []float64
	for now := int64(750); now <= 30_000; now += cfg.TickMs {
		shares = append(shares, c.Step(now, light))
	}
	zeros := 0
	for _, s := range shares {
		if s == 0 {
			zeros++
		}
	}
	if max := int(30_000/cfg.ProbeEveryMs) + 1; zeros > max {
		t.Fatalf("%d windows held at 0 in 30 s (at most one probe per %d ms: %d): %v", zeros, cfg.ProbeEveryMs, max, shares)
	}
	if last := shares[len(shares)-1]; last != 1 || c.Baseline() < 2 {
		t.Fatalf("after 30 s of a slower light load: share %v, baseline %v ms; want 1 and a baseline near 3 ms", last, c.Baseline())
	}
}
