//go:build !race

package actors

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
)

// The tests in this file are of what real remoting adds: protoactor's
// gRPC batching, and a lost connection seen through Watch. They start
// their systems over real remoting, which races on a gRPC global, so the
// file is built without the race detector only. The rest of this
// package's tests run over the in-memory network (startSystem).

// startRemoteSystem starts an actor system with remoting on a free
// loopback port.
func startRemoteSystem(t *testing.T) *remoting.System {
	t.Helper()
	cfg := remoting.DefaultSystemConfig()
	cfg.Addr = "127.0.0.1:0"
	s, err := remoting.StartSystem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// overRemoting makes a test cluster's nodes and client talk over real
// remoting.
func overRemoting(c *testCluster) { c.startSystem = startRemoteSystem }

func TestRemotingDroppedPeerIsSuspectedAndSkipped(t *testing.T) {
	testDroppedPeerIsSuspectedAndSkipped(t, overRemoting)
}

// Values near the limit, many at once, and an object of several such
// siblings travel over remoting: protoactor batches messages into one gRPC
// message, which must not hit gRPC's default 4 MiB limit.
func TestRemotingLargeValues(t *testing.T) {
	c := newTestCluster(t, 3, overRemoting)
	big := bytes.Repeat([]byte("v"), 900<<10)
	var wg sync.WaitGroup
	errs := make(chan string, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := messages.Wrap(uint64(1000+i), &messages.PutRequest{Key: fmt.Appendf(nil, "big-%d", i), Value: big, TimeoutMs: 5000})
			res, err := c.client.Root().RequestFuture(routerPID(c.nodes[i%3].sys.Address()), env, 10*time.Second).Result()
			if err != nil {
				errs <- err.Error()
				return
			}
			if e := res.(*messages.Envelope).GetPutReply().GetError(); e != nil {
				errs <- e.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("large put: %s", e)
	}
	for i := range 5 {
		if p := c.put(0, "siblings", string(big), nil, 1); p.GetError() != nil {
			t.Fatalf("blind write %d: %v", i, p.GetError())
		}
	}
	// W=1: the other replicas receive the writes shortly after the acks.
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := c.get(1, "siblings", 3)
		if g.GetError() == nil && len(g.GetValues()) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read of 5 siblings of 900 KiB: %d values, %v", len(g.GetValues()), g.GetError())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
