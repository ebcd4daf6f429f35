package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
)

func (c *testCluster) antiEntropyTotals() (exchanges, identical, repaired, bytes uint64) {
	for _, nd := range c.nodes {
		if nd.sys == nil {
			continue
		}
		exchanges += nd.counters.AntiEntropyExchanges.Load()
		identical += nd.counters.AntiEntropyIdentical.Load()
		repaired += nd.counters.AntiEntropyKeysRepaired.Load()
		bytes += nd.counters.AntiEntropyBytes.Load()
	}
	return
}

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

// The Merkle syncer is supervised: crashed by fault injection in the middle
// of its exchanges, it restarts (counted) and goes on repairing.
func TestClusterSyncerRestartsAfterACrash(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.noHints, c.antiEntropy = true, true })
	c.eventually("exchanges running", func() bool { ex, _, _, _ := c.antiEntropyTotals(); return ex > 10 })
	c.nextID++
	if e := c.send(0, messages.Wrap(c.nextID, &messages.FaultRequest{Component: "syncer"})).GetFaultReply().GetError(); e != nil {
		t.Fatal(e)
	}
	c.eventually("syncer restart counted", func() bool { return c.nodes[0].counters.Restarts.Load() == 1 })
	before := c.nodes[0].counters.AntiEntropyExchanges.Load()
	c.eventually("the restarted syncer exchanges again", func() bool { return c.nodes[0].counters.AntiEntropyExchanges.Load() > before+testQ })
	// And repairs: a key written while node-3 was seen down reaches it.
	c.setStatus(c.nodes[2].name, cluster.StatusFailed)
	if r := c.put(0, "after-crash", "v", nil, 2); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	c.setStatus(c.nodes[2].name, cluster.StatusAlive)
	c.eventually("the key repaired on node-3", func() bool { return holds(c.replicaGet(2, "after-crash"), "v") })
}
