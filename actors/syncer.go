package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/hints"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/progress"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// SyncerConfig configures the Merkle syncer.
type SyncerConfig struct {
	// Self is this node's name.
	Self string
	// Interval paces exchanges: a sweep (each partition this node owns
	// compared with its next peer, in turn) begins at most once per
	// Interval, its exchanges at least SweepGap (or Interval, if shorter)
	// apart; a sweep that repairs lasts as long as its repairs take at
	// Rate. Identical replicas cost a root hash each. Before its sweeps,
	// a syncer compares each partition with every peer once, back to back
	// (after a start, wiped or not, and when a partition comes to this
	// node). Handoffs and reap passes take turns with the exchanges.
	// Default 1 s.
	Interval time.Duration
	// Rate bounds repairs, in keys per second for the whole node, so that
	// repairing a wiped replica does not crowd out client requests.
	// Default 1000.
	Rate float64
	// Timeout bounds each message of an exchange; an exchange whose peer
	// does not answer in time is abandoned and tried again later.
	// Default 5 s.
	Timeout time.Duration
	// Session shapes an exchange (key listing size, repair batches).
	// Default antientropy.DefaultConfig().
	Session antientropy.Config
	// Disabled turns anti-entropy exchanges off (control tests only);
	// handoffs still run.
	Disabled bool
	// Reap shapes reap passes (design 9b): each partition's first primary
	// deletes, on every primary, the dead keys (deleted or expired) every
	// primary holds identically or has nothing of, whose latest death is
	// older than the grace, and prunes clocks of retired incarnations.
	// Defaults: ReapConfig's.
	Reap ReapConfig
	// Background pauses and resumes this work (BackgroundRequest).
	// Optional: never paused.
	Background *Background
	// Health is the node's failure detector: suspected peers are skipped,
	// peers that time out are reported. Optional.
	Health *Health
	// Counters receives the exchanges, repairs and per-partition progress.
	// Optional.
	Counters *Counters
	// Logger receives repairs and failures. Required.
	Logger *slog.Logger
}

// ReapConfig shapes reap passes.
type ReapConfig struct {
	// Off turns reap passes off: tombstones stay and clocks grow.
	Off bool
	// TombstoneGrace: a dead key is reaped once its newest delete or
	// expiry is older than this (--tombstone-grace). It must exceed the age past
	// which hints are no longer delivered, so that no hint holding a
	// version from before the delete arrives after the reap. Default 24 h.
	TombstoneGrace time.Duration
	// PruneKeep: clocks of at most this many entries are never pruned.
	// Default 10 (version.DefaultPrunePolicy).
	PruneKeep int
	// PruneMinAge: an entry that advanced more recently is never pruned
	// (--prune-min-age). Default 7 days.
	PruneMinAge time.Duration
	// Every is the pause before a partition's next pass once a pass went
	// through the whole partition. Default TombstoneGrace/10, at least 1 s
	// and at most 1 h.
	Every time.Duration
	// Batch bounds the keys one pass checks and acts on, Scan the objects
	// its listing reads. Defaults 512 and 8192.
	Batch, Scan int
}

// Reap defaults.
const (
	DefaultTombstoneGrace = 24 * time.Hour
	DefaultPruneMinAge    = 7 * 24 * time.Hour
	DefaultReapBatch      = 512
	DefaultReapScan       = 8192
)

func (c *ReapConfig) defaults() {
	orDefault(&c.TombstoneGrace, DefaultTombstoneGrace)
	orDefault(&c.PruneKeep, version.DefaultPrunePolicy().KeepEntries)
	orDefault(&c.PruneMinAge, DefaultPruneMinAge)
	orDefault(&c.Every, min(max(c.TombstoneGrace/10, time.Second), time.Hour))
	orDefault(&c.Batch, DefaultReapBatch)
	orDefault(&c.Scan, DefaultReapScan)
}

// SweepGap is the least time between two exchanges of a sweep (the
// Interval instead, if shorter): with the default interval, at most 100
// root comparisons a second per node.
const SweepGap = 10 * time.Millisecond

// Syncer defaults.
const (
	DefaultSyncInterval = time.Second
	DefaultSyncRate     = 1000
	DefaultSyncTimeout  = 5 * time.Second
)

func (c *SyncerConfig) defaults() {
	orDefault(&c.Interval, DefaultSyncInterval)
	orDefault(&c.Rate, DefaultSyncRate)
	orDefault(&c.Timeout, DefaultSyncTimeout)
	if c.Session.Validate() != nil {
		c.Session = antientropy.DefaultConfig()
	}
	if c.Counters == nil {
		c.Counters = &Counters{}
	}
	c.Reap.defaults()
}

// syncerActor is a thin shell over antientropy.Planner and Session: it
// asks the planner for the next job (catch-ups, then sweeps, paced by
// Interval), compares the partition's roots with the peer's, and only
// when they differ takes a snapshot of its vnode's Merkle tree and
// carries out what the session asks: tree hashes from the peer's vnode, key listings from both vnodes,
// and repairs (read the differing keys, merge them with
// antientropy.Resolve, write the merge as REPLICA_PUT_KIND_ANTI_ENTROPY to
// each side that lacks it). It also hands off partitions this node no
// longer owns and runs reap passes (reaper.go); the three kinds of job take
// turns, one at a time. Repairs, handoffs and reap checks share one rate
// limit.
type syncerActor struct {
	cfg   SyncerConfig
	epoch time.Time // the planner's clock's zero (planMs)
	view  *View
	// plan chooses the next job: handoff, exchange and reap pass in turn,
	// with the handoff back-off (antientropy.Planner).
	plan   antientropy.Planner
	bucket *hints.Bucket
	ex     *exchange // the exchange in progress, nil when idle
	busy   bool      // a job is being chosen or runs
	// reaps are the partitions' reap cursors, rp the pass in progress.
	reaps map[uint32]*reapCursor
	rp    *reapPass
	nonce uint64
	timer *time.Timer // pending syncTick
	gone  bool
}

// exchange is one job in progress: an anti-entropy exchange with one peer,
// or a handoff (push-only sessions to each owner in turn, then the drop).
type exchange struct {
	partition uint32
	handoff   bool
	targets   []string // the peer, or the owners to hand off to
	ti        int      // the current target
	snap      *merkle.Tree
	root      merkle.Hash // the snapshot's root
	// An exchange's peer root and tree shape, once asked (before the
	// session).
	peerRoot   *merkle.Hash
	peerConfig merkle.Config
	pushed     int        // handoff writes that changed an owner
	peer       string     // targets[ti]
	local      *actor.PID // this node's vnode of the partition
	remote     *actor.PID // the peer's
	s          *antientropy.Session
	bytes      uint64 // encoded envelopes to and from the peer
	// A RepairKeys batch in progress.
	repairs []antientropy.Repair
	tokens  int  // rate tokens taken for it
	reading bool // its reads (then writes) are in flight
	waking  bool // a rate-limiter wake-up is pending
	// durable: the handoff's current target answered its barrier.
	durable bool
}

// Internal messages.
type (
	syncTick struct{}               // start the next exchange
	syncWake struct{ ex *exchange } // repair tokens available again
	// treeSnapshot asks a vnode (on this node) for a clone of its tree;
	// given a peer's root and tree shape, the vnode answers same instead
	// when its own match.
	treeSnapshot struct {
		peerRoot   *merkle.Hash
		peerConfig merkle.Config
	}
	treeSnapshotReply struct {
		tree *merkle.Tree
		same bool
		err  error // no tree: the vnode is building it
	}
	// dropRequest asks the vnode manager to have partition p's vnode drop
	// its handed-off data if the tree's root is still root. The manager
	// refuses when its view gives p to this node again, else forwards it
	// to the vnode, which answers and tells the manager it dropped.
	dropRequest struct {
		p    uint32
		root merkle.Hash
	}
	dropReply struct {
		dropped bool
		owned   bool // refused: the partition is this node's again
		err     error
	}
	// vnodeDropped tells the vnode manager that partition p's vnode
	// dropped its data after a handoff: stop it.
	vnodeDropped struct {
		p   uint32
		pid *actor.PID
	}
)

// SyncerProps returns the props of the Merkle syncer.
func SyncerProps(cfg SyncerConfig) *actor.Props {
	cfg.defaults()
	return actor.PropsFromProducer(func() actor.Actor { return &syncerActor{cfg: cfg} })
}

func (s *syncerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.nonce = rand.Uint64()
		if s.epoch.IsZero() {
			s.epoch = time.Now()
		}
		s.reaps = map[uint32]*reapCursor{}
		s.bucket = hints.NewBucket(s.cfg.Rate, max(1, min(s.cfg.Session.RepairBatch, int(s.cfg.Rate))))
		askView(ctx)
	case *actor.Restarting, *actor.Stopping:
		s.gone = true
		if s.timer != nil {
			s.timer.Stop()
		}
	case *View:
		first := s.view == nil
		s.view = m
		// A peer of the job in progress that is now down will not answer:
		// abandon the job now rather than at its timeout.
		if ex := s.ex; ex != nil && ex.peer != "" && m.Down(ex.peer) {
			s.fail(ctx, fmt.Errorf("%s is down", ex.peer))
		}
		if rp := s.rp; rp != nil && slices.ContainsFunc(rp.owners, m.Down) {
			s.reapFail(ctx, rp, errors.New("a primary is down"))
		}
		if first {
			s.later(ctx, 0)
		}
	case *syncTick:
		s.timer = nil
		s.start(ctx)
	case *syncWake:
		if m.ex == s.ex && s.ex != nil {
			s.ex.waking = false
			s.repair(ctx)
		}
	case *reapWake:
		if m.rp == s.rp && s.rp != nil {
			s.rp.waking = false
			s.reapTokens(ctx, s.rp)
		}
	case *crashNow:
		panic("fault injection: Merkle syncer crash requested")
	}
}

// planMs is the planner's clock: milliseconds on the monotonic clock since
// the actor started, so that pacing and back-offs survive the wall clock
// stepping back (NTP), counted from an hour so that no pause measured from
// the planner's zero holds its first jobs back.
func (s *syncerActor) planMs() int64 {
	return time.Since(s.epoch).Milliseconds() + time.Hour.Milliseconds()
}

// later schedules the next exchange after d.
func (s *syncerActor) later(ctx actor.Context, d time.Duration) {
	if s.gone || s.timer != nil {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.timer = time.AfterFunc(d, func() { root.Send(self, &syncTick{}) })
}

// reachable reports whether node is an up member with an address that
// this node does not suspect.
func (s *syncerActor) reachable(node string) bool {
	m, ok := s.view.Ring.Member(node)
	return ok && m.State == ring.Up && !s.cfg.Health.Down(node) && s.view.Addr(node) != ""
}

// start begins the next job: handoffs of partitions this node holds but no
// longer owns and anti-entropy exchanges take turns.
func (s *syncerActor) start(ctx actor.Context) {
	if s.busy || s.view == nil || s.gone {
		return
	}
	if s.cfg.Background.Paused() {
		s.later(ctx, min(s.cfg.Interval, pausedPoll))
		return
	}
	s.busy = true
	f := ctx.RequestFuture(actor.NewPID(ctx.Self().Address, remoting.VnodesName), &Held{}, s.cfg.Timeout)
	ctx.ReenterAfter(f, func(res interface{}, err error) {
		if s.gone {
			return
		}
		reply, ok := res.(*HeldReply)
		if err != nil || !ok {
			s.rest(ctx, s.cfg.Interval)
			return
		}
		owned, _ := s.view.Ring.PartitionsOf(s.cfg.Self)
		w := antientropy.World{
			NowMs: s.planMs(), Self: s.cfg.Self, Held: reply.Partitions, Owned: owned,
			Owners: s.view.Ring.Owners, Reachable: s.reachable,
			Exchanges: !s.cfg.Disabled, Reaps: !s.cfg.Reap.Off, ReapDue: s.reapDue,
			SweepMs: s.cfg.Interval.Milliseconds(), GapMs: min(s.cfg.Interval, SweepGap).Milliseconds(),
		}
		away := antientropy.Away(w)
		s.cfg.Counters.HandoffsPending.Store(int64(len(away)))
		perTarget := map[string]int{}
		for _, p := range away {
			for _, o := range w.Owners(p) {
				perTarget[o]++
			}
		}
		counts := make([]progress.Count, 0, len(perTarget))
		for o, n := range perTarget {
			counts = append(counts, progress.Count{Target: o, Items: n})
		}
		s.cfg.Counters.HandoffTargets.Pending(counts)
		switch j := s.plan.Next(w); j.Kind {
		case antientropy.Handoff:
			s.begin(ctx, &exchange{partition: j.Partition, targets: j.Nodes, handoff: true})
		case antientropy.Exchange:
			s.begin(ctx, &exchange{partition: j.Partition, targets: j.Nodes})
		case antientropy.Reap:
			s.beginReap(ctx, j.Partition, j.Nodes)
		default:
			s.rest(ctx, max(time.Millisecond, time.Duration(j.WaitMs)*time.Millisecond))
		}
	})
}

// begin starts a job. An exchange first compares the two roots: the
// peer's (one small request), then the local vnode's, which clones its
// tree for a session only when they differ, so identical replicas cost a
// root hash each. A handoff snapshots the local tree at once.
func (s *syncerActor) begin(ctx actor.Context, ex *exchange) {
	ex.local = vnodePID(ctx.Self().Address, ex.partition)
	s.ex = ex
	if ex.handoff {
		s.cfg.Counters.HandoffInTransit.Store(int64(ex.partition) + 1)
		s.snapshot(ctx, ex, nil)
		return
	}
	ex.peer = ex.targets[ex.ti]
	if !s.reachable(ex.peer) {
		s.fail(ctx, fmt.Errorf("%s is not up", ex.peer))
		return
	}
	ex.remote = vnodePID(s.view.Addr(ex.peer), ex.partition)
	req := &messages.MerkleHashesRequest{Partition: ex.partition, Level: 0, Indices: []uint32{0}}
	s.ask(ctx, ex, ex.remote, req, func(reply *messages.Envelope) error {
		resp, err := hashesOf(reply)
		if err != nil {
			return err
		}
		ex.peerRoot = &merkle.Hash{} // differs from any root unless set below
		if resp.Err == "" && len(resp.Hashes) == 1 {
			ex.peerRoot, ex.peerConfig = &resp.Hashes[0], resp.Config
		}
		return nil
	})
}

// snapshot asks the local vnode for a clone of its tree and runs the job's
// first session; given the peer's root, the vnode answers same instead
// when its own root (and tree shape) matches, and the exchange ends
// identical.
func (s *syncerActor) snapshot(ctx actor.Context, ex *exchange, peer *treeSnapshot) {
	if peer == nil {
		peer = &treeSnapshot{}
	}
	f := ctx.RequestFuture(ex.local, peer, s.cfg.Timeout)
	ctx.ReenterAfter(f, func(res interface{}, err error) {
		if s.ex != ex || s.gone {
			return
		}
		snap, ok := res.(*treeSnapshotReply)
		if err == nil && ok && snap.err != nil {
			err = snap.err
		}
		if err != nil || !ok || (snap.tree == nil && !snap.same) {
			s.fail(ctx, fmt.Errorf("no tree from the local vnode: %v", err))
			return
		}
		if snap.same {
			s.finish(ctx)
			return
		}
		ex.snap, ex.root = snap.tree, snap.tree.Root()
		if ex.handoff && ex.root.IsZero() {
			s.drop(ctx) // nothing to hand off
			return
		}
		s.session(ctx)
	})
}

// session starts the session with the job's current target.
func (s *syncerActor) session(ctx actor.Context) {
	ex := s.ex
	ex.peer = ex.targets[ex.ti]
	if !s.reachable(ex.peer) {
		s.fail(ctx, fmt.Errorf("%s is not up", ex.peer))
		return
	}
	ex.remote = vnodePID(s.view.Addr(ex.peer), ex.partition)
	cfg := s.cfg.Session
	if !s.cfg.Reap.Off {
		// This node or the peer may coordinate the partition's reap
		// passes (its first primary): a reclaimed key it alone holds is
		// not given back to the other.
		cfg.GraceNs = int64(s.cfg.Reap.TombstoneGrace)
		if owners := s.view.Ring.Owners(ex.partition); len(owners) > 0 {
			cfg.Reaps = [2]bool{owners[0] == s.cfg.Self, owners[0] == ex.peer}
		}
	}
	if ex.handoff {
		// A new owner usually lacks the whole partition: list and push
		// in larger pieces.
		cfg.PushOnly, cfg.ListSegments = true, max(cfg.ListSegments, 4096)
	}
	ex.s, ex.durable = antientropy.NewSession(ex.snap, cfg), false
	s.drive(ctx)
}

// drive carries out the session's next action; before the session, the
// peer's root has come: the local vnode compares it with its own.
func (s *syncerActor) drive(ctx actor.Context) {
	ex := s.ex
	if ex.s == nil {
		s.snapshot(ctx, ex, &treeSnapshot{peerRoot: ex.peerRoot, peerConfig: ex.peerConfig})
		return
	}
	switch a := ex.s.Next(); a.Kind {
	case antientropy.AskHashes:
		req := &messages.MerkleHashesRequest{Partition: ex.partition, Level: uint32(a.Hashes.Level), Indices: a.Hashes.Indices}
		s.ask(ctx, ex, ex.remote, req, func(reply *messages.Envelope) error {
			resp, err := hashesOf(reply)
			if err != nil {
				return err
			}
			return ex.s.StepHashes(resp)
		})
	case antientropy.ListKeys:
		req := &messages.MerkleKeysRequest{Partition: ex.partition, FirstSegment: a.Range.First, LastSegment: a.Range.Last}
		var lists [2][]merkle.KeyDigest
		got := 0
		for side, pid := range []*actor.PID{ex.local, ex.remote} {
			s.ask(ctx, ex, pid, req, func(reply *messages.Envelope) error {
				r := reply.GetMerkleKeysReply()
				if r == nil {
					return errors.New("the reply is not a key listing")
				}
				if err := remoting.ErrorOf(r.GetError()); err != nil {
					return err
				}
				if len(r.GetKeys()) != len(r.GetDigests()) {
					return fmt.Errorf("a key listing of %d keys and %d digests", len(r.GetKeys()), len(r.GetDigests()))
				}
				for i, k := range r.GetKeys() {
					lists[side] = append(lists[side], merkle.KeyDigest{Key: k, Digest: r.GetDigests()[i]})
				}
				if got++; got < 2 {
					return errWait
				}
				return ex.s.StepKeys(lists[0], lists[1])
			})
		}
	case antientropy.RepairKeys:
		ex.repairs, ex.tokens, ex.reading = a.Repairs, 0, false
		s.repair(ctx)
	case antientropy.Finished:
		if ex.handoff && !ex.durable {
			s.barrier(ctx, ex)
			return
		}
		if ex.handoff {
			s.handedTo(ctx)
			return
		}
		s.finish(ctx)
	}
}

// barrier asks a handoff's target to make what it holds durable (a
// replica merge of no items, vnode.Store.MergeMany): the session trusted
// its tree and listings, which may count buffered writes it has not
// synced, and the partition is dropped here on the strength of them.
func (s *syncerActor) barrier(ctx actor.Context, ex *exchange) {
	req := &messages.ReplicaMergeRequest{Partition: ex.partition, Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_HANDOFF}
	s.ask(ctx, ex, ex.remote, req, func(reply *messages.Envelope) error {
		mr := reply.GetReplicaMergeReply()
		if mr == nil {
			return errors.New("the reply to the handoff's barrier is not a replica merge")
		}
		if err := remoting.ErrorOf(mr.GetError()); err != nil {
			return fmt.Errorf("the handoff's barrier: %w", err)
		}
		if mr.GetPartition() != ex.partition || mr.GetNode() != ex.peer {
			return fmt.Errorf("the handoff's barrier was answered by %s for partition %d, not by %s for %d", mr.GetNode(), mr.GetPartition(), ex.peer, ex.partition)
		}
		ex.durable = true
		return nil // driven on: handedTo
	})
}

// hashesOf is the Merkle hashes a peer's vnode answered, or its error.
func hashesOf(reply *messages.Envelope) (merkle.Response, error) {
	r := reply.GetMerkleHashesReply()
	if r == nil {
		return merkle.Response{}, errors.New("the reply is not Merkle hashes")
	}
	if err := remoting.ErrorOf(r.GetError()); err != nil {
		return merkle.Response{}, err
	}
	return antientropy.ResponseOf(r), nil
}

// errWait tells ask's caller that the step is not complete yet (the other
// side's answer is still to come).
var errWait = errors.New("actors: waiting for the other replica")

// ask sends body to pid and hands the reply to step; step's error abandons
// the exchange (errWait: wait for another reply); otherwise the session is
// driven on. Traffic to and from the peer is counted.
func (s *syncerActor) ask(ctx actor.Context, ex *exchange, pid *actor.PID, body proto.Message, step func(*messages.Envelope) error) {
	s.nonce++
	env := messages.Wrap(s.nonce, body)
	remote := pid.Equal(ex.remote)
	if remote {
		ex.bytes += uint64(proto.Size(env))
	}
	ask(ctx, pid, env, s.cfg.Timeout, func(reply *messages.Envelope, err error) {
		if s.ex != ex || s.gone { // abandoned (fail clears s.ex) or restarting
			return
		}
		if err == nil {
			if remote {
				ex.bytes += uint64(proto.Size(reply))
			}
			err = step(reply)
		}
		switch {
		case errors.Is(err, errWait):
		case err != nil:
			if remote && errors.Is(err, errNoReply) {
				s.cfg.Health.Failed(ex.peer)
			}
			s.fail(ctx, err)
		default:
			if remote {
				s.cfg.Health.Succeeded(ex.peer)
			}
			s.drive(ctx)
		}
	})
}

// repair carries out a RepairKeys batch: it waits for a rate token per
// key, reads every key on the sides that hold it (all at once), merges
// each (the session's Resolve), and writes the merges in one ReplicaMerge
// per side that needs any (one storage write there); then it steps the
// session.
func (s *syncerActor) repair(ctx actor.Context) {
	ex := s.ex
	if ex == nil || ex.repairs == nil || ex.reading {
		return
	}
	for ex.tokens < len(ex.repairs) {
		got, wait := s.cfg.Background.take(s.bucket, time.Now(), len(ex.repairs)-ex.tokens)
		if got == 0 {
			if !ex.waking {
				ex.waking = true
				self, root := ctx.Self(), ctx.ActorSystem().Root
				time.AfterFunc(wait, func() { root.Send(self, &syncWake{ex: ex}) })
			}
			return
		}
		ex.tokens += got
	}
	ex.reading = true
	sets := make([][2]*version.Set, len(ex.repairs))
	pending := 0
	pids := [2]*actor.PID{ex.local, ex.remote}
	for i, r := range ex.repairs {
		for side, read := range [2]bool{r.ReadLocal, r.ReadRemote} {
			if !read {
				continue
			}
			pending++
			get := &messages.ReplicaGetRequest{Partition: ex.partition, Key: r.Key}
			s.ask(ctx, ex, pids[side], get, func(reply *messages.Envelope) error {
				gr := reply.GetReplicaGetReply()
				if gr == nil {
					return errors.New("the reply is not a replica read")
				}
				// A corrupt object reads as CORRUPT with no set: the
				// other side's version replaces it. Any other error
				// abandons the job (a handoff then drops nothing).
				if err := remoting.ErrorOf(gr.GetError()); err != nil && gr.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_CORRUPT {
					return err
				}
				if gr.GetFound() {
					set, err := version.FromProto(gr.GetSet())
					if err != nil {
						return err
					}
					sets[i][side] = set
				}
				if pending--; pending == 0 {
					s.writeRepairs(ctx, ex, sets)
				}
				return errWait // writeRepairs drives the session on
			})
		}
	}
	if pending == 0 {
		s.writeRepairs(ctx, ex, sets)
	}
}

// writeRepairs merges each repair's versions and writes the merges, one
// ReplicaMerge per side.
func (s *syncerActor) writeRepairs(ctx actor.Context, ex *exchange, sets [][2]*version.Set) {
	kind := messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY
	if ex.handoff {
		kind = messages.ReplicaPutKind_REPLICA_PUT_KIND_HANDOFF
	}
	pending, changed := 0, 0
	done := func() {
		ex.repairs, ex.reading, ex.tokens = nil, false, 0
		if err := ex.s.StepRepaired(changed); err != nil {
			s.fail(ctx, err)
			return
		}
		s.drive(ctx)
	}
	pids := [2]*actor.PID{ex.local, ex.remote}
	for _, b := range ex.s.Batches(ex.repairs, sets, maxMergeBytes, time.Now().UnixNano()) {
		pending++
		req := &messages.ReplicaMergeRequest{Partition: ex.partition, Kind: kind, Items: b.Items}
		s.ask(ctx, ex, pids[b.Side], req, func(reply *messages.Envelope) error {
			mr := reply.GetReplicaMergeReply()
			if mr == nil {
				return errors.New("the reply is not a replica merge")
			}
			if err := remoting.ErrorOf(mr.GetError()); err != nil {
				return err
			}
			changed += int(mr.GetChanged())
			if ex.handoff {
				s.cfg.Counters.HandoffKeys.Add(uint64(mr.GetChanged()))
			} else {
				s.cfg.Counters.AntiEntropyKeysRepaired.Add(uint64(mr.GetChanged()))
			}
			if pending--; pending == 0 {
				done()
			}
			return errWait
		})
	}
	if pending == 0 {
		done()
	}
}

// handedTo ends a handoff session: the next owner's, or, when every owner
// holds the partition's data, the drop of the local copy. The vnode drops
// it only if nothing was written since the snapshot (else the next round
// hands the new writes off too), then refuses requests, and the vnode
// manager stops it.
func (s *syncerActor) handedTo(ctx actor.Context) {
	ex := s.ex
	st := ex.s.Stats()
	ex.pushed += st.Changed
	s.cfg.Counters.HandoffBytes.Add(ex.bytes)
	ex.bytes = 0
	if ex.ti++; ex.ti < len(ex.targets) {
		s.session(ctx)
		return
	}
	s.drop(ctx)
}

// drop asks the local vnode to drop the handed-off partition.
func (s *syncerActor) drop(ctx actor.Context) {
	ex := s.ex
	f := ctx.RequestFuture(actor.NewPID(ctx.Self().Address, remoting.VnodesName), &dropRequest{p: ex.partition, root: ex.root}, dropTimeout(s.cfg.Timeout))
	ctx.ReenterAfter(f, func(res interface{}, err error) {
		if s.ex != ex || s.gone {
			return
		}
		reply, ok := res.(*dropReply)
		switch {
		case err != nil || !ok:
			s.fail(ctx, fmt.Errorf("dropping the handed-off partition: %v", err))
			return
		case reply.err != nil:
			s.fail(ctx, reply.err)
			return
		case reply.dropped:
			s.cfg.Counters.HandoffsDone.Add(1)
			s.cfg.Counters.HandoffsPending.Add(-1)
			for _, o := range ex.targets {
				s.cfg.Counters.HandoffTargets.Delivered(o, 1, time.Now().UnixMilli())
			}
			s.plan.HandoffDone(ex.partition)
			s.cfg.Logger.Info("partition handed off", "partition", ex.partition, "to", ex.targets, "replica_writes", ex.pushed)
		case reply.owned:
			s.cfg.Logger.Info("handoff stopped: the partition is this node's again", "partition", ex.partition)
			s.ex = nil
			s.rest(ctx, s.cfg.Interval)
			return
		default:
			// Writes keep arriving: hand them off after an interval, not
			// in a loop of whole transfers.
			s.cfg.Logger.Debug("handoff: writes arrived during the transfer; handing them off next", "partition", ex.partition)
			s.ex = nil
			s.rest(ctx, s.cfg.Interval)
			return
		}
		s.ex = nil
		s.idle(ctx)
	})
}

// finish records a completed exchange and schedules the next.
func (s *syncerActor) finish(ctx actor.Context) {
	ex := s.ex
	s.ex = nil
	s.plan.Exchanged(ex.partition, ex.peer)
	st := antientropy.Stats{Identical: true} // the roots matched: no session
	if ex.s != nil {
		st = ex.s.Stats()
	}
	c := s.cfg.Counters
	c.AntiEntropyExchanges.Add(1)
	if st.Identical {
		c.AntiEntropyIdentical.Add(1)
	}
	c.AntiEntropyBytes.Add(ex.bytes)
	c.AntiEntropyProgress.Record(ex.partition, ex.peer, time.Now().UnixMilli(), uint64(st.Changed))
	if st.Repairs > 0 {
		s.cfg.Logger.Info("anti-entropy repaired a partition", "partition", ex.partition, "peer", ex.peer,
			"differing_keys", st.Repairs, "replica_writes", st.Changed, "bytes", ex.bytes)
	}
	s.idle(ctx)
}

// idle ends the job in progress and asks for the next at once (the
// planner paces exchanges; repairs, handoffs and reap checks wait for the
// rate limit).
func (s *syncerActor) idle(ctx actor.Context) {
	s.rest(ctx, 0)
}

// rest ends the job in progress, if any, and asks for the next after d
// (at least a millisecond when the planner had nothing to run, so that
// a node with nothing to do does not spin).
func (s *syncerActor) rest(ctx actor.Context, d time.Duration) {
	s.busy = false
	s.cfg.Counters.HandoffInTransit.Store(0)
	s.later(ctx, d)
}

// fail abandons the job in progress; the scheduler moves on and the pair
// (or the handoff) comes round again.
func (s *syncerActor) fail(ctx actor.Context, err error) {
	ex := s.ex
	if ex == nil {
		return // already abandoned
	}
	s.ex = nil
	what := "anti-entropy exchange abandoned"
	if ex.handoff {
		s.cfg.Counters.HandoffFailures.Add(1)
		s.cfg.Counters.HandoffBytes.Add(ex.bytes)
		s.plan.HandoffFailed(ex.partition, s.planMs())
		what = "handoff interrupted; it resumes later"
	} else {
		s.plan.ExchangeFailed(ex.partition, ex.peer, s.planMs())
		s.cfg.Counters.AntiEntropyFailures.Add(1)
		s.cfg.Counters.AntiEntropyBytes.Add(ex.bytes)
	}
	s.cfg.Logger.Debug(what, "partition", ex.partition, "peer", ex.peer, "err", err)
	s.idle(ctx)
}

// maxMergeBytes bounds one ReplicaMerge message (a batch of large values is
// cut into several).
const maxMergeBytes = 4 << 20

// dropTimeout bounds a drop: it deletes a whole partition.
func dropTimeout(t time.Duration) time.Duration { return max(10*t, time.Minute) }
