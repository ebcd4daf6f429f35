package status

import (
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

// Document is one node's status.
type Document struct {
	Node    string `json:"node"`
	Addr    string `json:"addr"`
	Leaving bool   `json:"leaving"`
	// Partitions is the cluster's Q; N, R, W its replication factor and the
	// node's default quorums.
	Partitions  int         `json:"partitions"`
	N           int         `json:"n"`
	R           int         `json:"r"`
	W           int         `json:"w"`
	Stats       Stats       `json:"stats"`
	AntiEntropy AntiEntropy `json:"anti_entropy"`
	Handoff     Handoff     `json:"handoff"`
	Reap        Reap        `json:"reap"`
	// BackgroundPaused: hint delivery, handoffs, anti-entropy and reap
	// passes are paused on the node (dynamo background).
	BackgroundPaused bool `json:"background_paused"`
	// Hints the node holds or delivered, per owner, and partitions it
	// hands off or handed off, per new owner; by name.
	Hints    []Transfer `json:"hints"`
	Handoffs []Transfer `json:"handoffs"`
	// Members as the node sees them, sorted by name.
	Members []Member `json:"members"`
	// Ring lists, for every partition in order, its N primary owners.
	Ring [][]string `json:"ring"`
	// Requests the node answered since it started, by operation and
	// outcome (filled where the node's own counters are at hand: the HTTP
	// API).
	Requests []Requests `json:"requests,omitempty"`
}

// Stats are the node's counters.
type Stats struct {
	Restarts       uint64 `json:"restarts"`
	HintsPending   uint64 `json:"hints_pending"`
	HintsDelivered uint64 `json:"hints_delivered"`
	Vnodes         int    `json:"vnodes"`
	FaultInjection bool   `json:"fault_injection"`
	// TreesBuilding vnodes build their Merkle tree from a scan now;
	// TreesLoaded vnode starts loaded the tree persisted at the last
	// clean stop, TreesBuilt builds completed.
	TreesBuilding int    `json:"trees_building"`
	TreesLoaded   uint64 `json:"trees_loaded"`
	TreesBuilt    uint64 `json:"trees_built"`
	// BackgroundHeld is the share of their rates background work is held
	// back from now (admission control; 0: full rate); ForegroundMeanMs
	// and ForegroundBaselineMs the client requests' mean latency in its
	// last window and without background work.
	BackgroundHeld float64 `json:"background_held"`
	// Keys is how many objects the node's vnodes hold; StorageBytes what
	// its data directory takes on disk.
	Keys                 uint64  `json:"keys"`
	StorageBytes         uint64  `json:"storage_bytes"`
	ForegroundMeanMs     float64 `json:"foreground_mean_ms"`
	ForegroundBaselineMs float64 `json:"foreground_baseline_ms"`
}

// Transfer is what a node sends one other node (hints, or partitions to
// hand off): pending now, delivered since the node started, the delivery
// rate over the last minute and the time left at that rate (0: nothing
// delivered now).
type Transfer struct {
	Node          string  `json:"node"`
	Pending       uint64  `json:"pending"`
	Delivered     uint64  `json:"delivered"`
	RatePerSecond float64 `json:"rate_per_second"`
	LeftMs        int64   `json:"left_ms"`
}

// Handoff: partitions held but no longer owned (pending), handed off and
// dropped (done), handoff writes that changed an owner, interrupted
// sessions, bytes.
type Handoff struct {
	Pending int `json:"pending"`
	// InTransit is the partition being handed off, -1 for none.
	InTransit int    `json:"in_transit"`
	Done      uint64 `json:"done"`
	Keys      uint64 `json:"keys"`
	Failures  uint64 `json:"failures"`
	Bytes     uint64 `json:"bytes"`
}

// Reap is the node's reaping since it started: reap passes it coordinated
// to the end and abandoned, keys they checked with every primary;
// tombstones its vnodes deleted and clock entries they pruned, whoever
// coordinated; storage compactions that followed and their total time.
type Reap struct {
	Passes             uint64 `json:"passes"`
	Failures           uint64 `json:"failures"`
	KeysChecked        uint64 `json:"keys_checked"`
	TombstonesReaped   uint64 `json:"tombstones_reaped"`
	ClockEntriesPruned uint64 `json:"clock_entries_pruned"`
	Compactions        uint64 `json:"compactions"`
	CompactionMs       uint64 `json:"compaction_ms"`
}

// AntiEntropy is the node's Merkle exchange progress.
type AntiEntropy struct {
	Exchanges    uint64      `json:"exchanges"`
	Identical    uint64      `json:"identical"`
	Failures     uint64      `json:"failures"`
	KeysRepaired uint64      `json:"keys_repaired"`
	Bytes        uint64      `json:"bytes"`
	Partitions   []Partition `json:"partitions"`
}

// Partition is one partition the node owns; last_exchange_ms is 0 and peer
// empty when it was never compared.
type Partition struct {
	Partition      uint32 `json:"partition"`
	LastExchangeMs int64  `json:"last_exchange_ms"`
	Peer           string `json:"peer"`
	Exchanges      uint64 `json:"exchanges"`
	KeysRepaired   uint64 `json:"keys_repaired"`
}

// Member is one ring member.
type Member struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	Zone   string `json:"zone"`
	Weight int    `json:"weight"`
	// State is "up", "down" or "leaving".
	State string `json:"state"`
	// Partitions is how many partition replicas it owns.
	Partitions int `json:"partitions"`
}

// Requests counts one (operation, outcome) pair.
type Requests struct {
	Op      string `json:"op"`
	Outcome string `json:"outcome"`
	Count   uint64 `json:"count"`
	// MeanMs is the mean latency in milliseconds.
	MeanMs float64 `json:"mean_ms"`
}

// StatsOf converts a node's counters.
func StatsOf(st client.NodeStats) Stats {
	return Stats{Restarts: st.Restarts, HintsPending: st.HintsPending, HintsDelivered: st.HintsDelivered, Vnodes: st.Vnodes, FaultInjection: st.FaultInjection,
		TreesBuilding: st.TreesBuilding, TreesLoaded: st.TreesLoaded, TreesBuilt: st.TreesBuilt,
		Keys: st.Keys, StorageBytes: st.StorageBytes, BackgroundHeld: st.BackgroundHeld, ForegroundMeanMs: st.ForegroundMeanMs, ForegroundBaselineMs: st.ForegroundBaselineMs}
}

// Build makes the document of membership m, whose ring is r.
func Build(m *client.Membership, r *ring.Ring) Document {
	st := m.Stats
	d := Document{Node: m.Node, Addr: m.Addr, Leaving: st.Leaving, Partitions: m.Partitions, N: m.N, R: m.R, W: m.W, Stats: StatsOf(st),
		Handoff: Handoff{Pending: st.HandoffsPending, InTransit: st.HandoffInTransit, Done: st.HandoffsDone, Keys: st.HandoffKeys, Failures: st.HandoffFailures, Bytes: st.HandoffBytes},
		AntiEntropy: AntiEntropy{Exchanges: st.AntiEntropyExchanges, Identical: st.AntiEntropyIdentical, Failures: st.AntiEntropyFailures, KeysRepaired: st.AntiEntropyKeysRepaired, Bytes: st.AntiEntropyBytes,
			Partitions: []Partition{}},
		Reap: Reap{Passes: st.ReapPasses, Failures: st.ReapFailures, KeysChecked: st.ReapKeysChecked, TombstonesReaped: st.TombstonesReaped,
			ClockEntriesPruned: st.ClockEntriesPruned, Compactions: st.Compactions, CompactionMs: st.CompactionMs},
		Members: []Member{}, Ring: [][]string{}, BackgroundPaused: st.BackgroundPaused, Hints: transfers(m.Hints), Handoffs: transfers(m.Handoffs)}
	progress := map[uint32]client.PartitionSync{}
	for _, ps := range m.AntiEntropy {
		progress[ps.Partition] = ps
	}
	held, _ := r.PartitionsOf(m.Node)
	for _, p := range held {
		po := Partition{Partition: p}
		if ps, ok := progress[p]; ok {
			po.LastExchangeMs, po.Peer, po.Exchanges, po.KeysRepaired = ps.LastExchange.UnixMilli(), ps.Peer, ps.Exchanges, ps.KeysRepaired
		}
		d.AntiEntropy.Partitions = append(d.AntiEntropy.Partitions, po)
	}
	loads := r.Loads()
	for _, x := range m.Members {
		d.Members = append(d.Members, Member{Name: x.Name, Addr: x.Addr, Zone: x.Zone, Weight: x.Weight, State: x.State.String(), Partitions: loads[x.Name]})
	}
	for p := range r.Config().Partitions {
		d.Ring = append(d.Ring, r.Owners(uint32(p)))
	}
	return d
}

// transfers is the document's form of per-target progress.
func transfers(ts []client.TransferTarget) []Transfer {
	out := []Transfer{}
	for _, t := range ts {
		out = append(out, Transfer{Node: t.Node, Pending: t.Pending, Delivered: t.Delivered, RatePerSecond: t.RatePerSecond, LeftMs: t.Left.Milliseconds()})
	}
	return out
}
