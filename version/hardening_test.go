package version

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

// A client context may not push a write past the clock limit, and whatever a
// write or a merge produces must decode again.
func TestWriteLimitsKeepStoredObjectsReadable(t *testing.T) {
	var ctx Clock
	for i := range MaxClockEntries {
		ctx = append(ctx, Entry{Actor: fmt.Sprintf("a%05d", i), Counter: 1})
	}
	if _, err := Update(nil, Context{Clock: ctx}, Write{Value: []byte("v")}, "coordinator", 0); !errors.Is(err, ErrBadContext) || !strings.Contains(err.Error(), "limit is 1024") {
		t.Fatalf("Update with a full context = %v", err)
	}
	s, err := Update(nil, Context{Clock: ctx[:MaxClockEntries-1]}, Write{Value: []byte("v")}, "coordinator", 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Update(nil, Context{Clock: Clock{{Actor: "zz", Counter: 1}}}, Write{Value: []byte("w")}, "yy", 0)
	if err != nil {
		t.Fatal(err)
	}
	merged := Sync(s, other) // more than MaxClockEntries: merges never fail
	b, err := Marshal(merged)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil || !Equal(back, merged) {
		t.Fatalf("a merge of valid sets does not decode: %v", err)
	}
}

func TestCounterOverflowIsRefused(t *testing.T) {
	_, err := Update(nil, Context{Clock: Clock{{Actor: "A", Counter: math.MaxUint64}}}, Write{Value: []byte("v")}, "A", 0)
	if !errors.Is(err, ErrBadContext) || !strings.Contains(err.Error(), "overflow") {
		t.Fatalf("Update = %v", err)
	}
}

func TestActorLengthIsChecked(t *testing.T) {
	if _, err := Update(nil, Context{}, Write{Value: []byte("v")}, strings.Repeat("a", MaxActorLen+1), 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long actor: %v", err)
	}
	s, err := Update(nil, Context{}, Write{Value: []byte("v")}, strings.Repeat("a", MaxActorLen), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Marshal(s)
	if _, err := Unmarshal(b); err != nil {
		t.Fatalf("longest actor does not round-trip: %v", err)
	}
}

// kv679 after reaping: a key is deleted, its tombstone reaped on one
// replica but still held by a lagging replica (or a hint). A new write to
// the key at the same coordinator must not reuse the dot the tombstone
// covers, or the tombstone swallows it. The vnode's persisted sequence is
// passed as Floor.
func TestFloorPreventsDotReuseAfterReaping(t *testing.T) {
	v, _ := Update(nil, Context{}, Write{Value: []byte("v")}, "A", 0)
	del, _ := Update(v, v.Context(), Write{Tombstone: true}, "B", 0)
	lagging := Sync(v, del) // still holds the tombstone
	// The coordinator A has reaped the key: its local set is nil again.
	reused, _ := Update(nil, Context{}, Write{Value: []byte("new")}, "A", 0)
	if _, found := Sync(lagging, reused).Live(ModeSiblings, 0); found {
		t.Log("without a floor the new write is swallowed (the bug this guards against)")
	} else if reused.Siblings()[0].Dot.Counter != 1 {
		t.Fatal("expected the reused dot A:1 in the unguarded case")
	}
	fresh, err := Update(nil, Context{}, Write{Value: []byte("new"), Floor: 1}, "A", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fresh.Siblings()[0].Dot; got != (Dot{Actor: "A", Counter: 2}) {
		t.Fatalf("dot = %v, want A:2", got)
	}
	vals, found := Sync(lagging, fresh).Live(ModeSiblings, 0)
	if !found || string(vals[0].Value) != "new" {
		t.Fatalf("the new write was lost to an old tombstone: %v", vals)
	}
}

func TestSetsDoNotAliasCallers(t *testing.T) {
	buf := []byte("hello")
	s, _ := Update(nil, Context{}, Write{Value: buf}, "A", 0)
	copy(buf, "XXXXX")
	if got := string(s.Siblings()[0].Value); got != "hello" {
		t.Fatalf("the set aliases the caller's value buffer: %q", got)
	}
	s.Clock()[0].Counter = 99
	s.Siblings()[0].Dot.Counter = 42
	if s.Clock().Get("A") != 1 || s.Siblings()[0].Dot.Counter != 1 {
		t.Fatal("accessors expose the set's internals")
	}
	val := []byte("shared")
	n, _ := New(Clock{{Actor: "A", Counter: 1}}, []Sibling{{Dot: Dot{"A", 1}, Value: val}})
	val[0] = 'S'
	if string(n.Siblings()[0].Value) != "shared" {
		t.Fatal("New aliases the caller's values")
	}
}

// arbitrarySet draws a valid set from a tiny space (3 actors, counters up to
// 3, two possible contents per dot), so that sets from different "nodes"
// can claim the same dot with different content, as corrupted or hostile
// input could. The laws must hold there too, not only on honest histories.
func arbitrarySet(rng interface{ IntN(int) int }) *Set {
	var clock Clock
	var sibs []Sibling
	for _, a := range []string{"A", "B", "C"} {
		n := uint64(rng.IntN(4))
		if n == 0 {
			continue
		}
		clock = append(clock, Entry{Actor: a, Counter: n})
		for c := uint64(1); c <= n; c++ {
			if rng.IntN(3) == 0 {
				sibs = append(sibs, Sibling{Dot: Dot{a, c}, Value: []byte{byte('x' + rng.IntN(2))}})
			}
		}
	}
	s, err := New(clock, sibs)
	if err != nil {
		panic(err)
	}
	return s
}

func TestLawsOnArbitrarySets(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 20000 {
		a, b, c := arbitrarySet(rng), arbitrarySet(rng), arbitrarySet(rng)
		if !Equal(Sync(a, b), Sync(b, a)) || !Equal(Sync(Sync(a, b), c), Sync(a, Sync(b, c))) || !Equal(Sync(a, a), a) {
			t.Fatalf("semilattice law broken:\na=%+v\nb=%+v\nc=%+v", a, b, c)
		}
		if Descends(a, b) != Equal(Sync(a, b), a) {
			t.Fatalf("Descends(a,b)=%v disagrees with Sync:\na=%+v\nb=%+v", Descends(a, b), a, b)
		}
		if Equal(a, b) != (Digest(a) == Digest(b)) {
			t.Fatalf("Digest disagrees with Equal:\na=%+v\nb=%+v", a, b)
		}
	}
}

// A key whose clock merges grew past MaxClockEntries (one entry per vnode
// incarnation that coordinated it) still takes writes whose context adds
// nothing, blind or with a read's context, and a read's context of it
// decodes; a context that adds entries past the limit is refused.
func TestAClockGrownByMergesStillTakesWrites(t *testing.T) {
	var big *Set
	for i := range MaxClockEntries + 10 {
		s, err := Update(nil, Context{}, Write{Value: []byte("v")}, fmt.Sprintf("a%05d", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		big = Sync(big, s)
	}
	if _, err := Update(big, Context{}, Write{Value: []byte("blind")}, "coordinator", 0); err != nil {
		t.Fatalf("a blind write to a key of %d clock entries: %v", len(big.Clock()), err)
	}
	ctx, err := DecodeContext(EncodeContext(big.Context()))
	if err != nil {
		t.Fatalf("a read's context of %d entries: %v", len(big.Clock()), err)
	}
	merged, err := Update(big, ctx, Write{Value: []byte("merged")}, "a00001", 0)
	if err != nil || merged.Len() != 1 {
		t.Fatalf("a write with the read's context: %v", err)
	}
	grow := Context{Clock: Clock{{Actor: "zzz", Counter: 1}}}
	if _, err := Update(big, grow, Write{Value: []byte("v")}, "a00001", 0); !errors.Is(err, ErrBadContext) {
		t.Fatalf("a context adding an entry past the limit: %v", err)
	}
}
