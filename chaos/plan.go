package chaos

import (
	"fmt"
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
)

func (k FaultKind) String() string {
	switch k {
	case Kill:
		return "kill"
	case Pause:
		return "pause"
	}
	return fmt.Sprintf("fault(%d)", int(k))
}

// Event is one step of a nemesis schedule: at At from the start, inject
// Fault on Nodes (indices), or heal every fault (Heal).
type Event struct {
	At    time.Duration
	Heal  bool
	Fault FaultKind
	Nodes []int
}

func (e Event) String() string {
	if e.Heal {
		return fmt.Sprintf("%8v heal", e.At.Round(time.Millisecond))
	}
	return fmt.Sprintf("%8v %s %v", e.At.Round(time.Millisecond), e.Fault, e.Nodes)
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
// somewhere), each followed by a heal, ending healed.
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
		out = append(out, Event{At: at, Fault: kinds[rng.IntN(len(kinds))], Nodes: nodes})
		at += length
		out = append(out, Event{At: at, Heal: true})
		at += draw(cfg.Calm)
	}
	return out, nil
}
