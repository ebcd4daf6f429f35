package version

// Live returns what a read shows: in ModeSiblings every sibling that is not a
// tombstone, in ModeLWW the single winner if it is not a tombstone. found is
// false when nothing live remains (absent key, or only tombstones).
func (s *Set) Live(mode ConflictMode) (values []Sibling, found bool) {
	if mode == ModeLWW {
		w, ok := s.Winner()
		if !ok || w.Tombstone {
			return nil, false
		}
		return []Sibling{w}, true
	}
	for _, sib := range s.sibs() {
		if !sib.Tombstone {
			values = append(values, sib)
		}
	}
	return values, len(values) > 0
}

// Winner is the sibling with the greatest (Timestamp, Dot): the value a
// last-write-wins read returns.
func (s *Set) Winner() (Sibling, bool) {
	sibs := s.sibs()
	if len(sibs) == 0 {
		return Sibling{}, false
	}
	w := sibs[0]
	for _, c := range sibs[1:] {
		if c.Timestamp > w.Timestamp || (c.Timestamp == w.Timestamp && compareDots(c.Dot, w.Dot) > 0) {
			w = c
		}
	}
	return w, true
}

// IsTombstone reports a set that has siblings and all of them are
// tombstones: a deleted key, a candidate for reaping.
func (s *Set) IsTombstone() bool {
	sibs := s.sibs()
	for _, sib := range sibs {
		if !sib.Tombstone {
			return false
		}
	}
	return len(sibs) > 0
}
