package actors

import (
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/vnode"
)

// VnodesConfig configures the vnode manager.
type VnodesConfig struct {
	// Dispatcher runs the vnodes' mailboxes: the node's
	// remoting.System.Pool. Default nil: protoactor's.
	Dispatcher actor.Dispatcher
	// Engine holds every partition's data on this node.
	Engine storage.Engine
	// Self is this node's name; its vnodes' actor ids (the ids their dots
	// carry) are Self@<random>, drawn anew by each vnode (vnode.Store.Actor).
	Self string
	// Partitions is the ring's Q.
	Partitions int
	// CacheBytes bounds the objects the node's vnodes keep in memory,
	// shared out over the ring's partitions (vnode.Config.CacheBytes). 0
	// turns the cache off.
	CacheBytes int
	// NoSync turns off fsync per write (tests and benchmarks only: an
	// acknowledged write may then be lost in a power failure). Default false.
	NoSync bool
	// Flusher makes the engine's buffered writes durable: replica writes
	// a coordinator sends buffered (durable writes "one") are written
	// without fsync and flushed by it. Nil: every write fsyncs.
	Flusher *storage.Flusher
	// Committer writes the vnodes' storage writes in the node's groups
	// (vnode.Config.Committer). Nil: each vnode writes on its own.
	Committer *storage.Committer
	// Now returns the wall clock (ms, ns). Default time.Now.
	Now func() (ms, ns int64)
	// Counters receives vnode restarts and the number of vnodes running.
	// Optional.
	Counters *Counters
	// TreeBuilds is how many vnodes build their Merkle trees from a scan
	// at once (after a crash, or at a first start); the others serve
	// meanwhile and wait their turn. Default half the cores Go uses
	// (GOMAXPROCS), at least 1: a build is CPU-bound, and serving comes
	// first.
	TreeBuilds int
	// Logger receives vnode starts and failures. Required.
	Logger *slog.Logger
}

// respawnDelay is how long a vnode stopped for good (it failed more than
// RestartLimit times in RestartWindow) waits before the manager starts it
// again: a failing disk is not hammered, and a transient fault heals.
const respawnDelay = time.Second

// respawn asks the manager to start partition P's vnode again.
type respawn struct{ P uint32 }

// Held answers which partitions have a vnode on this node (for status).
type Held struct{}

// HeldReply lists the partitions with a vnode on this node, ascending.
type HeldReply struct{ Partitions []uint32 }

// vnodeManager starts one vnode actor per partition this node owns, as
// children it supervises one-for-one (a vnode that crashes restarts from
// storage). Vnodes of partitions the node no longer owns keep running: their
// data leaves only through handoff.
type vnodeManager struct {
	cfg  VnodesConfig
	held map[uint32]*actor.PID
	// orphans are partitions this node holds data of (found at start, or
	// held when a view took them away) but may not own: their vnodes run
	// so that the data is handed off.
	orphans map[uint32]bool
	// stopping are vnodes stopped after a handoff, until their Terminated:
	// then a fresh vnode starts if the partition is this node's again.
	stopping map[string]uint32
	view     *View
	// builds limits concurrent tree builds (VnodesConfig.TreeBuilds).
	builds chan struct{}
	timers []*time.Timer
	ending bool // stopping or restarting
}

// VnodesProps returns the props of the vnode manager. Spawn it named
// remoting.VnodesName so vnodes get the ids remoting.VnodeName(p).
func VnodesProps(cfg VnodesConfig) *actor.Props {
	if cfg.Now == nil {
		cfg.Now = wallClock
	}
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	if cfg.TreeBuilds <= 0 {
		cfg.TreeBuilds = max(1, runtime.GOMAXPROCS(0)/2)
	}
	builds := make(chan struct{}, cfg.TreeBuilds)
	decider := func(reason interface{}) actor.Directive {
		cfg.Logger.Error("vnode failed; restarting it from storage", "reason", fmt.Sprint(reason))
		cfg.Counters.Restarts.Add(1)
		return actor.RestartDirective
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &vnodeManager{cfg: cfg, held: map[uint32]*actor.PID{}, stopping: map[string]uint32{}, builds: builds}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(RestartLimit, RestartWindow, decider)))
}

// ensure starts a vnode for every partition the view gives this node that
// has none.
func (m *vnodeManager) ensure(ctx actor.Context) {
	if m.view == nil {
		return
	}
	owned, err := m.view.Ring.PartitionsOf(m.cfg.Self)
	if err != nil {
		owned = nil // not a member (yet): nothing to own, orphans to hand off
	}
	for p := range m.orphans {
		if !slices.Contains(owned, p) {
			owned = append(owned, p)
		}
	}
	started := 0
	for _, p := range owned {
		if _, ok := m.held[p]; ok {
			continue
		}
		cfg := vnode.DefaultConfig(p, m.cfg.Partitions, m.cfg.Self)
		cfg.Sync = !m.cfg.NoSync
		cfg.Flusher = m.cfg.Flusher
		cfg.Committer = m.cfg.Committer
		cfg.CacheBytes = m.cfg.CacheBytes / m.cfg.Partitions
		cfg.CacheStats = &m.cfg.Counters.Cache
		cfg.ReapStats = &m.cfg.Counters.Reap
		pid, err := remoting.SpawnNamed(ctx, VnodeProps(m.cfg.Engine, cfg, m.cfg.Self, m.cfg.Now, m.cfg.Dispatcher, VnodeEnv{Builds: m.builds, Counters: m.cfg.Counters}), remoting.VnodeChild(p))
		if err != nil {
			m.cfg.Logger.Error("vnode: cannot start", "partition", p, "err", err)
			continue
		}
		m.held[p] = pid
		started++
	}
	m.cfg.Counters.Vnodes.Store(int64(len(m.held)))
	if started > 0 {
		m.cfg.Logger.Debug("vnodes started", "count", started, "held", len(m.held))
	}
}

// findOrphans notes every partition with data on this node, so that a
// node restarted in the middle of a handoff (or after its ring share
// changed while it was down) hands that data off instead of forgetting it.
func (m *vnodeManager) findOrphans() {
	m.orphans = map[uint32]bool{}
	for p := range uint32(m.cfg.Partitions) {
		has, err := vnode.HasData(m.cfg.Engine, p)
		if err != nil {
			m.cfg.Logger.Error("vnodes: cannot scan storage for partitions to hand off", "partition", p, "err", err)
			continue
		}
		if has {
			m.orphans[p] = true
		}
	}
}

func wallClock() (int64, int64) {
	t := time.Now()
	return t.UnixMilli(), t.UnixNano()
}

func (m *vnodeManager) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.findOrphans()
		askView(ctx)
	case *dropRequest:
		// Refused while the view gives the partition to this node:
		// the ring changed back during the handoff.
		if m.view != nil && m.view.Ring.IsOwner(msg.p, m.cfg.Self) {
			ctx.Respond(&dropReply{owned: true})
			return
		}
		if pid, ok := m.held[msg.p]; ok {
			ctx.Forward(pid)
			return
		}
		ctx.Respond(&dropReply{err: fmt.Errorf("vnodes: no vnode of partition %d", msg.p)})
	case *vnodeDropped:
		// The vnode dropped its data after a handoff: stop it (out of
		// held first, so its Terminated is not taken for a failure).
		if pid, ok := m.held[msg.p]; ok && pid.Equal(msg.pid) {
			delete(m.held, msg.p)
			delete(m.orphans, msg.p)
			m.stopping[pid.String()] = msg.p
			ctx.Stop(pid)
			m.cfg.Counters.Vnodes.Store(int64(len(m.held)))
		}
	case *View:
		m.view = msg
		// Partitions held that the view takes away are handed off even
		// if their vnode has to be started again (a respawn after
		// repeated failures starts owned partitions and orphans).
		for p := range m.held {
			if !msg.Ring.IsOwner(p, m.cfg.Self) {
				m.orphans[p] = true
			}
		}
		m.ensure(ctx)
	case *respawn:
		m.ensure(ctx)
	case *crashNow:
		panic("fault injection: vnode manager crash requested")
	case *actor.Terminated:
		// A vnode stopped for good after too many failures (or the node
		// is stopping, or the manager restarting: its vnodes stop and the
		// new manager starts them again), or one stopped after its
		// handoff: if the partition is this node's again, a fresh vnode
		// starts (anti-entropy refills it).
		if m.ending {
			return
		}
		if _, ok := m.stopping[msg.Who.String()]; ok {
			delete(m.stopping, msg.Who.String())
			m.ensure(ctx)
			return
		}
		for p, pid := range m.held {
			if pid.Equal(msg.Who) {
				delete(m.held, p)
				m.cfg.Counters.Vnodes.Store(int64(len(m.held)))
				m.cfg.Logger.Error("vnode stopped after repeated failures; starting it again shortly", "partition", p, "delay", respawnDelay)
				self, root := ctx.Self(), ctx.ActorSystem().Root
				m.timers = append(m.timers, time.AfterFunc(respawnDelay, func() { root.Send(self, &respawn{P: p}) }))
			}
		}
	case *actor.Stopping, *actor.Restarting:
		m.ending = true
		for _, t := range m.timers {
			t.Stop()
		}
	case *Held:
		out := make([]uint32, 0, len(m.held))
		for p := range m.held {
			out = append(out, p)
		}
		slices.Sort(out)
		ctx.Respond(&HeldReply{Partitions: out})
	}
}
