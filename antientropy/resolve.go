package antientropy

import "github.com/dynamokv/dynamo/version"

// Resolve merges the versions of a key read from both sides (nil for a side
// that was not read or does not hold the key) and says which sides must be
// written the merged set: a side whose version differs from it (by digest)
// or that lacks the key. An empty merge (nothing on either side) writes
// nothing.
//
// holds says which sides hold the key as the key listings showed it: a
// side may hold it and still read as nil (a corrupt object), and is then
// written the merge. A key only one side holds, reclaimable
// (version.Set.Reclaimable with rc), is written to the other only when
// that side's reap passes cover the partition (rc.Reaps: it is the
// partition's first primary). Any other
// replica that lacks it has reaped it, or never needed it: a read there
// and a read of the merge both find nothing, and the first primary's next
// pass deletes it everywhere (reap.Plan takes a primary that has nothing
// of a dead key as holding it). The first primary is given it so that its
// passes see it.
func Resolve(local, remote *version.Set, holds [2]bool, rc Reclaim) (merged *version.Set, writeLocal, writeRemote bool) {
	merged = version.Sync(local, remote)
	if merged.IsEmpty() {
		return merged, false, false
	}
	lacks := [2]bool{!holds[Local] && local.IsEmpty(), !holds[Remote] && remote.IsEmpty()}
	if lacks[Local] != lacks[Remote] && merged.Reclaimable(rc.NowNs, rc.GraceNs) {
		return merged, lacks[Local] && rc.Reaps[Local], lacks[Remote] && rc.Reaps[Remote]
	}
	d := version.Digest(merged)
	differs := func(s *version.Set) bool { return s.IsEmpty() || version.Digest(s) != d }
	return merged, differs(local), differs(remote)
}

// Reclaim says when a key only one side holds is not written to the other
// (Resolve). The zero value never holds one back.
type Reclaim struct {
	// NowNs is the time (Unix ns) and GraceNs the reap passes' grace in
	// ns (reap.Policy.Grace; 0: reaping is off).
	NowNs   int64
	GraceNs int64
	// Reaps[side] says that side is the partition's first primary, whose
	// reap passes cover it.
	Reaps [2]bool
}
