package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/vnode"
)

// addNode starts one more node and adds it to the members, as a serf join.
func (c *testCluster) addNode() *testNode {
	c.t.Helper()
	s := c.startSystem(c.t)
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

// setLeaving sets node i's leaving tag, as dynamo leave does.
func (c *testCluster) setLeaving(i int) { c.setTags(i, func(t *cluster.Tags) { t.Leaving = true }) }

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
	res, err := c.nodes[i].sys.Root().RequestFuture(actor.NewPID(c.nodes[i].sys.Address(), remoting.VnodesName), &Held{}, time.Second).Result()
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

// setTags changes node i's tags, as a restart with other flags would.
func (c *testCluster) setTags(i int, change func(*cluster.Tags)) {
	c.t.Helper()
	c.members.mu.Lock()
	tags, _ := cluster.DecodeTags(c.members.nodes[i].Tags)
	change(&tags)
	enc, err := tags.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	c.members.nodes[i].Tags = enc
	c.members.mu.Unlock()
	for _, nd := range c.nodes {
		nd.sys.Root().Send(actor.NewPID(nd.sys.Address(), remoting.MembershipName), &Refresh{})
	}
}

// Handoff resumes after the vnode manager restarts (as after a node
// restart): data of partitions the node no longer owns is found in storage
// and handed off once the owners are all up; nothing of it stays on disk.
// Then a weight change moves partitions the same way.
func TestClusterHandoffResumesAndFollowsWeights(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.antiEntropy = true })
	var keys []string
	for i := range 200 {
		k := fmt.Sprintf("hr-%d", i)
		if r := c.put(i%3, k, "v-"+k, nil, 3); r.GetError() != nil {
			t.Fatalf("put %s: %v", k, r.GetError())
		}
		keys = append(keys, k)
	}
	// node-2 down: handoffs of partitions it owns wait for it.
	c.setStatus(c.nodes[1].name, cluster.StatusFailed)
	c.addNode()
	r := c.currentRing()
	owned1, _ := r.PartitionsOf(c.nodes[0].name)
	var away []uint32
	for p := range uint32(testQ) {
		if has, _ := vnodeHasData(c.nodes[0], p); has && !slices.Contains(owned1, p) {
			away = append(away, p)
		}
	}
	if len(away) == 0 {
		t.Fatal("node-1 has no partition to hand off after node-4 joined")
	}
	// The vnode manager restarts (its vnodes stop with it).
	c.nextID++
	if e := c.send(0, messages.Wrap(c.nextID, &messages.FaultRequest{Component: "vnodes"})).GetFaultReply().GetError(); e != nil {
		t.Fatal(e)
	}
	c.eventually("the restarted manager holds the partitions to hand off again", func() bool {
		h := c.held(0)
		for _, p := range away {
			if !slices.Contains(h, p) {
				return false
			}
		}
		return true
	})
	c.setStatus(c.nodes[1].name, cluster.StatusAlive)
	c.eventually("handed off after node-2 returned", func() bool { ok, _ := c.handedOff(keys); return ok })
	for _, p := range away {
		if has, _ := vnodeHasData(c.nodes[0], p); has {
			t.Fatalf("node-1 still stores partition %d, which it handed off", p)
		}
	}
	// node-4's weight goes to 3: it takes more partitions, handed to it.
	c.setTags(3, func(tg *cluster.Tags) { tg.Weight = 3 })
	before, _ := c.currentRing().PartitionsOf("node-4")
	c.eventually("handed off after the weight change", func() bool { ok, _ := c.handedOff(keys); return ok })
	if h := c.held(3); len(h) != len(before) || len(h) <= len(owned1) {
		t.Fatalf("node-4 with weight 3 holds %d partitions (ring: %d; node-1 with weight 1 holds %d)", len(h), len(before), len(owned1))
	}
}

func vnodeHasData(nd *testNode, p uint32) (bool, error) { return vnode.HasData(nd.engine, p) }
