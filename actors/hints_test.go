package actors

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
)

// owners are key's primaries, in preference order, as every node computes.
func (c *testCluster) owners(key string) []string {
	c.t.Helper()
	var ms []ring.Member
	for _, nd := range c.nodes {
		ms = append(ms, ring.Member{Name: nd.name, Weight: 1})
	}
	r, err := ring.New(ring.Config{Partitions: testQ, N: 3}, ms)
	if err != nil {
		c.t.Fatal(err)
	}
	return r.Owners(r.Partition([]byte(key)))
}

func (c *testCluster) index(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	c.t.Fatalf("no node %s", name)
	return -1
}

// setStatus tells every node that name failed or recovered (it keeps
// running: only the others' opinion changes, as after a partition).
func (c *testCluster) setStatus(name string, st cluster.Status) {
	c.members.set(name, st)
	c.refresh()
}

// replicaGet reads key straight from node i's vnode: its own data, no hints.
func (c *testCluster) replicaGet(i int, key string) *messages.ReplicaGetReply {
	c.t.Helper()
	var ms []ring.Member
	for _, nd := range c.nodes {
		ms = append(ms, ring.Member{Name: nd.name, Weight: 1})
	}
	r, _ := ring.New(ring.Config{Partitions: testQ, N: 3}, ms)
	p := r.Partition([]byte(key))
	c.nextID++
	res, err := c.client.Root().RequestFuture(vnodePID(c.nodes[i].sys.Address(), p),
		messages.Wrap(c.nextID, &messages.ReplicaGetRequest{Partition: p, Key: []byte(key)}), 2*time.Second).Result()
	if err != nil {
		c.t.Fatalf("replica read on %s: %v", c.nodes[i].name, err)
	}
	return res.(*messages.Envelope).GetReplicaGetReply()
}

func (c *testCluster) hintsPending() int64 {
	var n int64
	for _, nd := range c.nodes {
		if nd.sys != nil {
			n += nd.counters.HintsPending.Load()
		}
	}
	return n
}

// eventually polls cond every 20 ms for up to 10 s.
func (c *testCluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func holds(r *messages.ReplicaGetReply, value string) bool {
	if r.GetError() != nil || !r.GetFound() {
		return false
	}
	for _, s := range r.GetSet().GetSiblings() {
		if string(s.GetValue()) == value {
			return true
		}
	}
	return false
}

// Sloppy quorum: with a primary down, its replica goes to a fallback as a
// hint and counts toward W; a read consults the fallback; when the owner
// recovers the hint is delivered to it and deleted.
func TestClusterHintedHandoffThroughFallback(t *testing.T) {
	c := newTestCluster(t, 5)
	key := "cart-17"
	owners := c.owners(key)
	downIdx, via := c.index(owners[2]), c.index(owners[0])
	c.setStatus(owners[2], cluster.StatusFailed)
	if r := c.put(via, key, "v1", nil, 3); r.GetError() != nil {
		t.Fatalf("W=3 with a primary down must succeed through a fallback: %v", r.GetError())
	}
	if holds(c.replicaGet(downIdx, key), "v1") {
		t.Fatal("the down owner got the write directly")
	}
	if n := c.hintsPending(); n != 1 {
		t.Fatalf("hints pending %d, want 1 (on the fallback)", n)
	}
	if g := c.get(via, key, 3); g.GetError() != nil || strings.Join(values(g), ",") != "v1" {
		t.Fatalf("R=3 read through the fallback: %v %v", values(g), g.GetError())
	}
	c.setStatus(owners[2], cluster.StatusAlive)
	c.eventually("hint delivered to the recovered owner", func() bool {
		return holds(c.replicaGet(downIdx, key), "v1") && c.hintsPending() == 0
	})
	var delivered uint64
	for _, nd := range c.nodes {
		delivered += nd.counters.HintsDelivered.Load()
	}
	if delivered != 1 {
		t.Fatalf("hints delivered %d, want 1", delivered)
	}
}

// Without a spare node the coordinator keeps the hint itself; with hinted
// handoff off nobody does, and the recovered owner stays without the write.
func TestClusterCoordinatorKeepsHintsUnlessHandoffIsOff(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(map[bool]string{false: "on", true: "off"}[off], func(t *testing.T) {
			c := newTestCluster(t, 3, func(c *testCluster) { c.noHints = off })
			key := "k-3"
			owners := c.owners(key)
			downIdx, via := c.index(owners[2]), c.index(owners[0])
			c.setStatus(owners[2], cluster.StatusFailed)
			if r := c.put(via, key, "v1", nil, 2); r.GetError() != nil {
				t.Fatal(r.GetError())
			}
			if off {
				if n := c.hintsPending(); n != 0 {
					t.Fatalf("hints kept with hinted handoff off: %d", n)
				}
				c.setStatus(owners[2], cluster.StatusAlive)
				if holds(c.replicaGet(downIdx, key), "v1") {
					t.Fatal("the owner got a write it was down for, with hinted handoff off")
				}
				return
			}
			if n := c.nodes[via].counters.HintsPending.Load(); n != 1 {
				t.Fatalf("the coordinator keeps %d hints, want 1", n)
			}
			c.setStatus(owners[2], cluster.StatusAlive)
			c.eventually("hint delivered", func() bool { return holds(c.replicaGet(downIdx, key), "v1") && c.hintsPending() == 0 })
		})
	}
}

// A read repairs a replica that missed a write (hinted handoff off, so
// nothing else brings it up to date).
func TestClusterReadRepairsStaleReplica(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.noHints = true })
	key := "stale"
	owners := c.owners(key)
	staleIdx, via := c.index(owners[2]), c.index(owners[0])
	c.setStatus(owners[2], cluster.StatusFailed)
	c.put(via, key, "v1", nil, 2)
	c.setStatus(owners[2], cluster.StatusAlive)
	if holds(c.replicaGet(staleIdx, key), "v1") {
		t.Fatal("setup: the replica should be stale")
	}
	if g := c.get(via, key, 2); strings.Join(values(g), ",") != "v1" {
		t.Fatalf("read: %v %v", values(g), g.GetError())
	}
	c.eventually("read repair of the stale replica", func() bool { return holds(c.replicaGet(staleIdx, key), "v1") })
}

// Hints survive a crash of the hint dispatcher: it restarts, reopens its
// store and still delivers.
func TestClusterHintsSurviveDispatcherCrash(t *testing.T) {
	c := newTestCluster(t, 3)
	key := "k-9"
	owners := c.owners(key)
	downIdx, via := c.index(owners[2]), c.index(owners[0])
	c.setStatus(owners[2], cluster.StatusFailed)
	c.put(via, key, "v1", nil, 2)
	c.eventually("hint stored", func() bool { return c.nodes[via].counters.HintsPending.Load() == 1 })
	c.nextID++
	rep := c.send(via, messages.Wrap(c.nextID, &messages.FaultRequest{Component: "hints"})).GetFaultReply()
	if rep.GetError() != nil {
		t.Fatal(rep.GetError())
	}
	c.eventually("dispatcher restarted", func() bool { return c.nodes[via].counters.Restarts.Load() >= 1 })
	c.setStatus(owners[2], cluster.StatusAlive)
	c.eventually("hint delivered after the dispatcher's restart", func() bool {
		return holds(c.replicaGet(downIdx, key), "v1") && c.hintsPending() == 0
	})
}

// A vnode crashed on request restarts from storage: nothing written before
// is lost, and requests succeed afterwards. Bad fault requests name the
// field; with fault injection off they are refused.
func TestClusterFaultInjectionCrashesAVnodeWhichRestarts(t *testing.T) {
	c := newTestCluster(t, 3)
	key := "precious"
	owners := c.owners(key)
	i := c.index(owners[0])
	if r := c.put(i, key, "v1", nil, 3); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	p := c.replicaGet(i, key).GetPartition()
	fault := func(f *messages.FaultRequest) *messages.Error {
		c.nextID++
		return c.send(i, messages.Wrap(c.nextID, f)).GetFaultReply().GetError()
	}
	if e := fault(&messages.FaultRequest{Component: "vnode", Partition: p}); e != nil {
		t.Fatal(e)
	}
	c.eventually("vnode restart counted", func() bool { return c.nodes[i].counters.Restarts.Load() == 1 })
	if r := c.replicaGet(i, key); !holds(r, "v1") {
		t.Fatalf("the restarted vnode lost its data: %v", r)
	}
	if r := c.put(i, key+"2", "v2", nil, 3); r.GetError() != nil {
		t.Fatalf("a write after the restart: %v", r.GetError())
	}
	if e := fault(&messages.FaultRequest{Component: "disk"}); e.GetField() != "component" {
		t.Fatalf("unknown component: %v", e)
	}
	if e := fault(&messages.FaultRequest{Component: "vnode", Partition: 9999}); e.GetField() != "partition" {
		t.Fatalf("partition not held: %v", e)
	}

	off := newTestCluster(t, 1, func(c *testCluster) { c.faults = false })
	off.nextID++
	e := off.send(0, messages.Wrap(1, &messages.FaultRequest{Component: "router"})).GetFaultReply().GetError()
	if e == nil || !strings.Contains(e.GetMessage(), "--allow-fault-injection") {
		t.Fatalf("fault injection must be refused when off: %v", e)
	}
	if n := off.nodes[0].counters.Restarts.Load(); n != 0 {
		t.Fatalf("restarts %d after a refused fault", n)
	}
}

// A peer whose connection drops is suspected at once (protoactor Watch),
// before serf says anything: writes go to a fallback instead of waiting on
// it, so W=3 still succeeds.
func TestClusterDroppedPeerIsSuspectedAndSkipped(t *testing.T) {
	c := newTestCluster(t, 5)
	key := "k-42"
	owners := c.owners(key)
	via, dead := c.index(owners[0]), c.index(owners[2])
	// A write every owner acked: via has a live connection to the peer
	// about to drop (its drop is what is detected).
	c.eventually("peers watched", func() bool { return c.put(via, key, "warm", nil, 3).GetError() == nil })
	c.stop(dead, false) // serf still says alive
	c.eventually("the dropped peer is suspected", func() bool { return c.nodes[via].health.Down(owners[2]) })
	// Were the suspect asked, W=3 would fail at the deadline: only the
	// fallback makes three.
	if r := c.put(via, key, "v1", nil, 3); r.GetError() != nil {
		t.Fatalf("W=3 with a suspected primary must go to a fallback: %v", r.GetError())
	}
}

// A replica that stalls (alive, connected, silent) is caught by timeouts:
// the coordinator suspects it at its deadline, keeps a hint for it, and the
// next W=3 write goes to a fallback instead of waiting on it again.
func TestClusterSilentReplicaIsSuspectedAtTheDeadline(t *testing.T) {
	var stalled sync.Map // node name → true
	c := newTestCluster(t, 5, func(c *testCluster) {
		c.wrap = func(name string, e storage.Engine) storage.Engine {
			return storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, ks storage.Keyspace) error {
				if _, ok := stalled.Load(name); ok && ks == storage.KeyspaceData {
					time.Sleep(1500 * time.Millisecond)
				}
				return nil
			}))
		}
	})
	key := "k-7"
	owners := c.owners(key)
	via := c.index(owners[0])
	stalled.Store(owners[2], true)
	if r := c.put(via, key, "v1", nil, 2); r.GetError() != nil {
		t.Fatalf("W=2 with one silent replica: %v", r.GetError())
	}
	c.eventually("the silent replica is suspected after the deadline", func() bool { return c.nodes[via].health.Down(owners[2]) })
	c.eventually("the coordinator keeps a hint for it", func() bool { return c.nodes[via].counters.HintsPending.Load() == 1 })
	if r := c.put(via, key+"b", "v2", nil, 3); r.GetError() != nil && c.owners(key + "b")[0] == owners[0] {
		t.Fatalf("W=3 after the suspicion: %v", r.GetError())
	}
	if r := c.put(via, key, "v3", nil, 3); r.GetError() != nil {
		t.Fatalf("W=3 on the same key must go to a fallback now: %v", r.GetError())
	}
	stalled.Delete(owners[2])
}
