//go:build !race

package client

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
)

// These tests run the fake nodes over real protoactor remoting, each its
// own actor system, which the race detector cannot watch (protoactor's
// remote.Start writes a gRPC global that running transports read): they
// are left out of the -race pass. The client's logic is tested under -race
// over a remoting.MemoryNetwork (client_test.go).

// startRemoteCluster is startCluster over real remoting on loopback.
func startRemoteCluster(t *testing.T, size, n int) *fakeCluster {
	t.Helper()
	cl := &fakeCluster{n: n, data: map[string]*entry{}}
	for i := range size {
		sys, err := remoting.StartSystem(remoting.SystemConfig{Addr: "127.0.0.1:0", QueueSize: 1024})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		node := &fakeNode{name: fmt.Sprintf("n%d", i), cl: cl, address: sys.Address(), stop: func() { once.Do(sys.Stop) }}
		t.Cleanup(node.halt)
		if _, err := remoting.SpawnNamed(sys.Root(), actor.PropsFromFunc(func(ctx actor.Context) {
			if env, ok := ctx.Message().(*messages.Envelope); ok {
				node.handle(env, func(r *messages.Envelope) { ctx.Respond(r) })
			}
		}), remoting.RouterName); err != nil {
			t.Fatal(err)
		}
		cl.nodes = append(cl.nodes, node)
	}
	return cl
}

// Over real remoting, a client reads the membership and writes and reads
// keys, and a node that dies fails over: the transport's mapping of
// protoactor's outcomes holds.
func TestOverRemoting(t *testing.T) {
	cl := startRemoteCluster(t, 3, 3)
	c := cl.newClient(t, cl.nodes[0].addr(), cl.nodes[1].addr())
	if _, err := c.Put(bg(t), []byte("k"), []byte("v"), Context{}); err != nil {
		t.Fatal(err)
	}
	if obj, err := c.Get(bg(t), []byte("k")); err != nil || !obj.Found || string(obj.Values[0]) != "v" {
		t.Fatalf("get: %+v %v", obj, err)
	}
	key := cl.keyWithPrimary(t, "n0")
	cl.nodes[0].halt()
	if _, err := c.Put(bg(t), []byte(key), []byte("v"), Context{}); err != nil {
		t.Fatalf("put after its primary died: %v", err)
	}
}

// Close releases the client's connections: the goroutines of its
// connections to the nodes and of theirs back to it end (protoactor's forced
// shutdown leaves them reconnecting for the life of the process).
func TestCloseReleasesConnections(t *testing.T) {
	cl := startRemoteCluster(t, 3, 2)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 3 {
		c := cl.newClient(t, cl.nodes[0].addr())
		for i := range 10 {
			if _, err := c.Put(bg(t), []byte{'k', byte(i)}, []byte("v"), Context{}); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("close took %v", d)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before three clients, %d after closing them", before, n)
	}
}
