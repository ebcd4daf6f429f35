package antientropy_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/version"
)

func mustUpdate(t *testing.T, local *version.Set, ctx version.Context, w version.Write, actor string) *version.Set {
	t.Helper()
	s, err := version.Update(local, ctx, w, actor, w.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func values(s *version.Set) []string {
	var out []string
	for _, sib := range s.Siblings() {
		if sib.Tombstone {
			out = append(out, "<tombstone>")
		} else {
			out = append(out, string(sib.Value))
		}
	}
	slices.Sort(out)
	return out
}

func resolve(t *testing.T, l, r *version.Set, wantL, wantR bool) *version.Set {
	t.Helper()
	m, wl, wr := antientropy.Resolve(l, r, [2]bool{}, antientropy.Reclaim{})
	if m == nil {
		t.Fatal("Resolve returned a nil merged set")
	}
	if wl != wantL || wr != wantR {
		t.Fatalf("Resolve(%v, %v) writes local=%v remote=%v, want %v %v", values(l), values(r), wl, wr, wantL, wantR)
	}
	// The merge is the same whichever side is called local.
	m2, wr2, wl2 := antientropy.Resolve(r, l, [2]bool{}, antientropy.Reclaim{})
	if wl2 != wl || wr2 != wr || !version.Equal(m, m2) {
		t.Fatalf("Resolve is not symmetric: %v/%v/%v vs %v/%v/%v", values(m), wl, wr, values(m2), wl2, wr2)
	}
	if !version.Descends(m, l) || !version.Descends(m, r) {
		t.Fatalf("merged %v does not descend %v and %v", values(m), values(l), values(r))
	}
	return m
}

func TestResolveEmpty(t *testing.T) {
	for _, c := range []struct {
		name string
		l, r *version.Set
	}{{"nil/nil", nil, nil}, {"empty/nil", &version.Set{}, nil}, {"nil/empty", nil, &version.Set{}}, {"empty/empty", &version.Set{}, &version.Set{}}} {
		m := resolve(t, c.l, c.r, false, false)
		if !m.IsEmpty() || m.Len() != 0 {
			t.Fatalf("%s: merged %+v, want empty", c.name, m)
		}
	}
}

func TestResolveOneSide(t *testing.T) {
	s := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "A")
	tomb := mustUpdate(t, s, s.Context(), version.Write{Tombstone: true, Timestamp: 2}, "A")
	for _, present := range []*version.Set{s, tomb} {
		m := resolve(t, present, nil, false, true)
		if version.Digest(m) != version.Digest(present) {
			t.Fatalf("merged %v, want the only side's %v", values(m), values(present))
		}
		resolve(t, nil, present, true, false)
		// An empty (not nil) set also lacks the key.
		resolve(t, present, &version.Set{}, false, true)
		resolve(t, &version.Set{}, present, true, false)
	}
}

func TestResolveEqual(t *testing.T) {
	s := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "A")
	resolve(t, s, s, false, false)
	// Equal sets built separately, even with different wall times in the
	// clock (pruning metadata, not part of the digest).
	a := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "A")
	b, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "A", 999)
	if err != nil {
		t.Fatal(err)
	}
	resolve(t, a, b, false, false)
	// Two siblings, same on both sides.
	c := mustUpdate(t, a, version.Context{}, version.Write{Value: []byte("w"), Timestamp: 2}, "B")
	d := version.Sync(mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("w"), Timestamp: 2}, "B"), b)
	resolve(t, c, d, false, false)
}

func TestResolveConcurrent(t *testing.T) {
	base := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("base"), Timestamp: 1}, "A")
	l := mustUpdate(t, base, base.Context(), version.Write{Value: []byte("l"), Timestamp: 2}, "A")
	r := mustUpdate(t, base, base.Context(), version.Write{Value: []byte("r"), Timestamp: 3}, "B")
	m := resolve(t, l, r, true, true)
	if got := values(m); !slices.Equal(got, []string{"l", "r"}) {
		t.Fatalf("merged siblings %q, want both writes", got)
	}
	if version.Descends(l, r) || version.Descends(r, l) {
		t.Fatal("test setup: sets are not concurrent")
	}
	// A delete concurrent with a write keeps both.
	d := mustUpdate(t, base, base.Context(), version.Write{Tombstone: true, Timestamp: 2}, "A")
	m = resolve(t, d, r, true, true)
	if got := values(m); !slices.Equal(got, []string{"<tombstone>", "r"}) {
		t.Fatalf("merged siblings %q", got)
	}
	// Siblings already present on one side are kept, new ones added.
	l2 := mustUpdate(t, l, version.Context{}, version.Write{Value: []byte("l2"), Timestamp: 4}, "C") // blind: sibling of l
	m = resolve(t, l2, r, true, true)
	if got := values(m); !slices.Equal(got, []string{"l", "l2", "r"}) {
		t.Fatalf("merged siblings %q", got)
	}
}

func TestResolveStaleSide(t *testing.T) {
	old := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("old"), Timestamp: 1}, "A")
	newer := mustUpdate(t, old, old.Context(), version.Write{Value: []byte("new"), Timestamp: 2}, "B")
	m := resolve(t, old, newer, true, false)
	if version.Digest(m) != version.Digest(newer) || !slices.Equal(values(m), []string{"new"}) {
		t.Fatalf("merged %v, want the newer side", values(m))
	}
	resolve(t, newer, old, false, true)
	// A delete that saw the value wins over it.
	tomb := mustUpdate(t, old, old.Context(), version.Write{Tombstone: true, Timestamp: 3}, "A")
	m = resolve(t, old, tomb, true, false)
	if _, dead := m.DeadSince(0); !dead {
		t.Fatalf("merged %v, want the tombstone", values(m))
	}
	// Resolving two siblings with a write that supersedes one of them only.
	a := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("a"), Timestamp: 1}, "A")
	ab := version.Sync(a, mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("b"), Timestamp: 1}, "B"))
	a2 := mustUpdate(t, ab, a.Context(), version.Write{Value: []byte("a2"), Timestamp: 2}, "A") // keeps b
	m = resolve(t, ab, a2, true, false)
	if got := values(m); !slices.Equal(got, []string{"a2", "b"}) {
		t.Fatalf("merged %q", got)
	}
}

// Random histories: Resolve writes exactly the sides whose digest differs
// from the merge (or that lack the key), the merge descends both, and a
// repair applied as Resolve says is idempotent.
func TestResolveRandom(t *testing.T) {
	rng, _ := testseed.New(t)
	h := &history{rng: rng}
	for range 3000 {
		l, r := h.key(t)
		m, wl, wr := antientropy.Resolve(l, r, [2]bool{}, antientropy.Reclaim{})
		if !version.Descends(m, l) || !version.Descends(m, r) {
			t.Fatalf("merged %+v does not descend %+v and %+v", m, l, r)
		}
		if !version.Equal(m, version.Sync(r, l)) {
			t.Fatalf("merged %+v is not the merge", m)
		}
		md := version.Digest(m)
		stale := func(s *version.Set) bool {
			if m.IsEmpty() {
				return false
			}
			if s == nil {
				return true
			}
			d := version.Digest(s)
			return !bytes.Equal(d[:], md[:])
		}
		if wl != stale(l) || wr != stale(r) {
			t.Fatalf("writes local=%v remote=%v for\nlocal  %+v\nremote %+v\nmerged %+v", wl, wr, l, r, m)
		}
		nl, nr := l, r
		if wl {
			nl = m
		}
		if wr {
			nr = m
		}
		if m2, wl2, wr2 := antientropy.Resolve(nl, nr, [2]bool{}, antientropy.Reclaim{}); wl2 || wr2 || !version.Equal(m2, m) {
			t.Fatalf("a second repair writes again (%v, %v): %+v", wl2, wr2, m2)
		}
		// Repeating a repair against a side that has since moved on is
		// harmless: the newer write survives.
		if !m.IsEmpty() {
			later := h.write(t, m, m.Context(), "L", false)
			m3, wl3, wr3 := antientropy.Resolve(later, m, [2]bool{}, antientropy.Reclaim{})
			if wl3 || !wr3 || version.Digest(m3) != version.Digest(later) {
				t.Fatalf("stale repair over a newer write: merged %+v, writes %v %v", m3, wl3, wr3)
			}
		}
	}
}

// A key dead for longer than the grace that one side lacks is written to
// it only when that side's reap passes cover the partition (so that they
// see it); any other replica that lacks it reaped it, or never needed it.
// Where both sides hold it, and for a key dead within the grace or live,
// the merge is written as any other.
func TestResolveDoesNotGiveBackAReclaimedKey(t *testing.T) {
	const grace = time.Hour
	now := int64(10 * time.Hour)
	old := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: int64(time.Hour), TTLNs: int64(time.Minute)}, "A")
	young := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: now - int64(2*time.Minute), TTLNs: int64(time.Minute)}, "A")
	live := mustUpdate(t, nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: int64(time.Hour)}, "A")
	delOld := mustUpdate(t, live, live.Context(), version.Write{Tombstone: true, Timestamp: int64(time.Hour)}, "A")
	localReaps, remoteReaps := [2]bool{true, false}, [2]bool{false, true}
	cases := []struct {
		name          string
		local, remote *version.Set
		reaps         [2]bool
		wantL, wantR  bool
	}{
		{"expired long ago, local reaps, remote lacks it", old, nil, localReaps, false, false},
		{"expired long ago, neither reaps, remote lacks it", old, nil, [2]bool{}, false, false},
		{"expired long ago, remote reaps, local lacks it", nil, old, remoteReaps, false, false},
		{"deleted long ago, local reaps, remote lacks it", delOld, nil, localReaps, false, false},
		{"expired long ago, remote reaps and lacks it", old, nil, remoteReaps, false, true},
		{"deleted long ago, local reaps and lacks it", nil, delOld, localReaps, true, false},
		{"expired within the grace", young, nil, localReaps, false, true},
		{"live", live, nil, localReaps, false, true},
		{"deleted long ago, remote holds the value", delOld, live, localReaps, false, true},
	}
	for _, c := range cases {
		_, wl, wr := antientropy.Resolve(c.local, c.remote, [2]bool{c.local != nil, c.remote != nil}, antientropy.Reclaim{NowNs: now, GraceNs: int64(grace), Reaps: c.reaps})
		if wl != c.wantL || wr != c.wantR {
			t.Errorf("%s: writes local=%v remote=%v, want %v %v", c.name, wl, wr, c.wantL, c.wantR)
		}
	}
	// Grace 0 (no reaping): everything is written.
	if _, _, wr := antientropy.Resolve(old, nil, [2]bool{true, false}, antientropy.Reclaim{NowNs: now, Reaps: localReaps}); !wr {
		t.Error("with grace 0 a dead key was not written")
	}
	// A side that holds the key but reads nothing (its copy is corrupt)
	// does not lack it: it is written the merge.
	if _, _, wr := antientropy.Resolve(old, nil, [2]bool{true, true}, antientropy.Reclaim{NowNs: now, GraceNs: int64(grace), Reaps: localReaps}); !wr {
		t.Error("a corrupt copy of a reclaimable key was not replaced")
	}
}
