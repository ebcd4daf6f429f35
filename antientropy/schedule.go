package antientropy

import "slices"

// Scheduler picks the next (partition, peer) pair to compare: partitions in
// ascending order, round-robin, and for each partition its peers in turn,
// so every pair of replicas is compared regularly. One pass from the
// lowest held partition to the highest is a sweep. The zero value is
// ready. Not safe for concurrent use.
type Scheduler struct {
	started bool              // a pair was chosen before
	next    uint32            // first partition to consider next
	turns   map[uint32]uint64 // exchanges started per partition
}

// Next returns the partition after the last one chosen (wrapping around)
// among held that has at least one peer, and the peer whose turn it is.
// peers(p) lists p's other replicas that can be asked now, in a fixed order
// (the preference list's). ok is false when no held partition has a peer.
func (s *Scheduler) Next(held []uint32, peers func(p uint32) []string) (p uint32, peer string, ok bool) {
	p, peer, _, ok = s.NextInSweep(held, peers, true)
	return p, peer, ok
}

// NextInSweep is Next that also reports whether the pair chosen begins a
// sweep: it is the first ever chosen, or the choice wrapped around past the
// top held partition. With wrap false a pair that would begin a sweep is
// not chosen: ok is false and the Scheduler is unchanged.
func (s *Scheduler) NextInSweep(held []uint32, peers func(p uint32) []string, wrap bool) (p uint32, peer string, begins, ok bool) {
	if len(held) == 0 {
		return 0, "", false, false
	}
	held = slices.Clone(held)
	slices.Sort(held)
	start, _ := slices.BinarySearch(held, s.next)
	for i := range held {
		p := held[(start+i)%len(held)]
		ps := peers(p)
		if len(ps) == 0 {
			continue
		}
		begins := !s.started || start+i >= len(held)
		if begins && !wrap {
			return 0, "", false, false
		}
		if s.turns == nil {
			s.turns = map[uint32]uint64{}
		}
		t := s.turns[p]
		s.turns[p] = t + 1
		s.next = p + 1
		s.started = true
		return p, ps[t%uint64(len(ps))], begins, true
	}
	return 0, "", false, false
}
