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
	pruned, err := Prune(s, p, 60) // entries 0..10 are >= 50 ms old
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
	if same, _ := Prune(s, PrunePolicy{KeepEntries: 5, MinAgeMs: 1000, Retired: retired}, 60); len(same.Clock()) != len(s.Clock()) {
		t.Fatal("pruned entries younger than MinAgeMs")
	}
	// No retired actors: nothing goes.
	if same, _ := Prune(s, PrunePolicy{KeepEntries: 1, MinAgeMs: 0}, 60); len(same.Clock()) != len(s.Clock()) {
		t.Fatal("pruned without a Retired function")
	}
	if _, err := Prune(s, PrunePolicy{}, 0); !errors.Is(err, ErrInvalid) {
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

// Pruning any replica's clock may add siblings to later merges but never
// removes a value that the unpruned merge keeps.
func TestPruneNeverLosesOrOrdersValues(t *testing.T) {
	rng, _ := testseed.New(t)
	everyone := PrunePolicy{KeepEntries: 1, MinAgeMs: 0, Retired: func(string) bool { return true }}
	for range 100 {
		h := runHistory(t, rng, 2+rng.IntN(3), 40)
		for range 30 {
			a := h.states[rng.IntN(len(h.states))]
			b := h.states[rng.IntN(len(h.states))]
			pa, err := Prune(a, everyone, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			if err := pa.validate(); err != nil {
				t.Fatal(err)
			}
			full, withPruned := Sync(a, b), Sync(pa, b)
			for _, sib := range full.Siblings() {
				if !slices.ContainsFunc(withPruned.Siblings(), func(o Sibling) bool { return o.same(sib) }) {
					t.Fatalf("pruning lost sibling %v", sib.Dot)
				}
			}
		}
	}
}
