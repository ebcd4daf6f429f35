package vnode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// Key amnesia (Riak's kv679 family): a coordinating vnode that no longer
// holds some of its own earlier versions of a key must not issue a version
// whose clock claims them, or the replicas that still hold them drop them
// on merge. Each test below replicates a first write x to a second replica,
// makes the coordinator lose it in one of the ways a real node can, writes
// y blind through the same coordinator, and checks that the replica keeps
// x beside y after merging y.

// amnesiac is a coordinator and a replica of one partition.
type amnesiac struct {
	t        *testing.T
	e        storage.Engine
	coord    *Store
	replica  *Store
	key      []byte
	firstSet *version.Set // x as the coordinator computed it
}

func newAmnesiac(t *testing.T, e storage.Engine) *amnesiac {
	t.Helper()
	a := &amnesiac{t: t, e: e, key: keysOf(5, 1)[0]}
	a.coord = open(t, e, 5, "n1")
	a.replica = open(t, storage.NewMemory(), 5, "n2")
	return a
}

// replicate merges set into the replica.
func (a *amnesiac) replicate(set *version.Set) {
	a.t.Helper()
	if _, _, err := a.replica.Merge(a.key, set); err != nil {
		a.t.Fatal(err)
	}
}

// writeX coordinates x, replicates it, and (when commit) commits it
// locally.
func (a *amnesiac) writeX(commit bool) error {
	a.t.Helper()
	p, err := a.coord.Prepare(a.key, version.Context{}, write("x"), 1)
	if err != nil {
		a.t.Fatal(err)
	}
	a.firstSet = p.Set
	a.replicate(p.Set)
	if !commit {
		return nil
	}
	return a.coord.Commit(p)
}

// writeYAndCheck coordinates a blind y, replicates it, and checks that the
// replica holds both x and y.
func (a *amnesiac) writeYAndCheck(what string) {
	a.t.Helper()
	y, err := coordinate(a.coord, a.key, version.Context{}, write("y"), 2)
	if err != nil {
		a.t.Fatalf("%s: the write after: %v", what, err)
	}
	a.replicate(y)
	got, err := a.replica.Get(a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	vals := values(a.t, got)
	slices.Sort(vals)
	if fmt.Sprint(vals) != "[x y]" {
		a.t.Fatalf("%s: the replica holds %v after merging the coordinator's next write, want [x y]: x was acknowledged and nobody read it", what, vals)
	}
}

// The coordinator's own commit fails after the version was replicated (the
// put may have met W with the replicas' acks), with and without a restart
// before the next write: nothing in memory may be what protects x then.
func TestAmnesiaAfterAFailedLocalCommit(t *testing.T) {
	for _, restart := range []bool{false, true} {
		fail := storage.FailOps(errors.New("disk: input/output error"), storage.OpWrite)
		fail.SetEnabled(false)
		e := storage.NewFaulty(storage.NewMemory(), fail)
		a := newAmnesiac(t, e)
		px, err := a.coord.Prepare(a.key, version.Context{}, write("x"), 1)
		if err != nil {
			t.Fatal(err)
		}
		a.replicate(px.Set)
		fail.SetEnabled(true)
		if err := a.coord.Commit(px); err == nil {
			t.Fatal("commit on a failing disk succeeded")
		}
		fail.SetEnabled(false)
		if restart {
			a.coord = open(t, e, 5, "n1")
		}
		a.writeYAndCheck(fmt.Sprintf("failed local commit (restart %v)", restart))
	}
}

// The coordinator's stored object is corrupt (read as absent and
// replaced), under a running vnode and after a restart.
func TestAmnesiaAfterACorruptObject(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := storage.NewMemory()
		a := newAmnesiac(t, e)
		if err := a.writeX(true); err != nil {
			t.Fatal(err)
		}
		okey, _, _ := a.coord.locate(a.key)
		if err := storage.Put(e, storage.KeyspaceData, okey, []byte{0xff, 0x01}, storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		a.coord.cache.remove(okey)
		if restart {
			a.coord = open(t, e, 5, "n1")
		}
		a.writeYAndCheck(fmt.Sprintf("corrupt object (restart %v)", restart))
	}
}

// The coordinator handed the partition off and dropped it, then holds it
// again (a fresh vnode over the same storage, as the vnode manager starts).
func TestAmnesiaAfterADropAndRegain(t *testing.T) {
	e := storage.NewMemory()
	a := newAmnesiac(t, e)
	if err := a.writeX(true); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.coord.Drop(a.coord.Tree().Root()); !ok || err != nil {
		t.Fatalf("drop: %v %v", ok, err)
	}
	a.coord = open(t, e, 5, "n1")
	a.writeYAndCheck("partition dropped and regained")
}

// Part of the coordinator's data is lost while its identity and metadata
// survive (a restored or damaged data directory).
func TestAmnesiaAfterLosingStoredData(t *testing.T) {
	e := storage.NewMemory()
	a := newAmnesiac(t, e)
	if err := a.writeX(true); err != nil {
		t.Fatal(err)
	}
	okey, _, _ := a.coord.locate(a.key)
	if err := storage.Delete(e, storage.KeyspaceData, okey, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	a.coord = open(t, e, 5, "n1")
	a.writeYAndCheck("stored object lost")
}

// A client context that claims a counter of this vnode's actor beyond any
// it issued is refused (BAD_CONTEXT), and the vnode keeps working: other
// keys take writes, and dots never repeat across a restart.
func TestForgedContextIsRefusedAndHarmless(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 5, "n1")
	keys := keysOf(5, 3)
	first, err := coordinate(s, keys[0], version.Context{}, write("a"), 1)
	if err != nil {
		t.Fatal(err)
	}
	actor := first.Siblings()[0].Dot.Actor
	forged := version.Context{Clock: version.Clock{{Actor: actor, Counter: math.MaxUint64 - 1}}}
	if _, err := coordinate(s, keys[1], forged, write("b"), 1); !errors.Is(err, version.ErrBadContext) {
		t.Fatalf("a context claiming counter 2^64-2 of this vnode's actor: %v, want ErrBadContext", err)
	}
	forgedDot := version.Context{Dots: []version.Dot{{Actor: actor, Counter: 1 << 40}}}
	if _, err := coordinate(s, keys[1], forgedDot, write("b"), 1); !errors.Is(err, version.ErrBadContext) {
		t.Fatalf("a context carrying a dot this vnode never issued: %v, want ErrBadContext", err)
	}
	seen := map[version.Dot]bool{first.Siblings()[0].Dot: true}
	for i := range 20 {
		for _, k := range keys {
			cur, _ := s.Get(k)
			set, err := coordinate(s, k, version.ContextOf(cur), write(fmt.Sprint(i)), 1)
			if err != nil {
				t.Fatalf("write %d after the forged context: %v", i, err)
			}
			d := set.Siblings()[0].Dot
			if seen[d] {
				t.Fatalf("dot %v issued twice", d)
			}
			seen[d] = true
		}
		if i == 10 {
			s = open(t, e, 5, "n1")
		}
	}
}

// A set replicated from elsewhere that claims this vnode's current actor
// beyond what it issued (a forged context another coordinator accepted)
// must not swallow this vnode's next write.
func TestPoisonedClockDoesNotSwallowTheNextWrite(t *testing.T) {
	a := newAmnesiac(t, storage.NewMemory())
	if err := a.writeX(true); err != nil {
		t.Fatal(err)
	}
	actor := a.firstSet.Siblings()[0].Dot.Actor
	other := open(t, storage.NewMemory(), 5, "n3")
	poisoned, err := coordinate(other, a.key, version.Context{Clock: version.Clock{{Actor: actor, Counter: 1 << 50}}}, write("p"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.coord.Merge(a.key, poisoned); err != nil {
		t.Fatal(err)
	}
	a.replicate(poisoned)
	y, err := coordinate(a.coord, a.key, version.ContextOf(poisoned), write("y"), 2)
	if err != nil {
		t.Fatal(err)
	}
	a.replicate(y)
	got, _ := a.replica.Get(a.key)
	if vals := values(t, got); fmt.Sprint(vals) != "[y]" {
		t.Fatalf("after the poisoned clock, the replica holds %v, want [y]: the vnode's next write was swallowed", vals)
	}
}

// A read of the key that fails (the object may be lost, not just
// unreadable for now) makes the next coordinating write take a new actor
// id.
func TestAReadErrorRenewsTheActor(t *testing.T) {
	fail := storage.FailOps(errors.New("disk: input/output error"), storage.OpGet)
	fail.SetEnabled(false)
	s := open(t, storage.NewFaulty(storage.NewMemory(), fail), 5, "n1")
	k := keysOf(5, 1)[0]
	if _, err := coordinate(s, k, version.Context{}, write("x"), 1); err != nil {
		t.Fatal(err)
	}
	s.cache.clear()
	before := s.Actor()
	fail.SetEnabled(true)
	if _, err := coordinate(s, k, version.Context{}, write("y"), 1); err == nil {
		t.Fatal("a write whose read failed succeeded")
	}
	fail.SetEnabled(false)
	if _, err := coordinate(s, k, version.Context{}, write("y"), 1); err != nil {
		t.Fatal(err)
	}
	if s.Actor() == before {
		t.Fatal("the write after a failed read kept the actor id")
	}
}

// A disk that fails every commit while the replicas acknowledge (the put
// succeeds on W other replicas) costs no clock entries: the vnode keeps
// each version it could not commit and builds the next on it, under the
// same actor id, and the replica that stored every version holds the last
// one alone (each write used the previous one's context).
func TestFailingCommitsDoNotGrowClocks(t *testing.T) {
	fail := storage.FailOps(errors.New("disk: input/output error"), storage.OpWrite)
	fail.SetEnabled(true)
	a := newAmnesiac(t, storage.NewFaulty(storage.NewMemory(), fail))
	actor := a.coord.Actor()
	ctx := version.Context{}
	for i := range 2000 {
		p, err := a.coord.Prepare(a.key, ctx, write(fmt.Sprint(i)), 1)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		a.replicate(p.Set)
		if err := a.coord.Commit(p); err == nil {
			t.Fatal("a commit on the failing disk succeeded")
		}
		ctx = version.ContextOf(p.Set)
	}
	got, _ := a.replica.Get(a.key)
	if a.coord.Actor() != actor || len(got.Clock()) != 1 || fmt.Sprint(values(t, got)) != "[1999]" {
		t.Fatalf("after 2000 writes whose commits failed: actor %s (was %s), replica clock %v, values %v; want one actor and [1999]",
			a.coord.Actor(), actor, got.Clock(), values(t, got))
	}
}

// A corrupt object found by a scan (anti-entropy's listing) makes only a
// write of that key take a new actor id; writes of other keys keep it.
func TestOnlyADamagedKeyRenewsTheActor(t *testing.T) {
	e := storage.NewMemory()
	s := open(t, e, 5, "n1")
	keys := keysOf(5, 2)
	for _, k := range keys {
		if _, err := coordinate(s, k, version.Context{}, write("v"), 1); err != nil {
			t.Fatal(err)
		}
	}
	okey, _, _ := s.locate(keys[0])
	if err := storage.Put(e, storage.KeyspaceData, okey, []byte{0xff, 0x01}, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.cache.remove(okey)
	for range 3 { // found again and again, by scans
		if err := s.Scan(0, 0xffff, func([]byte, *version.Set, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Actor()
	cur, _ := s.Get(keys[1])
	if _, err := coordinate(s, keys[1], version.ContextOf(cur), write("w"), 1); err != nil || s.Actor() != before {
		t.Fatalf("a write of an undamaged key: %v, actor %s (was %s)", err, s.Actor(), before)
	}
	if _, err := coordinate(s, keys[0], version.Context{}, write("w"), 1); err != nil || s.Actor() == before {
		t.Fatalf("a write of the corrupt key: %v, actor %s kept", err, s.Actor())
	}
	again := s.Actor()
	if _, err := coordinate(s, keys[0], version.Context{}, write("x"), 1); err != nil || s.Actor() != again {
		t.Fatalf("a second write of the repaired key: %v, actor %s (was %s)", err, s.Actor(), again)
	}
}

// A counter that would overflow takes a new actor id instead: the vnode
// never wraps and never refuses a write for it.
func TestCounterSaturationRenewsTheActor(t *testing.T) {
	s := open(t, storage.NewMemory(), 5, "n1")
	k := keysOf(5, 1)[0]
	before := s.Actor()
	s.dot = math.MaxUint64
	set, err := coordinate(s, k, version.Context{}, write("v"), 1)
	if err != nil {
		t.Fatalf("a write at the last counter: %v", err)
	}
	if s.Actor() == before || set.Clock().Get(s.Actor()) != 1 {
		t.Fatalf("actor %s (was %s), clock %v: want a new actor at counter 1", s.Actor(), before, set.Clock())
	}
}

// A failed version its coordinator knows was stored nowhere is forgotten:
// the key's next version does not carry it as a sibling (a write retried
// after a full disk leaves one value).
func TestForgottenVersionLeavesNoSibling(t *testing.T) {
	fail := storage.FailOps(errors.New("disk: no space"), storage.OpWrite)
	s := open(t, storage.NewFaulty(storage.NewMemory(), fail), 5, "n1")
	k := keysOf(5, 1)[0]
	p, err := s.Prepare(k, version.Context{}, write("try"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(p); err == nil {
		t.Fatal("commit on a failing disk succeeded")
	}
	s.Forget(k, p.Dot)
	fail.SetEnabled(false)
	set, err := coordinate(s, k, version.Context{}, write("retry"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if vals := values(t, set); fmt.Sprint(vals) != "[retry]" {
		t.Fatalf("after a forgotten failed write and a retry: %v, want [retry]", vals)
	}
}
