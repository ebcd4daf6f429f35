package actors

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/hints"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
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
			// The hint goes to the hint store beside the answer (it does
			// not count toward W).
			c.eventually("the coordinator keeps one hint", func() bool { return c.nodes[via].counters.HintsPending.Load() == 1 })
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
	testDroppedPeerIsSuspectedAndSkipped(t)
}

func testDroppedPeerIsSuspectedAndSkipped(t *testing.T, opts ...func(*testCluster)) {
	c := newTestCluster(t, 5, opts...)
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
	// Suspected for 10 s from the first timeout: on a loaded machine the
	// default 200 ms can pass before the last write below.
	c := newTestCluster(t, 5, stallable(&stalled, 10*time.Second))
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

// stallable makes a node's data reads and writes take 1.5 s while
// stalled holds its name (alive, silent), and sets the nodes' first
// suspicion to suspect.
func stallable(stalled *sync.Map, suspect time.Duration) func(*testCluster) {
	return func(c *testCluster) {
		c.suspectBase = suspect
		c.wrap = func(name string, e storage.Engine) storage.Engine {
			return storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, ks storage.Keyspace) error {
				if _, ok := stalled.Load(name); ok && ks == storage.KeyspaceData {
					time.Sleep(1500 * time.Millisecond)
				}
				return nil
			}))
		}
	}
}

// A replica silent to a read is suspected at the read's deadline too
// (coordinator.GetReady.TimedOut), while the read answers from the others.
func TestClusterReplicaSilentToAReadIsSuspected(t *testing.T) {
	var stalled sync.Map // node name → true
	c := newTestCluster(t, 3, stallable(&stalled, 10*time.Second))
	key := "k-7"
	owners := c.owners(key)
	via := c.index(owners[0])
	if r := c.put(via, key, "v1", nil, 3); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	stalled.Store(owners[2], true)
	defer stalled.Delete(owners[2])
	if g := c.get(via, key, 2); g.GetError() != nil || !slices.Contains(values(g), "v1") {
		t.Fatalf("R=2 with one silent replica: %v", g)
	}
	if c.nodes[via].health.Down(owners[2]) {
		t.Fatal("suspected before the read's deadline")
	}
	c.eventually("the replica silent to the read is suspected after its deadline", func() bool { return c.nodes[via].health.Down(owners[2]) })
}

// hintRig runs one hint dispatcher, on h0, in front of fake vnodes on
// h0..h(n-1), each node its own actor system, and hands it views the test
// builds: the dispatcher's decisions without a cluster's membership,
// routing or real vnodes. Its clock (stamps and ages) is the test's.
type hintRig struct {
	t        *testing.T
	names    []string
	sys      map[string]*remoting.System
	pid      *actor.PID
	counters *Counters
	clock    atomic.Int64 // Unix ms
	epoch    uint64
	nextID   uint64

	mu     sync.Mutex
	puts   map[string][]*messages.ReplicaPutRequest // by receiving node
	refuse map[string]bool
}

// fakeVnode acknowledges (or refuses) every replica write and records it.
type fakeVnode struct {
	rig  *hintRig
	node string
}

func (f *fakeVnode) Receive(ctx actor.Context) {
	env, ok := ctx.Message().(*messages.Envelope)
	if !ok {
		return
	}
	body, err := messages.Open(env)
	req, ok := body.(*messages.ReplicaPutRequest)
	if err != nil || !ok {
		return
	}
	f.rig.mu.Lock()
	f.rig.puts[f.node] = append(f.rig.puts[f.node], req)
	refused := f.rig.refuse[f.node]
	f.rig.mu.Unlock()
	reply := &messages.ReplicaPutReply{Partition: req.GetPartition(), Node: f.node}
	if refused {
		reply.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "refused by the test"}
	}
	ctx.Respond(messages.Wrap(env.GetRequestId(), reply))
}

func newHintRig(t *testing.T, n int, cfg HintsConfig) *hintRig {
	t.Helper()
	r := &hintRig{t: t, sys: map[string]*remoting.System{}, puts: map[string][]*messages.ReplicaPutRequest{}, refuse: map[string]bool{}}
	r.clock.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	for i := range n {
		name := fmt.Sprintf("h%d", i)
		s := startSystem(t)
		r.names = append(r.names, name)
		r.sys[name] = s
		for p := range uint32(testQ) {
			props := actor.PropsFromProducer(func() actor.Actor { return &fakeVnode{rig: r, node: name} })
			if _, err := remoting.SpawnNamed(s.Root(), props, remoting.VnodeName(p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.counters = &Counters{}
	cfg.Engine, cfg.Self, cfg.NoSync, cfg.Counters = storage.NewMemory(), "h0", true, r.counters
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.now = func() time.Time { return time.UnixMilli(r.clock.Load()) }
	pid, err := remoting.SpawnNamed(r.sys["h0"].Root(), HintsProps(cfg), remoting.HintsName)
	if err != nil {
		t.Fatal(err)
	}
	r.pid = pid
	return r
}

func (r *hintRig) advance(d time.Duration) { r.clock.Add(d.Milliseconds()) }

// view is every rig node a member, those in down failed, plus left (no
// rig nodes) as serf's left members. Owners named nowhere are absent.
func (r *hintRig) view(left []string, down ...string) *View {
	r.t.Helper()
	var ms []ring.Member
	addrs := map[string]string{}
	for _, n := range r.names {
		st := ring.Up
		if slices.Contains(down, n) {
			st = ring.Down
		}
		ms = append(ms, ring.Member{Name: n, Weight: 1, State: st})
		addrs[n] = r.sys[n].Address()
	}
	rg, err := ring.New(ring.Config{Partitions: testQ, N: 3}, ms)
	if err != nil {
		r.t.Fatal(err)
	}
	lm := map[string]bool{}
	for _, n := range left {
		lm[n] = true
	}
	r.epoch++
	return &View{Self: "h0", Ring: rg, Addrs: addrs, Left: lm, Epoch: r.epoch}
}

func (r *hintRig) send(v *View) { r.sys["h0"].Root().Send(r.pid, v) }

// keys returns n keys whose primaries (in v) satisfy ok.
func (r *hintRig) keys(v *View, n int, ok func(primaries []string) bool) []string {
	r.t.Helper()
	var out []string
	for i := 0; len(out) < n; i++ {
		if i > 100000 {
			r.t.Fatalf("no %d keys with the primaries wanted", n)
		}
		k := fmt.Sprintf("key-%05d", i)
		if ok(v.Ring.Owners(v.Ring.Partition([]byte(k)))) {
			out = append(out, k)
		}
	}
	return out
}

// hint stores a hint for owner, a write of value stamped with the rig's
// clock, as a fallback does.
func (r *hintRig) hint(owner, key, value string) {
	r.t.Helper()
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte(value), Timestamp: r.clock.Load()}, "c@1", r.clock.Load())
	if err != nil {
		r.t.Fatal(err)
	}
	r.nextID++
	p := ring.PartitionOf(ring.HashKey([]byte(key)), testQ)
	env := call(r.t, r.sys["h0"], r.pid, messages.Wrap(r.nextID, &messages.ReplicaPutRequest{
		Partition: p, Key: []byte(key), Set: version.ToProto(set), HintOwner: owner}))
	if e := env.(*messages.ReplicaPutReply).GetError(); e != nil {
		r.t.Fatalf("hint for %s: %v", owner, e)
	}
}

// held reports whether the dispatcher still holds owner's hint for key.
func (r *hintRig) held(owner, key string) bool {
	r.t.Helper()
	r.nextID++
	p := ring.PartitionOf(ring.HashKey([]byte(key)), testQ)
	env := call(r.t, r.sys["h0"], r.pid, messages.Wrap(r.nextID, &messages.ReplicaGetRequest{Partition: p, Key: []byte(key), HintOwner: owner}))
	return env.(*messages.ReplicaGetReply).GetFound()
}

// got lists the nodes that received a hint merge of key.
func (r *hintRig) got(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n, reqs := range r.puts {
		for _, q := range reqs {
			if string(q.GetKey()) == key && q.GetKind() == messages.ReplicaPutKind_REPLICA_PUT_KIND_HINT {
				out = append(out, n)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func (r *hintRig) setRefuse(node string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse[node] = on
}

func (r *hintRig) pending() int64 { return r.counters.HintsPending.Load() }

func (r *hintRig) counts() string {
	c := r.counters
	return fmt.Sprintf("pending %d delivered %d rerouted %d expired age %d size %d", c.HintsPending.Load(),
		c.HintsDelivered.Load(), c.HintsRerouted.Load(), c.HintsExpiredAge.Load(), c.HintsExpiredSize.Load())
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s (%s)", what, state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// others are primaries without owner.
func others(primaries []string, owner string) []string {
	out := slices.DeleteFunc(slices.Clone(primaries), func(n string) bool { return n == owner })
	slices.Sort(out)
	return out
}

// A hint whose owner is absent from the view (removed and
// forgotten, or reaped by serf) is waited for like a down owner's for
// AbsentGrace, then goes to the key's current primaries and is deleted
// once all of them acknowledged it, as a hint for a node that left does.
func TestHintsForAnOwnerAbsentFromTheViewGoToTheCurrentPrimaries(t *testing.T) {
	r := newHintRig(t, 5, HintsConfig{Interval: 20 * time.Millisecond, RetryAfter: 20 * time.Millisecond,
		AbsentGrace: 10 * time.Minute, checkEvery: 20 * time.Millisecond})
	v := r.view([]string{"gone-left"})
	keys := r.keys(v, 12, func([]string) bool { return true })
	for _, k := range keys {
		r.hint("gone", k, "v-"+k)
	}
	r.hint("gone-left", keys[0], "left")
	r.send(v)
	waitFor(t, "the left owner's hint delivered", func() bool { return r.pending() == int64(len(keys)) }, r.counts)
	// Within the grace the absent owner may come back (a node restarted
	// while it was down does not know it): its hints wait.
	time.Sleep(200 * time.Millisecond)
	if r.pending() != int64(len(keys)) || r.counters.HintsDelivered.Load() != 1 {
		t.Fatalf("hints for an owner absent for less than the grace were delivered: %s", r.counts())
	}
	r.advance(11 * time.Minute)
	r.send(r.view([]string{"gone-left"})) // any view; the periodic round would do too
	waitFor(t, "hints for the absent owner delivered to the current primaries", func() bool { return r.pending() == 0 }, r.counts)
	for _, k := range keys {
		want := v.Ring.Owners(v.Ring.Partition([]byte(k)))
		slices.Sort(want)
		if got := r.got(k); !slices.Equal(got, want) {
			t.Errorf("%s went to %v, want its current primaries %v", k, got, want)
		}
	}
	c := r.counters
	if c.HintsDelivered.Load() != uint64(len(keys))+1 || c.HintsRerouted.Load() != uint64(len(keys))+1 || c.HintsExpiredAge.Load() != 0 {
		t.Fatalf("counters: %s, want %d delivered and rerouted", r.counts(), len(keys)+1)
	}
}

// The ordinary case does not change: an owner in the view but down keeps
// its hints (younger than MaxAge) until it is up, then gets them all.
func TestHintsForADownOwnerWaitForIt(t *testing.T) {
	r := newHintRig(t, 5, HintsConfig{Interval: 20 * time.Millisecond, RetryAfter: 20 * time.Millisecond,
		AbsentGrace: time.Millisecond, checkEvery: 20 * time.Millisecond})
	v := r.view(nil, "h3")
	keys := r.keys(v, 8, func(p []string) bool { return slices.Contains(p, "h3") })
	for _, k := range keys {
		r.hint("h3", k, "v")
	}
	r.send(v)
	r.advance(2 * time.Hour)
	time.Sleep(200 * time.Millisecond)
	if r.pending() != int64(len(keys)) || len(r.puts) != 0 {
		t.Fatalf("hints for a down owner went somewhere: %s, puts to %v", r.counts(), r.puts)
	}
	r.send(r.view(nil))
	waitFor(t, "hints delivered to the recovered owner", func() bool { return r.pending() == 0 }, r.counts)
	for _, k := range keys {
		if got := r.got(k); !slices.Equal(got, []string{"h3"}) {
			t.Errorf("%s went to %v, want h3 alone", k, got)
		}
	}
	if c := r.counters; c.HintsDelivered.Load() != uint64(len(keys)) || c.HintsRerouted.Load() != 0 || c.HintsExpiredAge.Load() != 0 {
		t.Fatalf("counters: %s", r.counts())
	}
}

// A hint older than MaxAge whose owner is down is handed over to the key's
// current up primaries other than the owner, and deleted once they acked;
// with none up (or one refusing) it stays and is retried. Younger hints
// stay.
func TestHintsPastMaxAgeGoToTheOtherUpPrimaries(t *testing.T) {
	r := newHintRig(t, 5, HintsConfig{Interval: 20 * time.Millisecond, RetryAfter: 20 * time.Millisecond,
		MaxAge: time.Hour, checkEvery: 20 * time.Millisecond})
	all := r.view(nil)
	// k: h3 a primary, h0 not (no other primary up while h1..h4 are
	// down); j: h3 and h0 primaries (h0 takes it).
	k := r.keys(all, 1, func(p []string) bool { return slices.Contains(p, "h3") && !slices.Contains(p, "h0") })[0]
	j := r.keys(all, 1, func(p []string) bool { return slices.Contains(p, "h3") && slices.Contains(p, "h0") })[0]
	fresh := r.keys(all, 2, func(p []string) bool { return slices.Contains(p, "h3") && !slices.Contains(p, "h0") })[1]
	r.hint("h3", k, "k")
	r.hint("h3", j, "j")
	r.advance(2 * time.Hour)
	r.hint("h3", fresh, "fresh")
	r.setRefuse("h0", true)
	r.send(r.view(nil, "h1", "h2", "h3", "h4"))
	time.Sleep(200 * time.Millisecond)
	if r.pending() != 3 || r.counters.HintsExpiredAge.Load() != 0 {
		t.Fatalf("with the only other primary refusing, or none up, old hints must stay: %s", r.counts())
	}
	r.setRefuse("h0", false)
	waitFor(t, "j handed over to h0", func() bool { return !r.held("h3", j) }, r.counts)
	if got := r.got(j); !slices.Equal(got, []string{"h0"}) {
		t.Fatalf("j went to %v, want h0", got)
	}
	if !r.held("h3", k) || !r.held("h3", fresh) {
		t.Fatal("k (no primary up) or the fresh hint is gone")
	}
	r.send(r.view(nil, "h3"))
	waitFor(t, "k handed over to its other primaries", func() bool { return !r.held("h3", k) }, r.counts)
	if got, want := r.got(k), others(all.Ring.Owners(all.Ring.Partition([]byte(k))), "h3"); !slices.Equal(got, want) {
		t.Fatalf("k went to %v, want %v", got, want)
	}
	time.Sleep(100 * time.Millisecond)
	if !r.held("h3", fresh) || len(r.got(fresh)) != 0 {
		t.Fatal("a hint younger than MaxAge was handed over")
	}
	if c := r.counters; c.HintsExpiredAge.Load() != 2 || c.HintsExpiredSize.Load() != 0 || c.HintsDelivered.Load() != 0 || r.pending() != 1 {
		t.Fatalf("counters: %s, want 2 expired for age, 1 pending", r.counts())
	}
}

// Beyond MaxBytes for a down owner, the oldest hints are handed over
// (oldest first, whatever their keys' order) until the rest fit.
func TestHintsBeyondMaxBytesOldestGoFirst(t *testing.T) {
	// The size of one hint as the store counts it.
	var clock atomic.Int64
	clock.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	scratch, err := hints.Open(storage.NewMemory(), hints.Config{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: clock.Load()}, "c@1", clock.Load())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scratch.Put("h3", 1, []byte("key-00000"), set); err != nil {
		t.Fatal(err)
	}
	size := scratch.Stats().Bytes
	if size <= 0 {
		t.Fatalf("a hint of %d bytes", size)
	}
	r := newHintRig(t, 5, HintsConfig{Interval: 20 * time.Millisecond, RetryAfter: 20 * time.Millisecond,
		MaxBytes: size*5/2 + 4, checkEvery: 20 * time.Millisecond})
	v := r.view(nil, "h3")
	keys := r.keys(v, 4, func(p []string) bool { return slices.Contains(p, "h3") })
	// Stored newest first in (partition, key) order, a second apart.
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := v.Ring.Partition([]byte(a)), v.Ring.Partition([]byte(b))
		return cmp.Or(cmp.Compare(pb, pa), strings.Compare(b, a))
	})
	for _, k := range keys {
		r.hint("h3", k, "v")
		r.advance(2 * time.Second)
	}
	r.send(v)
	waitFor(t, "the two oldest hints handed over", func() bool { return r.counters.HintsExpiredSize.Load() == 2 }, r.counts)
	time.Sleep(100 * time.Millisecond)
	for i, k := range keys {
		old := i < 2
		if r.held("h3", k) == old {
			t.Errorf("hint %d (%s, oldest first): held %v", i, k, !old)
		}
		if got, want := r.got(k), others(v.Ring.Owners(v.Ring.Partition([]byte(k))), "h3"); old && !slices.Equal(got, want) {
			t.Errorf("hint %d (%s) went to %v, want %v", i, k, got, want)
		} else if !old && len(got) != 0 {
			t.Errorf("hint %d (%s) went to %v, it fits", i, k, got)
		}
	}
	if c := r.counters; c.HintsExpiredSize.Load() != 2 || c.HintsExpiredAge.Load() != 0 || r.pending() != 2 {
		t.Fatalf("counters: %s", r.counts())
	}
}

// A handover scans all of the owner's hints in short steps: old hints
// behind many fresh ones (in key order) are found, the fresh ones stay.
func TestHintsHandoverFindsOldHintsAmongFreshOnes(t *testing.T) {
	r := newHintRig(t, 5, HintsConfig{Interval: 20 * time.Millisecond, RetryAfter: 20 * time.Millisecond,
		MaxAge: time.Hour, Batch: 1, checkEvery: 20 * time.Millisecond})
	v := r.view(nil, "h3")
	keys := r.keys(v, 80, func(p []string) bool { return slices.Contains(p, "h3") })
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(v.Ring.Partition([]byte(a)), v.Ring.Partition([]byte(b))), strings.Compare(a, b))
	})
	old := []string{keys[40], keys[len(keys)-1]} // far behind the first fresh ones
	for _, k := range old {
		r.hint("h3", k, "old")
	}
	r.advance(2 * time.Hour)
	for _, k := range keys {
		if !slices.Contains(old, k) {
			r.hint("h3", k, "fresh")
		}
	}
	r.send(v)
	waitFor(t, "both old hints handed over", func() bool { return r.counters.HintsExpiredAge.Load() == 2 }, r.counts)
	time.Sleep(100 * time.Millisecond)
	if r.pending() != int64(len(keys)-2) || r.held("h3", old[0]) || r.held("h3", old[1]) {
		t.Fatalf("after the handover: %s", r.counts())
	}
}
