package actors

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/progress"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// RouterConfig configures the request router.
type RouterConfig struct {
	// Dispatcher runs the router's and its coordinators' mailboxes: the
	// node's remoting.System.Pool. Default nil: protoactor's.
	Dispatcher actor.Dispatcher
	// Self is this node's name.
	Self string
	// N is the cluster's replication factor; R and W above it are refused.
	N int
	// Defaults apply to requests that leave R, W, timeout or mode unset.
	Defaults Defaults
	// Limits bound the keys and values of client requests
	// (request.Limits.Check); the node passes its configured limits. Zero
	// fields are not checked.
	Limits request.Limits
	// NoHintedHandoff turns hinted handoff off for the requests this node
	// coordinates: strict quorums over the up primaries, no fallbacks, no
	// hints. A cluster-wide choice (set it on every node); for control
	// tests. Default false.
	NoHintedHandoff bool
	// ReadSpeculateAfter makes the reads this node coordinates ask R
	// replicas first (this node's own among them when it holds the key):
	// another replica is asked at once when one of those fails, and every
	// replica left when no answer came within this delay (speculative
	// retry). Read repair then reaches the replicas asked. 0 asks every
	// replica at once, Dynamo's and riak's way (read repair reaches all of
	// them on every read, for about 1.5 times the messages per read at N=3,
	// R=2). A delay at or above a request's deadline asks every replica at
	// once too. Default 0 here; the node's default is 20 ms.
	ReadSpeculateAfter time.Duration
	// Durability is which replicas of the writes this node coordinates
	// fsync before they ack (coordinator.Durability). Default DurableAll.
	Durability coordinator.Durability
	// Background is the node's switch for its background work, which a
	// BackgroundRequest turns and a LeaveRequest resumes. Optional: such
	// requests are refused.
	Background *Background
	// Health is the node's failure detector; coordinators skip the peers it
	// suspects and report timeouts to it. Optional.
	Health *Health
	// AllowFaultInjection makes the router accept FaultRequests, which make
	// a named actor of this node panic (tests of supervision). Default
	// false: they are refused.
	AllowFaultInjection bool
	// Counters are reported in MembersReply.stats. Optional.
	Counters *Counters
	// Admin carries out LeaveRequest and RemoveRequest (the node's serf).
	// Optional: without it they are refused as UNSUPPORTED.
	Admin Admin
	// Logger receives coordinator failures. Required.
	Logger *slog.Logger
}

// Admin is what a node does for membership changes asked of it.
type Admin interface {
	// Leave starts a graceful leave of this node: it hands its partitions
	// off, then leaves the cluster. It returns how many partitions it
	// holds. A node already leaving answers the same.
	Leave() (partitions int, err error)
	// Leaving reports whether Leave was called.
	Leaving() bool
	// Remove takes the failed member node out of the ring for good. It
	// returns an error naming the field ("node") for an unknown member or
	// one that is not failed.
	Remove(node string) *messages.Error
	// Restart stops this whole node as a crash would (no leave, no
	// handoff) and starts it again on its data after down. It returns at
	// once; an error says the node cannot be restarted in process.
	Restart(down time.Duration) error
	// Go runs fn on a goroutine the node owns and waits for when it stops
	// (nothing, once it is stopping). The router runs Leave and Remove
	// there: they wait for serf's broadcast, and requests must not wait
	// behind them.
	Go(fn func())
}

// maxHops bounds put forwarding between nodes whose views disagree.
const maxHops = 2

// router receives client requests (Get, Put, Delete, Members envelopes),
// checks them, and spawns one coordinator actor per get, put or delete. It
// keeps the latest *View from the membership actor and hands it to each
// coordinator, so a request is planned on one consistent view.
type router struct {
	cfg   RouterConfig
	view  *View
	nonce uint64 // next replica request id; starts at a random point
	pids  *pidCache
}

// RouterProps returns the props of the request router. Coordinators are its
// children; one that fails is stopped, not restarted (a restarted write
// coordinator would issue a second dot for the same write), and its client
// gets a timeout.
func RouterProps(cfg RouterConfig) *actor.Props {
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	stop := actor.NewOneForOneStrategy(0, time.Second, func(reason interface{}) actor.Directive {
		cfg.Logger.Error("coordinator failed", "reason", fmt.Sprint(reason))
		return actor.StopDirective
	})
	return actor.PropsFromProducer(func() actor.Actor { return &router{cfg: cfg, nonce: rand.Uint64(), pids: &pidCache{}} }, append(onDispatcher(cfg.Dispatcher), actor.WithSupervisor(stop))...)
}

func (r *router) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		askView(ctx)
	case *View:
		r.view = m
	case *crashNow:
		panic("fault injection: router crash requested")
	case *messages.Envelope:
		if ctx.Sender() == nil {
			return // nobody to answer
		}
		if reply := r.route(ctx, m); reply != nil {
			ctx.Respond(reply)
		}
	}
}

// route answers env directly (returned) or hands it on (nil): to a
// coordinator, to a local vnode, or to the node's own goroutine (admin).
func (r *router) route(ctx actor.Context, env *messages.Envelope) *messages.Envelope {
	body, err := messages.Open(env)
	if err != nil {
		return messages.Unsupported(env)
	}
	id := env.GetRequestId()
	switch b := body.(type) {
	case *messages.GetRequest, *messages.PutRequest, *messages.DeleteRequest:
		return r.coordinate(ctx, env, id, body)
	case *messages.GetManyRequest:
		return r.getMany(ctx, id, b)
	case *messages.ListKeysRequest:
		return r.listKeys(ctx, env, id, b)
	case *messages.MembersRequest:
		return messages.Wrap(id, r.members())
	case *messages.FaultRequest:
		return messages.Wrap(id, &messages.FaultReply{Node: r.cfg.Self, Error: r.fault(ctx, b)})
	case *messages.ReplicaGetRequest, *messages.MerkleHashesRequest:
		return r.inspect(ctx, id, b)
	case *messages.LeaveRequest, *messages.RemoveRequest:
		return r.admin(ctx, id, b)
	case *messages.BackgroundRequest:
		return messages.Wrap(id, r.background(b))
	}
	return messages.Wrap(id, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED,
		Message: fmt.Sprintf("the router serves get, get many, put, delete, members and admin requests, not %s", body.ProtoReflect().Descriptor().Name())})
}

// plan starts the plan of one request from the client of ctx's message.
func (r *router) plan(ctx actor.Context, id uint64) plan {
	r.nonce++
	return plan{id: id, nonce: r.nonce, dispatcher: r.cfg.Dispatcher, client: ctx.Sender(), view: r.view, pids: r.pids, hinted: !r.cfg.NoHintedHandoff, health: r.cfg.Health,
		start: time.Now(), stats: &r.cfg.Counters.Requests, warn: r.siblingWarning, speculate: r.cfg.ReadSpeculateAfter, speculated: &r.cfg.Counters.ReadSpeculations,
		durability: r.cfg.Durability}
}

// listKeys spawns a listMerger for a ListKeysRequest (the HTTP API's
// listing; the Go client asks the vnodes itself), over the partition's up
// primaries.
func (r *router) listKeys(ctx actor.Context, env *messages.Envelope, id uint64, b *messages.ListKeysRequest) *messages.Envelope {
	fail := func(e *messages.Error) *messages.Envelope {
		return messages.Wrap(id, &messages.ListKeysReply{Partition: b.GetPartition(), Node: r.cfg.Self, Error: e})
	}
	if r.view == nil {
		return fail(unavailable("node is starting: no membership view yet"))
	}
	q := r.view.Ring.Config().Partitions
	if int(b.GetPartition()) >= q {
		return fail(request.Invalid("partition", fmt.Sprintf("partition %d is not below Q=%d", b.GetPartition(), q)))
	}
	m := &listMerger{client: ctx.Sender(), env: env, q: q, limit: int(b.GetLimit()), timeout: max(r.cfg.Defaults.Timeout, time.Second), self: r.cfg.Self}
	if m.limit == 0 {
		m.limit = listDefault
	}
	for _, name := range r.view.Ring.Owners(b.GetPartition()) {
		if r.view.Down(name) || (name != r.cfg.Self && r.cfg.Health.Down(name)) {
			continue
		}
		m.targets = append(m.targets, vnodePID(r.view.Addr(name), b.GetPartition()))
	}
	if len(m.targets) == 0 {
		return fail(unavailable(fmt.Sprintf("no primary of partition %d is up", b.GetPartition())))
	}
	ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return m }, onDispatcher(r.cfg.Dispatcher)...))
	return nil
}

// getMany checks a GetManyRequest and spawns its manyGetter, which runs one
// get coordinator per key; a key refused is answered in its place, the
// request refused as a whole here.
func (r *router) getMany(ctx actor.Context, id uint64, b *messages.GetManyRequest) *messages.Envelope {
	werr := request.CheckMany(len(b.GetKeys()))
	if werr == nil && r.view == nil {
		werr = unavailable("node is starting: no membership view yet")
	}
	if werr != nil {
		return messages.Wrap(id, &messages.GetManyReply{Error: werr})
	}
	replies := make([]*messages.GetReply, len(b.GetKeys()))
	var subs []manyGet
	for i, key := range b.GetKeys() {
		req := r.plan(ctx, id)
		req.op = request.OpGet
		if e := r.check(request.Request{Op: req.op, Key: key, Quorum: int(b.GetR()), Timeout: msDuration(b.GetTimeoutMs())}); e != nil {
			req.record(e, true)
			replies[i] = &messages.GetReply{Error: e}
			continue
		}
		req.quorum, req.timeout, req.mode = r.params(b.GetR(), r.cfg.Defaults.R, b.GetTimeoutMs(), b.GetMode())
		subs = append(subs, manyGet{i: i, req: req, key: key})
	}
	ctx.Spawn(manyProps(ctx.Sender(), id, replies, subs, r.cfg.Dispatcher))
	return nil
}

// coordinate checks a get, put or delete and spawns its coordinator; a
// request refused is answered here.
func (r *router) coordinate(ctx actor.Context, env *messages.Envelope, id uint64, body proto.Message) *messages.Envelope {
	req := r.plan(ctx, id)
	var props *actor.Props
	var werr *messages.Error
	switch b := body.(type) {
	case *messages.GetRequest:
		req.op = request.OpGet
		werr = r.check(request.Request{Op: req.op, Key: b.GetKey(), Quorum: int(b.GetR()), Timeout: msDuration(b.GetTimeoutMs())})
		req.quorum, req.timeout, req.mode = r.params(b.GetR(), r.cfg.Defaults.R, b.GetTimeoutMs(), b.GetMode())
		props = getProps(req, b)
	case *messages.PutRequest:
		var vctx version.Context
		req.op = request.OpPut
		ttl := r.cfg.Defaults.TTL
		if b.TtlMs != nil {
			ttl, werr = request.TTLOfMillis(b.GetTtlMs())
		}
		if werr == nil {
			werr = r.check(request.Request{Op: req.op, Key: b.GetKey(), Value: b.GetValue(), Quorum: int(b.GetW()), Timeout: msDuration(b.GetTimeoutMs()), TTL: ttl})
		}
		if werr == nil {
			vctx, werr = request.DecodeContext(b.GetContext())
		}
		req.quorum, req.timeout, req.mode = r.params(b.GetW(), r.cfg.Defaults.W, b.GetTimeoutMs(), b.GetMode())
		props = putProps(req, env, putArgs{key: b.GetKey(), value: b.GetValue(), vctx: vctx, hops: b.GetHops(), ifAbsent: b.GetIfAbsent(), ttl: ttl})
	case *messages.DeleteRequest:
		var vctx version.Context
		req.op = request.OpDelete
		werr = r.check(request.Request{Op: req.op, Key: b.GetKey(), Quorum: int(b.GetW()), Timeout: msDuration(b.GetTimeoutMs())})
		if werr == nil {
			vctx, werr = request.DecodeContext(b.GetContext())
		}
		req.quorum, req.timeout, req.mode = r.params(b.GetW(), r.cfg.Defaults.W, b.GetTimeoutMs(), messages.ConflictMode_CONFLICT_MODE_DEFAULT)
		props = putProps(req, env, putArgs{key: b.GetKey(), tombstone: true, vctx: vctx, hops: b.GetHops()})
	}
	if werr == nil && r.view == nil {
		werr = unavailable("node is starting: no membership view yet")
	}
	if werr != nil {
		req.record(werr, true)
		return failReply(body, id, werr)
	}
	ctx.Spawn(props)
	return nil
}

// members is this node's answer to a MembersRequest: its view, defaults
// and counters.
func (r *router) members() *messages.MembersReply {
	if r.view == nil {
		return &messages.MembersReply{Node: r.cfg.Self, Error: unavailable("node is starting: no membership view yet")}
	}
	c := r.cfg.Counters
	fgMean, fgBase := c.Admission.Load()
	mode := messages.ConflictMode_CONFLICT_MODE_SIBLINGS
	if r.cfg.Defaults.Mode == messages.ConflictMode_CONFLICT_MODE_LWW {
		mode = messages.ConflictMode_CONFLICT_MODE_LWW
	}
	return &messages.MembersReply{
		Node: r.cfg.Self, Members: r.view.Members(), Partitions: uint32(r.view.Ring.Config().Partitions),
		N: uint32(r.cfg.N), R: uint32(r.cfg.Defaults.R), W: uint32(r.cfg.Defaults.W), Mode: mode,
		Stats: &messages.NodeStats{
			Restarts: c.Restarts.Load(), HintsPending: uint64(max(0, c.HintsPending.Load())), HintsDelivered: c.HintsDelivered.Load(),
			Vnodes: uint32(max(0, c.Vnodes.Load())), FaultInjection: r.cfg.AllowFaultInjection,
			AntiEntropyExchanges: c.AntiEntropyExchanges.Load(), AntiEntropyIdentical: c.AntiEntropyIdentical.Load(), AntiEntropyFailures: c.AntiEntropyFailures.Load(),
			AntiEntropyKeysRepaired: c.AntiEntropyKeysRepaired.Load(), AntiEntropyBytes: c.AntiEntropyBytes.Load(), AntiEntropyPartitions: c.AntiEntropyProgress.Snapshot(),
			HandoffsPending: uint32(max(0, c.HandoffsPending.Load())), HandoffsDone: c.HandoffsDone.Load(), HandoffKeys: c.HandoffKeys.Load(),
			HandoffFailures: c.HandoffFailures.Load(), HandoffBytes: c.HandoffBytes.Load(),
			Leaving:        r.cfg.Admin != nil && r.cfg.Admin.Leaving(),
			HandoffRunning: c.HandoffInTransit.Load() > 0, HandoffPartition: uint32(max(0, c.HandoffInTransit.Load()-1)),
			ReapPasses: c.ReapPasses.Load(), ReapFailures: c.ReapFailures.Load(), ReapKeysChecked: c.ReapKeysChecked.Load(),
			TombstonesReaped: c.Reap.Reaped.Load(), ClockEntriesPruned: c.Reap.PrunedEntries.Load(),
			Compactions: c.Reap.Compactions.Load(), CompactionMs: c.Reap.CompactNanos.Load() / uint64(time.Millisecond),
			BackgroundPaused: r.cfg.Background.Paused(), HintTargets: transferTargets(c.HintTargets.Snapshot(time.Now().UnixMilli())),
			HandoffTargets: transferTargets(c.HandoffTargets.Snapshot(time.Now().UnixMilli())),
			TreesBuilding:  uint32(max(0, c.TreesBuilding.Load())), TreesLoaded: c.TreesLoaded.Load(), TreesBuilt: c.TreesBuilt.Load(),
			Keys: uint64(max(0, c.Keys.Load())), StorageBytes: uint64(max(0, c.StorageBytes.Load())),
			BackgroundHeld: 1 - r.cfg.Background.Share(), ForegroundMeanMs: fgMean, ForegroundBaselineMs: fgBase,
		},
	}
}

// transferTargets is the wire form of per-target progress.
func transferTargets(ts []progress.Target) []*messages.TransferTarget {
	out := make([]*messages.TransferTarget, 0, len(ts))
	for _, t := range ts {
		out = append(out, &messages.TransferTarget{Node: t.Target, Pending: t.Pending, Delivered: t.Delivered, RatePerSecond: t.RatePerSecond, EtaMs: t.ETAMs})
	}
	return out
}

// inspect hands an inspection request (clients, the chaos checker: this
// node's own replica of a key, or its Merkle root of a partition) to the
// local vnode, which answers the requester directly.
func (r *router) inspect(ctx actor.Context, id uint64, b proto.Message) *messages.Envelope {
	p := b.(interface{ GetPartition() uint32 }).GetPartition()
	if rg, ok := b.(*messages.ReplicaGetRequest); ok && rg.GetHintOwner() != "" {
		return messages.Wrap(id, &messages.ReplicaGetReply{Node: r.cfg.Self, Error: invalid("hint_owner", "inspection reads this node's own replicas")})
	}
	if r.view == nil || !r.view.Ring.IsOwner(p, r.cfg.Self) {
		e := invalid("partition", fmt.Sprintf("%s is not a replica of partition %d", r.cfg.Self, p))
		if _, ok := b.(*messages.ReplicaGetRequest); ok {
			return messages.Wrap(id, &messages.ReplicaGetReply{Node: r.cfg.Self, Partition: p, Error: e})
		}
		return messages.Wrap(id, &messages.MerkleHashesReply{Node: r.cfg.Self, Partition: p, Error: e})
	}
	ctx.Forward(vnodePID(ctx.Self().Address, p))
	return nil
}

// admin carries out a LeaveRequest or RemoveRequest on the node's own
// goroutine (Admin.Go): serf waits for its broadcast (up to 5 s), and
// client requests must not wait behind it.
func (r *router) admin(ctx actor.Context, id uint64, b proto.Message) *messages.Envelope {
	if r.cfg.Admin == nil {
		unsupported := &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "this node cannot change the membership (no admin)"}
		if _, ok := b.(*messages.LeaveRequest); ok {
			return messages.Wrap(id, &messages.LeaveReply{Node: r.cfg.Self, Error: unsupported})
		}
		return messages.Wrap(id, &messages.RemoveReply{Error: unsupported})
	}
	if _, ok := b.(*messages.LeaveRequest); ok && r.cfg.Background.Resume() {
		r.cfg.Logger.Info("background work resumed: a leave needs its handoffs")
	}
	admin, self, sender, root := r.cfg.Admin, r.cfg.Self, ctx.Sender(), ctx.ActorSystem().Root
	admin.Go(func() {
		var reply proto.Message
		switch b := b.(type) {
		case *messages.LeaveRequest:
			n, err := admin.Leave()
			lr := &messages.LeaveReply{Node: self, Partitions: uint32(n)}
			if err != nil {
				lr.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()}
			}
			reply = lr
		case *messages.RemoveRequest:
			reply = &messages.RemoveReply{Error: admin.Remove(b.GetNode())}
		}
		root.Send(sender, messages.Wrap(id, reply))
	})
	return nil
}

// background carries out a BackgroundRequest.
func (r *router) background(b *messages.BackgroundRequest) *messages.BackgroundReply {
	bg := r.cfg.Background
	reply := &messages.BackgroundReply{Node: r.cfg.Self}
	if bg == nil {
		reply.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "this node cannot pause its background work"}
		return reply
	}
	switch a := b.GetAction(); a {
	case messages.BackgroundAction_BACKGROUND_ACTION_STATUS:
	case messages.BackgroundAction_BACKGROUND_ACTION_PAUSE:
		if bg.Pause() {
			r.cfg.Logger.Warn("background work paused: no hint delivery, handoff, anti-entropy or reap pass until resumed")
		}
	case messages.BackgroundAction_BACKGROUND_ACTION_RESUME:
		if bg.Resume() {
			r.cfg.Logger.Info("background work resumed")
		}
	default:
		reply.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "action",
			Message: fmt.Sprintf("unknown background action %d (status, pause or resume)", a)}
	}
	reply.Paused = bg.Paused()
	return reply
}

// fault carries out a FaultRequest: the named local actor panics when it
// processes the crash message (after this reply is sent), the node stops,
// or a storage fault is injected (storageFault, faults.go).
func (r *router) fault(ctx actor.Context, f *messages.FaultRequest) *messages.Error {
	if !r.cfg.AllowFaultInjection {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "component",
			Message: "fault injection is off on this node (start the agent with --allow-fault-injection)"}
	}
	if e, ok := r.storageFault(ctx, f); ok {
		return e // "disk" or "corrupt" (faults.go)
	}
	component := remoting.Component(f.GetComponent())
	if component == remoting.ComponentNode {
		down := time.Duration(f.GetDownMs()) * time.Millisecond
		if r.cfg.Admin == nil {
			return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "this node cannot be restarted by request"}
		}
		if down <= 0 || down > remoting.MaxDown {
			return invalid("down_ms", fmt.Sprintf("a node stop needs a downtime of 1 ms to %v, got %d ms", remoting.MaxDown, f.GetDownMs()))
		}
		r.cfg.Logger.Warn("fault injection: stopping the whole node on request", "down", down)
		if err := r.cfg.Admin.Restart(down); err != nil {
			return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Field: "component", Message: err.Error()}
		}
		return nil
	}
	addr := ctx.Self().Address
	var target *actor.PID
	switch component {
	case remoting.ComponentVnode:
		owned := false
		if r.view != nil {
			ps, _ := r.view.Ring.PartitionsOf(r.cfg.Self)
			owned = slices.Contains(ps, f.GetPartition())
		}
		if !owned {
			return invalid("partition", fmt.Sprintf("this node holds no vnode of partition %d", f.GetPartition()))
		}
		target = vnodePID(addr, f.GetPartition())
	case remoting.ComponentVnodes:
		target = actor.NewPID(addr, remoting.VnodesName)
	case remoting.ComponentRouter:
		target = ctx.Self()
	case remoting.ComponentMembership:
		target = actor.NewPID(addr, remoting.MembershipName)
	case remoting.ComponentHints:
		target = hintsPID(addr)
	case remoting.ComponentSyncer:
		target = actor.NewPID(addr, remoting.SyncerName)
	default:
		return invalid("component", fmt.Sprintf("unknown component %q (%v, node, disk, corrupt)", f.GetComponent(), remoting.Crashable))
	}
	r.cfg.Logger.Warn("fault injection: crashing an actor on request", "component", f.GetComponent(), "partition", f.GetPartition())
	ctx.Send(target, &crashNow{})
	return nil
}

// check checks a client request against this node's limits and N.
func (r *router) check(req request.Request) *messages.Error { return r.cfg.Limits.Check(req, r.cfg.N) }

// msDuration is a wire deadline in milliseconds as a duration.
func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

func (r *router) params(q uint32, def int, timeoutMs uint32, mode messages.ConflictMode) (int, time.Duration, messages.ConflictMode) {
	n := int(q)
	if n == 0 {
		n = def
	}
	d := time.Duration(timeoutMs) * time.Millisecond
	if d == 0 {
		d = r.cfg.Defaults.Timeout
	}
	if mode == messages.ConflictMode_CONFLICT_MODE_DEFAULT {
		mode = r.cfg.Defaults.Mode
	}
	return n, d, mode
}

func invalid(field, msg string) *messages.Error {
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: field, Message: msg}
}

func unavailable(msg string) *messages.Error {
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: msg}
}

// siblingWarning logs and counts a client write that left many siblings
// (coordinators call it from their own goroutines: the logger and the
// counter are safe for that).
func (r *router) siblingWarning(key []byte, versions int) {
	r.cfg.Counters.SiblingWarnings.Add(1)
	r.cfg.Logger.Warn("key has many siblings: the application should read, merge and write with the read's context",
		"key", fmt.Sprintf("%q", key), "versions", versions, "warn_at", SiblingWarning)
}

// failReply is the reply of the request body's kind carrying e.
func failReply(body proto.Message, id uint64, e *messages.Error) *messages.Envelope {
	switch body.(type) {
	case *messages.GetRequest:
		return messages.Wrap(id, &messages.GetReply{Error: e})
	case *messages.PutRequest:
		return messages.Wrap(id, &messages.PutReply{Error: e})
	case *messages.DeleteRequest:
		return messages.Wrap(id, &messages.DeleteReply{Error: e})
	}
	return messages.Wrap(id, e)
}
