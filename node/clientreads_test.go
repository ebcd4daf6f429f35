package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// A client that coordinates reads itself (client.Config.CoordinateReads)
// answers as a node would: values, not found, siblings, and a read repair
// of a stale replica (anti-entropy and hints are off, so nothing else
// repairs it). When it cannot reach R primaries it leaves the read to a
// node.
func TestClientCoordinatedReads(t *testing.T) {
	h := startCluster(t, 3, func(c *Config) { c.NoAntiEntropy, c.NoHintedHandoff = true, true })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// connected starts a client that coordinates reads and connects it to
	// every node (it coordinates reads only over connected replicas).
	connected := func(cfg client.Config) *client.Client {
		t.Helper()
		cfg.Seeds, cfg.TLS, cfg.CoordinateReads = []string{h.nodes[0].ActorAddr()}, clientTLS(t), true
		cl, err := client.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		for _, nd := range h.nodes {
			if _, err := cl.Status(ctx, nd.Name()); err != nil {
				t.Fatal(err)
			}
		}
		return cl
	}
	cl := connected(client.Config{})
	read := func(key string) *client.Object {
		t.Helper()
		before := cl.CoordinatedReads()
		obj, err := cl.Get(ctx, []byte(key))
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		if cl.CoordinatedReads() != before+1 {
			t.Fatalf("get %s was not coordinated by the client", key)
		}
		return obj
	}
	if _, err := cl.Put(ctx, []byte("k1"), []byte("v1"), client.Context{}); err != nil {
		t.Fatal(err)
	}
	if o := read("k1"); !o.Found || len(o.Values) != 1 || string(o.Values[0]) != "v1" || o.Context.IsZero() {
		t.Fatalf("k1: %+v", o)
	}
	if o := read("missing"); o.Found || len(o.Values) != 0 {
		t.Fatalf("missing: %+v", o)
	}
	// Two blind writes are siblings; a write with the read's context
	// resolves them.
	for _, v := range []string{"a", "b"} {
		if _, err := cl.Put(ctx, []byte("sib"), []byte(v), client.Context{}, client.W(3)); err != nil {
			t.Fatal(err)
		}
	}
	o := read("sib")
	got := []string{}
	for _, v := range o.Values {
		got = append(got, string(v))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("siblings: %q", got)
	}
	if _, err := cl.Put(ctx, []byte("sib"), []byte("ab"), o.Context, client.W(3)); err != nil {
		t.Fatal(err)
	}
	if o := read("sib"); len(o.Values) != 1 || string(o.Values[0]) != "ab" {
		t.Fatalf("after the merge: %q", o.Values)
	}

	// A stale replica: a newer version goes to two replicas only.
	key := []byte("stale")
	if _, err := cl.Put(ctx, key, []byte("old"), client.Context{}, client.W(3)); err != nil {
		t.Fatal(err)
	}
	m, err := cl.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := ring.PartitionOf(ring.HashKey(key), m.Partitions)
	vnode := func(nd *Node) *actor.PID { return actor.NewPID(nd.ActorAddr(), remoting.VnodeName(p)) }
	res, err := h.client.Root().RequestFuture(vnode(h.nodes[0]), messages.Wrap(1, &messages.ReplicaGetRequest{Partition: p, Key: key}), 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := version.FromProto(res.(*messages.Envelope).GetReplicaGetReply().GetSet())
	if err != nil {
		t.Fatal(err)
	}
	newer, err := version.Update(cur, cur.Context(), version.Write{Value: []byte("new"), Timestamp: 2}, "test@1", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range h.nodes[:2] {
		res, err := h.client.Root().RequestFuture(vnode(nd), messages.Wrap(2, &messages.ReplicaPutRequest{Partition: p, Key: key, Set: version.ToProto(newer),
			Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE}), 5*time.Second).Result()
		if err != nil || res.(*messages.Envelope).GetReplicaPutReply().GetError() != nil {
			t.Fatalf("writing the newer version to %s: %v %v", nd.Name(), res, err)
		}
	}
	stale := h.nodes[2].Name()
	if r, err := cl.ReplicaOf(ctx, stale, key); err != nil || len(r.Values) != 1 || string(r.Values[0]) != "old" {
		t.Fatalf("setup: %s should hold only the old version: %+v %v", stale, r, err)
	}
	if o := read("stale"); len(o.Values) != 1 || string(o.Values[0]) != "new" {
		t.Fatalf("stale: %q", o.Values)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := cl.ReplicaOf(ctx, stale, key)
		if err == nil && len(r.Values) == 1 && string(r.Values[0]) == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's read did not repair %s: %+v %v", stale, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A client that asks R primaries first (ReadSpeculateAfter) reads the
	// same values; each read asks two replicas of three, at random.
	q := connected(client.Config{Timeout: 5 * time.Second, ReadSpeculateAfter: time.Second})
	// The vnodes' object reads (cache hits and misses) count the replicas
	// asked: 2 per read, 3 only when a read speculated.
	objectReads := func() (n uint64) {
		for _, nd := range h.nodes {
			n += nd.Counters().Cache.Hits.Load() + nd.Counters().Cache.Misses.Load()
		}
		return n
	}
	before := objectReads()
	for i := range 20 {
		o, err := q.Get(ctx, []byte("sib"))
		if err != nil || len(o.Values) != 1 || string(o.Values[0]) != "ab" {
			t.Fatalf("read %d of sib asking R primaries first: %+v %v", i, o, err)
		}
	}
	if q.CoordinatedReads() != 20 {
		t.Fatalf("%d of 20 reads coordinated by the client asking R primaries first", q.CoordinatedReads())
	}
	// Once the replies still on their way are in (nothing else reads).
	n := objectReads()
	for settle := time.Now().Add(2 * time.Second); time.Now().Before(settle); {
		time.Sleep(100 * time.Millisecond)
		if m := objectReads(); m != n {
			n, settle = m, time.Now().Add(300*time.Millisecond)
		}
	}
	if n -= before; n < 40 || n > 45 {
		t.Fatalf("20 reads asking R=2 of 3 primaries first: %d replica reads, want 40 (60: every primary asked)", n)
	}

	// R=3 with a replica down: the client cannot reach R primaries and
	// leaves the read to a node, whose quorum error comes back.
	h.stop(2)
	before = cl.CoordinatedReads()
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err = cl.Get(ctx, []byte("k1"), client.R(3))
		if errors.Is(err, client.ErrQuorum) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("R=3 with a replica down: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cl.CoordinatedReads() != before {
		t.Fatal("a read the client could not decide was counted as coordinated by it")
	}
}
