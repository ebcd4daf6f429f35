package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// The cache hands out one PID per (address, partition) and per address
// for the hint dispatcher, addressed as vnodePID and hintsPID address.
func TestPIDCacheReusesOnePIDPerTarget(t *testing.T) {
	var c pidCache
	a, b := c.vnode("10.0.0.1:1", 3), c.vnode("10.0.0.1:1", 3)
	if a != b {
		t.Fatal("two lookups of the same vnode gave two PIDs")
	}
	if want := vnodePID("10.0.0.1:1", 3); a.Address != want.Address || a.Id != want.Id {
		t.Fatalf("vnode PID %v, want %v", a, want)
	}
	h := c.hints("10.0.0.1:1")
	if want := hintsPID("10.0.0.1:1"); h.Address != want.Address || h.Id != want.Id || h == c.vnode("10.0.0.1:1", 0) {
		t.Fatalf("hints PID %v, want %v (and not partition 0's vnode)", h, want)
	}
	if c.size() != 3 {
		t.Fatalf("%d entries, want 3", c.size())
	}
}

// Entries not looked up between two sweeps are dropped at the second:
// addresses that left the view are forgotten, the ones in use stay; a
// dropped target gets a new, equal PID when asked again.
func TestPIDCacheForgetsTargetsNoLongerUsed(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &pidCache{sweepEvery: 1, sweepAfter: time.Minute, now: func() time.Time { return now }}
	lookupAll := func(addr string) {
		for p := range uint32(10) {
			c.vnode(addr, p)
		}
		c.hints(addr)
	}
	lookupAll("a:1")
	lookupAll("b:1")
	oldB := c.vnode("b:1", 4)
	if c.size() != 22 {
		t.Fatalf("%d entries, want 22", c.size())
	}
	// b:1 leaves the view: only a:1 is asked from now on.
	now = now.Add(2 * time.Minute)
	lookupAll("a:1")
	c.vnode("c:1", 0) // a miss: sweeps (nothing unused since the last one)
	if c.size() != 23 {
		t.Fatalf("first sweep after b:1 left: %d entries, want 23", c.size())
	}
	now = now.Add(2 * time.Minute)
	lookupAll("a:1")
	c.vnode("d:1", 0) // sweeps: b:1 was not asked since the last sweep (c:1 was, once)
	if c.size() != 13 {
		t.Fatalf("second sweep: %d entries, want 13 (a:1, c:1, d:1)", c.size())
	}
	now = now.Add(2 * time.Minute)
	lookupAll("a:1")
	c.vnode("d:1", 0)
	c.hints("e:1") // sweeps: c:1 goes
	if c.size() != 13 {
		t.Fatalf("third sweep: %d entries, want 13 (a:1, d:1, e:1)", c.size())
	}
	if p := c.vnode("b:1", 4); p == oldB || p.Address != oldB.Address || p.Id != oldB.Id {
		t.Fatalf("b:1 asked again: %v (old %v), want a new, equal PID", p, oldB)
	}
	// No sweep before sweepAfter, however many misses.
	for i := range 100 {
		c.hints(fmt.Sprintf("f%d:1", i))
	}
	if c.size() != 114 {
		t.Fatalf("%d entries, want 114: a sweep came before sweepAfter", c.size())
	}
}

// Under churn (a new address every minute, as nodes restarted on new
// ports) the cache stays within what two sweep periods used.
func TestPIDCacheStaysBoundedUnderChurn(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &pidCache{sweepEvery: 8, sweepAfter: time.Minute, now: func() time.Time { return now }}
	peak := 0
	for round := range 200 {
		addr := fmt.Sprintf("10.0.%d.%d:8946", round/256, round%256)
		for p := range uint32(16) {
			c.vnode(addr, p)
			c.vnode("10.9.9.9:8946", p) // a peer always in use
		}
		peak = max(peak, c.size())
		now = now.Add(time.Minute)
	}
	if peak > 4*16+16 {
		t.Fatalf("the cache grew to %d entries for 16 in use and 16 new per minute", peak)
	}
	for p := range uint32(16) {
		if _, ok := c.m.Load(pidKey{"10.9.9.9:8946", p + 1}); !ok {
			t.Fatalf("the peer in use lost partition %d", p)
		}
	}
}

// Lookups and sweeps from many goroutines (run with -race).
func TestPIDCacheConcurrentLookupsAndSweeps(t *testing.T) {
	c := &pidCache{sweepEvery: 1, sweepAfter: time.Nanosecond}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				addr := fmt.Sprintf("n%d:1", (g+i)%5)
				p := c.vnode(addr, uint32(i%7))
				if want := vnodePID(addr, uint32(i%7)); p.Address != want.Address || p.Id != want.Id {
					t.Errorf("lookup of %s/%d gave %v", addr, i%7, p)
					return
				}
			}
		}()
	}
	wg.Wait()
}
