package antientropy

import (
	"time"

	"github.com/dynamokv/dynamo/version"
)

// Resolve merges the versions of a key read from both sides (nil for a side
// that was not read or does not hold the key) and says which sides must be
// written the merged set: a side whose version differs from it (by digest)
// or that lacks the key. An empty merge (nothing on either side) writes
// nothing.
//
// A key only one side holds, reclaimable at nowNs (Reclaimable with grace),
// is written to the other only when that side's reap passes cover the
// partition (reaps[Local], reaps[Remote]: it is the partition's first
// primary). Any other replica that lacks it has reaped it, or never needed
// it: a read there and a read of the merge both find nothing, and the first
// primary's next pass deletes it everywhere (reap.Plan takes a primary that
// has nothing of a dead key as holding it). The first primary is given it
// so that its passes see it.
func Resolve(local, remote *version.Set, nowNs int64, grace time.Duration, reaps [2]bool) (merged *version.Set, writeLocal, writeRemote bool) {
	merged = version.Sync(local, remote)
	if merged.IsEmpty() {
		return merged, false, false
	}
	if lacks := [2]bool{local.IsEmpty(), remote.IsEmpty()}; lacks[Local] != lacks[Remote] && Reclaimable(merged, nowNs, grace) {
		return merged, lacks[Local] && reaps[Local], lacks[Remote] && reaps[Remote]
	}
	d := version.Digest(merged)
	differs := func(s *version.Set) bool { return s.IsEmpty() || version.Digest(s) != d }
	return merged, differs(local), differs(remote)
}

// Reclaimable reports a set every sibling of which has been dead (deleted
// or expired) since more than grace before nowNs: what a reap pass deletes
// (reap.Classify). grace 0 or less: never.
func Reclaimable(s *version.Set, nowNs int64, grace time.Duration) bool {
	since, dead := s.DeadSince(nowNs)
	return grace > 0 && dead && since <= nowNs-int64(grace)
}
