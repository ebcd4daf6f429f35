package antientropy

import "slices"

// Scheduler picks the next (partition, peer) pair to compare: partitions in
// ascending order, round-robin, and for each partition its peers in turn,
// so every pair of replicas is compared regularly. The zero value is ready.
// Not safe for concurrent use.
type Scheduler struct {
	next  uint32            // first partition to consider next
	turns map[uint32]uint64 // exchanges started per partition
}

// Next returns the partition after the last one chosen (wrapping around)
// among held that has at least one peer, and the peer whose turn it is.
// peers(p) lists p's other replicas that can be asked now, in a fixed order
// (the preference list's). ok is false when no held partition has a peer.
func (s *Scheduler) Next(held []uint32, peers func(p uint32) []string) (p uint32, peer string, ok bool) {
	if len(held) == 0 {
		return 0, "", false
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
		if s.turns == nil {
			s.turns = map[uint32]uint64{}
		}
		t := s.turns[p]
		s.turns[p] = t + 1
		s.next = p + 1
		return p, ps[t%uint64(len(ps))], true
	}
	return 0, "", false
}
