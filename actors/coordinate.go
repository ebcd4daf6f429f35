package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// plan is what a coordinator is spawned with.
type plan struct {
	id      uint64     // the client's request id, echoed in the answer
	client  *actor.PID // where the answer goes
	view    *View      // the view the request is planned on
	quorum  int        // R or W
	timeout time.Duration
	mode    messages.ConflictMode
}

// deadline is the coordinator's scheduled hard deadline.
type deadline struct{}

// errNoVnode is a replica request that found no vnode at its target: the
// node does not hold the partition (its view differs) or is starting.
var errNoVnode = errors.New("actors: no vnode for the partition on that node")

// remoteError is an error a peer returned in a reply; it keeps its code.
type remoteError struct{ e *messages.Error }

func (r remoteError) Error() string { return r.e.GetMessage() }

func errOf(e *messages.Error) error {
	if e == nil {
		return nil
	}
	return remoteError{e}
}

// timer schedules the hard deadline: a message to self, not
// SetReceiveTimeout (an idle timer every reply would reset).
func startTimer(ctx actor.Context, d time.Duration) *time.Timer {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	return time.AfterFunc(d, func() { root.Send(self, &deadline{}) })
}

// getCoordinator runs one read: prepare (route), execute (send the reads),
// wait for R, answer, then wait for the rest (bounded by the same deadline)
// and read-repair the stale replicas.
type getCoordinator struct {
	req   plan
	key   []byte
	get   *coordinator.Get
	timer *time.Timer
}

func getProps(req plan, b *messages.GetRequest) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &getCoordinator{req: req, key: b.GetKey()} })
}

func (c *getCoordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping:
		if c.timer != nil {
			c.timer.Stop()
		}
	case *messages.Envelope:
		if r := m.GetReplicaGetReply(); r != nil && c.get != nil {
			var set *version.Set
			err := errOf(r.GetError())
			if err == nil && r.GetFound() {
				set, err = version.FromProto(r.GetSet())
			}
			ans, reps := c.get.Reply(r.GetNode(), r.GetFound(), set, err)
			c.effects(ctx, ans, reps)
		}
	case *actor.DeadLetterResponse:
		if c.get != nil && m.Target != nil {
			ans, reps := c.get.Reply(c.req.view.NodeOf(m.Target.Address), false, nil, errNoVnode)
			c.effects(ctx, ans, reps)
		}
	case *deadline:
		if c.get != nil {
			ans, reps := c.get.Deadline()
			c.effects(ctx, ans, reps)
		}
		ctx.Stop(ctx.Self())
	}
}

func (c *getCoordinator) start(ctx actor.Context) {
	v := c.req.view
	route := coordinator.RouteKey(v.Ring, c.key, v.Down)
	mode := version.ModeSiblings
	if c.req.mode == messages.ConflictMode_CONFLICT_MODE_LWW {
		mode = version.ModeLWW
	}
	g, reads, err := coordinator.NewGet(route, c.key, coordinator.GetOptions{R: c.req.quorum, Mode: mode})
	if err != nil {
		c.answer(ctx, &messages.GetReply{Error: toError(err)})
		ctx.Stop(ctx.Self())
		return
	}
	c.get = g
	c.timer = startTimer(ctx, c.req.timeout)
	for _, rd := range reads {
		ctx.Request(vnodePID(v.Addr(rd.Node), rd.Partition),
			messages.Wrap(c.req.id, &messages.ReplicaGetRequest{Partition: rd.Partition, Key: rd.Key}))
	}
}

func (c *getCoordinator) effects(ctx actor.Context, ans *coordinator.GetAnswer, repairs []coordinator.Repair) {
	if ans != nil {
		c.answer(ctx, &messages.GetReply{Found: ans.Found, Values: ans.Values, Context: ans.Context, Error: toError(ans.Err)})
	}
	for _, r := range repairs {
		// Fire and forget: a failed repair is retried by the next read or
		// by anti-entropy.
		ctx.Send(vnodePID(c.req.view.Addr(r.Node), r.Partition), messages.Wrap(0, &messages.ReplicaPutRequest{
			Partition: r.Partition, Key: r.Key, Set: version.ToProto(r.Set), HintOwner: r.HintFor,
			Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_READ_REPAIR,
		}))
	}
	if c.get.Done() {
		ctx.Stop(ctx.Self())
	}
}

func (c *getCoordinator) answer(ctx actor.Context, reply proto.Message) {
	ctx.Send(c.req.client, messages.Wrap(c.req.id, reply))
}

// putCoordinator runs one write or delete at a primary of the key: the
// local vnode coordinates (its dot goes into the version), then the result
// is replicated to the other targets and the client is answered after W
// acks. A node that is not an up primary forwards the request to one.
type putCoordinator struct {
	req       plan
	env       *messages.Envelope // the client's request, for forwarding
	key       []byte
	value     []byte
	tombstone bool
	context   []byte
	hops      uint32
	put       *coordinator.Put
	partition uint32
	timer     *time.Timer
}

func putProps(req plan, env *messages.Envelope, key, value []byte, tombstone bool, context []byte, hops uint32) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &putCoordinator{req: req, env: env, key: key, value: value, tombstone: tombstone, context: context, hops: hops}
	})
}

func (c *putCoordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Stopping:
		if c.timer != nil {
			c.timer.Stop()
		}
	case *messages.Envelope:
		if c.put == nil {
			return
		}
		switch body := m.GetBody().(type) {
		case *messages.Envelope_ReplicaCoordinateReply:
			r := body.ReplicaCoordinateReply
			var set *version.Set
			err := errOf(r.GetError())
			if err == nil {
				set, err = version.FromProto(r.GetSet())
			}
			ans, reps := c.put.Coordinated(set, err)
			for _, rep := range reps {
				ctx.Request(vnodePID(c.req.view.Addr(rep.Node), rep.Partition), messages.Wrap(c.req.id, &messages.ReplicaPutRequest{
					Partition: rep.Partition, Key: rep.Key, Set: version.ToProto(rep.Set), HintOwner: rep.HintFor,
					Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE,
				}))
			}
			c.effects(ctx, ans)
		case *messages.Envelope_ReplicaPutReply:
			c.effects(ctx, c.put.Reply(body.ReplicaPutReply.GetNode(), errOf(body.ReplicaPutReply.GetError())))
		}
	case *actor.DeadLetterResponse:
		if c.put == nil || m.Target == nil {
			return
		}
		if node := c.req.view.NodeOf(m.Target.Address); node == c.req.view.Self {
			ans, _ := c.put.Coordinated(nil, fmt.Errorf("%w: partition %d on this node", errNoVnode, c.partition))
			c.effects(ctx, ans)
		} else {
			c.effects(ctx, c.put.Reply(node, errNoVnode))
		}
	case *deadline:
		if c.put != nil {
			c.effects(ctx, c.put.Deadline())
		}
		ctx.Stop(ctx.Self())
	}
}

func (c *putCoordinator) start(ctx actor.Context) {
	v := c.req.view
	route := coordinator.RouteKey(v.Ring, c.key, v.Down)
	p, forward, err := coordinator.NewPut(route, v.Self, c.key, coordinator.PutOptions{W: c.req.quorum})
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
			b.Put.Hops = c.hops + 1
		case *messages.Envelope_Delete:
			b.Delete.Hops = c.hops + 1
		}
		ctx.RequestWithCustomSender(routerPID(v.Addr(forward)), fwd, c.req.client)
	default:
		c.put, c.partition = p, route.Partition
		c.timer = startTimer(ctx, c.req.timeout)
		cc, _ := version.DecodeContext(c.context) // checked by the router
		ctx.Request(vnodePID(v.Addr(v.Self), route.Partition), messages.Wrap(c.req.id, &messages.ReplicaCoordinateRequest{
			Partition: route.Partition, Key: c.key, Value: c.value, Tombstone: c.tombstone,
			Context: version.ToProtoClock(cc), Mode: c.req.mode,
		}))
		return
	}
	ctx.Stop(ctx.Self())
}

func (c *putCoordinator) effects(ctx actor.Context, ans *coordinator.PutAnswer) {
	if ans != nil {
		c.answer(ctx, toError(ans.Err), ans.Context)
	}
	if c.put.Done() {
		ctx.Stop(ctx.Self())
	}
}

func (c *putCoordinator) answer(ctx actor.Context, e *messages.Error, context []byte) {
	var reply proto.Message = &messages.PutReply{Context: context, Error: e}
	if c.tombstone {
		reply = &messages.DeleteReply{Error: e}
	}
	ctx.Send(c.req.client, messages.Wrap(c.req.id, reply))
}
