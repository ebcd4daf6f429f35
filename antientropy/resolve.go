package antientropy

import "github.com/dynamokv/dynamo/version"

// Resolve merges the versions of a key read from both sides (nil for a side
// that was not read or does not hold the key) and says which sides must be
// written the merged set: a side whose version differs from it (by digest)
// or that lacks the key. An empty merge (nothing on either side) writes
// nothing.
func Resolve(local, remote *version.Set) (merged *version.Set, writeLocal, writeRemote bool) {
	merged = version.Sync(local, remote)
	if merged.IsEmpty() {
		return merged, false, false
	}
	d := version.Digest(merged)
	differs := func(s *version.Set) bool { return s.IsEmpty() || version.Digest(s) != d }
	return merged, differs(local), differs(remote)
}
