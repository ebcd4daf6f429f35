package vnode

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// scanRoot is the root and count of partition p's tree built by a full scan
// of e now (what a vnode opened on e without a record would hold).
func scanRoot(t *testing.T, e storage.Engine, p uint32, cfg merkle.Config) (merkle.Hash, int) {
	t.Helper()
	b := &Build{it: e.NewIterator(storage.KeyspaceData, storage.PartitionRange(p)), cfg: cfg, p: p}
	if err := b.Run(nil); err != nil {
		t.Fatal(err)
	}
	return b.tree.Root(), b.tree.Count()
}

func openBuilding(t *testing.T, e storage.Engine, p uint32) (*Store, *Build) {
	t.Helper()
	s, b, err := OpenBuilding(e, DefaultConfig(p, q, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

func fill(t *testing.T, s *Store, keys [][]byte, value string) {
	t.Helper()
	for _, k := range keys {
		cur, err := s.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		ctx := version.Context{}
		if cur != nil {
			ctx = version.ContextOf(cur)
		}
		if _, err := coordinate(s, k, ctx, write(value), 1); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCloseThenOpenLoadsTheTree(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 2, "n1")
	fill(t, s, keysOf(2, 50), "a")
	root, count := s.Tree().Root(), s.Tree().Count()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, b := openBuilding(t, e, 2)
	if b != nil {
		t.Fatal("a vnode closed cleanly builds its tree again")
	}
	if loaded, why := s2.Loaded(); !loaded || why != nil {
		t.Fatalf("Loaded() = %v, %v", loaded, why)
	}
	if s2.Tree().Root() != root || s2.Tree().Count() != count || !s2.Ready() {
		t.Fatalf("loaded root %x count %d, closed with %x %d", s2.Tree().Root(), s2.Tree().Count(), root, count)
	}
	// A reopen without writes keeps the record: closing again and opening
	// loads it once more.
	s3, b := openBuilding(t, e, 2)
	if b != nil || s3.Tree().Root() != root {
		t.Fatal("the record did not survive an open without writes")
	}
}

// TestWriteAfterLoadRetiresTheRecord: a vnode that loaded its tree and
// then wrote, and crashed (no Close), must not find that record again:
// the partition changed. The record goes in the write's own batch.
func TestWriteAfterLoadRetiresTheRecord(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 2, "n1")
	keys := keysOf(2, 20)
	fill(t, s, keys[:10], "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Store){
		"coordinated write": func(s *Store) { fill(t, s, keys[10:11], "b") },
		"replica merge": func(s *Store) {
			src := open(t, storage.NewMemory(), 2, "n2")
			fill(t, src, keys[11:12], "c")
			got, _ := src.Get(keys[11])
			if _, _, err := s.Merge(keys[11], got); err != nil {
				t.Fatal(err)
			}
		},
		"reap": func(s *Store) {
			cur, _ := s.Get(keys[0])
			if _, err := coordinate(s, keys[0], version.ContextOf(cur), version.Write{Tombstone: true, Timestamp: 2}, 2); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil { // a clean stop between the tombstone and its reap
				t.Fatal(err)
			}
			s2, b := openBuilding(t, e, 2)
			if b != nil {
				t.Fatal("no record after a clean close")
			}
			cur, _ = s2.Get(keys[0])
			d := version.Digest(cur)
			if res, err := s2.Reap([]reap.Item{{Key: keys[0], Digest: d[:]}}, 0); err != nil || res.Deleted != 1 {
				t.Fatalf("reap: %+v %v", res, err)
			}
		},
	} {
		s, b := openBuilding(t, e, 2)
		if b != nil {
			t.Fatalf("%s: no record after a clean close", name)
		}
		change(s)
		// Crash: no Close.
		s2, b := openBuilding(t, e, 2)
		if b == nil {
			t.Fatalf("%s: the record outlived a change to the partition", name)
		}
		if err := b.Run(nil); err != nil {
			t.Fatal(err)
		}
		if err := s2.Finish(b); err != nil {
			t.Fatal(err)
		}
		want, n := scanRoot(t, e, 2, merkle.DefaultConfig())
		if s2.Tree().Root() != want || s2.Tree().Count() != n {
			t.Fatalf("%s: rebuilt tree differs from a scan", name)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFailedWriteKeepsTheRecordAndPersistsNothing: a write that fails
// leaves the record (storage did not change: batches are atomic) and the
// next write deletes it; Close after a failed write persists nothing new,
// because storage may not match the tree.
func TestFailedWriteKeepsTheRecordAndPersistsNothing(t *testing.T) {
	var fail sync.Mutex
	failing := false
	e := storage.NewFaulty(storage.NewMemory(), storage.InjectorFunc(func(op storage.Op, _ storage.Keyspace) error {
		fail.Lock()
		defer fail.Unlock()
		if failing && op == storage.OpWrite {
			return storage.ErrNoSpace
		}
		return nil
	}))
	set := func(v bool) { fail.Lock(); failing = v; fail.Unlock() }
	keys := keysOf(2, 3)
	s := open(t, e, 2, "n1")
	fill(t, s, keys[:1], "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, b := openBuilding(t, e, 2)
	if b != nil {
		t.Fatal("no record after a clean close")
	}
	set(true)
	if _, err := coordinate(s, keys[1], version.Context{}, write("x"), 1); err == nil {
		t.Fatal("the injected write fault did not fail the write")
	}
	set(false)
	if _, err := e.Get(storage.KeyspaceMeta, treeKey(2)); err != nil {
		t.Fatalf("the record is gone after a write that applied nothing: %v", err)
	}
	fill(t, s, keys[2:3], "b")
	if _, err := e.Get(storage.KeyspaceMeta, treeKey(2)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the next write did not delete the record: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(storage.KeyspaceMeta, treeKey(2)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a Store whose write failed persisted its tree: %v", err)
	}
}

// TestUnusableRecordsAreRebuilt: a record that is torn, of another
// format, partition or tree shape, or that disagrees with whether the
// partition holds data, is never loaded; the vnode builds from a scan,
// and its first write deletes the bad record.
func TestUnusableRecordsAreRebuilt(t *testing.T) {
	good := func() (storage.Engine, []byte) {
		e := storage.NewMemory()
		s := open(t, e, 2, "n1")
		fill(t, s, keysOf(2, 30), "a")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := e.Get(storage.KeyspaceMeta, treeKey(2))
		if err != nil {
			t.Fatal(err)
		}
		return e, raw
	}
	put := func(e storage.Engine, key, raw []byte) {
		b := storage.NewBatch()
		b.Put(storage.KeyspaceMeta, key, raw)
		if err := e.Write(b, storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(i int) func(storage.Engine, []byte) {
		return func(e storage.Engine, raw []byte) {
			raw = append([]byte(nil), raw...)
			raw[i] ^= 1
			put(e, treeKey(2), raw)
		}
	}
	cases := map[string]func(storage.Engine, []byte){
		"torn":               func(e storage.Engine, raw []byte) { put(e, treeKey(2), raw[:len(raw)/2]) },
		"a leaf bit flipped": flip(treeHeader + 8 + 100),
		"count flipped":      flip(treeHeader + 7),
		"checksum flipped": func(e storage.Engine, raw []byte) {
			raw = append([]byte(nil), raw...)
			raw[len(raw)-1] ^= 1
			put(e, treeKey(2), raw)
		},
		"empty": func(e storage.Engine, raw []byte) { put(e, treeKey(2), []byte{}) },
		"another format": func(e storage.Engine, raw []byte) {
			body := append([]byte(nil), raw[:len(raw)-treeSumLen]...)
			body[len(treeMagic)] = 2
			put(e, treeKey(2), resum(body))
		},
		"another partition": func(e storage.Engine, raw []byte) {
			put(e, treeKey(2), encodeTree(3, mustDecode(t, raw)))
		},
		"another shape": func(e storage.Engine, raw []byte) {
			other, _ := merkle.New(merkle.Config{Depth: 2, FanoutBits: 4})
			put(e, treeKey(2), encodeTree(2, other))
		},
		"data deleted behind it": func(e storage.Engine, raw []byte) {
			it := e.NewIterator(storage.KeyspaceData, storage.PartitionRange(2))
			b := storage.NewBatch()
			for it.Next() {
				b.Delete(storage.KeyspaceData, it.Key())
			}
			it.Close()
			if err := e.Write(b, storage.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		"an empty tree over data": func(e storage.Engine, raw []byte) {
			empty, _ := merkle.New(merkle.DefaultConfig())
			put(e, treeKey(2), encodeTree(2, empty))
		},
	}
	for name, spoil := range cases {
		e, raw := good()
		spoil(e, raw)
		s, b := openBuilding(t, e, 2)
		if loaded, why := s.Loaded(); loaded || !errors.Is(why, errTreeRecord) {
			t.Fatalf("%s: Loaded() = %v, %v", name, loaded, why)
		}
		if b != nil { // none for an empty partition
			if err := b.Run(nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(b); err != nil {
				t.Fatal(err)
			}
		}
		want, n := scanRoot(t, e, 2, merkle.DefaultConfig())
		if s.Tree().Root() != want || s.Tree().Count() != n {
			t.Fatalf("%s: tree differs from a scan", name)
		}
		fill(t, s, keysOf(2, 31)[30:], "b")
		if _, err := e.Get(storage.KeyspaceMeta, treeKey(2)); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s: the first write left the unusable record: %v", name, err)
		}
	}
}

func resum(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:treeSumLen]...)
}

func mustDecode(t *testing.T, raw []byte) *merkle.Tree {
	t.Helper()
	tr, err := decodeTree(2, merkle.DefaultConfig(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestServesWhileBuilding: writes of every kind made while the build runs
// (here truly concurrently, over goleveldb's snapshot) are in the finished
// tree, which equals a scan of the final state. Seeded.
func TestServesWhileBuilding(t *testing.T) {
	rng, _ := testseed.New(t)
	e, err := storage.OpenLevelDB(t.TempDir(), storage.DefaultLevelDBConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	keys := keysOf(5, 600)
	s := open(t, e, 5, "n1")
	fill(t, s, keys[:400], "old")
	// A crash: no Close, so the next open builds.
	s, b := openBuilding(t, e, 5)
	if b == nil {
		t.Fatal("an open after a crash loaded a record")
	}
	if s.Ready() || s.Tree() != nil {
		t.Fatal("a building Store offers a tree")
	}
	if ok, err := s.Drop(merkle.Hash{}); ok || err != nil {
		t.Fatalf("a building Store dropped its partition: %v %v", ok, err)
	}
	done := make(chan error, 1)
	start := make(chan struct{})
	go func() { <-start; done <- b.Run(nil) }()
	peer := open(t, storage.NewMemory(), 5, "n2")
	ops, at := 0, rng.IntN(300)
	for i := 0; i < 300; i++ {
		if i == at {
			close(start) // the scan starts somewhere in the middle
		}
		k := keys[rng.IntN(len(keys))]
		cur, err := s.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		ops++
		switch rng.IntN(4) {
		case 0: // coordinated write
			ctx := version.Context{}
			if cur != nil {
				ctx = version.ContextOf(cur)
			}
			if _, err := coordinate(s, k, ctx, write(fmt.Sprint("w", i)), 1); err != nil {
				t.Fatal(err)
			}
		case 1: // a concurrent version from another replica
			if _, err := coordinate(peer, k, version.Context{}, write(fmt.Sprint("p", i)), 1); err != nil {
				t.Fatal(err)
			}
			pv, _ := peer.Get(k)
			if _, _, err := s.Merge(k, pv); err != nil {
				t.Fatal(err)
			}
		case 2: // delete, then reap the tombstone
			if cur == nil {
				continue
			}
			if _, err := coordinate(s, k, version.ContextOf(cur), version.Write{Tombstone: true, Timestamp: 2}, 2); err != nil {
				t.Fatal(err)
			}
			tomb, _ := s.Get(k)
			d := version.Digest(tomb)
			if _, err := s.Reap([]reap.Item{{Key: k, Digest: d[:]}}, 0); err != nil {
				t.Fatal(err)
			}
		case 3: // a batch of replica merges
			var items []Item
			for _, k := range keys[400+rng.IntN(150):][:5] {
				if _, err := coordinate(peer, k, version.Context{}, write(fmt.Sprint("m", i)), 1); err != nil {
					t.Fatal(err)
				}
				pv, _ := peer.Get(k)
				items = append(items, Item{Key: k, Set: pv})
			}
			if _, err := s.MergeMany(items); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(b); err != nil {
		t.Fatal(err)
	}
	want, n := scanRoot(t, e, 5, merkle.DefaultConfig())
	if s.Tree().Root() != want || s.Tree().Count() != n {
		t.Fatalf("after %d operations during the build: tree root %x count %d, a scan gives %x %d", ops, s.Tree().Root(), s.Tree().Count(), want, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, b = openBuilding(t, e, 5)
	if b != nil || s.Tree().Root() != want {
		t.Fatal("the tree finished after a build was not persisted at Close")
	}
}

func TestStoppedBuildLeavesNoTree(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 2, "n1")
	fill(t, s, keysOf(2, 600), "a")
	s, b := openBuilding(t, e, 2)
	stop := make(chan struct{})
	close(stop)
	if err := b.Run(stop); !errors.Is(err, ErrBuildStopped) {
		t.Fatalf("Run after stop: %v", err)
	}
	if err := s.Finish(b); err == nil || s.Ready() {
		t.Fatal("a stopped build finished")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(storage.KeyspaceMeta, treeKey(2)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a Store without a tree persisted one: %v", err)
	}
	_, b2 := openBuilding(t, e, 2)
	b2.Close()
	if err := b2.Run(nil); err == nil {
		t.Fatal("Run after Close ran")
	}
}

// TestPartialDropPersistsNoTree: a Drop whose scan fails after its first
// batch was deleted leaves storage with part of the partition and the
// tree with all of it; a clean close then must not persist that tree, or
// the next open would trust it (and anti-entropy would never refill the
// deleted keys).
func TestPartialDropPersistsNoTree(t *testing.T) {
	var armed atomic.Bool
	var nexts atomic.Int64
	e := storage.NewFaulty(storage.NewMemory(), storage.InjectorFunc(func(op storage.Op, _ storage.Keyspace) error {
		if armed.Load() && op == storage.OpIterNext && nexts.Add(1) > 1500 {
			return errors.New("disk read error")
		}
		return nil
	}))
	const p = 2
	s := open(t, e, p, "n1")
	fill(t, s, keysOf(p, 2000), "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, e, p, "n1")
	armed.Store(true)
	if ok, err := s.Drop(s.Tree().Root()); ok || err == nil {
		t.Fatalf("Drop with a failing scan: %v %v", ok, err)
	}
	armed.Store(false)
	if err := s.Close(); err != nil { // not dropped: a clean stop follows
		t.Fatal(err)
	}
	s2 := open(t, e, p, "n1")
	root, count := scanRoot(t, e, p, merkle.DefaultConfig())
	if count == 2000 || count == 0 {
		t.Fatalf("the drop deleted %d of 2000 keys, want a part", 2000-count)
	}
	if loaded, _ := s2.Loaded(); loaded || s2.Tree().Root() != root {
		t.Fatalf("after a partial drop: loaded %v, tree counts %d keys, storage holds %d", loaded, s2.Tree().Count(), count)
	}
	// A complete drop leaves an empty partition and an exact empty tree.
	if ok, err := s2.Drop(s2.Tree().Root()); !ok || err != nil {
		t.Fatalf("Drop: %v %v", ok, err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if s3 := open(t, e, p, "n1"); s3.Tree().Count() != 0 {
		t.Fatalf("after a full drop the tree counts %d keys", s3.Tree().Count())
	}
}

// TestReapDuringBuildSizesThePartitionWhole: while the tree builds, a
// reap judges whether a compaction is due against the partition's keys,
// not against the tree of changes (one reaped tombstone of 300 keys is
// not worth compacting the partition).
func TestReapDuringBuildSizesThePartitionWhole(t *testing.T) {
	e := storage.NewMemory()
	const p = 3
	s := open(t, e, p, "n1")
	keys := keysOf(p, 302)
	fill(t, s, keys[:300], "a")
	tomb := del(t, s, keys[0], 1)
	s2, b := openBuilding(t, e, p)
	if b == nil {
		t.Fatal("no build")
	}
	defer b.Close()
	fill(t, s2, keys[300:301], "b")
	res, err := s2.Reap([]reap.Item{{Key: keys[0], Digest: digestOf(tomb)}}, 0)
	if err != nil || res.Deleted != 1 {
		t.Fatalf("reap: %+v %v", res, err)
	}
	if res.Compact {
		t.Fatal("one reaped tombstone of 300 keys asked for a compaction")
	}
}

// TestJournalMarkerGuardsTheRecords: over goleveldb, persisted trees are
// kept only when the engine's last session ended with MarkClean and no
// process opened it since: a crash (no marker), and an older build that
// writes without knowing the records (it opens the engine and writes
// data, leaving the record in place), both lose them.
func TestJournalMarkerGuardsTheRecords(t *testing.T) {
	dir := t.TempDir()
	const p = 4
	keys := keysOf(p, 60)
	openEngine := func() *storage.LevelDB {
		t.Helper()
		e, err := storage.OpenLevelDB(dir, storage.DefaultLevelDBConfig())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	session := func(e *storage.LevelDB, value string, clean bool) {
		t.Helper()
		s, b := openBuilding(t, e, p)
		if b != nil {
			if err := b.Run(nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(b); err != nil {
				t.Fatal(err)
			}
		}
		fill(t, s, keys[:30], value)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if clean {
			if err := MarkClean(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	start := func() (dropped int, loaded bool, e *storage.LevelDB) {
		t.Helper()
		e = openEngine()
		dropped, err := ForgetUnclean(e)
		if err != nil {
			t.Fatal(err)
		}
		s, b := openBuilding(t, e, p)
		if b != nil {
			b.Close()
		}
		loaded, _ = s.Loaded()
		return dropped, loaded, e
	}

	session(openEngine(), "a", true)
	if dropped, loaded, e := start(); dropped != 0 || !loaded {
		t.Fatalf("after a clean stop: %d records dropped, loaded %v", dropped, loaded)
	} else {
		e.Close() // a start that wrote nothing and stopped without MarkClean: a crash
	}
	if dropped, loaded, e := start(); dropped != 1 || loaded {
		t.Fatalf("after a crash: %d records dropped, loaded %v; want 1, false", dropped, loaded)
	} else {
		e.Close()
	}

	session(openEngine(), "b", true)
	// An older build: writes a key of the partition, leaves the record.
	e := openEngine()
	raw, err := e.Get(storage.KeyspaceMeta, treeKey(p))
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, storage.NewMemory(), p, "n9")
	fill(t, other, keys[40:41], "from an older build")
	set, _ := other.Get(keys[40])
	okey, _, _ := other.locate(keys[40])
	enc, _ := version.Marshal(set)
	bt := storage.NewBatch()
	bt.Put(storage.KeyspaceData, okey, enc)
	if err := e.Write(bt, storage.WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get(storage.KeyspaceMeta, treeKey(p)); string(got) != string(raw) {
		t.Fatal("the older build's write touched the record")
	}
	e.Close()
	dropped, loaded, e := start()
	if dropped != 1 || loaded {
		t.Fatalf("after another process wrote: %d records dropped, loaded %v; want 1, false", dropped, loaded)
	}
	defer e.Close()
	s, b := openBuilding(t, e, p)
	if b == nil {
		t.Fatal("no build after the records were dropped")
	}
	if err := b.Run(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(b); err != nil {
		t.Fatal(err)
	}
	if want, n := scanRoot(t, e, p, merkle.DefaultConfig()); s.Tree().Root() != want || n != 31 {
		t.Fatalf("tree differs from a scan (%d keys)", n)
	}
}

func TestMarkerIsANoOpWithoutAJournal(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 2, "n1")
	fill(t, s, keysOf(2, 3), "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := MarkClean(e); err != nil {
		t.Fatal(err)
	}
	if n, err := ForgetUnclean(e); n != 0 || err != nil {
		t.Fatalf("ForgetUnclean on an engine without a journal: %d %v", n, err)
	}
	if _, b := openBuilding(t, e, 2); b != nil {
		t.Fatal("the record was not kept")
	}
}
