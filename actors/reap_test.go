package actors

import (
	"errors"
	"fmt"
	"slices"
	"sync"
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
	live, _ := s.Live(version.ModeSiblings)
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
