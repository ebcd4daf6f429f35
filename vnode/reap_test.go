package vnode

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

var reapNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func reapPolicy() reap.Policy {
	return reap.Policy{Grace: time.Hour, Prune: version.PrunePolicy{KeepEntries: 2, MinAgeMs: 1000}}
}

// longClock is a set written by value's coordinator current after a history
// of retired incarnations of node n1 and of other nodes: len(retired)+1
// entries, all old.
func longClock(t *testing.T, current string, retired ...string) *version.Set {
	t.Helper()
	var clock version.Clock
	for i, a := range retired {
		clock = append(clock, version.Entry{Actor: a, Counter: uint64(i + 1), UpdatedMs: 1})
	}
	clock = append(clock, version.Entry{Actor: current, Counter: 7, UpdatedMs: 1})
	s, err := version.New(clock, []version.Sibling{{Dot: version.Dot{Actor: current, Counter: 7}, Value: []byte("v"), Timestamp: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func del(t *testing.T, s *Store, k []byte, ts int64) *version.Set {
	t.Helper()
	cur, err := s.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	set, err := coordinate(s, k, cur.Context(), version.Write{Tombstone: true, Timestamp: ts}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func digestOf(s *version.Set) []byte { d := version.Digest(s); return d[:] }

func objectKey(k []byte, p uint32) []byte {
	return storage.ObjectKey(p, ring.SegmentOf(ring.HashKey(k), q), k)
}

// A pass's listing: old tombstones and long clocks naming a primary's
// actors, with the digests the tree holds, this vnode's retired
// incarnations, in pieces that resume where the last stopped.
func TestReapCandidates(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 3, "n1")
	keys := keysOf(3, 5)
	live, young, old, long, foreign := keys[0], keys[1], keys[2], keys[3], keys[4]
	for _, k := range keys {
		if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
			t.Fatal(err)
		}
	}
	del(t, s, young, reapNow-int64(time.Minute))
	del(t, s, old, reapNow-2*int64(time.Hour))
	const gone1, gone2 = "n1@00000000000000a1", "n1@00000000000000a2"
	if _, _, err := s.Merge(long, longClock(t, "n2@00000000000000b1", gone1, gone2, "n3@00000000000000c1")); err != nil {
		t.Fatal(err)
	}
	// Only entries of non-primaries: pruning could not drop any.
	if _, _, err := s.Merge(foreign, longClock(t, "n2@00000000000000b1", "x@00000000000000d1", "y@00000000000000d2")); err != nil {
		t.Fatal(err)
	}
	owners := []string{"n1", "n2", "n3"}
	list, err := s.ReapCandidates(ReapScan{Max: 100, Scan: 100, Policy: reapPolicy(), Owners: owners, NowNs: reapNow})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reap.Kind{}
	for _, c := range list.Candidates {
		got[string(c.Key)] = c.Kind
		stored, _ := s.Get(c.Key)
		if !bytes.Equal(c.Digest, digestOf(stored)) || !version.Equal(c.Set, stored) {
			t.Fatalf("%s listed with another version or digest than stored", c.Key)
		}
	}
	want := map[string]reap.Kind{string(old): reap.Tombstone, string(long): reap.Prune}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("candidates %v, want %v (live %s, young tombstone %s, foreign clock %s)", got, want, live, young, foreign)
	}
	if list.Next != nil || list.Scanned != 5 {
		t.Fatalf("one piece covers the partition: next %q, scanned %d", list.Next, list.Scanned)
	}
	// The coordinator names its own earlier incarnations only.
	slices.Sort(list.Retired)
	if !slices.Equal(list.Retired, []string{gone1, gone2}) {
		t.Fatalf("retired %v", list.Retired)
	}
	// In pieces of 2 objects: the same candidates, in key order, resuming.
	var pieces []string
	var after []byte
	for range 10 {
		l, err := s.ReapCandidates(ReapScan{After: after, Max: 100, Scan: 2, Policy: reapPolicy(), Owners: owners, NowNs: reapNow})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Candidates {
			pieces = append(pieces, string(c.Key))
		}
		if after = l.Next; after == nil {
			break
		}
	}
	if len(pieces) != 2 || got[pieces[0]] == reap.None || got[pieces[1]] == reap.None {
		t.Fatalf("in pieces: %v", pieces)
	}
	// Max bounds the candidates of one listing.
	if l, _ := s.ReapCandidates(ReapScan{Max: 1, Scan: 100, Policy: reapPolicy(), Owners: owners, NowNs: reapNow}); len(l.Candidates) != 1 || l.Next == nil {
		t.Fatalf("max 1: %d candidates, next %q", len(l.Candidates), l.Next)
	}
}

// The check answers exactly the digests held; the conditional delete
// removes the key from storage, the tree and the cache in one write, and
// leaves alone a key whose version changed since the check (a write racing
// the reap), a key that is no tombstone, and a key it does not hold.
func TestReapCheckAndConditionalDelete(t *testing.T) {
	e, writes := countWrites(storage.NewMemory())
	s := open(t, e, 4, "n1")
	keys := keysOf(4, 5)
	var digests [][]byte
	for _, k := range keys[:4] {
		if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, digestOf(del(t, s, k, 1)))
	}
	live, err := coordinate(s, keys[3], version.Context{}, write("alive"), 1) // keys[3]: a write after its delete
	if err != nil {
		t.Fatal(err)
	}
	digests[3] = digestOf(live)
	absent := keys[4]
	held, missing, _, err := s.ReapCheck(append(slices.Clone(keys[:4]), absent), append(slices.Clone(digests), digests[0]))
	if err != nil || !slices.Equal(held, []bool{true, true, true, true, false}) || !slices.Equal(missing, []bool{false, false, false, false, true}) {
		t.Fatalf("check: held %v absent %v %v", held, missing, err)
	}
	if held, missing, _, _ := s.ReapCheck([][]byte{keys[0]}, [][]byte{digests[1]}); held[0] || missing[0] {
		t.Fatal("another digest checked as held or absent")
	}
	// A write races the reap on keys[1], and a concurrent delete on
	// keys[2]: they land after the check.
	peer := open(t, storage.NewMemory(), 4, "n2")
	racing, _ := coordinate(peer, keys[1], version.Context{}, write("racing"), 1)
	if _, _, err := s.Merge(keys[1], racing); err != nil {
		t.Fatal(err)
	}
	racingDelete, _ := coordinate(peer, keys[2], version.Context{}, version.Write{Tombstone: true, Timestamp: 1}, 1)
	if _, _, err := s.Merge(keys[2], racingDelete); err != nil {
		t.Fatal(err)
	}
	raced, _ := s.Get(keys[2])
	before := *writes
	keysBefore := s.Stats().Keys
	res, err := s.Reap([]reap.Item{
		{Key: keys[0], Digest: digests[0]},
		{Key: keys[1], Digest: digests[1]},
		{Key: keys[2], Digest: digests[2]},
		{Key: keys[3], Digest: digests[3]}, // not a tombstone
		{Key: absent, Digest: digests[0]},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || res.Skipped != 4 || *writes != before+1 {
		t.Fatalf("reap: %+v in %d writes; want 1 deleted, 4 skipped, one write", res, *writes-before)
	}
	if got, _ := s.Get(keys[2]); !version.Equal(got, raced) {
		t.Fatalf("the tombstone changed by a racing delete: %v, want %v", got, raced)
	}
	for i, want := range []string{"", "racing", "", "alive"} {
		if i == 2 {
			continue // a tombstone, checked above
		}
		got, err := s.Get(keys[i])
		if err != nil {
			t.Fatal(err)
		}
		if (want == "") != (got == nil) || (got != nil && !slices.Contains(values(t, got), want)) {
			t.Fatalf("%s after the reap: %v, want %q", keys[i], got, want)
		}
		if _, err := e.Get(storage.KeyspaceData, objectKey(keys[i], 4)); (want == "") != errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s in storage after the reap: %v", keys[i], err)
		}
	}
	if s.Stats().Keys != keysBefore-1 || s.Stats().Reaped != 1 {
		t.Fatalf("stats after the reap: %+v", s.Stats())
	}
	rebuilt := open(t, e, 4, "n1")
	if rebuilt.Tree().Root() != s.Tree().Root() || rebuilt.Tree().Count() != s.Tree().Count() {
		t.Fatal("the tree after the reap differs from one rebuilt from storage")
	}
	if _, err := s.Reap([]reap.Item{{Key: keys[0]}, {Key: keys[0]}}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key twice: %v", err)
	}
	if _, err := s.Reap([]reap.Item{{Key: keysOf(5, 1)[0], Digest: digests[0]}}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key of another partition: %v", err)
	}
}

// The object cache forgets a reaped key: a read after the reap does not
// find it there.
func TestReapForgetsCachedObjects(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 6, "n1") // DefaultConfig caches
	k := keysOf(6, 1)[0]
	if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
		t.Fatal(err)
	}
	d := digestOf(del(t, s, k, 1))
	if got, _ := s.Get(k); got == nil { // cached now
		t.Fatal("no tombstone")
	}
	if res, err := s.Reap([]reap.Item{{Key: k, Digest: d}}, 0); err != nil || res.Deleted != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got, err := s.Get(k); got != nil || err != nil {
		t.Fatalf("read after the reap: %v %v", got, err)
	}
	// The key written again gets a dot above every dot of the vnode, so a
	// replica that missed the reap keeps the new value beside its old
	// tombstone.
	old, _ := version.Unmarshal(mustMarshal(t, del(t, open(t, storage.NewMemory(), 6, "n9"), k, 1)))
	again, err := coordinate(s, k, version.Context{}, write("again"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, version.Sync(old, again)); !slices.Equal(got, []string{"again"}) {
		t.Fatalf("the new write merged with a replica's old tombstone: %v", got)
	}
}

func mustMarshal(t *testing.T, s *version.Set) []byte {
	t.Helper()
	b, err := version.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A replacement is stored only if it is a prune of the stored version
// (same siblings, a subset of its clock) and keeps this vnode's current
// actor; the tree and the digest follow.
func TestReapConditionalReplace(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 5, "n1")
	keys := keysOf(5, 3)
	const gone = "n1@00000000000000a1"
	for _, k := range keys {
		// The key's clock names this vnode's current actor too: its
		// write, overwritten by n2's.
		mine, err := coordinate(s, k, version.Context{}, write("mine"), 1)
		if err != nil {
			t.Fatal(err)
		}
		hist := version.Sync(mine, longClock(t, "n2@00000000000000b1", gone, "n3@00000000000000c1"))
		theirs, err := version.Update(hist, hist.Context(), version.Write{Value: []byte("theirs"), Timestamp: 2}, "n2@00000000000000b1", 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Merge(k, theirs); err != nil {
			t.Fatal(err)
		}
	}
	stored := make([]*version.Set, len(keys))
	for i, k := range keys {
		stored[i], _ = s.Get(k)
	}
	drop := func(set *version.Set, actors ...string) *version.Set {
		var c version.Clock
		for _, e := range set.Clock() {
			if !slices.Contains(actors, e.Actor) {
				c = append(c, e)
			}
		}
		out, err := version.New(c, set.Siblings())
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	res, err := s.Reap([]reap.Item{
		{Key: keys[0], Digest: digestOf(stored[0]), Set: drop(stored[0], gone), Pruned: 1},
		{Key: keys[1], Digest: digestOf(stored[1]), Set: drop(stored[1], s.Actor()), Pruned: 1},          // this vnode's own current actor
		{Key: keys[2], Digest: digestOf(stored[2]), Set: longClock(t, "n2@00000000000000b1"), Pruned: 3}, // not a prune: another sibling
	}, 0)
	if err != nil || res.Replaced != 1 || res.Skipped != 2 || res.Pruned != 1 {
		t.Fatalf("replace: %+v %v", res, err)
	}
	got, _ := s.Get(keys[0])
	if got.Clock().Get(gone) != 0 || len(got.Clock()) != len(stored[0].Clock())-1 || !slices.Equal(values(t, got), values(t, stored[0])) {
		t.Fatalf("after the prune: %v", got)
	}
	for i := 1; i < 3; i++ {
		if g, _ := s.Get(keys[i]); !version.Equal(g, stored[i]) {
			t.Fatalf("%s changed: %v", keys[i], g)
		}
	}
	if s.Stats().PrunedEntries != 1 {
		t.Fatalf("stats: %+v", s.Stats())
	}
	rebuilt := open(t, e, 5, "n1")
	if rebuilt.Tree().Root() != s.Tree().Root() {
		t.Fatal("the tree after the prune differs from one rebuilt from storage")
	}
	// The replica that kept the unpruned set and this one converge by
	// merge on the unpruned set.
	merged, changed, err := s.Merge(keys[0], stored[0])
	if err != nil || !changed || !version.Equal(merged, stored[0]) {
		t.Fatalf("merging the unpruned set back: %v %v %v", merged, changed, err)
	}
}

// A reap whose storage write fails changes nothing: storage, tree, cache.
func TestFailedReapChangesNothing(t *testing.T) {
	sw := storage.FailOps(storage.ErrNoSpace, storage.OpWrite)
	sw.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), sw)
	s := open(t, e, 2, "n1")
	k := keysOf(2, 1)[0]
	if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
		t.Fatal(err)
	}
	tomb := del(t, s, k, 1)
	root := s.Tree().Root()
	sw.SetEnabled(true)
	if _, err := s.Reap([]reap.Item{{Key: k, Digest: digestOf(tomb)}}, 0); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("reap on a full disk: %v", err)
	}
	sw.SetEnabled(false)
	if got, _ := s.Get(k); !version.Equal(got, tomb) || s.Tree().Root() != root || s.Stats().Reaped != 0 {
		t.Fatal("a failed reap changed the replica")
	}
}

// Compaction is due once the objects reaped since the last one are at
// least 64 and as many as the partition still holds, or once it holds
// none.
func TestReapAsksForCompaction(t *testing.T) {
	s := open(t, storage.NewMemory(), 9, "n1")
	keys := keysOf(9, 200)
	var items []reap.Item
	for _, k := range keys {
		if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
			t.Fatal(err)
		}
		items = append(items, reap.Item{Key: k, Digest: digestOf(del(t, s, k, 1))})
	}
	res, err := s.Reap(items[:50], 0)
	if err != nil || res.Compact {
		t.Fatalf("50 of 200: %+v %v", res, err)
	}
	if res, _ = s.Reap(items[50:100], 0); !res.Compact {
		t.Fatalf("100 of 200 reaped, 100 left: %+v", res)
	}
	if res, _ = s.Reap(items[100:199], 0); !res.Compact {
		t.Fatalf("99 more, 1 left: %+v", res)
	}
	if res, _ = s.Reap(items[199:], 0); !res.Compact {
		t.Fatalf("the last one, partition empty: %+v", res)
	}
	if err := Compact(storage.NewMemory(), 9); err != nil {
		t.Fatal(err)
	}
}
