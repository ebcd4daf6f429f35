package client

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
)

// Membership is one node's view of the cluster.
type Membership struct {
	// Node is the name of the node that answered; Addr its address.
	Node, Addr string
	// Members, sorted by name.
	Members []Member
	// Partitions is the cluster's Q; N its replication factor; R and W the
	// nodes' default quorums.
	Partitions, N, R, W int
	// Mode is the answering node's default conflict mode:
	// CONFLICT_MODE_SIBLINGS, or CONFLICT_MODE_LWW (--lww);
	// CONFLICT_MODE_DEFAULT when the node does not say (an older version).
	Mode messages.ConflictMode
	// Stats are the answering node's own counters.
	Stats NodeStats
	// AntiEntropy is the answering node's progress per partition it has
	// compared with another replica at least once, ascending by partition.
	AntiEntropy []PartitionSync
	// Hints are the hints the answering node holds or delivered, per
	// owner, and Handoffs the partitions it still hands off or handed
	// off, per new owner; each by node name.
	Hints, Handoffs []TransferTarget
}

// TransferTarget is what a node sends one other node (hints, or
// partitions to hand off).
type TransferTarget struct {
	Node string
	// Pending items are still to go; Delivered went since the node
	// started.
	Pending, Delivered uint64
	// RatePerSecond is the delivery rate over the last minute, and Left
	// the time left at that rate (0 when nothing is delivered now: the
	// target is down, or the node's background work is paused).
	RatePerSecond float64
	Left          time.Duration
}

// PartitionSync is one partition's anti-entropy progress on a node.
type PartitionSync struct {
	Partition uint32
	// LastExchange is when the partition was last compared successfully
	// with Peer, another replica.
	LastExchange time.Time
	Peer         string
	// Exchanges counts successful comparisons; KeysRepaired the replica
	// writes they made that changed a replica (here or at the peer).
	Exchanges, KeysRepaired uint64
}

// NodeStats are one node's counters.
type NodeStats struct {
	// Restarts counts actor restarts by the node's supervisors since it
	// started (vnodes, hint dispatcher, membership, router).
	Restarts uint64
	// HintsPending is how many hints the node holds for other nodes;
	// HintsDelivered how many it delivered since it started.
	HintsPending, HintsDelivered uint64
	// Vnodes is how many partitions have a running vnode on the node.
	Vnodes int
	// FaultInjection reports that the node accepts InjectFault.
	FaultInjection bool
	// Anti-entropy since the node started: exchanges completed, of which
	// identical (only the roots were compared), exchanges abandoned, replica
	// writes that changed a replica, and bytes of exchange messages to and
	// from peers.
	AntiEntropyExchanges, AntiEntropyIdentical, AntiEntropyFailures, AntiEntropyKeysRepaired, AntiEntropyBytes uint64
	// Handoff: partitions held but no longer owned (still to hand off),
	// partitions handed off since the node started, handoff writes that
	// changed an owner, interrupted handoff sessions, bytes exchanged.
	HandoffsPending                                          int
	HandoffsDone, HandoffKeys, HandoffFailures, HandoffBytes uint64
	// Leaving is set once the node was asked to leave.
	Leaving bool
	// BackgroundPaused: the node's background work (hint delivery,
	// handoffs, anti-entropy, reap passes) is paused (Background).
	BackgroundPaused bool
	// HandoffInTransit is the partition being handed off, -1 for none.
	HandoffInTransit int
	// TreesBuilding is how many vnodes build their Merkle tree from a scan
	// now (after a crash or at a first start: they serve meanwhile, and
	// anti-entropy waits for them); TreesLoaded counts vnode starts that
	// loaded the tree persisted at the last clean stop, TreesBuilt the
	// builds completed, since the node started.
	TreesBuilding           int
	TreesLoaded, TreesBuilt uint64
	// BackgroundHeld is the share of their configured rates the node's
	// background work is held back from now (0: full rate; its admission
	// controller raises it while client requests suffer); Keys how many
	// objects its vnodes hold (a key counts once per replica held there;
	// an estimate while a Merkle tree builds); ForegroundMeanMs the mean
	// latency of the client requests it answered in the controller's last
	// window, and ForegroundBaselineMs that mean without background work
	// (0 before it was measured).
	Keys uint64
	// StorageBytes is what its data directory takes on disk, as it last
	// measured (every few seconds).
	StorageBytes                           uint64
	BackgroundHeld                         float64
	ForegroundMeanMs, ForegroundBaselineMs float64
	// Reaping since the node started: reap passes it coordinated to the
	// end and abandoned, keys they checked with every primary; tombstones
	// its vnodes deleted and clock entries they pruned (whoever
	// coordinated); storage compactions that followed and their total
	// time in milliseconds.
	ReapPasses, ReapFailures, ReapKeysChecked uint64
	TombstonesReaped, ClockEntriesPruned      uint64
	Compactions, CompactionMs                 uint64
}

// Member is one ring member.
type Member struct {
	Name string
	// Addr is the member's canonical actor address (host:port).
	Addr   string
	Zone   string
	Weight int
	// State is Up, Down (failed: keeps its partitions, not routed to) or
	// Leaving (owns no partitions). A state this client does not know is
	// reported as Down.
	State ring.State
}

// Ring computes the placement of the membership, as every node with the
// same view does.
func (m *Membership) Ring() (*ring.Ring, error) {
	ms := make([]ring.Member, len(m.Members))
	for i, x := range m.Members {
		ms[i] = ring.Member{Name: x.Name, Weight: x.Weight, Zone: x.Zone, State: x.State}
	}
	return ring.New(ring.Config{Partitions: m.Partitions, N: m.N}, ms)
}

// transferTargets converts the wire form.
func transferTargets(ts []*messages.TransferTarget) []TransferTarget {
	var out []TransferTarget
	for _, t := range ts {
		out = append(out, TransferTarget{Node: t.GetNode(), Pending: t.GetPending(), Delivered: t.GetDelivered(),
			RatePerSecond: t.GetRatePerSecond(), Left: time.Duration(t.GetEtaMs()) * time.Millisecond})
	}
	return out
}

// MembershipFromReply checks a MembersReply from the node at addr and
// converts it, as Members does (for servers that ask their own node, such
// as the HTTP API).
func MembershipFromReply(addr string, r *messages.MembersReply) (*Membership, error) {
	return membershipFrom(addr, r)
}

// membershipFrom checks a MembersReply from the node at addr.
func membershipFrom(addr string, r *messages.MembersReply) (*Membership, error) {
	st := r.GetStats()
	m := &Membership{Node: r.GetNode(), Addr: addr, Partitions: int(r.GetPartitions()), N: int(r.GetN()), R: int(r.GetR()), W: int(r.GetW()),
		Mode: r.GetMode(),
		Stats: NodeStats{Restarts: st.GetRestarts(), HintsPending: st.GetHintsPending(), HintsDelivered: st.GetHintsDelivered(),
			Vnodes: int(st.GetVnodes()), FaultInjection: st.GetFaultInjection(),
			AntiEntropyExchanges: st.GetAntiEntropyExchanges(), AntiEntropyIdentical: st.GetAntiEntropyIdentical(), AntiEntropyFailures: st.GetAntiEntropyFailures(),
			AntiEntropyKeysRepaired: st.GetAntiEntropyKeysRepaired(), AntiEntropyBytes: st.GetAntiEntropyBytes(),
			HandoffsPending: int(st.GetHandoffsPending()), HandoffsDone: st.GetHandoffsDone(), HandoffKeys: st.GetHandoffKeys(),
			HandoffFailures: st.GetHandoffFailures(), HandoffBytes: st.GetHandoffBytes(), Leaving: st.GetLeaving(), HandoffInTransit: -1,
			ReapPasses: st.GetReapPasses(), ReapFailures: st.GetReapFailures(), ReapKeysChecked: st.GetReapKeysChecked(),
			TombstonesReaped: st.GetTombstonesReaped(), ClockEntriesPruned: st.GetClockEntriesPruned(),
			Compactions: st.GetCompactions(), CompactionMs: st.GetCompactionMs(), BackgroundPaused: st.GetBackgroundPaused(),
			TreesBuilding: int(st.GetTreesBuilding()), TreesLoaded: st.GetTreesLoaded(), TreesBuilt: st.GetTreesBuilt(),
			Keys: st.GetKeys(), StorageBytes: st.GetStorageBytes(), BackgroundHeld: st.GetBackgroundHeld(), ForegroundMeanMs: st.GetForegroundMeanMs(), ForegroundBaselineMs: st.GetForegroundBaselineMs()}}
	m.Hints, m.Handoffs = transferTargets(st.GetHintTargets()), transferTargets(st.GetHandoffTargets())
	if st.GetHandoffRunning() {
		m.Stats.HandoffInTransit = int(st.GetHandoffPartition())
	}
	for _, ps := range st.GetAntiEntropyPartitions() {
		m.AntiEntropy = append(m.AntiEntropy, PartitionSync{Partition: ps.GetPartition(), LastExchange: time.UnixMilli(ps.GetLastExchangeMs()),
			Peer: ps.GetPeer(), Exchanges: ps.GetExchanges(), KeysRepaired: ps.GetKeysRepaired()})
	}
	for _, x := range r.GetMembers() {
		st := ring.Down
		switch x.GetState() {
		case messages.MemberState_MEMBER_STATE_UP:
			st = ring.Up
		case messages.MemberState_MEMBER_STATE_LEAVING:
			st = ring.Leaving
		}
		w := int(x.GetWeight())
		if w == 0 {
			w = 1 // proto3 zero: unset
		}
		m.Members = append(m.Members, Member{Name: x.GetName(), Addr: x.GetAddr(), Zone: x.GetZone(), Weight: w, State: st})
	}
	slices.SortFunc(m.Members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	if len(m.Members) == 0 {
		return nil, fmt.Errorf("membership from %s lists no members", addr)
	}
	return m, nil
}

// view is the client's routing state: a membership and its ring.
type view struct {
	m      *Membership
	ring   *ring.Ring
	byName map[string]Member
}

func newView(m *Membership) (*view, error) {
	r, err := m.Ring()
	if err != nil {
		return nil, fmt.Errorf("membership from %s: %w", m.Addr, err)
	}
	v := &view{m: m, ring: r, byName: make(map[string]Member, len(m.Members))}
	for _, x := range m.Members {
		v.byName[x.Name] = x
	}
	return v, nil
}

// candidates lists the addresses to try for key, best first: the key's
// preference list (primaries, then fallbacks) restricted to members that
// are Up and not suspect; then every other Up, unsuspected member; then,
// as a last resort because the view may be stale, the suspect and Down
// members and the seeds. A nil key (membership reads) skips the first step.
//
// good is how many leading addresses are Up and not suspect.
func (v *view) candidates(key []byte, suspect func(addr string) bool, seeds []string) (out []string, good int) {
	out = make([]string, 0, len(v.m.Members)+len(seeds))
	seen := map[string]bool{}
	add := func(addr string) {
		if addr != "" && !seen[addr] {
			seen[addr] = true
			out = append(out, addr)
		}
	}
	serves := func(m Member) bool { return m.State == ring.Up && !suspect(m.Addr) }
	if key != nil {
		for _, name := range v.ring.PreferenceList(v.ring.Partition(key)) {
			if m := v.byName[name]; serves(m) {
				add(m.Addr)
			}
		}
	}
	for _, m := range v.m.Members {
		if serves(m) {
			add(m.Addr)
		}
	}
	good = len(out)
	var last []string
	for _, m := range v.m.Members {
		if m.State == ring.Up {
			add(m.Addr) // suspect
		} else {
			last = append(last, m.Addr) // leaving or down
		}
	}
	for _, a := range last {
		add(a)
	}
	for _, s := range seeds {
		add(s)
	}
	return out, good
}

// names lists the members' names, comma-separated.
func (v *view) names() string {
	out := ""
	for i, m := range v.m.Members {
		if i > 0 {
			out += ", "
		}
		out += m.Name
	}
	return out
}
