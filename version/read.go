package version

// Live returns what a read at nowNs (Unix ns, the reader's clock) shows: in
// ModeSiblings every sibling that is neither a tombstone nor expired, in
// ModeLWW the single winner if it is neither. found is false when nothing
// live remains (absent key, or only tombstones and expired values).
func (s *Set) Live(mode ConflictMode, nowNs int64) (values []Sibling, found bool) {
	if mode == ModeLWW {
		w, ok := s.Winner()
		if !ok || w.Dead(nowNs) {
			return nil, false
		}
		return []Sibling{w}, true
	}
	for _, sib := range s.sibs() {
		if !sib.Dead(nowNs) {
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

// Reclaimable reports a set every sibling of which has been dead (deleted
// or expired) since more than graceNs before nowNs: what a reap pass
// deletes. graceNs 0 or less: never.
func (s *Set) Reclaimable(nowNs, graceNs int64) bool {
	since, dead := s.DeadSince(nowNs)
	return graceNs > 0 && dead && since <= nowNs-graceNs
}

// DeadSince reports a set that has siblings and all of them are dead at
// nowNs (tombstones and expired values: a deleted or expired key, a
// candidate for reaping), and since when: the latest of its siblings'
// deaths (a tombstone's timestamp, an expired value's expiry).
func (s *Set) DeadSince(nowNs int64) (since int64, dead bool) {
	sibs := s.sibs()
	for i, sib := range sibs {
		if !sib.Dead(nowNs) {
			return 0, false
		}
		if d := sib.diedAt(); i == 0 || d > since {
			since = d
		}
	}
	return since, len(sibs) > 0
}
