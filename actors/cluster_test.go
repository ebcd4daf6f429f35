package actors

import (
	"bytes"
	"cmp"
	"errors"
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
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// fakeMembers is a MemberSource shared by every node of a test cluster, as
// if serf had converged.
type fakeMembers struct {
	mu    sync.Mutex
	nodes []cluster.Node
}

func (f *fakeMembers) Members() []cluster.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.nodes)
}

func (f *fakeMembers) set(name string, st cluster.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.nodes {
		if f.nodes[i].Name == name {
			f.nodes[i].Status = st
		}
	}
}

type testNode struct {
	name     string
	sys      *remoting.System
	pid      *actor.PID
	engine   storage.Engine
	health   *Health
	counters *Counters
	flusher  *storage.Flusher
	// committer writes the vnodes' storage writes in groups, as a node's.
	committer *storage.Committer
	bg        *Background
}

type testCluster struct {
	t           *testing.T
	nodes       []*testNode
	members     *fakeMembers
	client      *remoting.System
	nextID      uint64
	noHints     bool // hinted handoff off on every node
	faults      bool // fault injection allowed
	antiEntropy bool // the Merkle syncer runs (off by default: tests of other paths must not be repaired behind their back)
	// syncRate bounds repairs and handoff, keys per second (default
	// 100,000: unthrottled in practice).
	syncRate float64
	// speculate is every router's ReadSpeculateAfter (default 0: reads
	// ask every replica at once).
	speculate time.Duration
	// reap runs reap passes with reapCfg (off by default, like antiEntropy).
	reap    bool
	reapCfg ReapConfig
	// wrap, when set, wraps each node's engine (fault injection).
	wrap func(node string, e storage.Engine) storage.Engine
	// suspectBase is each node's failure detector's first suspicion
	// (default cluster.DefaultSuspectBase, 200 ms).
	suspectBase time.Duration
	// durability is every router's (default DurableAll).
	durability coordinator.Durability
	// sync makes the vnodes fsync; off by default.
	sync bool
	// flushInterval is each node's Flusher's (default 5 ms).
	flushInterval time.Duration
	// startSystem starts each actor system (default: on the in-memory
	// network; startRemoteSystem: over real remoting).
	startSystem func(*testing.T) *remoting.System
}

const testQ = 16

func newTestCluster(t *testing.T, n int, opts ...func(*testCluster)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, members: &fakeMembers{}, faults: true, startSystem: startSystem}
	for _, o := range opts {
		o(c)
	}
	c.client = c.startSystem(t)
	for i := range n {
		s := c.startSystem(t)
		name := fmt.Sprintf("node-%d", i+1)
		tags := cluster.Tags{Addr: s.Address(), Weight: 1, Partitions: testQ, N: 3, Protocol: messages.ProtocolVersion}
		enc, err := tags.Encode()
		if err != nil {
			t.Fatal(err)
		}
		c.members.nodes = append(c.members.nodes, cluster.Node{Name: name, Status: cluster.StatusAlive, Tags: enc})
		c.nodes = append(c.nodes, &testNode{name: name, sys: s})
	}
	for _, nd := range c.nodes {
		c.spawn(nd)
	}
	c.waitReady()
	return c
}

// spawn starts nd's actors (again, after restart, over the same engine).
func (c *testCluster) spawn(nd *testNode) {
	c.t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	enc, _ := cluster.DecodeTags(c.members.nodes[0].Tags)
	enc.Addr = nd.sys.Address()
	if nd.engine == nil {
		nd.engine = storage.NewMemory()
		if c.wrap != nil {
			nd.engine = c.wrap(nd.name, nd.engine)
		}
	}
	nd.health, nd.counters, nd.bg = NewHealth(c.suspectBase, 0), &Counters{}, &Background{}
	nd.flusher = storage.NewFlusher(nd.engine, cmp.Or(c.flushInterval, 5*time.Millisecond))
	c.t.Cleanup(nd.flusher.Stop)
	nd.committer = storage.NewCommitter(nd.engine, time.Millisecond, nil)
	c.t.Cleanup(nd.committer.Close)
	pid, err := SpawnNode(nd.sys, NodeConfig{
		Membership: MembershipConfig{Self: nd.name, Local: enc, Source: c.members, Logger: quiet},
		Vnodes:     VnodesConfig{Engine: nd.engine, Self: nd.name, Partitions: testQ, NoSync: c.noSync(), Flusher: nd.flusher, Committer: nd.committer, Logger: quiet},
		Router: RouterConfig{Self: nd.name, N: 3, Defaults: Defaults{R: 2, W: 2, Timeout: time.Second}, Limits: request.DefaultLimits(), Logger: quiet,
			NoHintedHandoff: c.noHints, AllowFaultInjection: c.faults, ReadSpeculateAfter: c.speculate, Durability: c.durability},
		Hints: HintsConfig{Engine: nd.engine, Self: nd.name, NoSync: true, Interval: 200 * time.Millisecond, RetryAfter: 100 * time.Millisecond, Logger: quiet},
		Syncer: SyncerConfig{Self: nd.name, Disabled: !c.antiEntropy, Interval: 2 * time.Millisecond, Rate: cmp.Or(c.syncRate, 100000), Timeout: time.Second, Logger: quiet,
			Reap: c.reapConfig()},
		Counters:   nd.counters,
		Health:     nd.health,
		Background: nd.bg,
		Logger:     quiet,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	nd.pid = pid
}

// noSync: the vnodes skip fsync, unless a test sets sync (what is synced
// and what is buffered is then under test).
func (c *testCluster) noSync() bool { return !c.sync }

func (c *testCluster) reapConfig() ReapConfig {
	r := c.reapCfg
	r.Off = !c.reap
	return r
}

// waitReady polls until the nodes' vnodes run and their routers have a
// view of the members now (every node's when none is given).
func (c *testCluster) waitReady(nodes ...*testNode) {
	c.t.Helper()
	if len(nodes) == 0 {
		nodes = c.nodes
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range nodes {
		for {
			res, err := nd.sys.Root().RequestFuture(actor.NewPID(nd.sys.Address(), remoting.VnodesName), &Held{}, time.Second).Result()
			if err == nil && len(res.(*HeldReply).Partitions) > 0 {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s: vnodes not started: %v", nd.name, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want := c.wantStates()
	for _, nd := range nodes {
		if nd.sys == nil {
			continue
		}
		for !c.viewMatches(nd, want) {
			if time.Now().After(deadline) {
				c.t.Fatalf("%s: no view showing %v", nd.name, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// wantStates is each member's state in a view of the members now.
func (c *testCluster) wantStates() map[string]messages.MemberState {
	want := map[string]messages.MemberState{}
	for _, m := range c.members.Members() {
		want[m.Name] = messages.MemberState_MEMBER_STATE_UP
		if m.Status == cluster.StatusFailed {
			want[m.Name] = messages.MemberState_MEMBER_STATE_DOWN
		}
	}
	return want
}

// refresh tells every live node's membership actor to re-read the members,
// and waits until every live router's view shows the failed ones down.
func (c *testCluster) refresh() {
	c.t.Helper()
	want := c.wantStates()
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range c.nodes {
		if nd.sys == nil {
			continue
		}
		nd.sys.Root().Send(actor.NewPID(nd.sys.Address(), remoting.MembershipName), &Refresh{})
		for !c.viewMatches(nd, want) {
			if time.Now().After(deadline) {
				c.t.Fatalf("%s: view does not show %v", nd.name, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (c *testCluster) viewMatches(nd *testNode, want map[string]messages.MemberState) bool {
	res, err := nd.sys.Root().RequestFuture(routerPID(nd.sys.Address()), messages.Wrap(0, &messages.MembersRequest{}), time.Second).Result()
	if err != nil {
		return false
	}
	got := res.(*messages.Envelope).GetMembersReply().GetMembers()
	if len(got) != len(want) {
		return false
	}
	for _, m := range got {
		if want[m.GetName()] != m.GetState() {
			return false
		}
	}
	return true
}

func (c *testCluster) stop(i int, markFailed bool) {
	nd := c.nodes[i]
	nd.sys.Stop()
	nd.sys = nil
	if markFailed {
		c.members.set(nd.name, cluster.StatusFailed)
		c.refresh()
	}
}

func (c *testCluster) send(via int, msg *messages.Envelope) *messages.Envelope {
	c.t.Helper()
	res, err := c.client.Root().RequestFuture(routerPID(c.nodes[via].sys.Address()), msg, 5*time.Second).Result()
	if err != nil {
		c.t.Fatalf("request via %s: %v", c.nodes[via].name, err)
	}
	env := res.(*messages.Envelope)
	if env.GetRequestId() != msg.GetRequestId() {
		c.t.Fatalf("reply id %d, want %d", env.GetRequestId(), msg.GetRequestId())
	}
	return env
}

func (c *testCluster) put(via int, key, value string, ctx []byte, w uint32) *messages.PutReply {
	c.nextID++
	return c.send(via, messages.Wrap(c.nextID, &messages.PutRequest{Key: []byte(key), Value: []byte(value), Context: ctx, W: w})).GetPutReply()
}

func (c *testCluster) get(via int, key string, r uint32) *messages.GetReply {
	c.nextID++
	return c.send(via, messages.Wrap(c.nextID, &messages.GetRequest{Key: []byte(key), R: r})).GetGetReply()
}

func (c *testCluster) del(via int, key string, ctx []byte) *messages.DeleteReply {
	c.nextID++
	return c.send(via, messages.Wrap(c.nextID, &messages.DeleteRequest{Key: []byte(key), Context: ctx})).GetDeleteReply()
}

func values(r *messages.GetReply) []string {
	var out []string
	for _, v := range r.GetValues() {
		out = append(out, string(v))
	}
	slices.Sort(out)
	return out
}

func TestClusterPutGetDeleteThroughAnyNode(t *testing.T) {
	c := newTestCluster(t, 3)
	if g := c.get(0, "cart", 0); g.GetError() != nil || g.GetFound() {
		t.Fatalf("absent: %v", g)
	}
	p := c.put(1, "cart", "apple", nil, 0)
	if p.GetError() != nil || len(p.GetContext()) == 0 {
		t.Fatalf("put: %v", p)
	}
	for i := range c.nodes {
		g := c.get(i, "cart", 2)
		if g.GetError() != nil || !g.GetFound() || !slices.Equal(values(g), []string{"apple"}) {
			t.Fatalf("get via %d: %v", i, g)
		}
	}
	g := c.get(2, "cart", 3)
	if d := c.del(2, "cart", g.GetContext()); d.GetError() != nil {
		t.Fatalf("delete: %v", d)
	}
	if g := c.get(0, "cart", 3); g.GetError() != nil || g.GetFound() || len(g.GetContext()) == 0 {
		t.Fatalf("after delete: %v (a deleted key is not found but keeps a context)", g)
	}
}

// Dotted version vectors: two writes with the same context through the same
// coordinator are concurrent, so both survive as siblings; a write with the
// merged context resolves them.
func TestClusterSameContextWritesBecomeSiblings(t *testing.T) {
	c := newTestCluster(t, 5)
	base := c.put(0, "k", "v0", nil, 0)
	a := c.put(0, "k", "left", base.GetContext(), 0)
	b := c.put(0, "k", "right", base.GetContext(), 0)
	if a.GetError() != nil || b.GetError() != nil {
		t.Fatal(a, b)
	}
	g := c.get(3, "k", 3)
	if !slices.Equal(values(g), []string{"left", "right"}) {
		t.Fatalf("siblings %v, want left and right (no lost update)", values(g))
	}
	if p := c.put(4, "k", "merged", g.GetContext(), 3); p.GetError() != nil {
		t.Fatal(p)
	}
	if g := c.get(1, "k", 3); !slices.Equal(values(g), []string{"merged"}) {
		t.Fatalf("after merge write: %v", values(g))
	}
}

func TestClusterOneNodeDownStillServesQuorum(t *testing.T) {
	c := newTestCluster(t, 3)
	c.put(0, "a", "1", nil, 3)
	c.stop(2, true)
	if p := c.put(0, "a", "2", nil, 2); p.GetError() != nil {
		t.Fatalf("W=2 with one node down: %v", p.GetError())
	}
	if g := c.get(1, "a", 2); g.GetError() != nil || !slices.Contains(values(g), "2") {
		t.Fatalf("R=2 with one node down: %v", g)
	}
}

// Two of three down: a W=2 write fails with a quorum error that says 1 of
// 2, both when the nodes are known failed (refused before sending) and when
// they are not yet detected (the deadline decides).
func TestClusterTwoDownFailsQuorumWithinDeadline(t *testing.T) {
	c := newTestCluster(t, 3)
	c.stop(1, false)
	c.stop(2, false)
	start := time.Now()
	c.nextID++
	p := c.send(0, messages.Wrap(c.nextID, &messages.PutRequest{Key: []byte("x"), Value: []byte("v"), W: 2, TimeoutMs: 300})).GetPutReply()
	if e := p.GetError(); e.GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM || e.GetNeed() != 2 || e.GetGot() != 1 {
		t.Fatalf("undetected failures: %v", e)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v, deadline 300ms", d)
	}
	c.members.set("node-2", cluster.StatusFailed)
	c.members.set("node-3", cluster.StatusFailed)
	c.refresh()
	p = c.put(0, "x", "v", nil, 2)
	if e := p.GetError(); e.GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM || e.GetNeed() != 2 || e.GetGot() != 1 {
		t.Fatalf("detected failures: %v", e)
	}
	if g := c.get(0, "x", 1); g.GetError() != nil {
		t.Fatalf("R=1 on the survivor: %v", g.GetError())
	}
}

func TestClusterRefusesBadRequestsBeforeSending(t *testing.T) {
	c := newTestCluster(t, 3)
	cases := []struct {
		env   *messages.Envelope
		code  messages.ErrorCode
		field string
	}{
		{messages.Wrap(1, &messages.GetRequest{Key: []byte("k"), R: 4}), messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "r"},
		{messages.Wrap(2, &messages.PutRequest{Key: []byte("k"), W: 4}), messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "w"},
		{messages.Wrap(3, &messages.PutRequest{Key: nil}), messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "key"},
		{messages.Wrap(4, &messages.PutRequest{Key: bytes.Repeat([]byte("k"), request.DefaultMaxKeyBytes+1)}), messages.ErrorCode_ERROR_CODE_TOO_LARGE, "key"},
		{messages.Wrap(5, &messages.PutRequest{Key: []byte("k"), Value: make([]byte, request.DefaultMaxValueBytes+1)}), messages.ErrorCode_ERROR_CODE_TOO_LARGE, "value"},
		{messages.Wrap(6, &messages.DeleteRequest{Key: []byte("k"), Context: []byte{0xff, 0x01}}), messages.ErrorCode_ERROR_CODE_BAD_CONTEXT, "context"},
		{messages.Wrap(7, &messages.GetRequest{Key: []byte("k"), TimeoutMs: 3_600_000}), messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "timeout"},
	}
	for _, tc := range cases {
		reply := c.send(0, tc.env)
		body, _ := messages.Open(reply)
		var e *messages.Error
		switch b := body.(type) {
		case *messages.GetReply:
			e = b.GetError()
		case *messages.PutReply:
			e = b.GetError()
		case *messages.DeleteReply:
			e = b.GetError()
		}
		if e.GetCode() != tc.code || e.GetField() != tc.field {
			t.Errorf("request %d: got %v, want %v on %q", tc.env.GetRequestId(), e, tc.code, tc.field)
		}
	}
	// Nothing was written by the refused put of "k".
	if g := c.get(1, "k", 3); g.GetFound() {
		t.Fatalf("a refused put wrote: %v", g)
	}
}

// A put sent to a node that is not a replica of the key is forwarded to a
// primary, whose dot goes into the version.
func TestClusterPutIsCoordinatedByAReplica(t *testing.T) {
	c := newTestCluster(t, 5)
	members := c.members.Members()
	var rms []ring.Member
	for _, m := range members {
		rms = append(rms, ring.Member{Name: m.Name, Weight: 1, State: ring.Up})
	}
	r, err := ring.New(ring.Config{Partitions: testQ, N: 3}, rms)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("forward-me")
	owners := r.Owners(r.Partition(key))
	via := -1
	for i, nd := range c.nodes {
		if !slices.Contains(owners, nd.name) {
			via = i
		}
	}
	p := c.put(via, string(key), "v", nil, 2)
	if p.GetError() != nil {
		t.Fatal(p.GetError())
	}
	clock, err := version.DecodeContext(p.GetContext())
	if err != nil || len(clock.Clock) != 1 {
		t.Fatalf("context %v %v", clock, err)
	}
	if coord := clock.Clock[0].Actor; !slices.Contains(owners, coord[:strings.LastIndexByte(coord, '@')]) {
		t.Fatalf("coordinated by %s, not a primary of %v", coord, owners)
	}
}

// A replica without the partition's vnode (a node whose view differs, or a
// vnode stopped for good) answers with a dead letter: the coordinator counts
// it as failed at once instead of waiting for the deadline.
func TestClusterMissingVnodeFailsFastNotAtDeadline(t *testing.T) {
	c := newTestCluster(t, 3)
	key := []byte("no-vnode-here")
	p := ring.PartitionOf(ring.HashKey(key), testQ)
	victim := c.nodes[2]
	if err := victim.sys.Root().StopFuture(actor.NewPID(victim.sys.Address(), remoting.VnodeName(p))).Wait(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.nextID++
	reply := c.send(0, messages.Wrap(c.nextID, &messages.PutRequest{Key: key, Value: []byte("v"), W: 3, TimeoutMs: 5000})).GetPutReply()
	if e := reply.GetError(); e.GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM || e.GetGot() > 2 || !strings.Contains(e.GetMessage(), "1 failed") {
		t.Fatalf("W=3 with a missing vnode: %v", e)
	}
	c.nextID++
	g := c.send(1, messages.Wrap(c.nextID, &messages.GetRequest{Key: key, R: 3, TimeoutMs: 5000})).GetGetReply()
	if g.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM {
		t.Fatalf("R=3 with a missing vnode: %v", g)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v: a dead letter waited for the 5 s deadline", d)
	}
}

// A vnode whose storage fails restarts under supervision (counted); past the
// restart limit it is stopped, and the manager starts it again later, so
// the partition serves again once the storage heals.
func TestVnodeSupervisionRestartsAndRespawns(t *testing.T) {
	s := startSystem(t)
	var broken atomic.Bool
	broken.Store(true)
	engine := storage.NewFaulty(storage.NewMemory(), storage.InjectorFunc(func(storage.Op, storage.Keyspace) error {
		if broken.Load() {
			return errors.New("disk on fire")
		}
		return nil
	}))
	var counters Counters
	restarts := &counters.Restarts
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := remoting.SpawnNamed(s.Root(), VnodesProps(VnodesConfig{Engine: engine, Self: "solo", Partitions: 8,
		NoSync: true, Counters: &counters, Logger: quiet}), remoting.VnodesName)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ring.New(ring.Config{Partitions: 8, N: 1}, []ring.Member{{Name: "solo", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	s.Root().Send(mgr, &View{Self: "solo", Ring: r, Addrs: map[string]string{"solo": s.Address()}, Epoch: 1})
	deadline := time.Now().Add(5 * time.Second)
	for restarts.Load() < RestartLimit {
		if time.Now().After(deadline) {
			t.Fatalf("restarts counted: %d", restarts.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	broken.Store(false)
	key := keyOf(3, 8)
	for {
		res, err := s.Root().RequestFuture(actor.NewPID(s.Address(), remoting.VnodeName(3)),
			messages.Wrap(1, &messages.ReplicaGetRequest{Partition: 3, Key: key}), 200*time.Millisecond).Result()
		if err == nil {
			if g := res.(*messages.Envelope).GetReplicaGetReply(); g != nil && g.GetError() == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition 3 does not serve after the storage healed: %v %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
