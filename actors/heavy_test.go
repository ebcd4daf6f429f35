//go:build !race

package actors

// The cluster tests that move the most data (hundreds of keys through
// anti-entropy, handoff and reap passes) take seconds each under the race
// detector against well under a second without it. They run in make
// test's second pass, without -race (the Makefile runs this package's
// !race files there); the same shells run under -race in the smaller
// tests of cluster_test.go, syncer_test.go, handoff_test.go,
// reap_test.go and background_test.go.

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
)

// A replica that missed writes (hinted handoff off, no reads) is brought up
// to date by anti-entropy alone; afterwards exchanges find the replicas
// identical and repair nothing; the progress shows in the node's stats.
func TestClusterAntiEntropyRepairsAReplicaThatMissedWrites(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			c := newTestCluster(t, 3, func(c *testCluster) { c.noHints, c.antiEntropy = true, on })
			const stale = 2
			c.setStatus(c.nodes[stale].name, cluster.StatusFailed)
			var keys []string
			for i := range 200 {
				k := fmt.Sprintf("anti-entropy-%d", i)
				if r := c.put(i%2, k, "v-"+k, nil, 2); r.GetError() != nil {
					t.Fatalf("put %s: %v", k, r.GetError())
				}
				keys = append(keys, k)
			}
			missing := func() int {
				n := 0
				for _, k := range keys {
					if !holds(c.replicaGet(stale, k), "v-"+k) {
						n++
					}
				}
				return n
			}
			if on {
				// While the others see it down they do not pair with
				// it; it pairs with them (it sees them up).
				c.setStatus(c.nodes[stale].name, cluster.StatusAlive)
				c.eventually("every key repaired on the stale replica", func() bool { return missing() == 0 })
			} else {
				c.setStatus(c.nodes[stale].name, cluster.StatusAlive)
				time.Sleep(300 * time.Millisecond)
				if n := missing(); n != len(keys) {
					t.Fatalf("with anti-entropy off %d of %d keys reached the stale replica", len(keys)-n, len(keys))
				}
				if ex, _, _, _ := c.antiEntropyTotals(); ex != 0 {
					t.Fatalf("%d exchanges with anti-entropy off", ex)
				}
				return
			}
			// Every key's replicas are identical (same digest) on all three.
			for _, k := range keys {
				var sets []string
				for i := range c.nodes {
					r := c.replicaGet(i, k)
					if r.GetError() != nil || !r.GetFound() {
						t.Fatalf("%s on %s: %v", k, c.nodes[i].name, r)
					}
					sets = append(sets, r.GetSet().String())
				}
				if sets[0] != sets[1] || sets[1] != sets[2] {
					t.Fatalf("%s differs between replicas: %v", k, sets)
				}
			}
			_, _, repaired, _ := c.antiEntropyTotals()
			if repaired < uint64(len(keys)) {
				t.Fatalf("%d keys repaired, want at least %d", repaired, len(keys))
			}
			// A further round: every exchange identical, nothing repaired.
			time.Sleep(50 * time.Millisecond) // exchanges begun before convergence finish
			ex0, id0, rep0, b0 := c.antiEntropyTotals()
			c.eventually("two more rounds of exchanges", func() bool {
				ex, _, _, _ := c.antiEntropyTotals()
				return ex >= ex0+2*3*testQ
			})
			ex1, id1, rep1, b1 := c.antiEntropyTotals()
			if rep1 != rep0 || id1-id0 < ex1-ex0-1 {
				t.Fatalf("after repair: %d exchanges, %d identical, %d more keys repaired", ex1-ex0, id1-id0, rep1-rep0)
			}
			perExchange := (b1 - b0) / (ex1 - ex0)
			t.Logf("identical exchanges cost %d bytes each (encoded envelopes, both ways)", perExchange)
			if perExchange > 1024 {
				t.Fatalf("an identical exchange sent %d bytes, want under 1 KB", perExchange)
			}
			// Status: the members reply shows the progress.
			c.nextID++
			st := c.send(0, messages.Wrap(c.nextID, &messages.MembersRequest{})).GetMembersReply().GetStats()
			if st.GetAntiEntropyExchanges() == 0 || len(st.GetAntiEntropyPartitions()) != testQ {
				t.Fatalf("status: %d exchanges, %d partitions with progress", st.GetAntiEntropyExchanges(), len(st.GetAntiEntropyPartitions()))
			}
			for _, ps := range st.GetAntiEntropyPartitions() {
				if ps.GetLastExchangeMs() < time.Now().Add(-time.Minute).UnixMilli() || ps.GetPeer() == "" {
					t.Fatalf("partition progress %v", ps)
				}
			}
		})
	}
}

// Writes racing the passes survive: keys deleted, then half of them
// written again while their tombstones are being reaped. Every written
// value is on every primary in the end, every other key is gone.
func TestClusterWritesRacingTheReapSurvive(t *testing.T) {
	const grace = 300 * time.Millisecond
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.noHints, c.antiEntropy, c.reap = true, true, true
		// Slow passes of a few keys each, so that the reaping of the
		// 200 tombstones takes about as long as the writes.
		c.syncRate = 100
		c.reapCfg = ReapConfig{TombstoneGrace: grace, Every: 20 * time.Millisecond, Batch: 4}
	})
	// Each odd key is written again at some moment in the two graces
	// after its delete: before its tombstone could be reaped, while the
	// passes go through it, or after.
	var keys []string
	var wg sync.WaitGroup
	var mu sync.Mutex // the cluster's send helpers are not concurrent
	errs := make(chan error, 200)
	for i := range 200 {
		k := fmt.Sprintf("race-%d", i)
		mu.Lock()
		c.putDelete(k)
		mu.Unlock()
		keys = append(keys, k)
		if i%2 == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i*37%600) * time.Millisecond)
			mu.Lock()
			p := c.put(i%3, k, "again-"+k, nil, 2)
			mu.Unlock()
			if p.GetError() != nil {
				errs <- fmt.Errorf("put %s: %v", k, p.GetError())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.eventually("even keys reaped, odd keys on every primary", func() bool {
		for i, k := range keys {
			if i%2 == 0 && c.storedAnywhere(k) != 0 {
				return false
			}
			if i%2 == 1 {
				for n := range c.nodes {
					if !holdsValue(c.stored(n, k), "again-"+k) {
						return false
					}
				}
			}
		}
		return true
	})
	for i := 1; i < len(keys); i += 2 {
		if g := c.get(i%3, keys[i], 3); !slices.Equal(values(g), []string{"again-" + keys[i]}) {
			t.Fatalf("%s: %v", keys[i], g)
		}
	}
	passes, checked, reaped, _ := c.reapTotals()
	t.Logf("%d passes checked %d keys and reaped %d tombstones of 600 (the others were written again first)", passes, checked, reaped)
	if reaped <= 300 || reaped >= 600 {
		t.Fatalf("%d tombstones reaped: the writes did not interleave with the reaping (want 301-599)", reaped)
	}
}

// A node starts leaving, then stops (the ring gives its partitions back)
// while a handoff is in transit: it keeps a vnode for every partition it
// owns, nothing it owns is dropped, and the cluster settles with every key
// on its owners.
func TestClusterHandoffUndoneMidway(t *testing.T) {
	c := newTestCluster(t, 4, func(c *testCluster) { c.antiEntropy, c.syncRate = true, 1000 })
	var keys []string
	for i := range 2000 {
		k := fmt.Sprintf("ul-%d", i)
		if r := c.put(i%4, k, "v-"+k, nil, 3); r.GetError() != nil {
			t.Fatalf("put %s: %v", k, r.GetError())
		}
		keys = append(keys, k)
	}
	c.setLeaving(0)
	c.eventually("a handoff in transit", func() bool {
		return c.nodes[0].counters.HandoffInTransit.Load() > 0 && c.nodes[0].counters.HandoffKeys.Load() > 0
	})
	c.setTags(0, func(tg *cluster.Tags) { tg.Leaving = false })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, why := c.handedOff(keys)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after the leave was undone: %s", why)
		}
		time.Sleep(50 * time.Millisecond)
	}
	owned, _ := c.currentRing().PartitionsOf(c.nodes[0].name)
	for _, p := range owned {
		if has, _ := vnodeHasData(c.nodes[0], p); !has {
			t.Errorf("node-1 owns partition %d again but has no data of it", p)
		}
	}
}

// Vnode restarts (a crash, here by fault injection) give each key
// coordinated afterwards one more clock entry; pruning brings every clock
// back to KeepEntries on every primary, and the values stay.
func TestClusterPrunesClocksOfRetiredIncarnations(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.noHints, c.antiEntropy = true, true
		c.reapCfg = ReapConfig{PruneKeep: 3, PruneMinAge: time.Millisecond, Every: 20 * time.Millisecond}
	})
	const p = 5
	var keys []string
	for i := 0; len(keys) < 6; i++ {
		k := fmt.Sprintf("grow-%d", i)
		if ring.PartitionOf(ring.HashKey([]byte(k)), testQ) == p {
			keys = append(keys, k)
		}
	}
	write := func(via int, round int) {
		for _, k := range keys {
			c.eventually("a write through the restarted vnode", func() bool {
				g := c.get(via, k, 3)
				return c.put(via, k, fmt.Sprintf("%s-%d", k, round), g.GetContext(), 3).GetError() == nil
			})
		}
	}
	const rounds = 4
	for round := range rounds {
		for i := range c.nodes {
			before := c.nodes[i].counters.Restarts.Load()
			c.nextID++
			if e := c.send(i, messages.Wrap(c.nextID, &messages.FaultRequest{Component: "vnode", Partition: p})).GetFaultReply().GetError(); e != nil {
				t.Fatal(e)
			}
			c.eventually("the vnode restarted", func() bool { return c.nodes[i].counters.Restarts.Load() > before })
			write(i, round)
		}
	}
	longest := 0
	for _, k := range keys {
		for i := range c.nodes {
			longest = max(longest, len(c.stored(i, k).Clock()))
		}
	}
	if longest < rounds*len(c.nodes) {
		t.Fatalf("clocks of %d entries after %d restarts of each vnode: the test grows nothing", longest, rounds)
	}
	t.Logf("clocks grew to %d entries", longest)
	// Pruning on: every node's vnodes restart (new syncers' config).
	c.reap = true
	for i := range c.nodes {
		c.restart(i)
	}
	c.eventually("every clock pruned to 3 entries on every primary", func() bool {
		for _, k := range keys {
			for i := range c.nodes {
				if s := c.stored(i, k); s == nil || len(s.Clock()) > 3 {
					return false
				}
			}
		}
		return true
	})
	for _, k := range keys {
		want := []string{fmt.Sprintf("%s-%d", k, rounds-1)}
		var g *messages.GetReply
		// A read may time out while the restarted nodes settle; one that
		// answers must hold the last write.
		c.eventually(k+" read after pruning", func() bool { g = c.get(0, k, 3); return g.GetError() == nil })
		if !slices.Equal(values(g), want) {
			t.Fatalf("%s after pruning: %v, want %v", k, values(g), want)
		}
	}
	_, _, _, pruned := c.reapTotals()
	t.Logf("%d clock entries pruned", pruned)
	// At rest: more passes prune nothing more (no ping-pong with
	// anti-entropy).
	time.Sleep(200 * time.Millisecond)
	_, _, _, p0 := c.reapTotals()
	time.Sleep(500 * time.Millisecond)
	if _, _, _, p1 := c.reapTotals(); p1 != p0 {
		t.Fatalf("pruning goes on at rest: %d more entries", p1-p0)
	}
}

// A deleted key is reaped from every primary's storage once the grace
// passed, not before; reads still find it absent, and the counters show
// the passes.
func TestClusterReapsTombstonesEveryPrimaryHolds(t *testing.T) {
	const grace = 2 * time.Second
	c := reapCluster(t, true, grace)
	var keys []string
	for i := range 30 {
		k := fmt.Sprintf("reap-%d", i)
		start := time.Now()
		c.putDelete(k)
		n := c.storedAnywhere(k)
		if n != 3 && time.Since(start) < grace {
			t.Fatalf("%s: the tombstone is on %d nodes right after a W=3 delete, before the grace", k, n)
		}
		keys = append(keys, k)
	}
	deleted := time.Now()
	c.eventually("every tombstone reaped on every node", func() bool {
		for _, k := range keys {
			if c.storedAnywhere(k) != 0 {
				return false
			}
		}
		return true
	})
	// The last delete's tombstone was written just before deleted.
	if took := time.Since(deleted); took < grace-100*time.Millisecond {
		t.Fatalf("reaped %v after the deletes, before the grace of %v", took, grace)
	}
	for _, k := range keys {
		if g := c.get(0, k, 3); g.GetError() != nil || g.GetFound() {
			t.Fatalf("%s after the reap: %v", k, g)
		}
	}
	passes, checked, reaped, _ := c.reapTotals()
	if reaped != 3*uint64(len(keys)) || passes == 0 || checked < uint64(len(keys)) {
		t.Fatalf("counters: %d passes, %d keys checked, %d tombstones reaped (want %d)", passes, checked, reaped, 3*len(keys))
	}
	c.nextID++
	st := c.send(0, messages.Wrap(c.nextID, &messages.MembersRequest{})).GetMembersReply().GetStats()
	if st.GetTombstonesReaped() != uint64(len(keys)) {
		t.Fatalf("status of node-1: %d tombstones reaped, want %d", st.GetTombstonesReaped(), len(keys))
	}
}

// A node joins: the partitions it takes over are handed to it by their old
// holders, which then drop their copies; every key ends on exactly its new
// primaries. Then a node leaves (its leaving tag): it hands everything off
// and holds nothing.
func TestClusterHandoffOnJoinAndLeave(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.antiEntropy = true })
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("ho-%d", i)
		if r := c.put(i%3, k, "v-"+k, nil, 3); r.GetError() != nil {
			t.Fatalf("put %s: %v", k, r.GetError())
		}
		keys = append(keys, k)
	}
	c.addNode()
	wait := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			ok, why := c.handedOff(keys)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, why)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("after node-4 joined")
	var done, pushed uint64
	for _, nd := range c.nodes {
		done += nd.counters.HandoffsDone.Load()
		pushed += nd.counters.HandoffKeys.Load()
	}
	owned4, _ := c.currentRing().PartitionsOf("node-4")
	if done < uint64(len(owned4)) || pushed == 0 {
		t.Fatalf("%d handoffs done, %d keys pushed, for %d partitions node-4 took", done, pushed, len(owned4))
	}
	// Status shows the handoffs per new owner: node-4 got partitions,
	// and none is still pending for it once the syncers looked again.
	var to4 uint64
	for i := range 3 {
		for _, h := range c.nodeStats(i).GetHandoffTargets() {
			if h.GetNode() == "node-4" {
				to4 += h.GetDelivered()
			}
		}
	}
	if to4 < uint64(len(owned4)) {
		t.Fatalf("status counts %d partitions handed off to node-4, want at least the %d it took", to4, len(owned4))
	}
	c.eventually("no handoff pending for node-4 in status", func() bool {
		for i := range 3 {
			for _, h := range c.nodeStats(i).GetHandoffTargets() {
				if h.GetNode() == "node-4" && h.GetPending() != 0 {
					return false
				}
			}
		}
		return true
	})
	// Reads see every key through any node.
	for _, k := range keys {
		if g := c.get(3, k, 3); g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v-"+k {
			t.Fatalf("get %s after the join: %v", k, g)
		}
	}
	c.setLeaving(0)
	wait("after node-1 left")
	if h := c.held(0); len(h) != 0 {
		t.Fatalf("the leaving node still holds %v", h)
	}
	for _, k := range keys {
		if g := c.get(1, k, 3); g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v-"+k {
			t.Fatalf("get %s after the leave: %v", k, g)
		}
	}
}
