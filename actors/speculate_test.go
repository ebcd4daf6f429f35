package actors

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
)

// dataReads wraps every node's engine to count its reads of stored objects
// and to stall or fail them on the nodes named in stall and fail.
type dataReads struct {
	count       [3]atomic.Int64
	stall, fail sync.Map // node name → true
}

func (d *dataReads) wrap(c *testCluster) {
	c.wrap = func(name string, e storage.Engine) storage.Engine {
		var i int
		fmt.Sscanf(name, "node-%d", &i)
		return storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, ks storage.Keyspace) error {
			if op != storage.OpGet || ks != storage.KeyspaceData {
				return nil
			}
			d.count[i-1].Add(1)
			if _, ok := d.stall.Load(name); ok {
				time.Sleep(1500 * time.Millisecond)
			}
			if _, ok := d.fail.Load(name); ok {
				return errors.New("disk on fire")
			}
			return nil
		}))
	}
}

func (d *dataReads) reset() {
	for i := range d.count {
		d.count[i].Store(0)
	}
}

// TestClusterReadsAskRReplicasFirst: with ReadSpeculateAfter set, a read
// asks the coordinator's own replica and one other (spread over both
// others), not all three; a stalled replica is covered by speculation;
// a failing one by asking the third at once, without waiting.
func TestClusterReadsAskRReplicasFirst(t *testing.T) {
	var d dataReads
	c := newTestCluster(t, 3, func(c *testCluster) {
		d.wrap(c)
		c.speculate = 200 * time.Millisecond
	})
	const keys = 20
	for i := range keys {
		if r := c.put(0, fmt.Sprintf("k%d", i), "v", nil, 3); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	d.reset()
	spec := &c.nodes[0].counters.ReadSpeculations
	before := spec.Load()
	for i := range keys {
		if r := c.get(0, fmt.Sprintf("k%d", i), 2); r.GetError() != nil || string(r.GetValues()[0]) != "v" {
			t.Fatalf("get k%d: %v %q", i, r.GetError(), r.GetValues())
		}
	}
	own, others := d.count[0].Load(), d.count[1].Load()+d.count[2].Load()
	speculated := int64(spec.Load() - before)
	// A speculated read may still be on its way to storage: at most one
	// more object read per speculation.
	if own != keys || others < keys || others > keys+speculated || d.count[1].Load() == 0 || d.count[2].Load() == 0 {
		t.Fatalf("%d reads of R=2 from node-1: node-1 read %d objects, node-2 %d, node-3 %d (%d speculations); want %d on node-1 and %d to %d spread over the others",
			keys, own, d.count[1].Load(), d.count[2].Load(), speculated, keys, keys, keys+speculated)
	}

	// A stalled replica (alive, silent): reads that asked it go on to the
	// third after 200 ms instead of timing out at 1 s.
	d.stall.Store("node-2", true)
	defer d.stall.Delete("node-2")
	// The other replica asked is chosen at random: read until one asked
	// node-2 (one in two does).
	before = spec.Load()
	for i := 0; spec.Load() == before; i++ {
		if i == 40 {
			t.Fatal("40 reads with node-2 stalled: none speculated")
		}
		if r := c.get(0, fmt.Sprintf("k%d", i%keys), 2); r.GetError() != nil {
			t.Fatalf("get k%d with node-2 stalled: %v", i%keys, r.GetError())
		}
	}
}

func TestClusterReadsReplaceAFailingReplicaAtOnce(t *testing.T) {
	var d dataReads
	c := newTestCluster(t, 3, func(c *testCluster) {
		d.wrap(c)
		// Later than any answer here: a read that waited for it would be
		// counted.
		c.speculate = 900 * time.Millisecond
	})
	for i := range 6 {
		if r := c.put(0, fmt.Sprintf("k%d", i), "v", nil, 3); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	d.fail.Store("node-3", true)
	d.reset()
	// The other replica asked is chosen at random: read until some asked
	// node-3 (one in two does), at least 6 reads.
	for i := 0; i < 6 || d.count[2].Load() == 0; i++ {
		if i == 40 {
			t.Fatal("40 reads with node-3 failing: none asked it")
		}
		if r := c.get(0, fmt.Sprintf("k%d", i%6), 2); r.GetError() != nil || string(r.GetValues()[0]) != "v" {
			t.Fatalf("get k%d with node-3 failing: %v %q", i%6, r.GetError(), r.GetValues())
		}
	}
	if n := c.nodes[0].counters.ReadSpeculations.Load(); n != 0 || d.count[2].Load() == 0 {
		t.Fatalf("node-3 asked %d times, %d speculations: the reads that asked the failing node-3 must ask node-2 at once", d.count[2].Load(), n)
	}
}
