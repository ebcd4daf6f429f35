package version

import (
	"errors"
	"slices"
	"testing"
)

// put is a test shorthand for a siblings-mode write.
func put(t *testing.T, local *Set, ctx Context, value, actor string) *Set {
	t.Helper()
	s, err := Update(local, ctx, Write{Value: []byte(value), Timestamp: 1}, actor, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func liveValues(s *Set) []string {
	vals, _ := s.Live(ModeSiblings, 0)
	var out []string
	for _, v := range vals {
		out = append(out, string(v.Value))
	}
	slices.Sort(out)
	return out
}

func wantValues(t *testing.T, s *Set, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := liveValues(s); !slices.Equal(got, want) {
		t.Fatalf("values = %q, want %q (set %+v)", got, want, s)
	}
}

// The Dynamo paper's figure 3: D1, D2 coordinated by Sx; D3 by Sy and D4 by
// Sz, both from D2's context; a read sees both, and the reconciled D5 written
// through Sx dominates everything.
func TestPaperExample(t *testing.T) {
	d1 := put(t, nil, Context{}, "D1", "Sx")
	d2 := put(t, d1, d1.Context(), "D2", "Sx")
	wantValues(t, d2, "D2")
	if got := d2.Clock(); !slices.Equal(got, Clock{{Actor: "Sx", Counter: 2, UpdatedMs: 1}}) {
		t.Fatalf("D2 clock = %v", got)
	}
	// Sy and Sz hold D2 (replicated), Sx fails.
	d3 := put(t, d2, d2.Context(), "D3", "Sy")
	d4 := put(t, d2, d2.Context(), "D4", "Sz")
	read := Sync(Sync(d2, d3), d4) // Sx comes back and a read reaches all
	wantValues(t, read, "D3", "D4")
	d5 := put(t, read, read.Context(), "D5", "Sx")
	wantValues(t, d5, "D5")
	want := Clock{{Actor: "Sx", Counter: 3}, {Actor: "Sy", Counter: 1}, {Actor: "Sz", Counter: 1}}
	if !d5.Clock().equalCounters(want) {
		t.Fatalf("D5 clock = %v, want %v", d5.Clock(), want)
	}
	for _, old := range []*Set{d1, d2, d3, d4, read} {
		if !Descends(d5, old) || Descends(old, d5) {
			t.Fatalf("D5 must strictly dominate %v", old.Clock())
		}
		wantValues(t, Sync(old, d5), "D5")
	}
	if Descends(d3, d4) || Descends(d4, d3) {
		t.Fatal("D3 and D4 are concurrent")
	}
}

// Riak's pre-2.0 bug: two clients read the same version and write through
// the same coordinator; with per-coordinator vector clocks the second write
// silently replaced the first. Both must survive as siblings.
func TestSameContextSameCoordinatorKeepsBoth(t *testing.T) {
	v0 := put(t, nil, Context{}, "v0", "A")
	ctx := v0.Context()
	s := put(t, v0, ctx, "client1", "A")
	s = put(t, s, ctx, "client2", "A")
	wantValues(t, s, "client1", "client2")
	// A replica that got only the first write still keeps the second on merge.
	other := put(t, v0, ctx, "client1", "A")
	wantValues(t, Sync(other, s), "client1", "client2")
}

func TestContextCoveringAllSiblingsReplacesThem(t *testing.T) {
	a := put(t, nil, Context{}, "a", "A")
	b := put(t, nil, Context{}, "b", "B")
	both := Sync(a, b)
	wantValues(t, both, "a", "b")
	merged := put(t, both, both.Context(), "ab", "A")
	wantValues(t, merged, "ab")
	// Replicas that still hold a or b drop them on merge.
	wantValues(t, Sync(Sync(a, merged), b), "ab")
}

func TestBlindWriteBecomesSibling(t *testing.T) {
	a := put(t, nil, Context{}, "a", "A")
	s := put(t, a, Context{}, "blind", "A")
	wantValues(t, s, "a", "blind")
}

func TestContextFromAnotherReplicaCoversUnseenSiblings(t *testing.T) {
	// The client read b (through B), then writes through A which never saw b.
	b := put(t, nil, Context{}, "b", "B")
	a := put(t, nil, Context{}, "a", "A")
	s := put(t, a, b.Context(), "c", "A")
	wantValues(t, s, "a", "c") // a was not seen by the client
	wantValues(t, Sync(s, b), "a", "c")
}

func TestDeleteAndTombstones(t *testing.T) {
	v := put(t, nil, Context{}, "v", "A")
	del, err := Update(v, v.Context(), Write{Tombstone: true, Timestamp: 2}, "B", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, found := del.Live(ModeSiblings, 0); found {
		t.Fatal("deleted key reads as found")
	}
	if !isTomb(del) || isTomb(v) {
		t.Fatal("IsTombstone wrong")
	}
	if !del.Context().Covers(Dot{Actor: "A", Counter: 1}) {
		t.Fatal("a deleted key's context must still cover what was deleted")
	}
	// The old value, replicated late, does not come back.
	if _, found := Sync(v, del).Live(ModeSiblings, 0); found {
		t.Fatal("old value resurrected by a late replica")
	}
	// A write with the tombstone's context supersedes it.
	again := put(t, del, del.Context(), "again", "A")
	wantValues(t, again, "again")
	if isTomb(again) || again.Len() != 1 {
		t.Fatalf("tombstone not superseded: %+v", again)
	}
	// A delete concurrent with a write: the write is visible.
	w := put(t, v, v.Context(), "w", "A")
	wantValues(t, Sync(w, del), "w")
}

func TestLWW(t *testing.T) {
	lww := func(local *Set, ctx Context, value string, ts int64, actor string) *Set {
		s, err := Update(local, ctx, Write{Value: []byte(value), Timestamp: ts, Mode: ModeLWW}, actor, ts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := lww(nil, Context{}, "early", 10, "A")
	b := lww(nil, Context{}, "late", 20, "B")
	merged := Sync(a, b)
	vals, found := merged.Live(ModeLWW, 0)
	if !found || len(vals) != 1 || string(vals[0].Value) != "late" {
		t.Fatalf("LWW read = %v", vals)
	}
	// The same merged set in siblings mode shows both: LWW loses "early".
	wantValues(t, merged, "early", "late")
	// An LWW write discards everything its coordinator knows, context or not.
	c := lww(merged, Context{}, "third", 5, "A")
	wantValues(t, c, "third")
	// Ties on timestamp break by dot, deterministically on every node.
	x := lww(nil, Context{}, "x", 7, "A")
	y := lww(nil, Context{}, "y", 7, "B")
	w1, _ := Sync(x, y).Winner()
	w2, _ := Sync(y, x).Winner()
	if string(w1.Value) != "y" || string(w2.Value) != "y" {
		t.Fatalf("tie winners %q %q, want y", w1.Value, w2.Value)
	}
	// An LWW tombstone with the greatest timestamp reads as not found.
	d, err := Update(merged, Context{}, Write{Tombstone: true, Timestamp: 30, Mode: ModeLWW}, "A", 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, found := d.Live(ModeLWW, 0); found {
		t.Fatal("LWW delete still found")
	}
}

func TestUpdateErrors(t *testing.T) {
	if _, err := Update(nil, Context{}, Write{Value: []byte("v")}, "", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty actor: %v", err)
	}
	if _, err := Update(nil, Context{}, Write{Value: []byte("v"), Tombstone: true}, "A", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tombstone with value: %v", err)
	}
	bad := Context{Clock: Clock{{Actor: "B", Counter: 1}, {Actor: "A", Counter: 1}}}
	if _, err := Update(nil, bad, Write{}, "A", 0); !errors.Is(err, ErrBadContext) {
		t.Fatalf("unsorted context: %v", err)
	}
	if _, err := Update(nil, Context{Clock: Clock{{Actor: "A"}}}, Write{}, "A", 0); !errors.Is(err, ErrBadContext) {
		t.Fatalf("zero counter: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	cases := map[string]struct {
		c Clock
		s []Sibling
	}{
		"uncovered dot":   {Clock{{Actor: "A", Counter: 1}}, []Sibling{{Dot: Dot{"A", 2}}}},
		"duplicate dot":   {Clock{{Actor: "A", Counter: 2}}, []Sibling{{Dot: Dot{"A", 2}}, {Dot: Dot{"A", 2}, Value: []byte("x")}}},
		"no dot":          {Clock{{Actor: "A", Counter: 2}}, []Sibling{{}}},
		"duplicate actor": {Clock{{Actor: "A", Counter: 1}, {Actor: "A", Counter: 2}}, nil},
		"empty actor":     {Clock{{Counter: 1}}, nil},
		"valued tomb":     {Clock{{Actor: "A", Counter: 1}}, []Sibling{{Dot: Dot{"A", 1}, Tombstone: true, Value: []byte("x")}}},
	}
	for name, c := range cases {
		if _, err := New(c.c, c.s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", name, err)
		}
	}
	s, err := New(Clock{{Actor: "B", Counter: 1}, {Actor: "A", Counter: 3}}, []Sibling{{Dot: Dot{"B", 1}}, {Dot: Dot{"A", 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Clock()[0].Actor != "A" || s.Siblings()[0].Dot.Actor != "A" {
		t.Fatal("New must sort clock and siblings")
	}
}

// isTomb reports a set of tombstones only.
func isTomb(s *Set) bool { _, dead := s.DeadSince(0); return dead }
