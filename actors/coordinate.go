package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// plan is what a coordinator is spawned with.
type plan struct {
	op      request.Op
	id      uint64     // the client's request id, echoed in the answer
	nonce   uint64     // this request's id on replica requests (unique per node incarnation)
	client  *actor.PID // where the answer goes
	view    *View      // the view the request is planned on
	quorum  int        // R or W
	timeout time.Duration
	mode    messages.ConflictMode
	hinted  bool // hinted handoff is on: sloppy quorum and hints
	// durability is which replicas of a write fsync before they ack.
	durability coordinator.Durability
	health     *Health // the node's failure detector (may be nil)
	start      time.Time
	stats      *RequestStats // where the answer is counted (may be nil)
	pids       *pidCache     // the router's
	// speculate: reads ask R replicas first and the rest after this delay
	// (RouterConfig.ReadSpeculateAfter); 0: every replica at once.
	speculate  time.Duration
	speculated *atomic.Uint64 // counts the reads that did (may be nil)
	// warn, when set, is told of a client write that left a key with
	// SiblingWarning or more versions.
	warn func(key []byte, versions int)
	// dispatcher runs the coordinator's mailbox (RouterConfig.Dispatcher).
	dispatcher actor.Dispatcher
}

// onDispatcher runs an actor's mailbox on d (a node's remoting.WorkerPool);
// nil is protoactor's default.
func onDispatcher(d actor.Dispatcher) []actor.PropsOption {
	if d == nil {
		return nil
	}
	return []actor.PropsOption{actor.WithDispatcher(d)}
}

// SiblingWarning is how many versions of a key after a client write make
// the node log a warning and count it (dynamo_sibling_warnings_total): the
// application is not merging siblings, and the write limit (100 by
// default) is ahead.
const SiblingWarning = 25

// record counts the answer to the client.
func (p plan) record(e *messages.Error, found bool) {
	if p.stats != nil {
		p.stats.Record(p.op.String(), Outcome(e, found), time.Since(p.start))
	}
}

// route plans key's requests on the view: members serf reports failed are
// skipped, and so are peers this node suspects (Health), unless skipping the
// suspects leaves fewer targets than the quorum needs, or no primary: then
// they are asked anyway, as they may have recovered.
func (p plan) route(key []byte) coordinator.Route {
	v := p.view
	rt := coordinator.RouteKey(v.Ring, key, func(n string) bool { return v.Down(n) || (n != v.Self && p.health.Down(n)) }, p.hinted)
	if len(rt.Targets) < p.quorum || !hasPrimary(rt) {
		rt = coordinator.RouteKey(v.Ring, key, v.Down, p.hinted)
	}
	return rt
}

// hasPrimary reports whether a route has a primary (a write needs one to
// coordinate).
func hasPrimary(rt coordinator.Route) bool {
	for _, t := range rt.Targets {
		if t.HintOwner == "" {
			return true
		}
	}
	return false
}

// observe feeds a replica request's outcome to the failure detector: a
// peer that answered is healthy; one that did not answer in time is
// suspected.
func (p plan) observe(node string, err error) {
	switch {
	case node == p.view.Self:
	case err == nil:
		p.health.Succeeded(node)
	case errors.Is(err, errNoReply):
		p.health.Failed(node)
	}
}

// left is the time until the request's deadline.
func (p plan) left() time.Duration { return time.Until(p.start.Add(p.timeout)) }

// timedOut reports the targets still silent at the deadline: their
// replies will never be seen (the coordinator stops), so they are this
// node's timeouts.
func (p plan) timedOut(nodes []string) {
	for _, n := range nodes {
		p.observe(n, errNoReply)
	}
}

// replicaPID addresses a replica request to node: its vnode of the
// partition, or, when node is a fallback holding hints for hintOwner, its hint
// dispatcher.
func (p plan) replicaPID(node, hintOwner string, partition uint32) *actor.PID {
	if hintOwner != "" {
		return p.pids.hints(p.view.Addr(node))
	}
	return p.pids.vnode(p.view.Addr(node), partition)
}

// deadline is the coordinator's scheduled hard deadline.
type deadline struct{}

// speculate is a get coordinator's speculative-retry time: the replicas not
// asked yet are asked if the read has not answered.
type speculate struct{}

// askGrace is how long a replica request's future outlives the deadline.
const askGrace = 100 * time.Millisecond

// errNoReply is a replica that did not answer by the deadline.
var errNoReply = errors.New("actors: replica did not answer in time")

// ask sends a replica request to pid and hands its outcome to cont, run
// inside the actor (ReenterAfter): the reply envelope, or an error when no
// vnode is there (dead letter) or no reply came within wait. Each request
// has its own future, so an outcome is always attributed to the node it was
// sent to, and a reply must echo the request's nonce: a stray reply (for
// an earlier incarnation's coordinator that had the same actor id) is
// rejected.
func ask(ctx actor.Context, pid *actor.PID, env *messages.Envelope, wait time.Duration, cont func(*messages.Envelope, error)) {
	// The coordinator's own deadline message comes first; the future's
	// timeout only bounds its lifetime.
	f := ctx.RequestFuture(pid, env, max(wait, 0)+askGrace)
	ctx.ReenterAfter(f, func(res interface{}, err error) {
		switch {
		case errors.Is(err, actor.ErrDeadLetter):
			err = errNoVnode
		case errors.Is(err, actor.ErrTimeout):
			err = errNoReply
		case err == nil:
			reply, ok := res.(*messages.Envelope)
			if ok && reply.GetRequestId() == env.GetRequestId() {
				cont(reply, nil)
				return
			}
			err = fmt.Errorf("actors: stray reply %T", res)
		}
		cont(nil, err)
	})
}

// errNoVnode is a replica request that found no vnode at its target: the
// node does not hold the partition (its view differs) or is starting.
var errNoVnode = errors.New("actors: no vnode for the partition on that node")

// timer schedules the hard deadline: a message to self, not
// SetReceiveTimeout (an idle timer every reply would reset).
func startTimer(ctx actor.Context, d time.Duration) *time.Timer {
	return sendAfter(ctx, d, &deadline{})
}

// sendAfter sends msg to the actor itself after d.
func sendAfter(ctx actor.Context, d time.Duration, msg any) *time.Timer {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	return time.AfterFunc(d, func() { root.Send(self, msg) })
}

// getCoordinator runs one read: prepare (route), execute (send the reads),
// wait for R, answer, then wait for the rest (bounded by the same deadline)
// and read-repair the stale replicas.
type getCoordinator struct {
	req   plan
	key   []byte
	get   *coordinator.Get
	timer *time.Timer // the speculative retry's, then the deadline's
}

func getProps(req plan, b *messages.GetRequest) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &getCoordinator{req: req, key: b.GetKey()} }, onDispatcher(req.dispatcher)...)
}

func (c *getCoordinator) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping:
		if c.timer != nil {
			c.timer.Stop()
		}
	case *speculate:
		r := c.get.Step(coordinator.GetSpeculate{})
		if len(r.Reads) > 0 && c.req.speculated != nil {
			c.req.speculated.Add(1)
		}
		c.timer = startTimer(ctx, c.req.left())
		c.ready(ctx, r)
	case *deadline:
		if c.get != nil {
			c.step(ctx, coordinator.GetDeadline{})
		}
		ctx.Stop(ctx.Self())
	}
}

func (c *getCoordinator) start(ctx actor.Context) {
	route := c.req.route(c.key)
	mode := version.ModeSiblings
	if c.req.mode == messages.ConflictMode_CONFLICT_MODE_LWW {
		mode = version.ModeLWW
	}
	spec := c.req.speculate > 0 && c.req.speculate < c.req.timeout
	g, r, err := coordinator.NewGet(route, c.key, coordinator.GetOptions{
		R: c.req.quorum, Mode: mode, NowNs: time.Now().UnixNano(), QuorumFirst: spec, First: c.req.view.Self, Spread: rand.Uint(),
	})
	if err != nil {
		c.answer(ctx, &messages.GetReply{Error: toError(err)})
		ctx.Stop(ctx.Self())
		return
	}
	c.get = g
	if r.Speculate {
		c.timer = sendAfter(ctx, c.req.speculate, &speculate{})
	} else {
		c.timer = startTimer(ctx, c.req.timeout)
	}
	c.ready(ctx, r)
}

// step feeds an event to the read's state machine and carries out what it
// returns.
func (c *getCoordinator) step(ctx actor.Context, ev coordinator.GetEvent) {
	c.ready(ctx, c.get.Step(ev))
}

// ready carries out a coordinator.GetReady: replica reads (their replies
// come back as continuations), the answer, read repairs, timeouts.
func (c *getCoordinator) ready(ctx actor.Context, r coordinator.GetReady) {
	for _, rd := range r.Reads {
		node, p := rd.Node, rd.Partition
		ask(ctx, c.req.replicaPID(node, rd.HintOwner, p),
			messages.Wrap(c.req.nonce, &messages.ReplicaGetRequest{Partition: p, Key: rd.Key, HintOwner: rd.HintOwner}), c.req.left(),
			func(env *messages.Envelope, err error) {
				c.req.observe(node, err)
				var found bool
				var set *version.Set
				if err == nil {
					found, set, err = remoting.ReplicaRead(env, p)
				}
				c.step(ctx, coordinator.GetReplied{Node: node, Found: found, Set: set, Err: err})
			})
	}
	if a := r.Answer; a != nil {
		c.answer(ctx, &messages.GetReply{Found: a.Found, Values: a.Values, ExpiresAtNs: a.ExpiresNs(), Context: a.Context, Error: toError(a.Err)})
	}
	for _, rp := range r.Repairs {
		// Fire and forget: a failed repair is retried by the next read or
		// by anti-entropy.
		ctx.Send(c.req.replicaPID(rp.Node, rp.HintOwner, rp.Partition), messages.Wrap(0, &messages.ReplicaPutRequest{
			Partition: rp.Partition, Key: rp.Key, Set: version.ToProto(rp.Set), HintOwner: rp.HintOwner,
			Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_READ_REPAIR,
		}))
	}
	c.req.timedOut(r.TimedOut)
	if r.Done {
		ctx.Stop(ctx.Self())
	}
}

func (c *getCoordinator) answer(ctx actor.Context, reply *messages.GetReply) {
	c.req.record(reply.GetError(), reply.GetFound())
	ctx.Send(c.req.client, messages.Wrap(c.req.id, reply))
}

// putCoordinator runs one write or delete at a primary of the key: the
// local vnode coordinates (its dot goes into the version), then the result
// is replicated to the other targets and the client is answered after W
// acks. A node that is not an up primary forwards the request to one.
type putCoordinator struct {
	req plan
	env *messages.Envelope // the client's request, for forwarding
	putArgs
	put       *coordinator.Put
	partition uint32
	due       time.Time // the hard deadline
	timer     *time.Timer
}

// putArgs are a write's or delete's parameters, checked by the router.
type putArgs struct {
	key       []byte
	value     []byte
	tombstone bool
	vctx      version.Context // the request's, decoded by the router
	hops      uint32
	ifAbsent  bool          // PutRequest.if_absent
	ttl       time.Duration // the value's time to live, the node's default applied; 0 never expires
}

func putProps(req plan, env *messages.Envelope, args putArgs) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &putCoordinator{req: req, env: env, putArgs: args}
	}, onDispatcher(req.dispatcher)...)
}

func (c *putCoordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *writePrepared:
		if c.put != nil && m.nonce == c.req.nonce {
			if c.req.warn != nil && m.set.Len() >= SiblingWarning {
				c.req.warn(c.key, m.set.Len())
			}
			c.step(ctx, coordinator.PutPrepared{Set: m.set, Dot: m.dot})
		}
	case *writeDone:
		if c.put != nil && m.nonce == c.req.nonce {
			c.step(ctx, coordinator.PutCoordinated{Err: m.err})
		}
	case *actor.DeadLetterResponse:
		// The one message this coordinator sends with itself as sender is
		// its coordinateWrite: no vnode of the partition on this node.
		if c.put != nil {
			c.step(ctx, coordinator.PutCoordinated{Err: fmt.Errorf("%w: partition %d on this node", errNoVnode, c.partition)})
		}
	case *actor.Stopping:
		if c.timer != nil {
			c.timer.Stop()
		}
	case *deadline:
		if c.put == nil {
			ctx.Stop(ctx.Self())
			return
		}
		c.step(ctx, coordinator.PutDeadline{})
	}
}

// step feeds an event to the write's state machine and carries out what it
// returns (coordinator.PutReady).
func (c *putCoordinator) step(ctx actor.Context, ev coordinator.PutEvent) {
	r := c.put.Step(ev)
	c.replicate(ctx, r.Replicate)
	if r.Answer != nil {
		c.answer(ctx, toError(r.Answer.Err), r.Answer)
	}
	c.req.timedOut(r.TimedOut)
	if r.Forget {
		// Stored nowhere: the vnode need not keep it for the key's next
		// version (vnode.Store.Forget).
		v := c.req.view
		ctx.Send(c.req.pids.vnode(v.Addr(v.Self), c.partition), &forgetPrepared{key: c.key, dot: r.Dot})
	}
	if r.Done {
		ctx.Stop(ctx.Self())
	}
}

// replicate sends replica writes and keeps local hints. A local hint goes to
// this node's hint dispatcher without waiting: the coordinator may be at
// its deadline, and the dispatcher is a local actor.
func (c *putCoordinator) replicate(ctx actor.Context, reps []coordinator.Replicate) {
	for _, rep := range reps {
		req := &messages.ReplicaPutRequest{
			Partition: rep.Partition, Key: rep.Key, Set: version.ToProto(rep.Set), HintOwner: rep.HintOwner,
			Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE, Buffered: rep.Buffered,
		}
		if rep.Local {
			ctx.Send(c.req.pids.hints(ctx.Self().Address), messages.Wrap(0, req))
			continue
		}
		node := rep.Node
		ask(ctx, c.req.replicaPID(node, rep.HintOwner, rep.Partition), messages.Wrap(c.req.nonce, req), time.Until(c.due), func(env *messages.Envelope, err error) {
			c.req.observe(node, err)
			if err == nil {
				if r := env.GetReplicaPutReply(); r == nil || r.GetPartition() != c.partition {
					err = fmt.Errorf("actors: reply is not a replica write of partition %d", c.partition)
				} else {
					err = remoting.ErrorOf(r.GetError())
				}
			}
			c.step(ctx, coordinator.PutReplied{Node: node, Err: err})
		})
	}
}

func (c *putCoordinator) start(ctx actor.Context) {
	v := c.req.view
	route := c.req.route(c.key)
	p, forward, err := coordinator.NewPut(route, v.Self, c.key, coordinator.PutOptions{W: c.req.quorum, Hints: c.req.hinted, Context: c.vctx, Durability: c.req.durability, FirstPrimary: c.ifAbsent})
	switch {
	case err != nil:
		c.answer(ctx, toError(err), nil)
	case forward != "" && c.hops >= maxHops:
		c.answer(ctx, unavailable(fmt.Sprintf("write not coordinated: forwarded %d times and still not at a primary of the key (views disagree; retry)", c.hops)), nil)
	case forward != "":
		// The primary answers the client directly.
		fwd := proto.Clone(c.env).(*messages.Envelope)
		switch b := fwd.GetBody().(type) {
		case *messages.Envelope_Put:
			// The default time to live is the receiving node's.
			b.Put.Hops, b.Put.TtlMs = c.hops+1, proto.Uint64(uint64(c.ttl/time.Millisecond))
		case *messages.Envelope_Delete:
			b.Delete.Hops = c.hops + 1
		}
		ctx.RequestWithCustomSender(routerPID(v.Addr(forward)), fwd, c.req.client)
	default:
		c.put, c.partition = p, route.Partition
		c.due = time.Now().Add(c.req.timeout)
		c.timer = startTimer(ctx, c.req.timeout)
		ctx.Request(c.req.pids.vnode(v.Addr(v.Self), route.Partition), &coordinateWrite{
			nonce: c.req.nonce, key: c.key, value: c.value, tombstone: c.tombstone,
			vctx: c.vctx, mode: c.req.mode, ifAbsent: c.ifAbsent, ttl: c.ttl, replyTo: ctx.Self(),
		})
		return
	}
	ctx.Stop(ctx.Self())
}

func (c *putCoordinator) answer(ctx actor.Context, e *messages.Error, ans *coordinator.PutAnswer) {
	var reply proto.Message = &messages.PutReply{Error: e}
	if ans != nil {
		reply = &messages.PutReply{Context: ans.Context, Error: e, Acked: uint32(ans.Acked), Hinted: uint32(ans.Hinted)}
	}
	if c.tombstone {
		reply = &messages.DeleteReply{Error: e}
	}
	c.req.record(e, true)
	ctx.Send(c.req.client, messages.Wrap(c.req.id, reply))
}
