package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"github.com/dynamokv/dynamo/vnode"
)

// keysIn returns n keys of partition p of a ring of q partitions.
func keysIn(p uint32, q, n int) [][]byte {
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if ring.PartitionOf(ring.HashKey(k), q) == p {
			out = append(out, k)
		}
	}
	return out
}

// A vnode restarted after a crash serves reads and writes while its
// Merkle tree builds (here held back: the node's one build slot is
// taken), answers anti-entropy that it is building, and then holds the
// tree of everything, the writes made during the build included. A
// clean stop persists the tree and the next start loads it.
func TestVnodeServesWhileItsTreeBuilds(t *testing.T) {
	s := startSystem(t)
	const q, p = 16, 3
	now := func() (int64, int64) { return 1, 1 }
	e := storage.NewMemory()
	keys := keysIn(p, q, 40)
	{ // data from before the crash
		st, err := vnode.Open(e, vnode.DefaultConfig(p, q, "a"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys[:30] {
			set, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("old")}, "c@1", 1)
			if _, _, err := st.Merge(k, set); err != nil {
				t.Fatal(err)
			}
		}
	}
	counters := &Counters{}
	slots := make(chan struct{}, 1)
	slots <- struct{}{} // another vnode's build holds the slot
	spawn := func() *actor.PID {
		pid, err := remoting.SpawnNamed(s.Root(), VnodeProps(e, vnode.DefaultConfig(p, q, "a"), "a", now, nil, VnodeEnv{Builds: slots, Counters: counters}), remoting.VnodeName(p))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	pid := spawn()
	if g := call(t, s, pid, messages.Wrap(1, &messages.ReplicaGetRequest{Partition: p, Key: keys[0]})).(*messages.ReplicaGetReply); !g.GetFound() {
		t.Fatal("a building vnode does not serve reads")
	}
	for i, k := range keys[25:] { // overwrite some, add new ones
		set, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("new")}, "d@1", 1)
		r := call(t, s, pid, messages.Wrap(uint64(10+i), &messages.ReplicaPutRequest{Partition: p, Key: k, Set: version.ToProto(set), Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE})).(*messages.ReplicaPutReply)
		if r.GetError() != nil {
			t.Fatalf("a building vnode refused a write: %v", r.GetError())
		}
	}
	h := call(t, s, pid, messages.Wrap(2, &messages.MerkleHashesRequest{Partition: p, Level: 0, Indices: []uint32{0}})).(*messages.MerkleHashesReply)
	if h.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("a building vnode answered its root: %v", h)
	}
	if snap := askTree(t, s, pid); snap.err == nil || snap.tree != nil {
		t.Fatalf("a building vnode gave the syncer a tree: %+v", snap)
	}
	if counters.TreesBuilding.Load() != 1 {
		t.Fatalf("TreesBuilding = %d, want 1", counters.TreesBuilding.Load())
	}
	<-slots // the slot frees
	deadline := time.Now().Add(5 * time.Second)
	var snap *treeSnapshotReply
	for snap = askTree(t, s, pid); snap.tree == nil; snap = askTree(t, s, pid) {
		if time.Now().After(deadline) {
			t.Fatal("the tree was not built within 5 s of its slot freeing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if snap.tree.Count() != 40 {
		t.Fatalf("built tree counts %d keys, want 40", snap.tree.Count())
	}
	if scan, err := vnode.Open(e, vnode.DefaultConfig(p, q, "a")); err != nil || scan.Tree().Root() != snap.tree.Root() {
		t.Fatalf("the built tree differs from a scan of the data (%v)", err)
	}
	if counters.TreesBuilding.Load() != 0 || counters.TreesBuilt.Load() != 1 {
		t.Fatalf("building %d built %d, want 0 and 1", counters.TreesBuilding.Load(), counters.TreesBuilt.Load())
	}
	root := snap.tree.Root()
	if err := s.Root().StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	pid = spawn()
	if snap := askTree(t, s, pid); snap.tree == nil || snap.tree.Root() != root {
		t.Fatalf("after a clean stop the vnode did not load its tree: %+v", snap)
	}
	if counters.TreesLoaded.Load() != 1 || counters.TreesBuilt.Load() != 1 {
		t.Fatalf("loaded %d built %d, want 1 and 1", counters.TreesLoaded.Load(), counters.TreesBuilt.Load())
	}
}

// A vnode stopped while its build waits for a slot stops at once, and
// its build's goroutine ends with it.
func TestVnodeStopsWhileItsTreeWaits(t *testing.T) {
	s := startSystem(t)
	const q, p = 16, 4
	now := func() (int64, int64) { return 1, 1 }
	e := storage.NewMemory()
	st, err := vnode.Open(e, vnode.DefaultConfig(p, q, "a"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v")}, "c@1", 1)
	if _, _, err := st.Merge(keysIn(p, q, 1)[0], set); err != nil {
		t.Fatal(err)
	}
	counters := &Counters{}
	slots := make(chan struct{}, 1)
	slots <- struct{}{}
	pid, err := remoting.SpawnNamed(s.Root(), VnodeProps(e, vnode.DefaultConfig(p, q, "a"), "a", now, nil, VnodeEnv{Builds: slots, Counters: counters}), remoting.VnodeName(p))
	if err != nil {
		t.Fatal(err)
	}
	askTree(t, s, pid) // started
	if err := s.Root().StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if counters.TreesBuilding.Load() != 0 {
		t.Fatalf("TreesBuilding = %d after the stop", counters.TreesBuilding.Load())
	}
	if _, err := e.Get(storage.KeyspaceMeta, []byte("tree/\x00\x00\x00\x04")); err == nil {
		t.Fatal("a vnode stopped before its tree was built persisted one")
	}
}

func askTree(t *testing.T, s *remoting.System, pid *actor.PID) *treeSnapshotReply {
	t.Helper()
	res, err := s.Root().RequestFuture(pid, &treeSnapshot{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(*treeSnapshotReply)
}

// The node's key count follows its vnodes: each adds what its store holds
// and takes it back when it stops, so stops and restarts do not inflate it.
func TestVnodeKeysCountFollowsStartsAndStops(t *testing.T) {
	s := startSystem(t)
	const q, p = 16, 5
	now := func() (int64, int64) { return 1, 1 }
	e := storage.NewMemory()
	counters := &Counters{}
	for round := range 3 {
		pid, err := remoting.SpawnNamed(s.Root(), VnodeProps(e, vnode.DefaultConfig(p, q, "a"), "a", now, nil, VnodeEnv{Counters: counters}), remoting.VnodeName(p))
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keysIn(p, q, 10*(round+1))[10*round:] { // 10 new keys a round
			set, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v")}, "c@1", 1)
			call(t, s, pid, messages.Wrap(uint64(i+1), &messages.ReplicaPutRequest{Partition: p, Key: k, Set: version.ToProto(set), Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE}))
		}
		// The count follows each message just after its reply: wait for it.
		deadline := time.Now().Add(2 * time.Second)
		for counters.Keys.Load() != int64(10*(round+1)) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := counters.Keys.Load(); got != int64(10*(round+1)) {
			t.Fatalf("round %d: Keys = %d while the vnode holds %d", round, got, 10*(round+1))
		}
		if err := s.Root().StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		if got := counters.Keys.Load(); got != 0 {
			t.Fatalf("round %d: Keys = %d with no vnode running", round, got)
		}
	}
}
