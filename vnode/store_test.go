package vnode

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

const q = 16

// keysOf returns n distinct keys of partition p.
func keysOf(p uint32, n int) [][]byte {
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		k := fmt.Appendf(nil, "key-%d", i)
		if ring.PartitionOf(ring.HashKey(k), q) == p {
			out = append(out, k)
		}
	}
	return out
}

func open(t *testing.T, e storage.Engine, p uint32, node string) *Store {
	t.Helper()
	s, err := Open(e, DefaultConfig(p, q, node))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(v string) version.Write { return version.Write{Value: []byte(v), Timestamp: 1} }

func values(t *testing.T, s *version.Set) []string {
	t.Helper()
	live, _ := s.Live(version.ModeSiblings, 0)
	var out []string
	for _, l := range live {
		out = append(out, string(l.Value))
	}
	return out
}

func TestCoordinateGetAndSiblings(t *testing.T) {
	s := open(t, storage.NewMemory(), 3, "n1")
	k := keysOf(3, 1)[0]
	if got, err := s.Get(k); err != nil || got != nil {
		t.Fatalf("absent key: %v %v", got, err)
	}
	v0, err := coordinate(s, k, version.Context{}, write("v0"), 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := v0.Context()
	if _, err := coordinate(s, k, ctx, write("a"), 2); err != nil {
		t.Fatal(err)
	}
	both, err := coordinate(s, k, ctx, write("b"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, both); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("same context through the same coordinator: %v, want siblings [a b]", got)
	}
	stored, _ := s.Get(k)
	if !version.Equal(stored, both) {
		t.Fatal("Get does not return what Coordinate stored")
	}
	if _, err := coordinate(s, []byte{}, version.Context{}, write("x"), 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	other := keysOf(4, 1)[0]
	if _, err := s.Get(other); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "partition 4") {
		t.Fatalf("key of another partition: %v", err)
	}
}

// countWrites wraps an engine and counts Write calls.
func countWrites(e storage.Engine) (storage.Engine, *int) {
	n := new(int)
	return storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, _ storage.Keyspace) error {
		if op == storage.OpWrite {
			*n++
		}
		return nil
	})), n
}

func TestMergeWritesOnlyWhatChanges(t *testing.T) {
	e, writes := countWrites(storage.NewMemory())
	a := open(t, e, 5, "a")
	b := open(t, storage.NewMemory(), 5, "b@1")
	k := keysOf(5, 1)[0]
	fromB, _ := coordinate(b, k, version.Context{}, write("from-b"), 1)
	before := *writes
	merged, changed, err := a.Merge(k, fromB)
	if err != nil || !changed || *writes != before+1 {
		t.Fatalf("first merge: changed=%v err=%v writes=%d", changed, err, *writes-before)
	}
	again, changed, err := a.Merge(k, fromB)
	if err != nil || changed || *writes != before+1 || !version.Equal(again, merged) {
		t.Fatalf("merging what the replica has wrote again: changed=%v writes=%d", changed, *writes-before)
	}
	if _, changed, _ := a.Merge(k, nil); changed {
		t.Fatal("merging an empty set wrote")
	}
}

// The tree kept current by writes equals a tree rebuilt from storage, for a
// random mix of coordinated writes, merges and deletes across keys.
func TestTreeMatchesRebuildAfterRandomWrites(t *testing.T) {
	rng, _ := testseed.New(t)
	e := storage.NewMemory()
	s := open(t, e, 7, "n1")
	peer := open(t, storage.NewMemory(), 7, "n2@1")
	keys := keysOf(7, 40)
	for i := range 400 {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(3) {
		case 0:
			cur, _ := s.Get(k)
			if _, err := coordinate(s, k, cur.Context(), write(fmt.Sprint(i)), int64(i)); err != nil {
				t.Fatal(err)
			}
		case 1:
			set, err := coordinate(peer, k, version.Context{}, write(fmt.Sprint("p", i)), int64(i))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Merge(k, set); err != nil {
				t.Fatal(err)
			}
		case 2:
			cur, _ := s.Get(k)
			if _, err := coordinate(s, k, cur.Context(), version.Write{Tombstone: true}, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rebuilt := open(t, e, 7, "n1")
	if s.Tree().Root() != rebuilt.Tree().Root() || s.Tree().Count() != rebuilt.Tree().Count() {
		t.Fatal("incrementally kept tree differs from the tree rebuilt at open")
	}
	if x, _, err := merkle.Diff(s.Tree(), rebuilt.Tree()); err != nil || len(x) != 0 {
		t.Fatalf("diff %v %v", x, err)
	}
}

// Dots are never reused: not after a restart (every Open draws a new
// actor id), not across keys (counters are per actor, not per key), and
// not for a key written again after its object was deleted (a reaped
// tombstone), which is what makes an old tombstone elsewhere unable to
// swallow a new write.
func TestDotsAreNeverReused(t *testing.T) {
	dir := t.TempDir()
	openDB := func() *storage.LevelDB {
		db, err := storage.OpenLevelDB(dir, storage.DefaultLevelDBConfig())
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := openDB()
	s := open(t, db, 2, "n1")
	keys := keysOf(2, 3)
	seen := map[version.Dot]bool{}
	issue := func(s *Store, k []byte) {
		cur, _ := s.Get(k)
		p, err := s.Prepare(k, version.ContextOf(cur), write("v"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(p); err != nil {
			t.Fatal(err)
		}
		if seen[p.Dot] || !p.Set.Clock().Covers(p.Dot) || p.Dot.Actor != s.Actor() {
			t.Fatalf("dot %v issued twice, or not the new version's", p.Dot)
		}
		seen[p.Dot] = true
	}
	for range 5 {
		for _, k := range keys {
			issue(s, k)
		}
	}
	// Reap key 0 behind the store's back, then write it again.
	okey, _, _ := s.locate(keys[0])
	if err := storage.Delete(db, storage.KeyspaceData, okey, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.cache.remove(okey) // as a reaper in the store would
	issue(s, keys[0])
	before := s.Actor()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB()
	defer db.Close()
	s = open(t, db, 2, "n1")
	if s.Actor() == before || !strings.HasPrefix(s.Actor(), "n1@") || len(s.Actor()) != len("n1@")+16 {
		t.Fatalf("actor after a restart: %q (before: %q)", s.Actor(), before)
	}
	for _, k := range [][]byte{keys[1], keys[2], keys[0]} {
		issue(s, k)
	}
	if st := s.Stats(); st.Keys != 3 || st.Dot != 3 || st.Actor != s.Actor() {
		t.Fatalf("stats after restart: %+v", st)
	}
}

// A write prepared (its version handed to the coordinator, who replicates
// it) but never committed here, because the node crashed or the disk
// failed, spends its dot for good: the vnode's next dot, after a restart
// or not, is another, so the replicas holding the prepared version never
// see a different write under the same dot.
func TestPreparedDotIsNeverReissued(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := storage.NewMemory()
		s := open(t, e, 3, "n1")
		k := keysOf(3, 1)[0]
		for i := range 5 {
			cur, _ := s.Get(k)
			if _, err := coordinate(s, k, version.ContextOf(cur), write(fmt.Sprint(i)), 1); err != nil {
				t.Fatal(err)
			}
		}
		cur, _ := s.Get(k)
		p, err := s.Prepare(k, version.ContextOf(cur), write("never committed"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(k); !version.Equal(got, cur) {
			t.Fatal("Prepare stored the write")
		}
		replica := open(t, storage.NewMemory(), 3, "n2")
		if _, _, err := replica.Merge(k, p.Set); err != nil { // it went out
			t.Fatal(err)
		}
		if restart {
			s = open(t, e, 3, "n1")
		}
		next, err := s.Prepare(k, version.ContextOf(cur), write("after"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if next.Dot == p.Dot {
			t.Fatalf("restart %v: dot %v prepared and issued again", restart, p.Dot)
		}
		// Nor does the next version claim the one prepared and never
		// committed: the replica that has it keeps it.
		if _, _, err := replica.Merge(k, next.Set); err != nil {
			t.Fatal(err)
		}
		got, _ := replica.Get(k)
		if vals := values(t, got); !slices.Contains(vals, "never committed") || !slices.Contains(vals, "after") {
			t.Fatalf("restart %v: the replica holds %v after the next version, want the prepared one kept", restart, vals)
		}
	}
}

// A full disk fails the write with an error that says so, and changes
// neither the stored object nor the tree; when space returns, writes work,
// and the next version of the key holds the failed write's (which may be
// on other replicas).
// The failed write's dot is spent (it may have been replicated: see
// TestPreparedDotIsNeverReissued), so the next write's is higher.
func TestFailedWriteChangesNothing(t *testing.T) {
	full := storage.FailOps(fmt.Errorf("disk: %w", storage.ErrNoSpace), storage.OpWrite)
	full.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), full)
	s := open(t, e, 1, "n1")
	k := keysOf(1, 1)[0]
	v1, err := coordinate(s, k, version.Context{}, write("v1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	root, actor := s.Tree().Root(), s.Actor()
	full.SetEnabled(true)
	if _, err := coordinate(s, k, v1.Context(), write("v2"), 2); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, _, err := s.Merge(k, v1); err != nil {
		t.Fatalf("a merge that changes nothing needs no disk: %v", err)
	}
	other := open(t, storage.NewMemory(), 1, "n2@1")
	fromOther, _ := coordinate(other, k, version.Context{}, write("w"), 1)
	if _, _, err := s.Merge(k, fromOther); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("merge on a full disk: %v", err)
	}
	if got, err := s.Get(k); err != nil || !version.Equal(got, v1) {
		t.Fatalf("reads must keep working and see the old value: %v %v", got, err)
	}
	if s.Tree().Root() != root {
		t.Fatal("a failed write changed the tree")
	}
	full.SetEnabled(false)
	v2, err := coordinate(s, k, v1.Context(), write("v2"), 3)
	if err != nil {
		t.Fatalf("after space returns: %v", err)
	}
	// The failed write's version (dot 2) may live on other replicas: the
	// vnode kept it, so the next version claims it as a version it holds
	// (a sibling: the retry's context did not cover it), under the same
	// actor id, and no clock entry is spent on the failure.
	var dots []uint64
	for _, sib := range v2.Siblings() {
		dots = append(dots, sib.Dot.Counter)
	}
	if s.Actor() != actor || len(v2.Clock()) != 1 || v2.Clock().Get(actor) != 3 || fmt.Sprint(dots) != "[2 3]" {
		t.Fatalf("the write after a failed one: clock %v, sibling dots %v; want %s:3 alone with the failed write's version (dot 2) kept beside the retry's (dot 3)", v2.Clock(), dots, actor)
	}
}

func TestCorruptObjectIsFoundAndReplaced(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 6, "n1")
	k := keysOf(6, 1)[0]
	good, _ := coordinate(s, k, version.Context{}, write("v"), 1)
	healthyRoot := s.Tree().Root()
	okey, _, _ := s.locate(k)
	if err := storage.Put(e, storage.KeyspaceData, okey, []byte{0xff, 0x01}, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s = open(t, e, 6, "n1") // restart over the damaged object
	if _, err := s.Get(k); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt object: %v", err)
	}
	if s.Tree().Root() == healthyRoot {
		t.Fatal("a corrupt object hashes like the healthy one: anti-entropy could not find it")
	}
	if s.Stats().Corrupt == 0 {
		t.Fatal("corruption not counted")
	}
	if _, changed, err := s.Merge(k, good); err != nil || !changed {
		t.Fatalf("repair by merge: %v %v", changed, err)
	}
	if got, err := s.Get(k); err != nil || !version.Equal(got, good) || s.Tree().Root() != healthyRoot {
		t.Fatalf("after repair: %v %v", got, err)
	}
}

func TestScanAndPartitionIsolation(t *testing.T) {
	e := storage.NewMemory()
	a, b := open(t, e, 8, "n1"), open(t, e, 9, "n1")
	for _, k := range keysOf(8, 10) {
		if _, err := coordinate(a, k, version.Context{}, write("a"), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keysOf(9, 4) {
		if _, err := coordinate(b, k, version.Context{}, write("b"), 1); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := a.Scan(0, 0xffff, func(key []byte, set *version.Set, digest []byte) error {
		if got := values(t, set); len(got) != 1 || got[0] != "a" {
			t.Fatalf("scan of partition 8 saw %q: %v", key, got)
		}
		if d := version.Digest(set); string(d[:]) != string(digest) {
			t.Fatalf("scan gave %q the digest %x, its set's is %x", key, digest, d)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 10 || a.Stats().Keys != 10 || b.Stats().Keys != 4 {
		t.Fatalf("scan saw %d, stats %+v %+v", n, a.Stats(), b.Stats())
	}
	// A scan of one Merkle leaf's segments sees exactly that leaf's keys.
	seg := ring.SegmentOf(ring.HashKey(keysOf(8, 1)[0]), q)
	count := 0
	_ = a.Scan(seg, seg, func([]byte, *version.Set, []byte) error { count++; return nil })
	if count < 1 {
		t.Fatal("segment scan missed the key")
	}
}

func TestConfigValidation(t *testing.T) {
	for want, cfg := range map[string]Config{
		"power of two":          {Partition: 0, Partitions: 12, Node: "a", Merkle: merkle.DefaultConfig()},
		"not below":             {Partition: 16, Partitions: 16, Node: "a", Merkle: merkle.DefaultConfig()},
		"Node must be":          {Partition: 0, Partitions: 16, Merkle: merkle.DefaultConfig()},
		"Node must be 1 to 238": {Partition: 0, Partitions: 16, Node: strings.Repeat("n", 239), Merkle: merkle.DefaultConfig()},
		"Merkle":                {Partition: 0, Partitions: 16, Node: "a"},
	} {
		if _, err := Open(storage.NewMemory(), cfg); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Open = %v", want, err)
		}
	}
}

// Client writes are refused above the sibling and object-size limits;
// replication (Merge) is not.
func TestCoordinateLimits(t *testing.T) {
	cfg := DefaultConfig(0, q, "a")
	cfg.MaxSiblings, cfg.MaxObjectBytes = 3, 100
	s, err := Open(storage.NewMemory(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := keysOf(0, 1)[0]
	for i := range 3 {
		if _, err := coordinate(s, key, version.Context{}, version.Write{Value: []byte{byte(i)}}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := coordinate(s, key, version.Context{}, version.Write{Value: []byte("x")}, 1); !errors.Is(err, ErrTooManySiblings) || !strings.Contains(err.Error(), "limit is 3") {
		t.Fatalf("4th blind write: %v", err)
	}
	cur, _ := s.Get(key)
	if _, err := coordinate(s, key, cur.Context(), version.Write{Value: make([]byte, 101)}, 1); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit is 100") {
		t.Fatalf("101-byte value: %v", err)
	}
	if got, _ := s.Get(key); !version.Equal(got, cur) {
		t.Fatal("a refused write changed the stored object")
	}
	if _, err := coordinate(s, key, cur.Context(), version.Write{Value: []byte("merged")}, 1); err != nil {
		t.Fatalf("a merging write: %v", err)
	}
	// Replication is never refused.
	other, _ := version.Update(nil, version.Context{}, version.Write{Value: make([]byte, 500)}, "b@1", 1)
	if _, _, err := s.Merge(key, other); err != nil {
		t.Fatalf("merge above the limits: %v", err)
	}
}

// Drop deletes the partition's data only while the tree's root is the one
// the handoff saw, keeps other partitions and the dot lease: a later write
// after the partition comes back never reuses a dot.
func TestDropAfterHandoff(t *testing.T) {
	e := storage.NewMemory()
	a, b := open(t, e, 8, "n1"), open(t, e, 9, "n1")
	keys := keysOf(8, 2500) // more than one delete batch
	var last *version.Set
	for _, k := range keys {
		s, err := coordinate(a, k, version.Context{}, write("a"), 1)
		if err != nil {
			t.Fatal(err)
		}
		last = s
	}
	if _, err := coordinate(b, keysOf(9, 1)[0], version.Context{}, write("b"), 1); err != nil {
		t.Fatal(err)
	}
	root := a.Tree().Root()
	if _, err := coordinate(a, keys[0], version.Context{}, write("late"), 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Drop(root); ok || err != nil {
		t.Fatalf("Drop with a stale root: %v %v (a write came after the handoff's snapshot)", ok, err)
	}
	if has, _ := HasData(e, 8); !has {
		t.Fatal("a refused drop deleted data")
	}
	if ok, err := a.Drop(a.Tree().Root()); !ok || err != nil {
		t.Fatalf("Drop: %v %v", ok, err)
	}
	if has, err := HasData(e, 8); has || err != nil {
		t.Fatalf("partition 8 still has data after the drop: %v %v", has, err)
	}
	if has, _ := HasData(e, 9); !has || b.Stats().Keys != 1 {
		t.Fatal("the drop of partition 8 touched partition 9")
	}
	if a.Stats().Keys != 0 || !a.Tree().Root().IsZero() {
		t.Fatalf("after the drop: %d keys, root %x", a.Stats().Keys, a.Tree().Root())
	}
	// The partition comes back: a reopened store resumes above every dot
	// issued before the drop.
	again := open(t, e, 8, "n1")
	s, err := coordinate(again, keys[1], version.Context{}, write("back"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Clock().Get(a.Actor()) != 0 || s.Clock().Get(last.Siblings()[0].Dot.Actor) != 0 {
		t.Fatalf("the write after the partition came back claims the dropped vnode's dots: %v", s.Clock())
	}
}

// MergeMany gives the same replica as one Merge per item (values, digests,
// tree), counts what changed, refuses a key twice, and on a full disk
// writes nothing.
func TestMergeManyEqualsMerges(t *testing.T) {
	rng, _ := testseed.New(t)
	one, many := open(t, storage.NewMemory(), 8, "n1"), open(t, storage.NewMemory(), 8, "n1")
	keys := keysOf(8, 40)
	other := open(t, storage.NewMemory(), 8, "n2@1")
	for round := range 20 {
		var items []Item
		perm := rng.Perm(len(keys))[:1+rng.IntN(len(keys))]
		for _, i := range perm {
			set, err := coordinate(other, keys[i], version.Context{}, write(fmt.Sprintf("r%d", round)), 1)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, Item{Key: keys[i], Set: set})
		}
		want := 0
		for _, it := range items {
			_, changed, err := one.Merge(it.Key, it.Set)
			if err != nil {
				t.Fatal(err)
			}
			if changed {
				want++
			}
		}
		got, err := many.MergeMany(items)
		if err != nil || got != want {
			t.Fatalf("round %d: MergeMany changed %d (%v), one Merge per item changed %d", round, got, err, want)
		}
		if again, _ := many.MergeMany(items); again != 0 {
			t.Fatalf("round %d: merging the same items again changed %d", round, again)
		}
		if one.Tree().Root() != many.Tree().Root() {
			t.Fatalf("round %d: trees differ", round)
		}
	}
	for _, k := range keys {
		a, _ := one.Get(k)
		b, _ := many.Get(k)
		if version.Digest(a) != version.Digest(b) {
			t.Fatalf("%q differs", k)
		}
	}
	set, _ := other.Get(keys[0])
	if _, err := many.MergeMany([]Item{{keys[0], set}, {keys[0], set}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key twice: %v", err)
	}
	full := storage.NewFaulty(storage.NewMemory(), storage.FailOps(fmt.Errorf("disk: %w", storage.ErrNoSpace), storage.OpWrite))
	s := open(t, storage.NewMemory(), 8, "n1")
	s.e = full
	root := s.Tree().Root()
	if n, err := s.MergeMany([]Item{{keys[0], set}}); n != 0 || !errors.Is(err, storage.ErrNoSpace) || s.Tree().Root() != root {
		t.Fatalf("full disk: %d %v, tree changed: %v", n, err, s.Tree().Root() != root)
	}
}

// coordinate applies a client write as coordinator and stores it: Prepare
// then Commit, as the vnode actor does around its coordinator's
// replication.
func coordinate(s *Store, key []byte, ctx version.Context, w version.Write, nowMs int64) (*version.Set, error) {
	p, err := s.Prepare(key, ctx, w, nowMs)
	if err != nil {
		return nil, err
	}
	if err := s.Commit(p); err != nil {
		return nil, err
	}
	return p.Set, nil
}

// Holds: what an if-absent write checks. A key holds a value when a live
// sibling is stored, or prepared here and not committed (it may be on
// other replicas); a delete's tombstone alone is no value; a corrupt
// object may hide one.
func TestHolds(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 2, "n1")
	keys := keysOf(2, 4)
	holds := func(k []byte) bool { // as a siblings read sees it
		t.Helper()
		h, err := s.Holds(k, 0, version.ModeSiblings)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if holds(keys[0]) {
		t.Fatal("an absent key holds a value")
	}
	fill(t, s, keys[:1], "a")
	if !holds(keys[0]) {
		t.Fatal("a written key holds no value")
	}
	del(t, s, keys[0], 2)
	if holds(keys[0]) {
		t.Fatal("a deleted key holds a value")
	}
	// A concurrent write beside the tombstone is a live sibling.
	peer := open(t, storage.NewMemory(), 2, "n2")
	fill(t, peer, keys[:1], "concurrent")
	pv, _ := peer.Get(keys[0])
	if _, _, err := s.Merge(keys[0], pv); err != nil {
		t.Fatal(err)
	}
	if !holds(keys[0]) {
		t.Fatal("a live sibling beside a tombstone is no value")
	}
	// Prepared, not committed: it may be out already.
	if _, err := s.Prepare(keys[1], version.Context{}, write("p"), 1); err != nil {
		t.Fatal(err)
	}
	if !holds(keys[1]) {
		t.Fatal("a prepared version is no value")
	}
	// Corrupt: unknown, so not absent.
	fill(t, s, keys[2:3], "c")
	if _, err := s.Corrupt([][]byte{keys[2]}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if !holds(keys[2]) {
		t.Fatal("a corrupt object reads as absent")
	}
	// An older live value beside a newer delete: a value to a siblings
	// read, none to a last-write-wins read, which shows the delete.
	old, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("old"), Timestamp: 10}, "x@01", 1)
	newer, _ := version.Update(nil, version.Context{}, version.Write{Tombstone: true, Timestamp: 20}, "y@02", 1)
	for _, v := range []*version.Set{old, newer} {
		if _, _, err := s.Merge(keys[3], v); err != nil {
			t.Fatal(err)
		}
	}
	if !holds(keys[3]) {
		t.Fatal("siblings: an older live value beside a newer delete is no value")
	}
	if h, err := s.Holds(keys[3], 0, version.ModeLWW); err != nil || h {
		t.Fatalf("last-write-wins: the newer delete holds a value (%v)", err)
	}
}

// ListKeys pages through the keys with their sets (deleted keys too, for
// whoever merges replicas), those without the prefix skipped, bounded by
// limit and by objects read.
func TestListKeys(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 4, "n1")
	keys := keysOf(4, 40)
	fill(t, s, keys, "v")
	for _, k := range keys[:10] {
		del(t, s, k, 2)
	}
	got, live := map[string]bool{}, 0
	var after []byte
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("no end")
		}
		items, next, done, err := s.ListKeys(after, nil, 7, 9)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 7 {
			t.Fatalf("a page of %d keys, limit 7", len(items))
		}
		for _, it := range items {
			if got[string(it.Key)] {
				t.Fatalf("%q listed twice", it.Key)
			}
			got[string(it.Key)] = true
			if _, holds := it.Set.Live(version.ModeSiblings, 0); holds {
				live++
			}
		}
		if done {
			break
		}
		after = next
	}
	if len(got) != len(keys) || live != 30 {
		t.Fatalf("listed %d keys, %d holding a value; want 40 and 30", len(got), live)
	}
	// A prefix: keysOf gives "key-N"; "key-1" matches key-1, key-1x, key-1xx.
	items, _, done, err := s.ListKeys(nil, []byte("key-1"), 1000, 1000)
	if err != nil || !done || len(items) == 0 {
		t.Fatal(err, done, len(items))
	}
	for _, it := range items {
		if !strings.HasPrefix(string(it.Key), "key-1") {
			t.Fatalf("prefix listing gave %q", it.Key)
		}
	}
	if _, _, _, err := s.ListKeys(keysOf(5, 1)[0], nil, 10, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a cursor outside the partition: %v", err)
	}
}
