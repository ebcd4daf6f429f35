package node

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/certs"
	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/cluster/membership"
	"github.com/dynamokv/dynamo/httpapi"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/vnode"
)

// Errors.
var (
	// ErrIncompatible marks a node that cannot be in the cluster it joined
	// (a different Q or N, another protocol).
	ErrIncompatible = errors.New("node: incompatible with the cluster")
	// ErrLeft marks a node started with Config.StayLeft on a data
	// directory whose node left the cluster (dynamo leave).
	ErrLeft = errors.New("node: this node left the cluster")
)

// leftMarker is the file a node writes in its data directory once it has
// left the cluster gracefully.
const leftMarker = "left"

// Node is a running dynamo node: storage, actors and gossip.
type Node struct {
	cfg     Config
	log     *slog.Logger
	engine  *storage.LevelDB
	flusher *storage.Flusher // the buffered replica writes' fsyncs
	// committer writes the vnodes' storage writes in groups.
	committer *storage.Committer
	disk      *diskFaults // storage fault injector, nil without AllowFaultInjection
	sys       *remoting.System
	gossip    *membership.Membership
	root      *actor.PID
	q, n      int
	counters  actors.Counters
	// background is the switch and throttle of background work.
	background *actors.Background
	http       *httpapi.Server
	tls        *tls.Config // mutual TLS of remoting and HTTPS, nil when off
	history    history     // what the status page charts

	stopOnce sync.Once
	quit     chan struct{}
	goMu     sync.Mutex // orders Go's wg.Add before close's wg.Wait
	wg       sync.WaitGroup

	leaveOnce sync.Once
	leaveErr  error
	leaving   atomic.Bool
	left      chan struct{} // closed once the node has left after a graceful leave
}

// Start opens the data directory, starts the actor system, joins the serf
// cluster and starts the node's actors. It fails with an error naming the
// flag at fault on a bad configuration, and with ErrIncompatible when the
// cluster it joins uses another Q or N.
func Start(cfg Config) (n *Node, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// N may come from the data directory: check R and W against it after
	// loading, everything else before touching the disk.
	pre := cfg.N
	if pre == 0 {
		pre = quorum.MaxN
	}
	if err := cfg.validate(pre); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, flagErr("data-dir", "%v", err)
	}
	if marker := filepath.Join(cfg.DataDir, leftMarker); fileExists(marker) {
		if cfg.StayLeft {
			return nil, fmt.Errorf("%w (dynamo leave; %s): --stay-left keeps it out; wipe the data directory to start it as a new node", ErrLeft, marker)
		}
		if err := os.Remove(marker); err != nil {
			return nil, flagErr("data-dir", "%v", err)
		}
	}
	n = &Node{cfg: cfg, log: log, quit: make(chan struct{}), left: make(chan struct{})}
	// Unwind whatever started when a later step fails.
	defer func() {
		if err != nil {
			n.close()
			n = nil
		}
	}()
	dbCfg := storage.DefaultLevelDBConfig()
	dbCfg.BlockCacheBytes = cfg.BlockCacheBytes
	if n.engine, err = storage.OpenLevelDB(filepath.Join(cfg.DataDir, "db"), dbCfg); err != nil {
		return n, fmt.Errorf("node: --data-dir %s: %w", cfg.DataDir, err)
	}
	id, created, err := storage.LoadIdentity(n.engine, cfg.Name, newEpoch)
	if err != nil {
		return n, fmt.Errorf("node: --data-dir %s: %w", cfg.DataDir, err)
	}
	// Merkle trees persisted by a session that did not end cleanly, or
	// followed by another process's writes, are not trusted.
	if dropped, err := vnode.ForgetUnclean(n.engine); err != nil {
		return n, fmt.Errorf("node: --data-dir %s: %w", cfg.DataDir, err)
	} else if dropped > 0 {
		log.Info("the last stop was not clean: the vnodes build their Merkle trees from scans", "records_dropped", dropped)
	}
	var stored bool
	if n.q, n.n, stored, err = clusterParams(n.engine, cfg); err != nil {
		return n, err
	}
	if err := cfg.validate(n.n); err != nil {
		return n, err
	}
	if cfg.TLSCert != "" {
		if n.tls, err = certs.MutualTLS(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA); err != nil {
			return n, flagErr("tls-cert", "%v", err)
		}
	}
	gossipBind, actorBind, gossipAdv, actorAdv := cfg.listenAddrs()
	if n.sys, err = remoting.StartSystem(remoting.SystemConfig{Addr: actorBind, Advertise: actorAdv, QueueSize: 16384, TLS: n.tls, Logger: quietActors(log), Wire: &n.counters.Wire}); err != nil {
		return n, flagErr("actor-addr", "%v", err)
	}
	tags, err := n.tags().Encode()
	if err != nil {
		return n, flagErr("zone", "%v", err)
	}
	mcfg := membership.DefaultConfig()
	mcfg.Name, mcfg.BindAddr, mcfg.AdvertiseAddr, mcfg.Tags, mcfg.Fast = cfg.Name, gossipBind, gossipAdv, tags, cfg.FastGossip
	mcfg.SnapshotPath = filepath.Join(cfg.DataDir, "serf.snapshot")
	mcfg.Logger = log.With("component", "serf")
	mcfg.Keys, _ = cfg.gossipKeys() // validated
	if n.gossip, err = membership.Start(mcfg); err != nil {
		return n, flagErr("gossip-addr", "%v", err)
	}
	if len(cfg.Join) > 0 {
		// Each seed alone, so that the unreachable ones are known and
		// retried in the background.
		var unreached []string
		var jerr error
		for _, seed := range cfg.Join {
			if err := n.joinSeed(seed); err != nil {
				unreached, jerr = append(unreached, seed), err
			}
		}
		if len(unreached) > 0 {
			log.Warn("seeds not reachable yet; retrying in the background", "seeds", unreached, "err", jerr)
			n.Go(func() { n.rejoin(unreached) })
		}
		if len(unreached) < len(cfg.Join) {
			if !stored {
				if err := n.adopt(); err != nil {
					return n, err
				}
			}
			if err := n.checkCompatible(); err != nil {
				return n, err
			}
		}
	}
	// Stored only now: a node refused by the cluster it tried to join has
	// not bound its data directory to the wrong constants.
	if !stored {
		if err := storeParams(n.engine, n.q, n.n); err != nil {
			return n, err
		}
	}
	if err := n.startActors(); err != nil {
		return n, err
	}
	if err := n.startHTTP(); err != nil {
		return n, err
	}
	log.Info("node started", "name", cfg.Name, "actor_addr", n.sys.Address(), "gossip_addr", n.gossip.LocalAddr(),
		"data_dir", cfg.DataDir, "new_data_dir", created, "epoch", id.Epoch, "partitions", n.q, "n", n.n, "r", cfg.R, "w", cfg.W,
		"weight", cfg.Weight, "zone", cfg.Zone, "http_addr", n.HTTPAddr())
	return n, nil
}

func newEpoch() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano())
	}
	return binary.BigEndian.Uint64(b[:]) | 1
}

func (n *Node) tags() cluster.Tags {
	return cluster.Tags{Addr: n.sys.Address(), Weight: n.cfg.Weight, Zone: n.cfg.Zone, Partitions: n.q, N: n.n, Protocol: messages.ProtocolVersion}
}

func (n *Node) startActors() error {
	mode := messages.ConflictMode_CONFLICT_MODE_SIBLINGS
	if n.cfg.LWW {
		mode = messages.ConflictMode_CONFLICT_MODE_LWW
	}
	engine := n.actorEngine()
	n.flusher = storage.NewFlusher(engine, n.cfg.FlushInterval)
	n.committer = storage.NewCommitter(engine, n.cfg.CommitLinger, &n.counters.Commits)
	n.background = &actors.Background{} // a node starts with background work running
	root, err := actors.SpawnNode(n.sys, actors.NodeConfig{
		Membership: actors.MembershipConfig{Self: n.cfg.Name, Local: n.tags(), Source: n.gossip, Logger: n.log},
		Vnodes: actors.VnodesConfig{Engine: engine, Self: n.cfg.Name, Partitions: n.q,
			NoSync: n.cfg.NoSync, Flusher: n.flusher, Committer: n.committer, CacheBytes: n.cfg.CacheBytes, Logger: n.log},
		Router: actors.RouterConfig{Self: n.cfg.Name, N: n.n, Logger: n.log, ReadSpeculateAfter: n.cfg.ReadSpeculateAfter, Limits: n.cfg.limits(),
			Durability:      n.cfg.DurableWrites,
			Defaults:        actors.Defaults{R: n.cfg.R, W: n.cfg.W, Timeout: n.cfg.Timeout, Mode: mode, TTL: n.cfg.DefaultTTL},
			NoHintedHandoff: n.cfg.NoHintedHandoff, AllowFaultInjection: n.cfg.AllowFaultInjection, Admin: n},
		Hints: actors.HintsConfig{Engine: engine, Self: n.cfg.Name, NoSync: n.cfg.NoSync,
			Interval: n.cfg.HintInterval, Rate: float64(n.cfg.HintRate), MaxAge: n.cfg.HintMaxAge, MaxBytes: int64(n.cfg.HintMaxBytes), Logger: n.log},
		Syncer: actors.SyncerConfig{Self: n.cfg.Name, Interval: n.cfg.AntiEntropyInterval, Rate: float64(n.cfg.AntiEntropyRate),
			Disabled: n.cfg.NoAntiEntropy, Logger: n.log,
			Reap: actors.ReapConfig{TombstoneGrace: n.cfg.TombstoneGrace, PruneMinAge: n.cfg.PruneMinAge}},
		Counters:   &n.counters,
		Health:     actors.NewHealth(0, 0),
		Background: n.background,
		Logger:     n.log,
	})
	if err != nil {
		return fmt.Errorf("node: start actors: %w", err)
	}
	n.root = root
	// The supervisor spawns the router as it starts, after SpawnNode
	// returns: wait until it is registered, so that a request sent as soon
	// as Start returns (the HTTP API's, a client's) finds it rather than
	// a dead letter.
	for deadline := time.Now().Add(routerWait); ; time.Sleep(time.Millisecond) {
		if _, ok := n.sys.Actors.ProcessRegistry.GetLocal(remoting.RouterName); ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node: the router did not start within %v", routerWait)
		}
	}
	if !n.cfg.NoAdmissionControl {
		n.Go(n.admit)
	}
	if n.cfg.HTTPAddr != "" {
		n.Go(n.sampleHistory) // what the status page charts
	}
	membershipPID := actor.NewPID(n.sys.Address(), remoting.MembershipName)
	n.Go(func() {
		for {
			select {
			case <-n.quit:
				return
			case <-n.gossip.Changes():
				n.sys.Root().Send(membershipPID, &actors.Refresh{})
			}
		}
	})
	return nil
}

// routerWait bounds how long Start waits for its router to be spawned.
const routerWait = 10 * time.Second

// rejoin retries, every 2 s, each seed not reached yet, until every seed
// has been reached once: a node whose seeds were down when it started (or
// that started alone, two nodes naming each other at the same moment)
// ends in the seeds' cluster, and two clusters formed through different
// seeds merge as soon as one node reaches a seed of the other.
func (n *Node) rejoin(pending []string) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for len(pending) > 0 {
		select {
		case <-n.quit:
			return
		case <-t.C:
		}
		var still []string
		for _, seed := range pending {
			if err := n.joinSeed(seed); err != nil {
				still = append(still, seed)
				continue
			}
			n.log.Info("joined through a seed", "seed", seed)
			if err := n.checkCompatible(); err != nil {
				n.log.Error("the cluster refuses this node", "err", err)
			}
		}
		pending = still
	}
}

// joinSeed joins through seed (a name is resolved now); a seed counts as
// reached only when a member other than this node is then known, so that
// a name that resolves to this node alone (the first pod of a Kubernetes
// StatefulSet) is tried again.
func (n *Node) joinSeed(seed string) error {
	if _, err := n.gossip.Join([]string{seed}); err != nil {
		return err
	}
	for _, m := range n.gossip.Members() {
		if m.Name != n.cfg.Name {
			return nil
		}
	}
	return fmt.Errorf("seed %s reached only this node", seed)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// checkCompatible fails when a member of the cluster just joined has tags
// this node cannot work with.
func (n *Node) checkCompatible() error {
	local := n.tags()
	for _, p := range n.peers() {
		err := p.err
		if err == nil {
			err = cluster.Compatible(local, p.tags, p.name)
		}
		if err != nil {
			return fmt.Errorf("%w: %v (check --partitions and --n)", ErrIncompatible, err)
		}
	}
	return nil
}

// peer is another alive member and its decoded tags (or why they do not
// decode).
type peer struct {
	name string
	tags cluster.Tags
	err  error
}

// peers are the other alive members serf knows.
func (n *Node) peers() []peer {
	var out []peer
	for _, m := range n.gossip.Members() {
		if m.Name == n.cfg.Name || m.Status != cluster.StatusAlive {
			continue
		}
		t, err := cluster.DecodeTags(m.Tags)
		out = append(out, peer{name: m.Name, tags: t, err: err})
	}
	return out
}

// Meta keys of the cluster constants this data directory belongs to.
var (
	metaQ = []byte("cluster.partitions")
	metaN = []byte("cluster.n")
)

// clusterParams resolves Q and N: the flag, else the value stored in the
// data directory, else the default; a flag that contradicts the stored
// value is an error. stored reports that the directory already had them.
func clusterParams(e storage.Engine, cfg Config) (q, n int, stored bool, err error) {
	load := func(key []byte, flag string, v *int, def int) (bool, error) {
		b, err := e.Get(storage.KeyspaceMeta, key)
		switch {
		case err == nil:
			s, perr := strconv.Atoi(string(b))
			if perr != nil {
				return false, fmt.Errorf("node: stored %s %q: %w", key, b, storage.ErrCorrupt)
			}
			if *v != 0 && *v != s {
				return false, flagErr(flag, "is %d, but this data directory belongs to a cluster with %d (it is fixed when a cluster is created)", *v, s)
			}
			*v = s
			return true, nil
		case errors.Is(err, storage.ErrNotFound):
			if *v == 0 {
				*v = def
			}
			return false, nil
		}
		return false, fmt.Errorf("node: read %s: %w", key, err)
	}
	q, n = cfg.Partitions, cfg.N
	sq, err := load(metaQ, "partitions", &q, DefaultPartitions)
	if err != nil {
		return 0, 0, false, err
	}
	sn, err := load(metaN, "n", &n, DefaultN)
	if err != nil {
		return 0, 0, false, err
	}
	return q, n, sq && sn, nil
}

// storeParams records Q and N in the data directory.
func storeParams(e storage.Engine, q, n int) error {
	b := storage.NewBatch()
	b.Put(storage.KeyspaceMeta, metaQ, []byte(strconv.Itoa(q)))
	b.Put(storage.KeyspaceMeta, metaN, []byte(strconv.Itoa(n)))
	if err := e.Write(b, storage.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("node: store cluster constants: %w", err)
	}
	return nil
}

// adopt takes Q and N from the cluster just joined when this node has
// neither a data directory that fixes them nor a flag that sets them (the
// issue: --partitions is only used when a node starts a new cluster).
func (n *Node) adopt() error {
	for _, p := range n.peers() {
		if p.err != nil {
			continue
		}
		t := p.tags
		changed := false
		if n.cfg.Partitions == 0 && t.Partitions != n.q {
			n.q, changed = t.Partitions, true
		}
		if n.cfg.N == 0 && t.N != n.n {
			n.n, changed = t.N, true
		}
		if changed {
			if err := n.cfg.validate(n.n); err != nil {
				return fmt.Errorf("%w (the cluster has n=%d)", err, n.n)
			}
			tags, err := n.tags().Encode()
			if err != nil {
				return err
			}
			if err := n.gossip.SetTags(tags); err != nil {
				return fmt.Errorf("node: publish tags: %w", err)
			}
			n.log.Info("adopted the cluster's constants", "partitions", n.q, "n", n.n, "from", p.name)
		}
		return nil
	}
	return nil
}

// quietActors is protoactor's logger: it logs routine events (actor
// started, endpoint connected) at Info, which would drown the node's own
// events, so only its warnings and errors pass. A dropped peer connection,
// which it logs as an error, is routine too (a peer restarting; serf
// reports the failure as "member failed"): it goes to Debug.
func quietActors(l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: l.Handler(), min: slog.LevelWarn}).With("component", "actors")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

// routine lists protoactor messages that are not worth an operator's
// attention.
var routine = map[string]bool{"EndpointWriter lost connection": true}

func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	if routine[r.Message] {
		if !m.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return m.Handler.Handle(ctx, r)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: m.Handler.WithAttrs(a), min: m.min}
}

func (m minLevel) WithGroup(g string) slog.Handler {
	return minLevel{Handler: m.Handler.WithGroup(g), min: m.min}
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// ActorAddr is the node's canonical actor address (clients' seeds).
func (n *Node) ActorAddr() string { return n.sys.Address() }

// GossipAddr is the serf address peers reach: the one bound, or the
// advertised one (others' --join).
func (n *Node) GossipAddr() string { return n.gossip.LocalAddr() }

// Restarts counts actor restarts (vnodes and the root supervisor's children).
func (n *Node) Restarts() uint64 { return n.counters.Restarts.Load() }

// Counters are the node's counters (restarts, hints, vnodes).
func (n *Node) Counters() *actors.Counters { return &n.counters }

// Leave starts a graceful leave (dynamo leave): the node sets its leaving
// tag, so every node's ring gives its partitions to the others; its Merkle
// syncer hands each partition off to the new owners and drops it; when it
// holds none, the node leaves serf (peers see it left, not failed) and
// Left is closed. It returns the partitions still to hand off. Calling it
// again changes nothing. A node restarted before it left is an ordinary
// member again: leave it again.
func (n *Node) Leave() (int, error) {
	n.leaveOnce.Do(func() {
		t := n.tags()
		t.Leaving = true
		enc, err := t.Encode()
		if err != nil {
			n.leaveErr = fmt.Errorf("node: leave: %w", err)
			return
		}
		// A broadcast that times out has still set the tags locally, and
		// gossip spreads them: the node is leaving either way.
		if err := n.gossip.SetTags(enc); err != nil {
			n.log.Warn("leave: the leaving tag is slow to spread", "err", err)
		}
		n.leaving.Store(true)
		n.log.Info("node leaving: handing its partitions off", "partitions", n.counters.Vnodes.Load())
		n.sys.Root().Send(actor.NewPID(n.sys.Address(), remoting.MembershipName), &actors.Refresh{})
		n.Go(n.handOffThenLeave)
	})
	return int(n.counters.Vnodes.Load()), n.leaveErr
}

// Leaving reports whether Leave was called.
func (n *Node) Leaving() bool { return n.leaving.Load() }

// Left is closed when the node has handed everything off and left the
// cluster after Leave; the process should then Stop and exit.
func (n *Node) Left() <-chan struct{} { return n.left }

// handOffThenLeave waits until the node holds no vnode and no hint (a hint
// may be the only durable copy of a write a down owner missed; hints for an
// owner that is gone for good go to the new owners once it is removed),
// then leaves serf.
func (n *Node) handOffThenLeave() {
	for {
		vnodes, hints := n.counters.Vnodes.Changed(), n.counters.HintsPending.Changed()
		if n.counters.Vnodes.Load() > 0 || n.counters.HintsPending.Load() > 0 {
			select {
			case <-n.quit:
				return
			case <-vnodes:
			case <-hints:
			}
			continue
		}
		n.log.Info("every partition handed off; leaving the cluster", "handoffs", n.counters.HandoffsDone.Load(), "keys", n.counters.HandoffKeys.Load())
		if err := n.gossip.Leave(); err != nil {
			n.log.Error("leaving serf", "err", err)
		}
		// A restart with --stay-left does not rejoin.
		if err := os.WriteFile(filepath.Join(n.cfg.DataDir, leftMarker), []byte("this node left the cluster (dynamo leave) at "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			n.log.Error("writing the left marker", "err", err)
		}
		close(n.left)
		return
	}
}

// Remove takes the failed member name out of the ring for good (dynamo
// remove). Only a member serf reports failed can be removed: one that is
// up must leave, so that its data is handed off.
func (n *Node) Remove(name string) *messages.Error {
	invalid := func(format string, args ...any) *messages.Error {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "node", Message: fmt.Sprintf(format, args...)}
	}
	if name == n.cfg.Name {
		return invalid("%s cannot remove itself: run dynamo leave on it", name)
	}
	var found *cluster.Node
	var names []string
	for _, m := range n.gossip.Members() {
		names = append(names, m.Name)
		if m.Name == name {
			found = &m
		}
	}
	switch {
	case found == nil:
		return invalid("no member named %q (known: %s)", name, strings.Join(names, ", "))
	case found.Status == cluster.StatusLeft:
		return invalid("%s has already left the cluster", name)
	case found.Status != cluster.StatusFailed:
		return invalid("%s is %s, not failed: remove takes out a dead node; a live one leaves (dynamo leave --node %s) so that its data is handed off", name, found.Status, name)
	}
	if err := n.gossip.RemoveFailed(name); err != nil {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()}
	}
	n.log.Warn("member removed from the cluster for good", "member", name)
	return nil
}

// Restart implements actors.Admin: Config.Restarter does the work.
func (n *Node) Restart(down time.Duration) error {
	if n.cfg.Restarter == nil {
		return errors.New("only nodes of `dynamo dev` can be stopped and restarted by request; stop an agent's process instead")
	}
	return n.cfg.Restarter(down)
}

// Stop shuts the node down: it stops gossip (without leaving: peers see it
// failed, a temporary condition, and it keeps its partitions), stops the
// actors, and closes storage. A node started again on the same data
// directory has all its data. Stop may be called more than once.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		n.log.Info("node stopping", "name", n.cfg.Name)
		n.close()
		n.log.Info("node stopped", "name", n.cfg.Name)
	})
}

// Go implements actors.Admin: fn runs on a goroutine this node owns,
// which Stop waits for (fn must return once Quit is closed). After Stop has
// begun, fn does not run.
func (n *Node) Go(fn func()) {
	n.goMu.Lock()
	defer n.goMu.Unlock()
	select {
	case <-n.quit:
		return
	default:
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// Quit is closed when the node begins to stop.
func (n *Node) Quit() <-chan struct{} { return n.quit }

func (n *Node) close() {
	n.goMu.Lock()
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
	n.goMu.Unlock()
	if n.http != nil {
		_ = n.http.Close()
	}
	if n.gossip != nil {
		_ = n.gossip.Shutdown()
	}
	n.wg.Wait()
	stopped := false
	if n.root != nil {
		stopped = n.sys.Root().StopFuture(n.root).Wait() == nil
	}
	if n.sys != nil {
		n.sys.Stop()
	}
	if n.committer != nil {
		n.committer.Close() // after the vnodes: what they submitted is written
	}
	n.flusher.Stop() // after the vnodes: what they buffered is flushed
	if n.engine != nil {
		if stopped {
			// Every vnode closed (and persisted its tree): the last
			// write marks the records as this session's.
			if err := vnode.MarkClean(n.engine); err != nil {
				n.log.Warn("the next start rebuilds the Merkle trees", "err", err)
			}
		}
		_ = n.engine.Close()
	}
}
