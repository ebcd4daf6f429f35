package node

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
)

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startClient starts the test's own actor system (it sends requests).
func startClient(t *testing.T) *remoting.System {
	t.Helper()
	cl, err := remoting.StartSystem(remoting.SystemConfig{Addr: "127.0.0.1:0", QueueSize: 1024, TLS: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

// membersSeen is how many up members nd's router lists.
func (h *harness) membersSeen(nd *Node) int {
	m := h.call(nd, &messages.MembersRequest{}).GetMembersReply()
	up := 0
	for _, mi := range m.GetMembers() {
		if mi.GetState() == messages.MemberState_MEMBER_STATE_UP {
			up++
		}
	}
	return up
}

func (h *harness) waitAllSee(want int, within time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for _, nd := range h.nodes {
		for h.membersSeen(nd) != want {
			if time.Now().After(deadline) {
				h.t.Fatalf("%s sees %d members up, want %d", nd.Name(), h.membersSeen(nd), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// A node whose seed is not up yet starts alone and keeps retrying it: when
// the seed starts (alone, with no seeds of its own), the two form one
// cluster.
func TestNodeKeepsRetryingItsSeed(t *testing.T) {
	h := &harness{t: t, client: startClient(t)}
	seed := freeAddr(t)
	n1, err := Start(testConfig(t, "n1", t.TempDir(), seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n1.Stop)
	h.nodes = []*Node{n1}
	h.waitAllSee(1, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // at least one retry fails
	cfg := testConfig(t, "n2", t.TempDir())
	cfg.GossipAddr = seed
	n2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n2.Stop)
	h.nodes = append(h.nodes, n2)
	h.waitAllSee(2, 15*time.Second)
}

// A running cluster of three; two nodes join at the same moment through
// different seeds: every node ends seeing all five.
func TestTwoNodesJoiningThroughDifferentSeedsConverge(t *testing.T) {
	h := startCluster(t, 3)
	seeds := []string{h.nodes[0].GossipAddr(), h.nodes[2].GossipAddr()}
	var wg sync.WaitGroup
	added := make([]*Node, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			added[i], errs[i] = Start(testConfig(t, fmt.Sprintf("n%d", 4+i), t.TempDir(), seeds[i]))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("n%d: %v", 4+i, err)
		}
		t.Cleanup(added[i].Stop)
	}
	h.nodes = append(h.nodes, added...)
	h.waitAllSee(5, 15*time.Second)
}
