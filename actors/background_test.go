package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/hints"
	"github.com/dynamokv/dynamo/messages"
)

// background sends a BackgroundRequest to node i's router.
func (c *testCluster) background(i int, a messages.BackgroundAction) *messages.BackgroundReply {
	c.t.Helper()
	c.nextID++
	r := c.send(i, messages.Wrap(c.nextID, &messages.BackgroundRequest{Action: a})).GetBackgroundReply()
	if r == nil || r.GetError() != nil || r.GetNode() != c.nodes[i].name {
		c.t.Fatalf("background %v at %s: %v", a, c.nodes[i].name, r)
	}
	return r
}

// nodeStats asks node i's router for its counters.
func (c *testCluster) nodeStats(i int) *messages.NodeStats {
	c.t.Helper()
	c.nextID++
	return c.send(i, messages.Wrap(c.nextID, &messages.MembersRequest{})).GetMembersReply().GetStats()
}

// Paused, a node delivers no hint and runs no anti-entropy exchange; the
// status says so and shows the hints per owner; resumed, the hints go
// and the replicas converge. A leave resumes a paused node.
func TestClusterBackgroundPauseAndResume(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) { c.antiEntropy = true })
	const down, keys = 2, 20
	// Every node paused first: the down node's own syncer (it sees its
	// peers up) would otherwise pull the keys written below.
	for i := range c.nodes {
		if r := c.background(i, messages.BackgroundAction_BACKGROUND_ACTION_PAUSE); !r.GetPaused() {
			t.Fatalf("%s not paused after a pause", c.nodes[i].name)
		}
	}
	// A batch that took its tokens before the pause may still finish, but
	// it was listed before the writes below: none of them is in it.
	c.setStatus(c.nodes[down].name, cluster.StatusFailed)
	var written []string
	for i := range keys {
		k := fmt.Sprintf("paused-%d", i)
		if r := c.put(i%2, k, "v-"+k, nil, 2); r.GetError() != nil {
			t.Fatalf("put %s: %v", k, r.GetError())
		}
		written = append(written, k)
	}
	// Writing hints is not background work: they are kept while paused.
	c.eventually("hints kept for the down node", func() bool { return c.hintsPending() == keys })
	if st := c.nodeStats(0); !st.GetBackgroundPaused() || len(st.GetHintTargets()) == 0 && c.nodes[0].counters.HintsPending.Load() > 0 {
		t.Fatalf("paused node's stats: %v", st)
	}
	pending := c.hintsPending()
	exchanges := make([]uint64, len(c.nodes))
	for i, nd := range c.nodes {
		exchanges[i] = nd.counters.AntiEntropyExchanges.Load()
	}
	missing := func() int {
		n := 0
		for _, k := range written {
			if !holds(c.replicaGet(down, k), "v-"+k) {
				n++
			}
		}
		return n
	}
	before := missing()
	if before != keys {
		t.Fatalf("setup: the down node, paused, got %d of the %d keys written while it was down", keys-before, keys)
	}
	c.setStatus(c.nodes[down].name, cluster.StatusAlive)
	time.Sleep(500 * time.Millisecond) // hints every 200 ms, exchanges every 2 ms when running
	if n := c.hintsPending(); n != pending {
		t.Fatalf("paused: hints pending went from %d to %d", pending, n)
	}
	if n := missing(); n != before {
		t.Fatalf("paused: the returning node's missing keys went from %d to %d", before, n)
	}
	for i, nd := range c.nodes {
		// An exchange in flight when the pause came may still finish.
		if n := nd.counters.AntiEntropyExchanges.Load(); n > exchanges[i]+1 {
			t.Fatalf("paused: %s ran %d exchanges", nd.name, n-exchanges[i])
		}
	}
	// The owner's line shows its pending hints and nothing delivered now.
	var owner *messages.TransferTarget
	for i := range 2 {
		for _, h := range c.nodeStats(i).GetHintTargets() {
			if h.GetNode() == c.nodes[down].name && h.GetPending() > 0 {
				owner = h
			}
		}
	}
	if owner == nil || owner.GetEtaMs() != 0 {
		t.Fatalf("paused: hint targets show %v for %s, want pending hints and no time left estimate", owner, c.nodes[down].name)
	}
	for i := range c.nodes {
		if r := c.background(i, messages.BackgroundAction_BACKGROUND_ACTION_RESUME); r.GetPaused() {
			t.Fatalf("%s still paused after a resume", c.nodes[i].name)
		}
	}
	c.eventually("resumed: hints delivered and every key on the returning node", func() bool {
		return c.hintsPending() == 0 && missing() == 0
	})
	delivered := uint64(0)
	for i := range 2 {
		for _, h := range c.nodeStats(i).GetHintTargets() {
			if h.GetNode() == c.nodes[down].name {
				delivered += h.GetDelivered()
			}
		}
	}
	if delivered == 0 {
		t.Fatal("resumed: no hint counted delivered to the returning owner")
	}
	if r := c.background(0, messages.BackgroundAction_BACKGROUND_ACTION_STATUS); r.GetPaused() {
		t.Fatal("status after a resume: paused")
	}
	// An unknown action is refused, naming the field.
	c.nextID++
	bad := c.send(0, messages.Wrap(c.nextID, &messages.BackgroundRequest{Action: 7})).GetBackgroundReply()
	if bad.GetError().GetField() != "action" {
		t.Fatalf("an unknown action: %v", bad)
	}
}

// The admission controller's share scales the rate background work takes
// tokens at; 0 holds it off without pausing it, and pausing wins.
func TestBackgroundShareScalesTokens(t *testing.T) {
	var b Background
	t0 := time.Unix(100, 0)
	bucket := hints.NewBucket(1000, 1)
	if got, _ := b.take(bucket, t0, 1); got != 1 || b.Share() != 1 {
		t.Fatalf("full rate: took %d, share %v", got, b.Share())
	}
	b.SetShare(0)
	if got, wait := b.take(bucket, t0.Add(time.Second), 1); got != 0 || wait != heldPoll || b.Paused() {
		t.Fatalf("share 0: took %d, wait %v, paused %v", got, wait, b.Paused())
	}
	b.SetShare(0.1) // 100 tokens a second: one every 10 ms
	ms := func(n int) time.Time { return t0.Add(time.Second + time.Duration(n)*time.Millisecond) }
	if got, _ := b.take(bucket, ms(1000), 1); got != 1 { // the token that accrued before the hold
		t.Fatalf("share 0.1: took %d, want the token from before the hold", got)
	}
	if got, wait := b.take(bucket, ms(1005), 1); got != 0 || wait < 5*time.Millisecond || wait > 5*time.Millisecond+time.Microsecond {
		t.Fatalf("share 0.1 after 5 ms: took %d, wait %v, want 0 and 5ms", got, wait)
	}
	if got, _ := b.take(bucket, ms(1010), 1); got != 1 {
		t.Fatalf("share 0.1 after 10 ms: took %d, want 1", got)
	}
	b.Pause()
	b.SetShare(1)
	if got, wait := b.take(bucket, t0.Add(2*time.Second), 1); got != 0 || wait != pausedPoll {
		t.Fatalf("paused at share 1: took %d, wait %v", got, wait)
	}
	var none *Background
	if none.Share() != 1 {
		t.Fatal("a nil Background is not at full rate")
	}
}
