package chaos

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// FaultKind is one kind of nemesis fault.
type FaultKind int

// Faults.
const (
	// Kill SIGKILLs the nodes; Heal restarts them on their data.
	Kill FaultKind = iota + 1
	// Pause SIGSTOPs the nodes; Heal sends SIGCONT.
	Pause
	// Partition drops every packet between the node pairs of Blocked
	// (needs network namespaces); Heal restores them.
	Partition
	// Disk makes the nodes' storage engines fail every write with EIO,
	// each failing write returning its error after 20-50 ms, so that a
	// write's other replicas ack before its coordinator's own commit
	// fails; Heal makes writes succeed again.
	Disk
	// Corrupt overwrites stored objects of the workload's keys on the
	// nodes with garbage, again and again while it lasts, under the
	// running vnodes; Heal stops (anti-entropy repairs them).
	Corrupt
	// Leave makes the node leave the cluster gracefully (it hands its
	// partitions off, drops them and exits); Heal starts it again on its
	// data directory and it rejoins, regaining partitions it dropped.
	Leave
	// Join starts the spare node, which joins the cluster and takes
	// partitions from the others (they hand them off and drop them); Heal
	// makes it leave again, handing them back. Nodes is empty: the spare
	// is not one of the cluster's nodes.
	Join
)

// AllFaults are every fault kind, in order.
var AllFaults = []FaultKind{Kill, Pause, Partition, Disk, Corrupt, Leave, Join}

// ParseFault returns the kind named s (as String spells it).
func ParseFault(s string) (FaultKind, error) {
	for _, k := range AllFaults {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("chaos: unknown fault %q (kill, pause, partition, disk, corrupt, leave, join)", s)
}

func (k FaultKind) String() string {
	switch k {
	case Kill:
		return "kill"
	case Pause:
		return "pause"
	case Partition:
		return "partition"
	case Disk:
		return "disk"
	case Corrupt:
		return "corrupt"
	case Leave:
		return "leave"
	case Join:
		return "join"
	}
	return fmt.Sprintf("fault(%d)", int(k))
}

// Event is one step of a nemesis schedule: at At from the start, inject
// Fault on Nodes (indices) for Length, or heal every fault (Heal).
type Event struct {
	At     time.Duration
	Length time.Duration
	Heal   bool
	Fault  FaultKind
	Nodes  []int
	// With, on WithNodes, is a second fault of another kind injected at
	// the same time (kill, pause, disk or corrupt, each on one node: two
	// nodes in all), so that their effects meet: say a primary whose disk
	// fails while another is paused.
	With      FaultKind
	WithNodes []int
	// WithAfter delays the second fault (half the time 1-2 s, else 0), so
	// that writes land between the two: say on the two healthy primaries
	// while the third's disk fails, before one of them is paused and a
	// fallback stands in for it.
	WithAfter time.Duration
	// Shape and Blocked describe a Partition: the node pairs (i < j) that
	// cannot reach each other.
	Shape   string
	Blocked [][2]int
}

func (e Event) String() string {
	if e.Heal {
		return fmt.Sprintf("%8v heal", e.At.Round(time.Millisecond))
	}
	if e.Fault == Partition {
		return fmt.Sprintf("%8v partition %s %v", e.At.Round(time.Millisecond), e.Shape, e.Nodes)
	}
	if e.Fault == Join {
		return fmt.Sprintf("%8v join (the spare)", e.At.Round(time.Millisecond))
	}
	if e.With != 0 {
		return fmt.Sprintf("%8v %s %v + %s %v after %v", e.At.Round(time.Millisecond), e.Fault, e.Nodes, e.With, e.WithNodes, e.WithAfter.Round(time.Millisecond))
	}
	return fmt.Sprintf("%8v %s %v", e.At.Round(time.Millisecond), e.Fault, e.Nodes)
}

// nodeFault reports whether k is a fault of single nodes that can be
// combined with another (Event.With).
func nodeFault(k FaultKind) bool { return k == Kill || k == Pause || k == Disk || k == Corrupt }

// Partition shapes.
const (
	ShapeHalves   = "halves"          // two random halves
	ShapeIsolated = "isolated"        // one node cut off from all others
	ShapeBridge   = "bridge"          // two halves, one node seeing both
	ShapeRing     = "majorities-ring" // each node sees a majority, no two the same
)

// partition draws a partition of n nodes: its shape, the nodes it names
// (the first side, the isolated node, or the bridge; the ring's order) and
// the blocked pairs.
func partition(rng *rand.Rand, n int) (shape string, nodes []int, blocked [][2]int) {
	perm := rng.Perm(n)
	var connected func(i, j int) bool
	switch rng.IntN(4) {
	case 0:
		shape = ShapeHalves
		side := map[int]bool{}
		for _, x := range perm[:n/2] {
			side[x] = true
		}
		nodes = slices.Sorted(maps.Keys(side))
		connected = func(i, j int) bool { return side[i] == side[j] }
	case 1:
		shape, nodes = ShapeIsolated, []int{perm[0]}
		connected = func(i, j int) bool { return i != perm[0] && j != perm[0] }
	case 2:
		shape, nodes = ShapeBridge, []int{perm[0]}
		side := map[int]bool{}
		for _, x := range perm[1 : 1+(n-1)/2] {
			side[x] = true
		}
		connected = func(i, j int) bool { return i == perm[0] || j == perm[0] || side[i] == side[j] }
	default:
		// Around a ring in the order perm, each node sees the nearest
		// reach on each side: 2*reach+1 nodes, the smallest majority.
		shape, nodes = ShapeRing, perm
		pos := make([]int, n)
		for k, x := range perm {
			pos[x] = k
		}
		reach := (n/2 + 1) / 2
		connected = func(i, j int) bool {
			d := (pos[i] - pos[j] + n) % n
			return min(d, n-d) <= reach
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			if !connected(i, j) {
				blocked = append(blocked, [2]int{i, j})
			}
		}
	}
	return shape, nodes, blocked
}

// PlanConfig shapes a schedule.
type PlanConfig struct {
	// Nodes in the cluster (at least 3).
	Nodes int
	// Duration of the faulty part of the run; the schedule ends with a
	// heal at or before it.
	Duration time.Duration
	// Fault is how long a fault lasts before its heal, at most; Calm the
	// most time between a heal and the next fault. Each is drawn from
	// [x/2, x].
	Fault, Calm time.Duration
	// Faults are the kinds to draw from. Default Kill and Pause.
	Faults []FaultKind
}

// Plan draws a schedule from seed: faults of random kinds on one or two
// random nodes (never a majority, so quorums of 2 of 3 stay possible
// somewhere; one node for Leave, none but the spare for Join), each
// followed by a heal, ending healed.
func Plan(seed uint64, cfg PlanConfig) ([]Event, error) {
	if cfg.Nodes < 3 {
		return nil, fmt.Errorf("chaos: Plan: Nodes must be at least 3, got %d", cfg.Nodes)
	}
	if cfg.Fault <= 0 || cfg.Calm <= 0 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("chaos: Plan: Duration, Fault and Calm must be positive")
	}
	kinds := cfg.Faults
	if len(kinds) == 0 {
		kinds = []FaultKind{Kill, Pause}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	draw := func(d time.Duration) time.Duration { return d/2 + time.Duration(rng.Int64N(int64(d/2)+1)) }
	var out []Event
	at := draw(cfg.Calm)
	for {
		length := draw(cfg.Fault)
		if at+length > cfg.Duration {
			break
		}
		n := 1 + rng.IntN(2)
		if n > (cfg.Nodes-1)/2 {
			n = 1
		}
		nodes := rng.Perm(cfg.Nodes)[:n]
		slices.Sort(nodes)
		e := Event{At: at, Length: length, Fault: kinds[rng.IntN(len(kinds))], Nodes: nodes}
		switch e.Fault {
		case Partition:
			e.Shape, e.Nodes, e.Blocked = partition(rng, cfg.Nodes)
		case Leave:
			e.Nodes = nodes[:1] // one node leaves at a time
		case Join:
			e.Nodes = nil // the spare
		default:
			// Two nodes: half the time the second gets another kind.
			var others []FaultKind
			for _, k := range kinds {
				if k != e.Fault && nodeFault(k) && !slices.Contains(others, k) {
					others = append(others, k)
				}
			}
			if len(nodes) == 2 && nodeFault(e.Fault) && len(others) > 0 && rng.IntN(2) == 0 {
				e.Nodes, e.With, e.WithNodes = nodes[:1], others[rng.IntN(len(others))], nodes[1:]
				if rng.IntN(2) == 0 {
					e.WithAfter = time.Second + time.Duration(rng.IntN(1000))*time.Millisecond
				}
			}
		}
		out = append(out, e)
		at += length
		out = append(out, Event{At: at, Heal: true})
		at += draw(cfg.Calm)
	}
	return out, nil
}
