package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
)

// addNode starts one more node and adds it to the members, as a serf join.
func (c *testCluster) addNode() *testNode {
	c.t.Helper()
	s := startSystem(c.t)
	name := fmt.Sprintf("node-%d", len(c.nodes)+1)
	tags, _ := cluster.DecodeTags(c.members.nodes[0].Tags)
	tags.Addr = s.Address()
	enc, err := tags.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	nd := &testNode{name: name, sys: s}
	c.nodes = append(c.nodes, nd)
	c.spawn(nd)
	c.members.mu.Lock()
	c.members.nodes = append(c.members.nodes, cluster.Node{Name: name, Status: cluster.StatusAlive, Tags: enc})
	c.members.mu.Unlock()
	c.refresh()
	return nd
}

// setLeaving sets or clears node i's leaving tag, as `dynamo leave` does.
func (c *testCluster) setLeaving(i int) {
	c.t.Helper()
	c.members.mu.Lock()
	tags, _ := cluster.DecodeTags(c.members.nodes[i].Tags)
	tags.Leaving = true
	enc, err := tags.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	c.members.nodes[i].Tags = enc
	c.members.mu.Unlock()
	for _, nd := range c.nodes {
		nd.sys.Root().Send(actor.NewPID(nd.sys.Address(), MembershipName), &Refresh{})
	}
}

// currentRing is the ring every node computes from the members now.
func (c *testCluster) currentRing() *ring.Ring {
	c.t.Helper()
	members, _ := cluster.View(cluster.Tags{Partitions: testQ, N: 3, Protocol: messages.ProtocolVersion}, c.members.Members())
	r, err := ring.New(ring.Config{Partitions: testQ, N: 3}, members)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// held is node i's vnodes.
func (c *testCluster) held(i int) []uint32 {
	res, err := c.nodes[i].sys.Root().RequestFuture(actor.NewPID(c.nodes[i].sys.Address(), VnodesName), &Held{}, time.Second).Result()
	if err != nil {
		return nil
	}
	return res.(*HeldReply).Partitions
}

// handedOff reports whether every node holds exactly the partitions the
// ring gives it, and every key is on its primaries.
func (c *testCluster) handedOff(keys []string) (bool, string) {
	r := c.currentRing()
	for i, nd := range c.nodes {
		owned, _ := r.PartitionsOf(nd.name)
		if got := c.held(i); fmt.Sprint(got) != fmt.Sprint(owned) {
			return false, fmt.Sprintf("%s holds %v, owns %v", nd.name, got, owned)
		}
	}
	for _, k := range keys {
		for _, o := range r.Owners(r.Partition([]byte(k))) {
			if !holds(c.replicaGet(c.index(o), k), "v-"+k) {
				return false, fmt.Sprintf("%s not yet on its owner %s", k, o)
			}
		}
	}
	return true, ""
}

// A node joins: the partitions it takes over are handed to it by their old
// holders, which then drop their copies; every key ends on exactly its new
// primaries. Then a node leaves (its leaving tag): it hands everything off
// and holds nothing.
func TestClusterHandoffOnJoinAndLeave(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.aae = true })
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("ho-%d", i)
		if r := c.put(i%3, k, "v-"+k, nil, 3); r.GetError() != nil {
			t.Fatalf("put %s: %v", k, r.GetError())
		}
		keys = append(keys, k)
	}
	c.addNode()
	wait := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			ok, why := c.handedOff(keys)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, why)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("after node-4 joined")
	var done, pushed uint64
	for _, nd := range c.nodes {
		done += nd.counters.HandoffsDone.Load()
		pushed += nd.counters.HandoffKeys.Load()
	}
	owned4, _ := c.currentRing().PartitionsOf("node-4")
	if done < uint64(len(owned4)) || pushed == 0 {
		t.Fatalf("%d handoffs done, %d keys pushed, for %d partitions node-4 took", done, pushed, len(owned4))
	}
	// Reads see every key through any node.
	for _, k := range keys {
		if g := c.get(3, k, 3); g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v-"+k {
			t.Fatalf("get %s after the join: %v", k, g)
		}
	}
	c.setLeaving(0)
	wait("after node-1 left")
	if h := c.held(0); len(h) != 0 {
		t.Fatalf("the leaving node still holds %v", h)
	}
	for _, k := range keys {
		if g := c.get(1, k, 3); g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v-"+k {
			t.Fatalf("get %s after the leave: %v", k, g)
		}
	}
}
