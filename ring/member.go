package ring

import (
	"errors"
	"fmt"
)

// Errors.
var (
	// ErrInvalid marks a bad configuration or membership view.
	ErrInvalid = errors.New("ring: invalid")
	// ErrUnknownNode is returned for a node that is not a member.
	ErrUnknownNode = errors.New("ring: unknown node")
)

// State is a member's state as membership reports it.
type State int

const (
	// Up members own partitions and serve.
	Up State = iota
	// Down members (failed, unreachable) keep their partitions: a failure is
	// temporary. Requests go to fallbacks meanwhile.
	Down
	// Leaving members own no partitions; they hand their data to the new
	// owners and then leave.
	Leaving
)

func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	case Leaving:
		return "leaving"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Member is one node of the membership view.
type Member struct {
	// Name identifies the node; unique, not empty.
	Name string
	// Weight is the node's capacity relative to others: a node of weight 2
	// holds twice the partitions of one of weight 1. 1 to MaxWeight.
	Weight int
	// Zone is a failure domain (rack, data center); empty is one zone.
	Zone  string
	State State
}

// MaxWeight is the largest capacity weight accepted.
const MaxWeight = 1000

// owns reports whether the member takes part in ownership.
func (m Member) owns() bool { return m.State == Up || m.State == Down }

// Config fixes the ring's shape.
type Config struct {
	// Partitions is Q, a power of two from MinPartitions to MaxPartitions.
	// Fixed when a cluster is created. Default 64.
	Partitions int
	// N is the number of replicas of each partition, 1 to MaxN. Default 3.
	N int
}

// Limits.
const (
	MinPartitions = 8
	MaxPartitions = 1024
	MaxN          = 16
)

// DefaultConfig returns Q=64, N=3.
func DefaultConfig() Config { return Config{Partitions: 64, N: 3} }

// ValidatePartitions checks a ring size Q: a power of two from
// MinPartitions to MaxPartitions. The error wraps ErrInvalid and names the
// limits; every place that accepts a Q (flags, serf tags, vnodes) uses it.
func ValidatePartitions(q int) error {
	if q < MinPartitions || q > MaxPartitions || q&(q-1) != 0 {
		return fmt.Errorf("%w: partitions must be a power of two from %d to %d, got %d", ErrInvalid, MinPartitions, MaxPartitions, q)
	}
	return nil
}

func (c Config) validate() error {
	if err := ValidatePartitions(c.Partitions); err != nil {
		return err
	}
	if c.N < 1 || c.N > MaxN {
		return fmt.Errorf("%w: n must be from 1 to %d, got %d", ErrInvalid, MaxN, c.N)
	}
	return nil
}

func validateMembers(ms []Member) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Name == "" {
			return fmt.Errorf("%w: a member has an empty name", ErrInvalid)
		}
		if seen[m.Name] {
			return fmt.Errorf("%w: member %q appears twice", ErrInvalid, m.Name)
		}
		seen[m.Name] = true
		if m.Weight < 1 || m.Weight > MaxWeight {
			return fmt.Errorf("%w: member %q: weight must be from 1 to %d, got %d", ErrInvalid, m.Name, MaxWeight, m.Weight)
		}
		if m.State < Up || m.State > Leaving {
			return fmt.Errorf("%w: member %q: unknown state %d", ErrInvalid, m.Name, m.State)
		}
	}
	return nil
}
