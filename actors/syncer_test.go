package actors

import (
	"testing"

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
