package actors

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"github.com/dynamokv/dynamo/vnode"
)

// vnodeActor serves one partition replica. It opens its store when it
// starts (and again after a restart: the store is rebuilt from storage, so
// a crash loses nothing) and answers replica requests in Envelopes.
type vnodeActor struct {
	engine storage.Engine
	cfg    vnode.Config
	node   string
	now    func() (ms int64, ns int64)
	store  *vnode.Store
	// dropped: the partition was handed off and its data deleted; every
	// request is refused until the manager stops this vnode.
	dropped bool
	// failed: a message panicked; the store is not persisted at the stop.
	failed bool
	env    VnodeEnv
	// build is the Merkle tree's build while it runs on its goroutine,
	// which stopBuild closes and waits for.
	build     *vnode.Build
	stopBuild chan struct{}
	buildDone chan struct{}
	// counted is what this vnode added to env.Counters.Keys.
	counted int
	// compacting counts the compactions this vnode started (compact),
	// which its stop waits for: the node's last write before it closes
	// the engine (vnode.MarkClean) must come after them.
	compacting sync.WaitGroup
}

// VnodeEnv is what a node's vnodes share. The zero value works: no limit
// on concurrent tree builds, counters dropped.
type VnodeEnv struct {
	// Builds holds a token per vnode building its Merkle tree from a
	// scan; its capacity is how many build at once. Nil: no limit.
	Builds chan struct{}
	// Counters receives tree builds and loads. Optional.
	Counters *Counters
}

// VnodeProps returns the props of a vnode actor over engine, its mailbox
// run by d (nil: protoactor's default dispatcher).
func VnodeProps(engine storage.Engine, cfg vnode.Config, node string, now func() (int64, int64), d actor.Dispatcher, env VnodeEnv) *actor.Props {
	if env.Counters == nil {
		env.Counters = &Counters{}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &vnodeActor{engine: engine, cfg: cfg, node: node, now: now, env: env}
	}, onDispatcher(d)...)
}

// treeBuilt is a vnode's Merkle tree build, ended (err nil: done).
type treeBuilt struct {
	b   *vnode.Build
	err error
}

// errTreeBuilding is what a vnode answers for its tree while it builds it.
func (v *vnodeActor) errTreeBuilding() *messages.Error {
	scanned := 0
	if v.build != nil {
		scanned = v.build.Scanned()
	}
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
		Message: fmt.Sprintf("vnode %d is building its Merkle tree (%d keys scanned)", v.cfg.Partition, scanned)}
}

func (v *vnodeActor) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			v.failed = true
			panic(r) // to the supervisor
		}
		v.countKeys(ctx)
	}()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		v.open(ctx)
	case *actor.Restarting:
		v.halt()
	case *actor.Stopping:
		v.halt()
		v.compacting.Wait()
		if v.store != nil && !v.failed && !v.dropped {
			if err := v.store.Close(); err != nil {
				v.failed = true // the next start builds from a scan
			}
		}
	case *treeBuilt:
		if m.b != v.build {
			return
		}
		v.build = nil
		v.env.Counters.TreesBuilding.Add(-1)
		if m.err == nil {
			m.err = v.store.Finish(m.b)
		}
		if m.err != nil {
			// Restart from storage: the next open builds again.
			panic(fmt.Errorf("vnode %d: %w", v.cfg.Partition, m.err))
		}
		v.env.Counters.TreesBuilt.Add(1)
	case *crashNow:
		panic(fmt.Sprintf("fault injection: vnode %d crash requested", v.cfg.Partition))
	case *corruptObjects:
		v.corrupt(m) // fault injection (faults.go)
	case *dropRequest:
		if !v.dropped {
			ok, err := v.store.Drop(m.root)
			if err != nil || !ok {
				ctx.Respond(&dropReply{err: err})
				return
			}
			v.dropped = true
			v.compact()
			// The manager stops this vnode (and starts a fresh one if the
			// partition is this node's again), whether or not the reply
			// reaches the syncer.
			ctx.Send(ctx.Parent(), &vnodeDropped{p: v.cfg.Partition, pid: ctx.Self()})
		}
		ctx.Respond(&dropReply{dropped: true})
	case *reapList:
		if v.dropped {
			ctx.Respond(&reapListReply{err: fmt.Errorf("vnode %d handed its partition off", v.cfg.Partition)})
			return
		}
		list, err := v.store.ReapCandidates(m.scan)
		ctx.Respond(&reapListReply{list: list, err: err})
	case *treeSnapshot:
		// The Merkle syncer's local copy of the tree, for an exchange
		// while writes continue here; none when the peer's root matches.
		t := v.store.Tree()
		if t == nil {
			ctx.Respond(&treeSnapshotReply{err: remoting.ErrorOf(v.errTreeBuilding())})
			return
		}
		if m.peerRoot != nil && m.peerConfig == t.Config() && *m.peerRoot == t.Root() {
			ctx.Respond(&treeSnapshotReply{same: true})
			return
		}
		ctx.Respond(&treeSnapshotReply{tree: t.Clone()})
	case *forgetPrepared:
		if !v.dropped {
			v.store.Forget(m.key, m.dot)
		}
	case *coordinateWrite:
		v.coordinate(ctx, m)
	case *messages.Envelope:
		if req := m.GetReplicaPut(); req != nil && !v.dropped && ctx.Sender() != nil {
			v.replicaPut(ctx, m.GetRequestId(), req)
			return
		}
		var reply *messages.Envelope
		if v.dropped {
			reply = v.handedOff(m)
		} else {
			reply = v.handle(m)
		}
		if ctx.Sender() != nil { // fire-and-forget repairs have no sender
			ctx.Respond(reply)
		}
	}
}

// open opens the store. Without a tree persisted at the last clean stop,
// the store serves at once and its tree is built on a goroutine this
// vnode owns (halt stops it), one of at most cap(env.Builds) at a time.
func (v *vnodeActor) open(ctx actor.Context) {
	s, b, err := vnode.OpenBuilding(v.engine, v.cfg)
	if err != nil {
		// Let the supervisor restart us; the error is its reason.
		panic(fmt.Errorf("vnode %d: open: %w", v.cfg.Partition, err))
	}
	v.store = s
	if loaded, _ := s.Loaded(); loaded {
		v.env.Counters.TreesLoaded.Add(1)
	}
	if b == nil {
		return
	}
	v.build, v.stopBuild, v.buildDone = b, make(chan struct{}), make(chan struct{})
	v.env.Counters.TreesBuilding.Add(1)
	root, self, stop, done, slots := ctx.ActorSystem().Root, ctx.Self(), v.stopBuild, v.buildDone, v.env.Builds
	go func() {
		defer close(done)
		if slots != nil {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-stop:
				b.Close()
				return
			}
		}
		err := b.Run(stop)
		if !errors.Is(err, vnode.ErrBuildStopped) {
			root.Send(self, &treeBuilt{b: b, err: err})
		}
	}()
}

// countKeys keeps the node's key count: this vnode's share follows its
// store, and leaves with it.
func (v *vnodeActor) countKeys(ctx actor.Context) {
	n := 0
	switch ctx.Message().(type) {
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		if v.store != nil && !v.dropped {
			n = v.store.Keys()
		}
	}
	if n != v.counted {
		v.env.Counters.Keys.Add(int64(n - v.counted))
		v.counted = n
	}
}

// halt stops the tree's build, if one runs, and waits for its goroutine.
func (v *vnodeActor) halt() {
	if v.build == nil {
		return
	}
	close(v.stopBuild)
	<-v.buildDone
	v.build = nil
	v.env.Counters.TreesBuilding.Add(-1)
}

func (v *vnodeActor) handedOff(env *messages.Envelope) *messages.Envelope {
	return messages.Wrap(env.GetRequestId(), v.handedOffError())
}

func (v *vnodeActor) handedOffError() *messages.Error {
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
		Message: fmt.Sprintf("vnode %d handed its partition off", v.cfg.Partition)}
}

// coordinateWrite is a put coordinator's client write to its own node's
// vnode, which applies it as coordinator (its dot goes into the version).
// Local only: it never crosses the wire. The vnode answers replyTo on one
// channel, in order: writePrepared (the new version, as soon as it is
// computed, so the coordinator replicates it while the vnode makes it
// durable), then writeDone (the outcome of its own write). The coordinator
// sends it with a sender, so a missing vnode comes back at once as an
// actor.DeadLetterResponse.
type coordinateWrite struct {
	nonce     uint64 // the coordinator's request id, echoed
	key       []byte
	value     []byte
	tombstone bool
	vctx      version.Context
	mode      messages.ConflictMode
	// ifAbsent: write only if the key holds no value here (Store.Holds).
	ifAbsent bool
	ttl      time.Duration // the value's time to live (version.Write.TTL)
	replyTo  *actor.PID
}

// writeDone is the outcome of a coordinateWrite at the vnode: nil once the
// version is durable there. prepared: a writePrepared went first (the
// version was computed; its commit failed when err is set).
type writeDone struct {
	nonce    uint64
	err      error
	prepared bool
}

// forgetPrepared tells the vnode that a version it prepared, whose commit
// failed, was stored nowhere (coordinator.PutReady.Forget): it need not
// keep it (vnode.Store.Forget). Local only.
type forgetPrepared struct {
	key []byte
	dot version.Dot
}

// writePrepared is the version a vnode computed for a coordinateWrite,
// not yet durable there (vnode.Store.Prepare), and its new dot.
type writePrepared struct {
	nonce uint64 // the request's id
	set   *version.Set
	dot   version.Dot
}

// coordinate carries out a coordinateWrite (vnode.Store.Prepare, then
// Commit), answering writePrepared and writeDone.
func (v *vnodeActor) coordinate(ctx actor.Context, m *coordinateWrite) {
	if v.dropped {
		ctx.Send(m.replyTo, &writeDone{nonce: m.nonce, err: remoting.ErrorOf(v.handedOffError())})
		return
	}
	ms, ns := v.now()
	if m.ifAbsent {
		holds, err := v.store.Holds(m.key, ns, modeOf(m.mode))
		if err == nil && holds {
			err = fmt.Errorf("%w: an if-absent put of %q is refused", vnode.ErrExists, m.key)
		}
		if err != nil {
			ctx.Send(m.replyTo, &writeDone{nonce: m.nonce, err: err})
			return
		}
	}
	p, err := v.store.Prepare(m.key, m.vctx, version.Write{
		Value: m.value, Tombstone: m.tombstone, Timestamp: ns, TTLNs: int64(m.ttl), Mode: modeOf(m.mode),
	}, ms)
	if err != nil {
		ctx.Send(m.replyTo, &writeDone{nonce: m.nonce, err: err})
		return
	}
	ctx.Send(m.replyTo, &writePrepared{nonce: m.nonce, set: p.Set, dot: p.Dot})
	root, to, nonce := ctx.ActorSystem().Root, m.replyTo, m.nonce
	v.store.CommitAsync(p, func(err error) { root.Send(to, &writeDone{nonce: nonce, err: err, prepared: true}) })
}

// replicaPut merges a replica write and answers once it is durable, or
// for a buffered one once it is written (vnode.Store.MergeAsync): the
// vnode goes on with its next message meanwhile.
func (v *vnodeActor) replicaPut(ctx actor.Context, id uint64, req *messages.ReplicaPutRequest) {
	root, sender, p, node := ctx.ActorSystem().Root, ctx.Sender(), v.cfg.Partition, v.node
	answer := func(changed bool, err error) {
		root.Send(sender, messages.Wrap(id, &messages.ReplicaPutReply{Partition: p, Node: node, Error: toError(err), Changed: changed}))
	}
	set, err := version.FromProto(req.GetSet())
	if err != nil {
		answer(false, err)
		return
	}
	v.store.MergeAsync(req.GetKey(), set, req.GetBuffered(), answer)
}

func (v *vnodeActor) handle(env *messages.Envelope) *messages.Envelope {
	body, err := messages.Open(env)
	if err != nil {
		return messages.Unsupported(env)
	}
	id := env.GetRequestId()
	switch req := body.(type) {
	case *messages.ReplicaGetRequest:
		set, err := v.store.Get(req.GetKey())
		reply := &messages.ReplicaGetReply{Partition: v.cfg.Partition, Node: v.node, Error: toError(err)}
		if set != nil {
			reply.Found, reply.Set = true, version.ToProto(set)
		}
		return messages.Wrap(id, reply)
	case *messages.ReplicaPutRequest:
		set, err := version.FromProto(req.GetSet())
		changed := false
		if err == nil {
			merge := v.store.Merge
			if req.GetBuffered() {
				merge = v.store.MergeBuffered
			}
			_, changed, err = merge(req.GetKey(), set)
		}
		return messages.Wrap(id, &messages.ReplicaPutReply{Partition: v.cfg.Partition, Node: v.node, Error: toError(err), Changed: changed})
	case *messages.ReplicaMergeRequest:
		items := make([]vnode.Item, 0, len(req.GetItems()))
		var err error
		for _, it := range req.GetItems() {
			set, perr := version.FromProto(it.GetSet())
			if perr != nil {
				err = perr
				break
			}
			items = append(items, vnode.Item{Key: it.GetKey(), Set: set})
		}
		changed := 0
		if err == nil {
			changed, err = v.store.MergeMany(items)
		}
		return messages.Wrap(id, &messages.ReplicaMergeReply{Partition: v.cfg.Partition, Node: v.node, Changed: uint32(changed), Error: toError(err)})
	case *messages.MerkleHashesRequest:
		if !v.store.Ready() {
			return messages.Wrap(id, &messages.MerkleHashesReply{Partition: v.cfg.Partition, Node: v.node, Error: v.errTreeBuilding()})
		}
		reply := antientropy.HashesReply(v.store.Tree().Answer(merkle.Request{Level: int(req.GetLevel()), Indices: req.GetIndices()}))
		reply.Partition, reply.Node = v.cfg.Partition, v.node
		return messages.Wrap(id, reply)
	case *messages.MerkleKeysRequest:
		return messages.Wrap(id, v.keys(req))
	case *messages.ListKeysRequest:
		return messages.Wrap(id, v.listKeys(req))
	case *messages.ExportRequest:
		return messages.Wrap(id, v.export(req))
	case *messages.ReapCheckRequest:
		held, absent, retired, err := v.store.ReapCheck(req.GetKeys(), req.GetDigests())
		return messages.Wrap(id, &messages.ReapCheckReply{Partition: v.cfg.Partition, Node: v.node, Held: held, Absent: absent, Retired: retired, Error: toError(err)})
	case *messages.ReapRequest:
		return messages.Wrap(id, v.reap(req))
	}
	return messages.Unsupported(env)
}

// reap applies a reap pass's items (vnode.Store.Reap) and starts a
// compaction of the partition's range when enough was deleted.
func (v *vnodeActor) reap(req *messages.ReapRequest) *messages.ReapReply {
	reply := &messages.ReapReply{Partition: v.cfg.Partition, Node: v.node}
	items := make([]reap.Item, 0, len(req.GetItems()))
	for _, it := range req.GetItems() {
		item := reap.Item{Key: it.GetKey(), Digest: it.GetDigest()}
		if it.GetSet() != nil {
			set, err := version.FromProto(it.GetSet())
			if err != nil {
				reply.Error = toError(err)
				return reply
			}
			item.Set = set
		}
		items = append(items, item)
	}
	_, nowNs := v.now()
	res, err := v.store.Reap(items, nowNs)
	if err != nil {
		reply.Error = toError(err)
		return reply
	}
	if res.Compact {
		v.compact()
	}
	reply.Deleted, reply.Replaced, reply.Skipped, reply.Pruned = uint32(res.Deleted), uint32(res.Replaced), uint32(res.Skipped), uint32(res.Pruned)
	return reply
}

// compact compacts the partition's storage range on a goroutine of its
// own (it may take seconds; the engine runs one at a time), so that what
// a reap or a drop deleted leaves the disk.
func (v *vnodeActor) compact() {
	e, p, st := v.engine, v.cfg.Partition, v.cfg.ReapStats
	v.compacting.Add(1)
	go func() {
		defer v.compacting.Done()
		start := time.Now()
		if err := vnode.Compact(e, p); err != nil {
			return // closed, or a broken disk: the next reap asks again
		}
		if st != nil {
			st.Compactions.Add(1)
			st.CompactNanos.Add(uint64(time.Since(start)))
		}
	}()
}

// List limits: keys per ListKeysRequest (default and most) and objects
// read for one, so that a page over a partition of deleted or
// non-matching keys still answers quickly.
const (
	listDefault = 1000
	listMax     = 10_000
	listScan    = 5000
)

// pageArgs reads a listing's or export's page size (0: listDefault, at
// most listMax) and cursor key (empty: the partition's start).
func pageArgs(limit uint32, after []byte) (int, []byte, *messages.Error) {
	switch {
	case limit == 0:
		limit = listDefault
	case limit > listMax:
		return 0, nil, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "limit",
			Message: fmt.Sprintf("limit %d exceeds %d keys per request", limit, listMax)}
	}
	if len(after) == 0 {
		after = nil
	}
	return int(limit), after, nil
}

// listKeys answers a ListKeysRequest (vnode.Store.ListKeys): the sets
// without their values (a listing needs the dots).
func (v *vnodeActor) listKeys(req *messages.ListKeysRequest) *messages.ListKeysReply {
	reply := &messages.ListKeysReply{Partition: v.cfg.Partition, Node: v.node}
	reply.Items, reply.Next, reply.Done, reply.Error = readPage(req.GetLimit(), req.GetAfter(), true, func(after []byte, limit int) ([]vnode.Item, []byte, bool, error) {
		return v.store.ListKeys(after, req.GetPrefix(), limit, max(listScan, limit))
	})
	return reply
}

// exportBytes bounds the sets of one ExportReply (about: at least one key).
const exportBytes = 4 << 20

// export answers an ExportRequest (vnode.Store.Export).
func (v *vnodeActor) export(req *messages.ExportRequest) *messages.ExportReply {
	reply := &messages.ExportReply{Partition: v.cfg.Partition, Node: v.node}
	reply.Items, reply.Next, reply.Done, reply.Error = readPage(req.GetLimit(), req.GetAfter(), false, func(after []byte, limit int) ([]vnode.Item, []byte, bool, error) {
		return v.store.Export(after, limit, exportBytes)
	})
	return reply
}

// readPage reads one page of a listing or export: the request's page size
// and cursor checked (pageArgs), the items read, and their sets encoded,
// without their values when stripValues.
func readPage(limit uint32, after []byte, stripValues bool, read func(after []byte, limit int) ([]vnode.Item, []byte, bool, error)) ([]*messages.KeySet, []byte, bool, *messages.Error) {
	n, after, e := pageArgs(limit, after)
	if e != nil {
		return nil, nil, false, e
	}
	items, next, done, err := read(after, n)
	if err != nil {
		return nil, nil, false, toError(err)
	}
	out := make([]*messages.KeySet, 0, len(items))
	for _, it := range items {
		set := version.ToProto(it.Set)
		if stripValues {
			for _, sib := range set.GetSiblings() {
				sib.Value = nil
			}
		}
		out = append(out, &messages.KeySet{Key: it.Key, Set: set})
	}
	return out, next, done, nil
}

// keys lists the partition's keys in a segment range with their digests.
func (v *vnodeActor) keys(req *messages.MerkleKeysRequest) *messages.MerkleKeysReply {
	reply := &messages.MerkleKeysReply{Partition: v.cfg.Partition, Node: v.node}
	first, last := req.GetFirstSegment(), req.GetLastSegment()
	if first > last || last > 0xffff {
		reply.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "last_segment",
			Message: fmt.Sprintf("segment range [%d, %d] is not within [0, 65535]", first, last)}
		return reply
	}
	err := v.store.Scan(uint16(first), uint16(last), func(key []byte, _ *version.Set, digest []byte) error {
		reply.Keys = append(reply.Keys, key)
		reply.Digests = append(reply.Digests, digest)
		return nil
	})
	if err != nil {
		reply.Keys, reply.Digests, reply.Error = nil, nil, toError(fmt.Errorf("vnode %d: listing keys: %w", v.cfg.Partition, err))
	}
	return reply
}

func modeOf(m messages.ConflictMode) version.ConflictMode {
	if m == messages.ConflictMode_CONFLICT_MODE_LWW {
		return version.ModeLWW
	}
	return version.ModeSiblings
}

// toError maps an error to the wire Error, nil for nil.
func toError(err error) *messages.Error {
	if err == nil {
		return nil
	}
	var re remoting.RemoteError
	if errors.As(err, &re) {
		return re.Wire
	}
	var qe *quorum.Error
	if errors.As(err, &qe) {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_QUORUM, Message: err.Error(), Need: uint64(qe.Need), Got: uint64(qe.Got)}
	}
	var ue *coordinator.UnavailableError
	if errors.As(err, &ue) {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_QUORUM, Message: err.Error(), Need: uint64(ue.Need), Got: uint64(ue.Got)}
	}
	code := messages.ErrorCode_ERROR_CODE_INTERNAL
	switch {
	case errors.Is(err, vnode.ErrTooManySiblings):
		code = messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS
	case errors.Is(err, vnode.ErrTooLarge):
		code = messages.ErrorCode_ERROR_CODE_TOO_LARGE
	case errors.Is(err, vnode.ErrExists):
		code = messages.ErrorCode_ERROR_CODE_EXISTS
	case errors.Is(err, errNoVnode):
		code = messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	case errors.Is(err, coordinator.ErrInvalid):
		code = messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
	case errors.Is(err, vnode.ErrCorrupt):
		code = messages.ErrorCode_ERROR_CODE_CORRUPT
	case errors.Is(err, storage.ErrNoSpace), errors.Is(err, storage.ErrReadOnly), errors.Is(err, storage.ErrClosed):
		code = messages.ErrorCode_ERROR_CODE_STORAGE
	case errors.Is(err, version.ErrBadContext):
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_BAD_CONTEXT, Field: "context", Message: err.Error()}
	case errors.Is(err, vnode.ErrInvalid), errors.Is(err, version.ErrInvalid):
		code = messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
	}
	return &messages.Error{Code: code, Message: err.Error()}
}
