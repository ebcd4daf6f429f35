package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// CoordinatedReads counts the gets this client decided itself
// (Config.CoordinateReads), not through a node: with the node's request
// metrics, it accounts for every read.
func (c *Client) CoordinatedReads() uint64 { return c.coordinatedReads.Load() }

// replicaReply is one replica's answer to a client-coordinated read.
type replicaReply struct {
	node  string
	found bool
	set   *version.Set
	err   error
}

// coordinatedGet reads key as a node's get coordinator would
// (Config.CoordinateReads): the same pure coordinator.Get over the key's
// up primaries, asked directly. ok is false when the client cannot decide
// the read this way (no usable view, fewer than R primaries up, known
// and connected, or R not reached): the caller then asks a node.
func (c *Client) coordinatedGet(ctx context.Context, key []byte, o options) (obj *Object, ok bool, err error) {
	v := c.view.Load()
	if v == nil || v.m.Mode == messages.ConflictMode_CONFLICT_MODE_DEFAULT {
		return nil, false, nil
	}
	r := o.r
	if r == 0 {
		r = v.m.R
	}
	mode := version.ModeSiblings
	if o.lww || (o.mode() == messages.ConflictMode_CONFLICT_MODE_DEFAULT && v.m.Mode == messages.ConflictMode_CONFLICT_MODE_LWW) {
		mode = version.ModeLWW
	}
	unusable := func(name string) bool {
		m, known := v.byName[name]
		return !known || m.State != ring.Up || c.isSuspect(m.Addr) || !c.isConnected(m.Addr)
	}
	// Primaries only (no sloppy quorum): whether the cluster keeps hints is
	// the nodes' setting, and a fallback's answer counts only where it does.
	route := coordinator.RouteKey(v.ring, key, unusable, false)
	if len(route.Targets) < r {
		return nil, false, nil
	}
	_, wait, err := deadlines(ctx, o.timeout)
	if err != nil {
		return nil, true, err
	}
	spec := c.cfg.ReadSpeculateAfter
	if spec >= wait {
		spec = 0
	}
	g, reads, err := coordinator.NewGet(route, key, coordinator.GetOptions{
		R: r, Mode: mode, QuorumFirst: spec > 0, Spread: rand.Uint(),
	})
	if err != nil {
		return nil, false, nil
	}
	replies := make(chan replicaReply, len(route.Targets))
	due := time.Now().Add(wait)
	send := func(reads []coordinator.Read) {
		for _, rd := range reads {
			addr := v.byName[rd.Node].Addr
			env := messages.Wrap(c.ids.Add(1), &messages.ReplicaGetRequest{Partition: rd.Partition, Key: rd.Key})
			out := c.t.Request(addr, remoting.VnodeName(rd.Partition), env, max(time.Until(due), time.Millisecond))
			// Ends by the read's deadline: the transport delivers an
			// outcome within its wait.
			go func(node string, p uint32) {
				r := <-out
				replies <- replicaOutcome(node, p, env.GetRequestId(), r.Env, r.Err)
			}(rd.Node, rd.Partition)
		}
	}
	send(reads)
	answers := make(chan *coordinator.GetAnswer, 1)
	// Ends within wait, or when the client closes; Close waits for it. (Each
	// replica's future ends by the same deadline.)
	c.mu.Lock()
	if c.closed { // Close has begun waiting: start nothing it must wait for
		c.mu.Unlock()
		return nil, true, ErrClosed
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		c.collectRead(g, replies, send, len(reads), spec, wait, answers, v)
	}()
	select {
	case a := <-answers:
		if a.Err != nil {
			return nil, false, nil // let a node try, with fallbacks
		}
		c.coordinatedReads.Add(1)
		return &Object{Key: key, Found: a.Found, Values: a.Values, Context: ContextFromBytes(a.Context)}, true, nil
	case <-ctx.Done():
		return nil, true, ctxError(ctx)
	case <-c.bg.Done():
		return nil, true, ErrClosed
	}
}

// replicaOutcome turns a ReplicaGetRequest's outcome into a reply.
func replicaOutcome(node string, p uint32, id uint64, env *messages.Envelope, err error) replicaReply {
	out := replicaReply{node: node}
	switch {
	case errors.Is(err, remoting.ErrDeadLetter):
		out.err = fmt.Errorf("%s: no vnode of partition %d (dead letter)", node, p)
		return out
	case err != nil:
		out.err = fmt.Errorf("%s: %w", node, err)
		return out
	case env.GetRequestId() != id:
		out.err = fmt.Errorf("%s: reply to request %d carries request id %d (a read of partition %d)", node, id, env.GetRequestId(), p)
		return out
	}
	out.found, out.set, err = remoting.ReplicaRead(env, p)
	if err != nil {
		out.err = fmt.Errorf("%s: %w", node, err)
	}
	return out
}

// collectRead feeds the replies to g until every replica asked answered or
// wait passed, hands the answer over as soon as there is one, sends the
// further reads g asks for (a replica in place of one that failed, and the
// others after spec: speculative retry; spec 0: none) and the read repairs
// g returns (fire and forget, as a node does). sent is how many reads went
// out before.
func (c *Client) collectRead(g *coordinator.Get, replies <-chan replicaReply, send func([]coordinator.Read), sent int, spec, wait time.Duration, answers chan<- *coordinator.GetAnswer, v *view) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var speculate <-chan time.Time
	if spec > 0 {
		st := time.NewTimer(spec)
		defer st.Stop()
		speculate = st.C
	}
	answered := false
	effects := func(a *coordinator.GetAnswer, repairs []coordinator.Repair) {
		if a != nil && !answered {
			answered = true
			answers <- a
		}
		for _, rp := range repairs {
			m, known := v.byName[rp.Node]
			if !known {
				continue
			}
			c.t.Send(m.Addr, remoting.VnodeName(rp.Partition), messages.Wrap(0, &messages.ReplicaPutRequest{
				Partition: rp.Partition, Key: rp.Key, Set: version.ToProto(rp.Set),
				Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_READ_REPAIR,
			}))
		}
	}
	more := func(reads []coordinator.Read) {
		sent += len(reads)
		send(reads)
	}
	for received := 0; received < sent && !g.Done(); {
		select {
		case r := <-replies:
			received++
			a, repairs := g.Reply(r.node, r.found, r.set, r.err)
			more(g.More())
			effects(a, repairs)
		case <-speculate:
			speculate = nil
			more(g.Speculate())
		case <-timer.C:
			effects(g.Deadline())
			return
		case <-c.bg.Done():
			return // closing: the caller gets ErrClosed or its context's error
		}
	}
	if !answered {
		effects(g.Deadline())
	}
}
