package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// CoordinatedReads counts the gets this client decided itself
// (Config.CoordinateReads), not through a node: with the node's request
// metrics, it accounts for every read.
func (c *Client) CoordinatedReads() uint64 { return c.coordinatedReads.Load() }

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
	g, first, err := coordinator.NewGet(route, key, coordinator.GetOptions{
		R: r, Mode: mode, NowNs: time.Now().UnixNano(), QuorumFirst: spec > 0, Spread: rand.Uint(),
	})
	if err != nil {
		return nil, false, nil
	}
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
		c.collectRead(g, first, spec, time.Now().Add(wait), answers, v)
	}()
	select {
	case a := <-answers:
		if a.Err != nil {
			return nil, false, nil // let a node try, with fallbacks
		}
		c.coordinatedReads.Add(1)
		return &Object{Key: key, Found: a.Found, Values: a.Values, Expires: expiries(a.ExpiresNs()), Context: ContextFromBytes(a.Context)}, true, nil
	case <-ctx.Done():
		return nil, true, ctxError(ctx)
	case <-c.bg.Done():
		return nil, true, ErrClosed
	}
}

// replicaOutcome turns a ReplicaGetRequest's outcome into a reply.
func replicaOutcome(node string, p uint32, id uint64, env *messages.Envelope, err error) coordinator.GetReplied {
	out := coordinator.GetReplied{Node: node}
	switch {
	case errors.Is(err, remoting.ErrDeadLetter):
		out.Err = fmt.Errorf("%s: no vnode of partition %d (dead letter)", node, p)
		return out
	case err != nil:
		out.Err = fmt.Errorf("%s: %w", node, err)
		return out
	case env.GetRequestId() != id:
		out.Err = fmt.Errorf("%s: reply to request %d carries request id %d (a read of partition %d)", node, id, env.GetRequestId(), p)
		return out
	}
	out.Found, out.Set, err = remoting.ReplicaRead(env, p)
	if err != nil {
		out.Err = fmt.Errorf("%s: %w", node, err)
	}
	return out
}

// collectRead is the read's shell: it carries out each coordinator.GetReady
// (replica reads sent directly to the vnodes, the answer handed over as
// soon as there is one, read repairs fire and forget, as a node does) and
// steps g with the replies, the speculative-retry timer (after spec, when
// the first Ready arms it) and the deadline, until g is Done.
func (c *Client) collectRead(g *coordinator.Get, r coordinator.GetReady, spec time.Duration, due time.Time, answers chan<- *coordinator.GetAnswer, v *view) {
	// A read asks each target once, at most quorum.MaxN of them: every
	// reply has room, so no sender blocks once the read has ended.
	replies := make(chan coordinator.GetReplied, quorum.MaxN)
	timer := time.NewTimer(time.Until(due))
	defer timer.Stop()
	var speculate <-chan time.Time
	if r.Speculate {
		st := time.NewTimer(spec)
		defer st.Stop()
		speculate = st.C
	}
	for {
		for _, rd := range r.Reads {
			addr := v.byName[rd.Node].Addr
			env := messages.Wrap(c.ids.Add(1), &messages.ReplicaGetRequest{Partition: rd.Partition, Key: rd.Key})
			out := c.t.Request(addr, remoting.VnodeName(rd.Partition), env, max(time.Until(due), time.Millisecond))
			// Ends by the read's deadline: the transport delivers an
			// outcome within its wait.
			go func(node string, p uint32) {
				o := <-out
				replies <- replicaOutcome(node, p, env.GetRequestId(), o.Env, o.Err)
			}(rd.Node, rd.Partition)
		}
		if r.Answer != nil {
			answers <- r.Answer
		}
		for _, rp := range r.Repairs {
			if m, known := v.byName[rp.Node]; known {
				c.t.Send(m.Addr, remoting.VnodeName(rp.Partition), messages.Wrap(0, &messages.ReplicaPutRequest{
					Partition: rp.Partition, Key: rp.Key, Set: version.ToProto(rp.Set),
					Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_READ_REPAIR,
				}))
			}
		}
		if r.Done {
			return
		}
		select {
		case rep := <-replies:
			r = g.Step(rep)
		case <-speculate:
			speculate = nil
			r = g.Step(coordinator.GetSpeculate{})
		case <-timer.C:
			r = g.Step(coordinator.GetDeadline{})
		case <-c.bg.Done():
			return // closing: the caller gets ErrClosed or its context's error
		}
	}
}
