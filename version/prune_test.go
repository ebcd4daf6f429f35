package version

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

func TestPruneDropsOnlyOldRetiredUnneededEntries(t *testing.T) {
	var s *Set
	for i := range 15 {
		s = mustPutAt(s, fmt.Sprintf("v%d", i), fmt.Sprintf("old%02d", i), int64(i))
	}
	s = mustPutAt(s, "live", "current", 100) // one live sibling, needs "current"
	retired := func(a string) bool { return a != "current" }
	p := PrunePolicy{KeepEntries: 5, MinAgeMs: 50, Retired: retired}
	pruned, err := Prune(s, s.Clock(), p, 60) // entries 0..10 are >= 50 ms old
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pruned.Clock()); n != 5 {
		t.Fatalf("pruned clock has %d entries, want 5: %v", n, pruned.Clock())
	}
	for _, e := range pruned.Clock() {
		if e.Actor != "current" && e.UpdatedMs < 11 {
			t.Fatalf("kept old entry %v while dropping younger ones", e)
		}
	}
	if pruned.Clock().Get("current") == 0 {
		t.Fatal("dropped the entry a live sibling needs")
	}
	if err := pruned.validate(); err != nil {
		t.Fatal(err)
	}
	// Too young: nothing goes.
	if same, _ := Prune(s, s.Clock(), PrunePolicy{KeepEntries: 5, MinAgeMs: 1000, Retired: retired}, 60); len(same.Clock()) != len(s.Clock()) {
		t.Fatal("pruned entries younger than MinAgeMs")
	}
	// No retired actors: nothing goes.
	if same, _ := Prune(s, s.Clock(), PrunePolicy{KeepEntries: 1, MinAgeMs: 0}, 60); len(same.Clock()) != len(s.Clock()) {
		t.Fatal("pruned without a Retired function")
	}
	// Not every primary has seen everything yet: nothing goes.
	behind := s.Clock()
	behind[0].Counter--
	if behind[0].Counter == 0 {
		behind = behind[1:]
	}
	if same, _ := Prune(s, behind, p, 60); len(same.Clock()) != len(s.Clock()) {
		t.Fatal("pruned while a primary lags")
	}
	if _, err := Prune(s, s.Clock(), PrunePolicy{}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero policy: %v", err)
	}
}

func mustPutAt(local *Set, value, actor string, ms int64) *Set {
	s, err := Update(local, local.Context(), Write{Value: []byte(value)}, actor, ms)
	if err != nil {
		panic(err)
	}
	return s
}

// Pruning a set that every other replica has already seen (they all
// descend it) changes no later merge: nothing lost, nothing resurrected.
// The review case: a value written by a retired actor, then deleted; the
// prune drops the retired actor's entry, and a lagging replica that still
// holds the value must not bring it back. That replica does not descend the
// delete, so stable does not dominate and Prune must refuse.
func TestPruneNeverLosesOrResurrects(t *testing.T) {
	rng, _ := testseed.New(t)
	everyone := PrunePolicy{KeepEntries: 1, MinAgeMs: 0, Retired: func(string) bool { return true }}
	checked := 0
	for range 100 {
		h := runHistory(t, rng, 2+rng.IntN(3), 40)
		for range 30 {
			a := h.states[rng.IntN(len(h.states))]
			b := h.states[rng.IntN(len(h.states))]
			// stable: what both a and b have seen.
			stable := Clock{}
			for _, e := range a.Clock() {
				if n := min(e.Counter, b.Clock().Get(e.Actor)); n > 0 {
					stable = append(stable, Entry{Actor: e.Actor, Counter: n})
				}
			}
			pa, err := Prune(a, stable, everyone, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			if err := pa.validate(); err != nil {
				t.Fatal(err)
			}
			if len(pa.Clock()) < len(a.Clock()) {
				checked++
				if !Descends(b, a) {
					t.Fatalf("pruned although b has not seen everything in a")
				}
			}
			full, withPruned := Sync(a, b), Sync(pa, b)
			if !slices.EqualFunc(full.Siblings(), withPruned.Siblings(), Sibling.Equal) {
				t.Fatalf("pruning changed a merge: %v vs %v", full.Siblings(), withPruned.Siblings())
			}
		}
	}
	if checked == 0 {
		t.Fatal("no history produced a prunable pair: the test checked nothing")
	}
}

func TestPruneRefusesWhileAReplicaLags(t *testing.T) {
	v := mustPutAt(nil, "v", "old@1", 0)
	del, err := Update(v, v.Context(), Write{Tombstone: true}, "B@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	everyone := PrunePolicy{KeepEntries: 1, MinAgeMs: 0, Retired: func(a string) bool { return a == "old@1" }}
	// The lagging replica still holds v: the stable clock is v's.
	pruned, _ := Prune(del, v.Clock(), everyone, 1<<40)
	if _, found := Sync(pruned, v).Live(ModeSiblings, 0); found {
		t.Fatal("a deleted value came back after pruning")
	}
	// Once every replica has the delete, the entry can go, and the deleted
	// value stays deleted everywhere.
	pruned, _ = Prune(del, del.Clock(), everyone, 1<<40)
	if pruned.Clock().Get("old@1") != 0 {
		t.Fatal("did not prune a retired entry every replica has seen")
	}
	if _, found := Sync(pruned, del).Live(ModeSiblings, 0); found {
		t.Fatal("pruned delete is not a delete")
	}
}
