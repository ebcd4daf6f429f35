package actors

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// stored reads key's object straight from node i's storage (no vnode, no
// cache): nil when absent.
func (c *testCluster) stored(i int, key string) *version.Set {
	c.t.Helper()
	h := ring.HashKey([]byte(key))
	okey := storage.ObjectKey(ring.PartitionOf(h, testQ), ring.SegmentOf(h, testQ), []byte(key))
	raw, err := c.nodes[i].engine.Get(storage.KeyspaceData, okey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	set, err := version.Unmarshal(raw)
	if err != nil {
		c.t.Fatal(err)
	}
	return set
}

// storedAnywhere counts the nodes whose storage holds key.
func (c *testCluster) storedAnywhere(key string) int {
	n := 0
	for i := range c.nodes {
		if c.stored(i, key) != nil {
			n++
		}
	}
	return n
}

func (c *testCluster) reapTotals() (passes, checked, reaped, pruned uint64) {
	for _, nd := range c.nodes {
		passes += nd.counters.ReapPasses.Load()
		checked += nd.counters.ReapKeysChecked.Load()
		reaped += nd.counters.Reap.Reaped.Load()
		pruned += nd.counters.Reap.PrunedEntries.Load()
	}
	return
}

// putDelete writes key at W=3 and deletes it with the read's context at
// W=3, and returns the value's version (what a late hint would carry).
func (c *testCluster) putDelete(key string) *version.Set {
	c.t.Helper()
	if p := c.put(0, key, "v-"+key, nil, 3); p.GetError() != nil {
		c.t.Fatalf("put %s: %v", key, p.GetError())
	}
	old := c.stored(0, key)
	g := c.get(1, key, 3)
	c.nextID++
	d := c.send(2, messages.Wrap(c.nextID, &messages.DeleteRequest{Key: []byte(key), Context: g.GetContext(), W: 3})).GetDeleteReply()
	if d.GetError() != nil {
		c.t.Fatalf("delete %s: %v", key, d.GetError())
	}
	return old
}

// mergeInto merges set into node i's vnode of key's partition, as a
// delivery of kind would, and returns whether it changed the replica.
func (c *testCluster) mergeInto(i int, key string, set *version.Set, kind messages.ReplicaPutKind) bool {
	c.t.Helper()
	p := ring.PartitionOf(ring.HashKey([]byte(key)), testQ)
	c.nextID++
	env := messages.Wrap(c.nextID, &messages.ReplicaPutRequest{Partition: p, Key: []byte(key), Set: version.ToProto(set), Kind: kind})
	r := call(c.t, c.client, vnodePID(c.nodes[i].sys.Address(), p), env).(*messages.ReplicaPutReply)
	if r.GetError() != nil {
		c.t.Fatalf("merge into %s: %v", c.nodes[i].name, r.GetError())
	}
	return r.GetChanged()
}

func reapCluster(t *testing.T, antiEntropy bool, grace time.Duration) *testCluster {
	return newTestCluster(t, 3, func(c *testCluster) {
		c.noHints, c.antiEntropy, c.reap = true, antiEntropy, true
		c.reapCfg = ReapConfig{TombstoneGrace: grace, Every: 20 * time.Millisecond}
	})
}

// While a primary is down nothing is reaped (it may hold the old value);
// when it comes back, anti-entropy gives it the tombstone, never the old
// value to the others, and then the key is reaped everywhere.
func TestClusterDoesNotReapWhileAPrimaryIsDown(t *testing.T) {
	c := reapCluster(t, true, 200*time.Millisecond)
	const k = "down-while-deleted"
	if p := c.put(0, k, "old", nil, 3); p.GetError() != nil {
		t.Fatal(p.GetError())
	}
	c.stop(2, true)
	g := c.get(0, k, 2)
	if d := c.del(0, k, g.GetContext()); d.GetError() != nil {
		t.Fatal(d.GetError())
	}
	time.Sleep(time.Second) // five graces, and many passes
	if c.stored(0, k) == nil || c.stored(1, k) == nil || !holdsValue(c.stored(2, k), "old") {
		t.Fatalf("reaped with a primary down: %v %v %v", c.stored(0, k), c.stored(1, k), c.stored(2, k))
	}
	if _, _, reaped, _ := c.reapTotals(); reaped != 0 {
		t.Fatalf("%d tombstones reaped with a primary down", reaped)
	}
	c.restart(2)
	c.eventually("the tombstone reaped everywhere once node-3 is back", func() bool { return c.storedAnywhere(k) == 0 })
	if g := c.get(1, k, 3); g.GetFound() {
		t.Fatalf("the old value came back: %v", g)
	}
}

func holdsValue(s *version.Set, v string) bool {
	live, _ := s.Live(version.ModeSiblings, 0)
	return slices.ContainsFunc(live, func(sib version.Sibling) bool { return string(sib.Value) == v })
}

// A primary that holds another version (here a concurrent delete the
// others have not seen; anti-entropy is off so it stays different) stops
// the reap on every primary; once all hold the same version it is reaped.
func TestClusterDoesNotReapWhileAPrimaryHoldsAnotherVersion(t *testing.T) {
	c := reapCluster(t, false, 200*time.Millisecond)
	const k = "different"
	c.putDelete(k)
	other, err := version.New(version.Clock{{Actor: "elsewhere@00000000000000ee", Counter: 1}},
		[]version.Sibling{{Dot: version.Dot{Actor: "elsewhere@00000000000000ee", Counter: 1}, Tombstone: true, Timestamp: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.mergeInto(2, k, other, messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY) {
		t.Fatal("the concurrent delete changed nothing on node-3")
	}
	time.Sleep(time.Second)
	if n := c.storedAnywhere(k); n != 3 {
		t.Fatalf("reaped on %d nodes while node-3 holds another version", 3-n)
	}
	if _, checked, reaped, _ := c.reapTotals(); reaped != 0 || checked == 0 {
		t.Fatalf("%d keys checked, %d reaped: want the passes to check and refuse", checked, reaped)
	}
	c.mergeInto(0, k, other, messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY)
	c.mergeInto(1, k, other, messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY)
	c.eventually("reaped once every primary holds the same version", func() bool { return c.storedAnywhere(k) == 0 })
}

// The old value delivered late, as a hint or a handoff would, before the
// reap changes nothing (the tombstone covers it), and the key is reaped.
// After the reap the same delivery brings it back: that is the hazard the
// grace bounds (it must exceed the age of any hint still delivered).
func TestClusterLateOldValueBeforeTheReapDoesNotResurrect(t *testing.T) {
	c := reapCluster(t, true, 500*time.Millisecond)
	const k = "late"
	old := c.putDelete(k)
	if c.mergeInto(1, k, old, messages.ReplicaPutKind_REPLICA_PUT_KIND_HINT) ||
		c.mergeInto(2, k, old, messages.ReplicaPutKind_REPLICA_PUT_KIND_HANDOFF) {
		t.Fatal("the old value changed a replica that holds its delete")
	}
	c.eventually("reaped", func() bool { return c.storedAnywhere(k) == 0 })
	if g := c.get(0, k, 3); g.GetFound() {
		t.Fatalf("the old value came back: %v", g)
	}
	// The documented limit: a delivery after the reap is a new version.
	if !c.mergeInto(1, k, old, messages.ReplicaPutKind_REPLICA_PUT_KIND_HINT) {
		t.Fatal("a delivery after the reap changed nothing: the hazard the design states is gone, update docs/design.md")
	}
}

// restart stops node i (if it runs) and starts it again on its storage,
// on a new actor address, marked alive.
func (c *testCluster) restart(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	if nd.sys != nil {
		nd.sys.Stop()
	}
	nd.sys = c.startSystem(c.t)
	c.members.mu.Lock()
	tags, _ := cluster.DecodeTags(c.members.nodes[i].Tags)
	tags.Addr = nd.sys.Address()
	enc, err := tags.Encode()
	if err != nil {
		c.members.mu.Unlock()
		c.t.Fatal(err)
	}
	c.members.nodes[i].Tags = enc
	c.members.nodes[i].Status = cluster.StatusAlive
	c.members.mu.Unlock()
	c.spawn(nd)
	c.waitReady(nd)
	c.refresh()
}
