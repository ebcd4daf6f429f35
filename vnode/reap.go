package vnode

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// ReapScan asks for one piece of a reap pass's listing (Store.ReapCandidates).
type ReapScan struct {
	// After is the key the previous piece stopped at (ReapList.Next); nil
	// starts at the partition's first key.
	After []byte
	// Max bounds the candidates listed, Scan the objects read, Bytes the
	// candidates' encoded size (a pass carries pruned sets to every
	// primary). 0 means no bound.
	Max, Scan, Bytes int
	// Policy classifies the objects (reap.Classify), Owners are the
	// partition's primaries and NowNs the wall time, Unix ns.
	Policy reap.Policy
	Owners []string
	NowNs  int64
}

// ReapList is one piece of a reap pass's listing.
type ReapList struct {
	// Candidates in key order, with the digests the tree holds.
	Candidates []reap.Candidate
	// Next is the last key read, where the next piece resumes; nil when
	// this piece reached the partition's end.
	Next []byte
	// Scanned is how many objects were read.
	Scanned int
	// Retired are this vnode's earlier incarnations among the candidates'
	// clocks (reap.Retired).
	Retired []string
}

// ReapCandidates lists, in key order from after r.After, the objects a reap
// pass may act on (reap.Classify): tombstones older than the grace, and
// clocks that pruning may shorten. It stops after r.Max candidates, r.Scan
// objects read or r.Bytes of candidates. Corrupt objects are skipped
// (anti-entropy replaces them).
//
// The reap pass's coordinator counts its own copy of each candidate as
// held: a copy a buffered write may not have synced is made durable first.
func (s *Store) ReapCandidates(r ReapScan) (ReapList, error) {
	out, err := s.reapCandidates(r)
	if err == nil && len(out.Candidates) > 0 {
		err = s.syncBuffered(nil)
	}
	if err != nil {
		return ReapList{}, err
	}
	return out, nil
}

func (s *Store) reapCandidates(r ReapScan) (ReapList, error) {
	s.drain() // a scan reads storage: the writes in flight first
	rng := storage.PartitionRange(s.cfg.Partition)
	if r.After != nil {
		okey, _, err := s.locate(r.After)
		if err != nil {
			return ReapList{}, err
		}
		rng.Start = append(okey, 0) // the first object key after okey
	}
	it := s.e.NewIterator(storage.KeyspaceData, rng)
	defer it.Close()
	var out ReapList
	retired := map[string]bool{}
	size := 0
	for it.Next() {
		_, _, key, err := storage.ParseObjectKey(it.Key())
		if err != nil {
			return ReapList{}, fmt.Errorf("vnode %d: listing reap candidates: %w", s.cfg.Partition, err)
		}
		out.Scanned++
		out.Next = key
		raw := it.Value()
		if set, digest, err := s.decode(it.Key(), raw); err == nil {
			if kind := reap.Classify(set, r.Policy, r.Owners, r.NowNs); kind != reap.None {
				out.Candidates = append(out.Candidates, reap.Candidate{Key: key, Digest: digest, Set: set, Kind: kind})
				size += len(key) + len(raw)
				for _, a := range reap.Retired(set, s.cfg.Node, s.actor) {
					retired[a] = true
				}
			}
		}
		if (r.Max > 0 && len(out.Candidates) >= r.Max) || (r.Scan > 0 && out.Scanned >= r.Scan) || (r.Bytes > 0 && size >= r.Bytes) {
			if err := it.Error(); err != nil {
				return ReapList{}, fmt.Errorf("vnode %d: listing reap candidates: %w", s.cfg.Partition, err)
			}
			// Whether a next object exists is learnt by the next piece.
			out.Retired = sortedKeys(retired)
			return out, nil
		}
	}
	if err := it.Error(); err != nil {
		return ReapList{}, fmt.Errorf("vnode %d: listing reap candidates: %w", s.cfg.Partition, err)
	}
	out.Next = nil
	out.Retired = sortedKeys(retired)
	return out, nil
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// ReapCheck answers a reap pass's check (reap.Answer): held[i] says the
// vnode stores keys[i] with exactly digests[i]; absent[i] that it has
// nothing of keys[i], neither stored nor prepared; retired are its earlier
// incarnations (reap.Retired) among the held keys' clocks.
func (s *Store) ReapCheck(keys, digests [][]byte) (held, absent []bool, retired []string, err error) {
	// A version in flight is not held until it is durable: the other
	// replicas may reap on the strength of this answer.
	okeys := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if okey, _, err := s.locate(k); err == nil {
			okeys = append(okeys, okey)
		}
	}
	s.quiesce(okeys...)
	if len(keys) != len(digests) {
		return nil, nil, nil, fmt.Errorf("%w: %d keys and %d digests", ErrInvalid, len(keys), len(digests))
	}
	held, absent = make([]bool, len(keys)), make([]bool, len(keys))
	seen := map[string]bool{}
	for i, k := range keys {
		okey, _, err := s.locate(k)
		if err != nil {
			return nil, nil, nil, err
		}
		set, digest, err := s.load(okey)
		if digest == nil && err != nil {
			return nil, nil, nil, err // storage error
		}
		if err == nil && set == nil {
			absent[i] = len(s.uncommitted[string(okey)]) == 0 && (s.pending == nil || string(s.pending.okey) != string(okey))
			continue
		}
		if err != nil || !bytes.Equal(digest, digests[i]) {
			continue // corrupt or another version
		}
		held[i] = true
		for _, a := range reap.Retired(set, s.cfg.Node, s.actor) {
			seen[a] = true
		}
	}
	// Nor is a version held that a buffered write may not have synced.
	if slices.Contains(held, true) {
		if err := s.syncBuffered(nil); err != nil {
			return nil, nil, nil, err
		}
	}
	return held, absent, sortedKeys(seen), nil
}

// ReapResult is what Store.Reap did.
type ReapResult struct {
	// Deleted tombstones and Replaced sets (with a pruned clock); Skipped
	// items, whose key the vnode no longer stores with the checked digest
	// (a write raced the pass) or that were no tombstone or no prune of
	// what it stores; Pruned clock entries dropped.
	Deleted, Replaced, Skipped, Pruned int
	// Compact says the partition's storage range is worth compacting now
	// (Compact): at least compactMin objects were reaped since the last
	// time it was due, and at least as many as are left, or none is left.
	Compact bool
}

// compactMin is the fewest objects reaped since the last compaction that
// make one due while the partition still holds data.
const compactMin = 64

// Reap applies a reap pass's items (reap.Plan), each only if the vnode
// still stores the key with the item's digest: a dead key (every sibling a
// tombstone or expired at nowNs, Unix ns) is deleted, a set replaced by its
// pruned copy (only a reap.IsPruneOf of what is stored, keeping this
// vnode's current actor). One storage write; on error nothing changed. The
// tree and the cache follow. A key may appear once per call.
func (s *Store) Reap(items []reap.Item, nowNs int64) (ReapResult, error) {
	okeys := make([][]byte, 0, len(items))
	for _, it := range items {
		if okey, _, err := s.locate(it.Key); err == nil {
			okeys = append(okeys, okey)
		}
	}
	s.quiesce(okeys...)
	type change struct {
		key, okey []byte
		seg       uint16
		oldDigest []byte
		set       *version.Set // nil: deleted
		raw       []byte
		pruned    int
	}
	var res ReapResult
	var changes []change
	b := storage.NewBatch()
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[string(it.Key)] {
			return ReapResult{}, fmt.Errorf("%w: key %q twice in one reap", ErrInvalid, it.Key)
		}
		seen[string(it.Key)] = true
		okey, seg, err := s.locate(it.Key)
		if err != nil {
			return ReapResult{}, err
		}
		stored, digest, err := s.load(okey)
		if digest == nil && err != nil {
			return ReapResult{}, err // storage error
		}
		ok := err == nil && stored != nil && bytes.Equal(digest, it.Digest)
		switch {
		case !ok:
		case it.Set == nil && isDead(stored, nowNs):
			b.Delete(storage.KeyspaceData, okey)
			changes = append(changes, change{key: it.Key, okey: okey, seg: seg, oldDigest: digest})
			continue
		case it.Set != nil && reap.IsPruneOf(stored, it.Set, s.actor):
			raw, err := version.Marshal(it.Set)
			if err != nil {
				return ReapResult{}, err
			}
			b.Put(storage.KeyspaceData, okey, raw)
			changes = append(changes, change{key: it.Key, okey: okey, seg: seg, oldDigest: digest, set: it.Set, raw: raw,
				pruned: len(stored.Clock()) - len(it.Set.Clock())})
			continue
		}
		res.Skipped++
	}
	if len(changes) == 0 {
		return res, nil
	}
	okeys = make([][]byte, len(changes))
	for i, c := range changes {
		okeys[i] = c.okey
	}
	if err := s.write(b, okeys...); err != nil {
		return ReapResult{}, fmt.Errorf("vnode %d: reaping %d keys: %w", s.cfg.Partition, len(changes), err)
	}
	for _, c := range changes {
		if c.set == nil {
			s.tree.Update(uint32(c.seg), c.key, c.oldDigest, nil)
			s.cache.remove(c.okey)
			res.Deleted++
			continue
		}
		s.stored(c.key, c.okey, c.seg, c.oldDigest, c.set, c.raw)
		res.Replaced++
		res.Pruned += c.pruned
	}
	s.stats.Reaped += uint64(res.Deleted)
	s.stats.PrunedEntries += uint64(res.Pruned)
	if st := s.cfg.ReapStats; st != nil {
		st.Reaped.Add(uint64(res.Deleted))
		st.PrunedEntries.Add(uint64(res.Pruned))
	}
	s.reapedSinceCompact += res.Deleted
	// While the tree builds the partition's size is not known yet: the
	// reaped count waits for the next reap after it.
	left := s.tree.Count()
	if s.build == nil && s.reapedSinceCompact > 0 && (left == 0 || s.reapedSinceCompact >= max(compactMin, left)) {
		res.Compact = true
		s.reapedSinceCompact = 0
	}
	return res, nil
}

// Compact compacts partition p's storage range in e, if e can (a
// storage.Compacter): goleveldb keeps deleted objects on disk until a
// compaction rewrites the tables that hold them. It may take seconds and
// runs beside reads and writes: callers run it on a goroutine of its own.
func Compact(e storage.Engine, p uint32) error {
	return storage.Compact(e, storage.KeyspaceData, storage.PartitionRange(p))
}

// isDead reports a set every sibling of which is dead at nowNs.
func isDead(set *version.Set, nowNs int64) bool {
	_, dead := set.DeadSince(nowNs)
	return dead
}
