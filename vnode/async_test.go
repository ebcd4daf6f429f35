package vnode

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// gatedEngine holds every write until the test opens its gate.
type gatedEngine struct {
	storage.Engine
	entered chan struct{} // a write began
	once    sync.Once
	gate    chan struct{}
}

func newGatedEngine() *gatedEngine {
	return &gatedEngine{Engine: storage.NewMemory(), entered: make(chan struct{}, 100), gate: make(chan struct{})}
}

func (g *gatedEngine) Write(b *storage.Batch, opts storage.WriteOptions) error {
	g.entered <- struct{}{}
	<-g.gate
	return g.Engine.Write(b, opts)
}

func (g *gatedEngine) open() { g.once.Do(func() { close(g.gate) }) }

// openCommitted opens partition p of e with writes through a Committer of
// e, closed at the end of the test.
func openCommitted(t *testing.T, e storage.Engine, c *storage.Committer, p uint32, node string, opts ...func(*Config)) *Store {
	t.Helper()
	cfg := DefaultConfig(p, q, node)
	cfg.Committer = c
	for _, o := range opts {
		o(&cfg)
	}
	s, err := Open(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gatedStore opens partition 2 of a gated engine through a Committer, and
// returns a key of it; the gate opens at the end of the test.
func gatedStore(t *testing.T, opts ...func(*Config)) (*gatedEngine, *Store, []byte) {
	t.Helper()
	g := newGatedEngine()
	c := newCommitter(t, g)
	t.Cleanup(g.open) // before the committer's Close, which waits for the writes
	return g, openCommitted(t, g, c, 2, "n1", opts...), keysOf(2, 1)[0]
}

func newCommitter(t *testing.T, e storage.Engine) *storage.Committer {
	c := storage.NewCommitter(e, 0, nil)
	t.Cleanup(c.Close)
	return c
}

// result is a write's outcome handed to its done.
type result struct {
	changed bool
	err     error
}

func mergeAsync(s *Store, key []byte, in *version.Set) chan result {
	ch := make(chan result, 1)
	s.MergeAsync(key, in, false, func(changed bool, err error) { ch <- result{changed, err} })
	return ch
}

func commitAsync(s *Store, p *Prepared) chan result {
	ch := make(chan result, 1)
	s.CommitAsync(p, func(err error) { ch <- result{err == nil, err} })
	return ch
}

func await(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome after 10 s")
		return result{}
	}
}

// concurrent returns n versions of key written by n other coordinators,
// none descending another.
func concurrent(t *testing.T, key []byte, p uint32, n int) []*version.Set {
	var out []*version.Set
	for i := range n {
		other := open(t, storage.NewMemory(), p, fmt.Sprintf("c%d", i))
		v, err := coordinate(other, key, version.Context{}, write(fmt.Sprintf("v%d", i)), 1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// A write submitted while an earlier write of the same key is still
// queued is built on that write, not on what storage holds yet: both
// versions end up stored. (Built on storage, the second write would
// replace the first, acknowledged, one.) With the object cache too small
// to hold them, and with it.
func TestAsyncWritesBuildOnWritesInFlight(t *testing.T) {
	for _, cache := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			testAsyncWritesBuildOnWritesInFlight(t, func(c *Config) { c.CacheBytes = cache })
		})
	}
}

func testAsyncWritesBuildOnWritesInFlight(t *testing.T, opt func(*Config)) {
	g, s, k := gatedStore(t, opt)
	vs := concurrent(t, k, 2, 2)
	first := mergeAsync(s, k, vs[0])
	<-g.entered // written now, held at the engine
	second := mergeAsync(s, k, vs[1])
	cur, err := s.Get(k)
	if err != nil || fmt.Sprint(values(t, cur)) != "[v0 v1]" {
		t.Fatalf("read while both writes are in flight: %v, %v; want [v0 v1]", cur, err)
	}
	// A coordinating write in flight too: its version covers both.
	p, err := s.Prepare(k, version.ContextOf(cur), write("v2"), 1)
	if err != nil {
		t.Fatal(err)
	}
	third := commitAsync(s, p)
	g.open()
	for i, ch := range []chan result{first, second, third} {
		if r := await(t, ch); r.err != nil || !r.changed {
			t.Fatalf("write %d: %+v", i, r)
		}
	}
	reopened := open(t, g.Engine, 2, "n1")
	got, err := reopened.Get(k)
	if err != nil || fmt.Sprint(values(t, got)) != "[v2]" || !version.Descends(got, vs[0]) || !version.Descends(got, vs[1]) {
		t.Fatalf("stored after the writes: %v, %v; want v2, descending v0 and v1", got, err)
	}
	if st := s.Stats(); st.Writes != 3 {
		t.Fatalf("%d writes counted, want 3", st.Writes)
	}
	if s.Tree().Root() != reopened.Tree().Root() {
		t.Fatal("the tree of the writes in flight differs from a rebuild from storage")
	}
}

// A vnode that restarts while its writes are queued opens a Store that
// waits for them: a write of the new Store is not built on storage
// without them.
func TestStoreOpensAfterTheWritesInFlight(t *testing.T) {
	g := newGatedEngine()
	defer g.open()
	c := newCommitter(t, g)
	s := openCommitted(t, g, c, 2, "n1")
	k := keysOf(2, 1)[0]
	vs := concurrent(t, k, 2, 2)
	first := mergeAsync(s, k, vs[0])
	<-g.entered
	time.AfterFunc(50*time.Millisecond, g.open)
	restarted := openCommitted(t, g, c, 2, "n1")
	if r := await(t, mergeAsync(restarted, k, vs[1])); r.err != nil {
		t.Fatal(r.err)
	}
	if r := await(t, first); r.err != nil {
		t.Fatal(r.err)
	}
	got, err := open(t, g.Engine, 2, "n1").Get(k)
	if err != nil || fmt.Sprint(values(t, got)) != "[v0 v1]" {
		t.Fatalf("stored: %v, %v; want [v0 v1] (the first Store's write lost)", got, err)
	}
}

// TestFailedWriteChangesNothing through a Committer: the failure comes to
// done; reads then see the old value, the tree counts what storage holds,
// and the next version of the key holds the failed coordinating write's.
func TestAsyncFailedWriteChangesNothing(t *testing.T) {
	full := storage.FailOps(fmt.Errorf("disk: %w", storage.ErrNoSpace), storage.OpWrite)
	full.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), full)
	s := openCommitted(t, e, newCommitter(t, e), 1, "n1")
	k := keysOf(1, 1)[0]
	p1, err := s.Prepare(k, version.Context{}, write("v1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, commitAsync(s, p1)); r.err != nil {
		t.Fatal(r.err)
	}
	v1 := p1.Set
	root, actor := s.Tree().Root(), s.Actor()
	full.SetEnabled(true)
	p2, err := s.Prepare(k, v1.Context(), write("v2"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, commitAsync(s, p2)); !errors.Is(r.err, storage.ErrNoSpace) {
		t.Fatalf("write on a full disk: %+v", r)
	}
	fromOther := concurrent(t, k, 1, 1)[0]
	if r := await(t, mergeAsync(s, k, fromOther)); !errors.Is(r.err, storage.ErrNoSpace) || r.changed {
		t.Fatalf("merge on a full disk: %+v", r)
	}
	if got, err := s.Get(k); err != nil || !version.Equal(got, v1) {
		t.Fatalf("reads must see the old value after the failures: %v %v", got, err)
	}
	if s.Tree().Root() != root {
		t.Fatal("the tree counts a write that failed")
	}
	full.SetEnabled(false)
	p3, err := s.Prepare(k, v1.Context(), write("v2"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, commitAsync(s, p3)); r.err != nil {
		t.Fatalf("after space returns: %v", r.err)
	}
	var dots []uint64
	for _, sib := range p3.Set.Siblings() {
		dots = append(dots, sib.Dot.Counter)
	}
	if s.Actor() != actor || p3.Set.Clock().Get(actor) != 3 || !slices.Equal(dots, []uint64{2, 3}) {
		t.Fatalf("the write after a failed one: clock %v, sibling dots %v; want the failed write's version (dot 2) kept beside the retry's (dot 3)", p3.Set.Clock(), dots)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if loaded, _ := open(t, e, 1, "n1").Loaded(); loaded {
		t.Fatal("a Store whose write failed persisted its tree at Close")
	}
}

// A handoff lists the partition with Scan, after a tree snapshot that
// counts a write in flight; Drop then compares roots. Scan waits for the
// writes in flight, so the key is listed (and pushed) before the drop:
// without it the acknowledged write was dropped unlisted.
func TestHandoffListsWritesInFlight(t *testing.T) {
	g, s, k := gatedStore(t)
	ack := mergeAsync(s, k, concurrent(t, k, 2, 1)[0])
	<-g.entered
	root := s.Tree().Root()
	time.AfterFunc(20*time.Millisecond, g.open)
	var listed [][]byte
	if err := s.Scan(0, 0xffff, func(key []byte, _ *version.Set, _ []byte) error {
		listed = append(listed, slices.Clone(key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := await(t, ack); r.err != nil {
		t.Fatal(r.err)
	}
	if len(listed) != 1 || !slices.Equal(listed[0], k) {
		t.Fatalf("the handoff's listing holds %q, want the key written in flight", listed)
	}
	if ok, err := s.Drop(root); err != nil || !ok {
		t.Fatalf("drop after the listing: %v %v", ok, err)
	}
}

// failNth fails its n-th write (counted from 1), after holding it at the
// gate; the others pass.
type failNth struct {
	*gatedEngine
	n, i atomic.Int32
}

func (f *failNth) Write(b *storage.Batch, o storage.WriteOptions) error {
	if f.i.Add(1) == f.n.Load() {
		f.entered <- struct{}{}
		<-f.gate
		return errors.New("injected write failure")
	}
	return f.Engine.Write(b, o)
}

// An asynchronous write that fails after a synchronous write was built on
// it: the synchronous write waits for the one in flight, so the tree ends
// as a rebuild from storage (it was left counting the failed version).
func TestTreeAfterAFailedWriteInFlightAndASynchronousOne(t *testing.T) {
	f := &failNth{gatedEngine: newGatedEngine()}
	defer f.open()
	s := openCommitted(t, f, newCommitter(t, f), 2, "n1")
	f.n.Store(f.i.Load() + 1)
	k := keysOf(2, 1)[0]
	vs := concurrent(t, k, 2, 2)
	w1 := mergeAsync(s, k, vs[0])
	<-f.entered
	time.AfterFunc(20*time.Millisecond, f.open)
	if _, _, err := s.Merge(k, vs[1]); err != nil {
		t.Fatal(err)
	}
	if r := await(t, w1); r.err == nil {
		t.Fatal("the first write did not fail")
	}
	rebuilt := open(t, f.Engine, 2, "n1")
	if s.Tree().Root() != rebuilt.Tree().Root() {
		t.Fatal("the tree differs from a rebuild from storage")
	}
}

// The first write after an open deletes the persisted tree record; when
// that write fails, the record stays due for deletion, so a later write
// that succeeds deletes it: a Store reopened without Close (a vnode
// restart) then builds its tree instead of loading one that lacks the
// writes.
func TestAFailedWriteKeepsTheTreeRecordDueForDeletion(t *testing.T) {
	f := &failNth{gatedEngine: newGatedEngine()}
	defer f.open()
	c := newCommitter(t, f)
	first := openCommitted(t, f, c, 2, "n1")
	k0 := keysOf(2, 3)[2]
	if _, _, err := first.Merge(k0, concurrent(t, k0, 2, 1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	s := openCommitted(t, f, c, 2, "n1")
	if loaded, why := s.Loaded(); !loaded {
		t.Fatalf("the tree persisted at Close was not loaded: %v", why)
	}
	f.n.Store(f.i.Load() + 1)
	ks := keysOf(2, 2)
	w1 := mergeAsync(s, ks[0], concurrent(t, ks[0], 2, 1)[0])
	<-f.entered
	w2 := mergeAsync(s, ks[1], concurrent(t, ks[1], 2, 1)[0])
	f.open()
	if r := await(t, w1); r.err == nil {
		t.Fatal("the first write did not fail")
	}
	if r := await(t, w2); r.err != nil {
		t.Fatal(r.err)
	}
	restarted := openCommitted(t, f, c, 2, "n1")
	if loaded, _ := restarted.Loaded(); loaded {
		t.Fatal("a Store reopened after the writes loaded the tree persisted before them")
	}
}

// A replica write of a version the write in flight already covers changes
// nothing, yet is answered only once that write is durable: a hint or
// handoff counted delivered must be on disk.
func TestAWriteCoveredByOneInFlightWaitsForIt(t *testing.T) {
	g, s, k := gatedStore(t)
	v := concurrent(t, k, 2, 1)[0]
	first := mergeAsync(s, k, v)
	<-g.entered
	second := mergeAsync(s, k, v)
	select {
	case r := <-second:
		t.Fatalf("the second write was answered %+v while the first is held before the engine", r)
	case <-time.After(50 * time.Millisecond):
	}
	time.AfterFunc(20*time.Millisecond, g.open)
	start := time.Now()
	if n, err := s.MergeMany([]Item{{Key: k, Set: v}}); err != nil || n != 0 {
		t.Fatalf("MergeMany of the same version: %d, %v", n, err)
	}
	if time.Since(start) < 15*time.Millisecond {
		t.Fatal("MergeMany answered before the write in flight was durable")
	}
	for i, ch := range []chan result{first, second} {
		if r := await(t, ch); r.err != nil {
			t.Fatalf("write %d: %v", i, r.err)
		}
	}
}

// A coordinating write prepared on a version in flight whose write then
// fails replaces, in the tree, what storage holds: the tree stays equal
// to a rebuild (it XORed out the failed version's digest a second time).
func TestCommitAfterAFailedWriteInFlightKeepsTheTree(t *testing.T) {
	for _, async := range []bool{true, false} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			f := &failNth{gatedEngine: newGatedEngine()}
			c := newCommitter(t, f)
			defer f.open()
			s := openCommitted(t, f, c, 2, "n1")
			k := keysOf(2, 1)[0]
			vs := concurrent(t, k, 2, 2)
			if r := await(t, mergeAsync(s, k, vs[0])); r.err != nil {
				t.Fatal(r.err)
			}
			f.n.Store(f.i.Load() + 1)
			failing := mergeAsync(s, k, vs[1])
			<-f.entered
			cur, err := s.Get(k)
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Prepare(k, version.ContextOf(cur), write("next"), 1)
			if err != nil {
				t.Fatal(err)
			}
			f.open()
			if r := await(t, failing); r.err == nil {
				t.Fatal("the write in flight did not fail")
			}
			if async {
				if r := await(t, commitAsync(s, p)); r.err != nil {
					t.Fatal(r.err)
				}
			} else if err := s.Commit(p); err != nil {
				t.Fatal(err)
			}
			if s.Tree().Root() != open(t, f.Engine, 2, "n1").Tree().Root() {
				t.Fatal("the tree differs from a rebuild from storage")
			}
		})
	}
}

// A reap check does not count a tombstone in flight as held: the other
// replicas would reap on that answer, and the write may still fail (or
// the node die before its fsync), leaving the value it deleted here.
func TestReapCheckWaitsForATombstoneInFlight(t *testing.T) {
	f := &failNth{gatedEngine: newGatedEngine()}
	c := newCommitter(t, f)
	defer f.open()
	s := openCommitted(t, f, c, 2, "n1")
	k := keysOf(2, 1)[0]
	live := concurrent(t, k, 2, 1)[0]
	if r := await(t, mergeAsync(s, k, live)); r.err != nil {
		t.Fatal(r.err)
	}
	other := open(t, storage.NewMemory(), 2, "n2")
	if _, _, err := other.Merge(k, live); err != nil {
		t.Fatal(err)
	}
	tomb, err := coordinate(other, k, live.Context(), version.Write{Tombstone: true, Timestamp: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	f.n.Store(f.i.Load() + 1)
	failing := mergeAsync(s, k, tomb)
	<-f.entered
	time.AfterFunc(20*time.Millisecond, f.open)
	d := version.Digest(tomb)
	held, _, _, err := s.ReapCheck([][]byte{k}, [][]byte{d[:]})
	if err != nil {
		t.Fatal(err)
	}
	if held[0] {
		t.Fatal("a tombstone whose write was in flight (and then failed) was reported held")
	}
	if r := await(t, failing); r.err == nil {
		t.Fatal("the tombstone's write did not fail")
	}
}
