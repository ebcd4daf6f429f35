package actors

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"github.com/dynamokv/dynamo/vnode"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// network connects the actor systems of this package's tests in memory,
// with no gRPC and no ports. (The tests of what real remoting adds are in
// remoting_test.go; the node package's and the CLI's tests run the same
// actors over real remoting.)
var (
	network   = remoting.NewMemoryNetwork()
	addresses atomic.Int64
)

// startSystem starts an actor system on network, at an address of its own.
func startSystem(t *testing.T) *remoting.System {
	t.Helper()
	s := network.StartSystem(fmt.Sprintf("memory-%d:1", addresses.Add(1)))
	t.Cleanup(s.Stop)
	return s
}

func call(t *testing.T, from *remoting.System, to *actor.PID, env *messages.Envelope) proto.Message {
	t.Helper()
	res, err := from.Root().RequestFuture(to, env, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("request to %v: %v", to, err)
	}
	reply, ok := res.(*messages.Envelope)
	if !ok {
		t.Fatalf("reply is %T, want *messages.Envelope", res)
	}
	if reply.GetRequestId() != env.GetRequestId() {
		t.Fatalf("reply to request %d carries id %d", env.GetRequestId(), reply.GetRequestId())
	}
	body, err := messages.Open(reply)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func keyOf(p uint32, q int) []byte {
	for i := 0; ; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if ring.PartitionOf(ring.HashKey(k), q) == p {
			return k
		}
	}
}

// A coordinator on one node reaches a vnode on another over protoactor
// remoting, with every message in an Envelope: replicate a write, merge a
// concurrent one, read both back; and an envelope from a newer protocol is answered
// UNSUPPORTED without harming the node.
func TestVnodeActorOverRemoting(t *testing.T) {
	a, b := startSystem(t), startSystem(t)
	if a.Address() == b.Address() || a.Address() == "nonhost" {
		t.Fatalf("addresses %q %q", a.Address(), b.Address())
	}
	const q, p = 16, 5
	now := func() (int64, int64) { return 1, 1 }
	pid, err := remoting.SpawnNamed(b.Root(), VnodeProps(storage.NewMemory(), vnode.DefaultConfig(p, q, "b@1"), "b", now, nil, VnodeEnv{}), remoting.VnodeName(p))
	if err != nil {
		t.Fatal(err)
	}
	remotePID := actor.NewPID(b.Address(), pid.Id)
	key := keyOf(p, q)

	// A write coordinated elsewhere, replicated here.
	written, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v1")}, "c@1", 1)
	first := call(t, a, remotePID, messages.Wrap(1, &messages.ReplicaPutRequest{Partition: p, Key: key, Set: version.ToProto(written), Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE})).(*messages.ReplicaPutReply)
	if first.GetError() != nil || first.GetNode() != "b" || !first.GetChanged() {
		t.Fatalf("replica put: %v", first)
	}
	// A concurrent write from elsewhere, merged in as replication.
	other, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v2")}, "a@1", 1)
	put := call(t, a, remotePID, messages.Wrap(2, &messages.ReplicaPutRequest{Partition: p, Key: key, Set: version.ToProto(other), Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE})).(*messages.ReplicaPutReply)
	if put.GetError() != nil {
		t.Fatalf("replica put: %v", put.GetError())
	}
	got := call(t, a, remotePID, messages.Wrap(3, &messages.ReplicaGetRequest{Partition: p, Key: key})).(*messages.ReplicaGetReply)
	set, err := version.FromProto(got.GetSet())
	if err != nil || !got.GetFound() {
		t.Fatalf("get: %v %v", got, err)
	}
	if !version.Equal(set, version.Sync(written, other)) || set.Len() != 2 {
		t.Fatalf("stored %v, want both siblings", set)
	}
	// A malformed set is refused with a code, not a crash.
	bad := call(t, a, remotePID, messages.Wrap(4, &messages.ReplicaPutRequest{Partition: p, Key: key,
		Set: &messages.VersionSet{Siblings: []*messages.Sibling{{}}}})).(*messages.ReplicaPutReply)
	if bad.GetError() == nil {
		t.Fatalf("malformed set: %v", bad)
	}
	// A coordinating write comes only from this node's own coordinators
	// (coordinateWrite, never on the wire): over remoting it is a message
	// this vnode does not serve.
	unserved := call(t, a, remotePID, messages.Wrap(5, &messages.ReplicaGetReply{Partition: p}))
	if e, ok := unserved.(*messages.Error); !ok || e.GetCode() != messages.ErrorCode_ERROR_CODE_UNSUPPORTED {
		t.Fatalf("a reply sent as a request: %v", unserved)
	}
	// An envelope whose body this build does not know (a newer node).
	wire, _ := proto.Marshal(&messages.Envelope{Protocol: 2, RequestId: 5})
	wire = protowire.AppendTag(wire, 150, protowire.BytesType)
	wire = protowire.AppendBytes(wire, []byte{0x0a, 0x01, 'x'})
	var newer messages.Envelope
	if err := proto.Unmarshal(wire, &newer); err != nil {
		t.Fatal(err)
	}
	unsup := call(t, a, remotePID, &newer).(*messages.Error)
	if unsup.GetCode() != messages.ErrorCode_ERROR_CODE_UNSUPPORTED {
		t.Fatalf("newer envelope: %v", unsup)
	}
	// The node still serves.
	if g := call(t, a, remotePID, messages.Wrap(6, &messages.ReplicaGetRequest{Partition: p, Key: key})).(*messages.ReplicaGetReply); !g.GetFound() {
		t.Fatal("vnode stopped serving after an unknown envelope")
	}
}

// A vnode asked for its tree with a peer's root answers same, without a
// clone, when its root and tree shape match, and a clone otherwise (the
// Merkle syncer settles identical replicas at the root).
func TestVnodeTreeSnapshotSettlesAtTheRoot(t *testing.T) {
	s := startSystem(t)
	const q, p = 16, 3
	now := func() (int64, int64) { return 1, 1 }
	pid, err := remoting.SpawnNamed(s.Root(), VnodeProps(storage.NewMemory(), vnode.DefaultConfig(p, q, "a@1"), "a", now, nil, VnodeEnv{}), remoting.VnodeName(p))
	if err != nil {
		t.Fatal(err)
	}
	ask := func(m *treeSnapshot) *treeSnapshotReply {
		t.Helper()
		res, err := s.Root().RequestFuture(pid, m, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res.(*treeSnapshotReply)
	}
	empty := ask(&treeSnapshot{})
	if empty.same || empty.tree == nil {
		t.Fatalf("no peer root: %+v, want a clone", empty)
	}
	written, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v")}, "c@1", 1)
	call(t, s, pid, messages.Wrap(1, &messages.ReplicaPutRequest{Partition: p, Key: keyOf(p, q), Set: version.ToProto(written), Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE}))
	full := ask(&treeSnapshot{})
	root, cfg := full.tree.Root(), full.tree.Config()
	if r := ask(&treeSnapshot{peerRoot: &root, peerConfig: cfg}); !r.same || r.tree != nil {
		t.Fatalf("the same root: %+v, want same and no clone", r)
	}
	old := empty.tree.Root()
	if r := ask(&treeSnapshot{peerRoot: &old, peerConfig: cfg}); r.same || r.tree == nil || r.tree.Root() != root {
		t.Fatalf("another root: %+v, want a clone of the tree", r)
	}
	other := cfg
	other.Depth++
	if r := ask(&treeSnapshot{peerRoot: &root, peerConfig: other}); r.same || r.tree == nil {
		t.Fatalf("the same root in another tree shape: %+v, want a clone", r)
	}
}
