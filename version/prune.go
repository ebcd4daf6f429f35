package version

import (
	"cmp"
	"fmt"
	"slices"
)

// PrunePolicy bounds clock growth, in the manner of Riak's vclock pruning
// but restricted to actors that can no longer write (retired incarnations).
type PrunePolicy struct {
	// KeepEntries: a clock with at most this many entries is never pruned.
	// Default 10.
	KeepEntries int
	// MinAgeMs: an entry younger than this (ms since it last advanced) is
	// never pruned, so that replicas which have not yet seen its writes still
	// merge them correctly. Default 7 days.
	MinAgeMs int64
	// Retired reports actors that will never coordinate a write again (nodes
	// that left, old epochs of a node). Nil means none is retired: nothing
	// is pruned.
	Retired func(actor string) bool
}

// DefaultPrunePolicy returns the documented defaults, with no retired actor.
func DefaultPrunePolicy() PrunePolicy {
	return PrunePolicy{KeepEntries: 10, MinAgeMs: 7 * 24 * 3600 * 1000}
}

func (p PrunePolicy) validate() error {
	if p.KeepEntries < 1 {
		return fmt.Errorf("%w: PrunePolicy.KeepEntries must be at least 1, got %d", ErrInvalid, p.KeepEntries)
	}
	if p.MinAgeMs < 0 {
		return fmt.Errorf("%w: PrunePolicy.MinAgeMs must not be negative, got %d", ErrInvalid, p.MinAgeMs)
	}
	return nil
}

// Prune drops, oldest first, clock entries of retired actors that are at
// least MinAgeMs old and that no sibling's dot needs, until the clock has
// KeepEntries entries or no candidate is left.
//
// stable is what every primary of the key is known to have seen (the
// pointwise minimum of their clocks, learned from a read that reached all of
// them or from anti-entropy). Prune does nothing unless stable dominates s's
// clock: only then can no primary still hold a sibling that a dropped entry
// used to cover, so no deleted or overwritten value can come back, and no
// two concurrent values become ordered. This is the same rule as tombstone
// reaping, and the same caveat: a hint older than MinAgeMs could still
// resurrect a value, which is why MinAgeMs is far above hint lifetimes.
// Every replica applies the same policy after its merges, so replicas'
// digests agree again once all of them have pruned. It returns s itself when
// nothing is pruned.
func Prune(s *Set, stable Clock, p PrunePolicy, nowMs int64) (*Set, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	c := s.clk()
	if len(c) <= p.KeepEntries || p.Retired == nil || !stable.Dominates(c) {
		return s, nil
	}
	var candidates []Entry
	for _, e := range c {
		if !p.Retired(e.Actor) || nowMs-e.UpdatedMs < p.MinAgeMs || s.needs(e.Actor) {
			continue
		}
		candidates = append(candidates, e)
	}
	if len(candidates) == 0 {
		return s, nil
	}
	slices.SortFunc(candidates, func(a, b Entry) int {
		if c := cmp.Compare(a.UpdatedMs, b.UpdatedMs); c != 0 {
			return c
		}
		return cmp.Compare(a.Actor, b.Actor)
	})
	drop := map[string]bool{}
	for _, e := range candidates[:min(len(candidates), len(c)-p.KeepEntries)] {
		drop[e.Actor] = true
	}
	out := &Set{siblings: s.siblings}
	for _, e := range c {
		if !drop[e.Actor] {
			out.clock = append(out.clock, e)
		}
	}
	return out, nil
}

// needs reports whether a sibling's dot belongs to actor.
func (s *Set) needs(actor string) bool {
	for _, sib := range s.sibs() {
		if sib.Dot.Actor == actor {
			return true
		}
	}
	return false
}
