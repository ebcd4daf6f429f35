package actors

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/progress"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/vnode"
	"google.golang.org/protobuf/proto"
)

// Health is this node's local failure detector, shared by its coordinators,
// its membership actor (connection drops seen through Watch) and its hint
// dispatcher: a thin, concurrency-safe shell over cluster.Detector with the
// wall clock. Serf's failed/alive events mark members down cluster-wide;
// Health adds a private, faster opinion: a peer that just timed out or
// dropped its connection is skipped for a short, growing back-off.
type Health struct {
	mu    sync.Mutex
	d     *cluster.Detector
	start time.Time
}

// NewHealth returns a detector with back-off base and cap (defaults for
// zero: cluster.DefaultSuspectBase and DefaultSuspectMax).
func NewHealth(base, maxBackoff time.Duration) *Health {
	return &Health{d: cluster.NewDetector(int64(base), int64(maxBackoff)), start: time.Now()}
}

func (h *Health) now() int64 { return int64(time.Since(h.start)) }

// Failed records a timeout or a dropped connection of node and returns how
// long node is now suspected. A nil Health ignores it.
func (h *Health) Failed(node string) time.Duration {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Duration(h.d.Failed(node, h.now()))
}

// Succeeded records that node answered.
func (h *Health) Succeeded(node string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.d.Succeeded(node)
}

// Down reports whether node is suspected now.
func (h *Health) Down(node string) bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d.Down(node, h.now())
}

// Gauge is a level that can be watched (vnodes running, hints held): a
// waiter takes Changed, checks Load, and waits on the channel, missing no
// change. The zero value is ready and reads 0.
type Gauge struct {
	v       atomic.Int64
	mu      sync.Mutex
	changed chan struct{} // closed at the next change, then replaced
}

// Load is the level.
func (g *Gauge) Load() int64 { return g.v.Load() }

// Store sets the level; a change closes the channel Changed returned.
func (g *Gauge) Store(v int64) {
	if g.v.Swap(v) == v {
		return
	}
	g.mu.Lock()
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
	g.mu.Unlock()
}

// Changed returns a channel closed at the level's next change.
func (g *Gauge) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

// Counters are a node's counters, shared by its actors and read for status
// (MembersReply.stats) and metrics. The zero value is ready.
type Counters struct {
	// Restarts counts actor restarts by supervisors.
	Restarts atomic.Uint64
	// HintTargets follows hint delivery per owner and HandoffTargets the
	// partitions to hand off per new owner (pending, delivered, rate,
	// time left), for status.
	HintTargets, HandoffTargets progress.Tracker
	// Wire counts the batches and messages the node receives over
	// remoting (remoting.SystemConfig.Wire).
	Wire remoting.WireStats
	// Commits counts the node's storage write groups and the writes they
	// held (storage.Committer).
	Commits storage.CommitStats
	// HintsPending is how many hints the node holds for others.
	HintsPending Gauge
	// HintsDelivered counts hints delivered to (acknowledged by) their
	// owners; HintsStored hints written here for other nodes.
	HintsDelivered, HintsStored atomic.Uint64
	// HintsRerouted counts the delivered hints (a part of HintsDelivered)
	// that went to their partition's current primaries because their
	// owner is no longer a member (it left, was removed, or stayed absent
	// from the view); HintsExpiredAge and HintsExpiredSize the hints
	// handed over to the current primaries other than a down owner because
	// they passed HintsConfig.MaxAge or MaxBytes (not in HintsDelivered).
	HintsRerouted, HintsExpiredAge, HintsExpiredSize atomic.Uint64
	// Vnodes is how many vnodes run.
	Vnodes Gauge
	// Keys is how many objects the node's vnodes hold (a key counts once
	// per partition replica here; an estimate while a tree builds).
	Keys atomic.Int64
	// StorageBytes is what the node's data directory takes on disk, as the
	// node last measured it.
	StorageBytes atomic.Int64
	// Admission is the admission controller's latest state.
	Admission AdmissionStats
	// TreesBuilding is how many vnodes are building their Merkle tree
	// from a scan (they serve meanwhile; anti-entropy waits for them);
	// TreesLoaded counts vnode starts that loaded the tree persisted at
	// the last clean stop, TreesBuilt the builds completed.
	TreesBuilding           atomic.Int64
	TreesLoaded, TreesBuilt atomic.Uint64
	// Anti-entropy: exchanges completed, of which identical (roots
	// matched), exchanges abandoned, replica writes that changed a
	// replica, and bytes of envelopes to and from peers.
	AntiEntropyExchanges, AntiEntropyIdentical, AntiEntropyFailures, AntiEntropyKeysRepaired, AntiEntropyBytes atomic.Uint64
	// AntiEntropyProgress is each partition's last exchange.
	AntiEntropyProgress SyncProgress
	// Handoff: partitions held but no longer owned (to hand off),
	// partitions handed off and dropped, handoff writes that changed an
	// owner, handoff sessions interrupted, bytes to and from owners.
	HandoffsPending                                          atomic.Int64
	HandoffsDone, HandoffKeys, HandoffFailures, HandoffBytes atomic.Uint64
	// HandoffInTransit is the partition being handed off plus one (0: none).
	HandoffInTransit atomic.Int64
	// Requests counts the client requests the node answered, with their
	// latency.
	Requests RequestStats
	// ReadSpeculations counts the reads that asked the replicas left
	// because R had not answered within RouterConfig.ReadSpeculateAfter.
	ReadSpeculations atomic.Uint64
	// SiblingWarnings counts client writes that left SiblingWarning or
	// more versions of a key.
	SiblingWarnings atomic.Uint64
	// Cache counts the vnodes' object cache hits, misses and bytes.
	Cache vnode.CacheStats
	// Reap passes this node coordinated to the end and abandoned, and the
	// keys they checked with every other primary.
	ReapPasses, ReapFailures, ReapKeysChecked atomic.Uint64
	// Reap counts what reap passes deleted and pruned in this node's
	// vnodes, and the compactions that followed.
	Reap vnode.ReapStats
}

// AdmissionStats are the node's admission controller's latest figures:
// the foreground's mean latency in the last window and its baseline
// without background work, in milliseconds. Safe for concurrent use; the
// zero value reads as zeros.
type AdmissionStats struct {
	mean, baseline atomic.Uint64 // math.Float64bits
}

// Store records the controller's figures.
func (a *AdmissionStats) Store(meanMs, baselineMs float64) {
	a.mean.Store(math.Float64bits(meanMs))
	a.baseline.Store(math.Float64bits(baselineMs))
}

// Load returns what Store recorded last.
func (a *AdmissionStats) Load() (meanMs, baselineMs float64) {
	return math.Float64frombits(a.mean.Load()), math.Float64frombits(a.baseline.Load())
}

// SyncProgress is each partition's anti-entropy progress on this node.
// The zero value is ready; safe for concurrent use.
type SyncProgress struct {
	mu sync.Mutex
	m  map[uint32]*messages.PartitionSync
}

// Record notes a successful exchange of partition p with peer at nowMs
// (Unix milliseconds) that made repaired replica writes.
func (sp *SyncProgress) Record(p uint32, peer string, nowMs int64, repaired uint64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.m == nil {
		sp.m = map[uint32]*messages.PartitionSync{}
	}
	ps := sp.m[p]
	if ps == nil {
		ps = &messages.PartitionSync{Partition: p}
		sp.m[p] = ps
	}
	ps.LastExchangeMs, ps.Peer = nowMs, peer
	ps.Exchanges++
	ps.KeysRepaired += repaired
}

// Snapshot returns a copy of every partition's progress, ascending by
// partition.
func (sp *SyncProgress) Snapshot() []*messages.PartitionSync {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := make([]*messages.PartitionSync, 0, len(sp.m))
	for _, ps := range sp.m {
		out = append(out, proto.Clone(ps).(*messages.PartitionSync))
	}
	slices.SortFunc(out, func(a, b *messages.PartitionSync) int { return cmp.Compare(a.GetPartition(), b.GetPartition()) })
	return out
}
