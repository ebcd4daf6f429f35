package reap_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/version"
)

// The small world of the exhaustive tests: partition primaries a (the
// coordinator), b and c. a's vnode runs as a2 and ran as a1 before; b's ran
// as b0 (its current id never coordinated these keys); x is a node that is
// no primary (it left, or the ring moved).
const (
	a1 = "a@0000000000000001"
	a2 = "a@0000000000000002"
	b0 = "b@00000000000000b0"
	x  = "x@00000000000000ff"
)

var (
	actors = []string{a1, a2, b0, x}
	owners = []string{"a", "b", "c"}
)

const (
	nowMs     = int64(1_800_000_000_000)
	nowNs     = nowMs * int64(time.Millisecond)
	hour      = int64(time.Hour / time.Millisecond)
	grace     = time.Hour
	minAgeMs  = 24 * hour
	oldTsNs   = (nowMs - 2*hour) * int64(time.Millisecond) // older than grace
	youngTsNs = (nowMs - hour/60) * int64(time.Millisecond)
	oldEntry  = nowMs - 2*minAgeMs
	newEntry  = nowMs - hour
)

func policy(keep int) reap.Policy {
	return reap.Policy{Grace: grace, Prune: version.PrunePolicy{KeepEntries: keep, MinAgeMs: minAgeMs}}
}

// universe enumerates every set over the four actors where each actor is
// absent or present with counter 1 or 2, its entry old or recent, and a
// sibling at its counter that is absent, a value, an old or a young
// tombstone: 17^4 = 83,521 sets.
func universe(yield func(*version.Set) bool) {
	type choice struct {
		counter uint64
		old     bool
		sib     int // 0 none, 1 value, 2 old tombstone, 3 young tombstone
	}
	var opts []choice
	opts = append(opts, choice{}) // absent
	for _, c := range []uint64{1, 2} {
		for _, old := range []bool{true, false} {
			for sib := range 4 {
				opts = append(opts, choice{c, old, sib})
			}
		}
	}
	idx := make([]int, len(actors))
	for {
		var clock version.Clock
		var sibs []version.Sibling
		for i, a := range actors {
			ch := opts[idx[i]]
			if ch.counter == 0 {
				continue
			}
			e := version.Entry{Actor: a, Counter: ch.counter, UpdatedMs: newEntry}
			if ch.old {
				e.UpdatedMs = oldEntry
			}
			clock = append(clock, e)
			d := version.Dot{Actor: a, Counter: ch.counter}
			switch ch.sib {
			case 1:
				sibs = append(sibs, version.Sibling{Dot: d, Value: []byte("v-" + a), Timestamp: oldTsNs})
			case 2:
				sibs = append(sibs, version.Sibling{Dot: d, Tombstone: true, Timestamp: oldTsNs})
			case 3:
				sibs = append(sibs, version.Sibling{Dot: d, Tombstone: true, Timestamp: youngTsNs})
			}
		}
		s, err := version.New(clock, sibs)
		if err != nil {
			panic(err)
		}
		if !yield(s) {
			return
		}
		i := 0
		for ; i < len(idx); i++ {
			if idx[i]++; idx[i] < len(opts) {
				break
			}
			idx[i] = 0
		}
		if i == len(idx) {
			return
		}
	}
}

// droppable lists the entries a prune may drop given every retired actor of
// the world: retired on its vnode's word (a1, b0), old enough, needed by no
// sibling. The oracle, computed apart from the package.
func droppable(s *version.Set) []string {
	var out []string
	for _, e := range s.Clock() {
		if e.Actor != a1 && e.Actor != b0 {
			continue
		}
		if nowMs-e.UpdatedMs < minAgeMs {
			continue
		}
		if slices.ContainsFunc(s.Siblings(), func(sib version.Sibling) bool { return sib.Dot.Actor == e.Actor }) {
			continue
		}
		out = append(out, e.Actor)
	}
	return out
}

func isOldTombstone(s *version.Set) bool {
	sibs := s.Siblings()
	if len(sibs) == 0 {
		return false
	}
	for _, sib := range sibs {
		if !sib.Tombstone || sib.Timestamp > nowNs-int64(grace) {
			return false
		}
	}
	return true
}

func live(s *version.Set) []string {
	vals, _ := s.Live(version.ModeSiblings, 0)
	var out []string
	for _, v := range vals {
		out = append(out, string(v.Value))
	}
	return out
}

func candidate(s *version.Set, kind reap.Kind) reap.Candidate {
	d := version.Digest(s)
	return reap.Candidate{Key: []byte("k"), Digest: d[:], Set: s, Kind: kind}
}

// Every small set, every quorum of answers: Classify and Plan delete only
// old tombstones every primary holds, prune only entries of retired, old,
// unneeded actors down to KeepEntries, never touch a key a primary holds
// otherwise, never hide a prunable key, and a pruned set is at rest (a
// second pass does nothing) and converges with its unpruned copy by merge.
func TestPlanExhaustive(t *testing.T) {
	held := [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}}
	var sets, deletes, prunes int
	universe(func(s *version.Set) bool {
		sets++
		for keep := 1; keep <= 2; keep++ {
			p := policy(keep)
			kind := reap.Classify(s, p, owners, nowNs)
			drop := droppable(s)
			n := len(s.Clock())
			// Classify's verdicts.
			switch {
			case isOldTombstone(s):
				if kind != reap.Tombstone {
					t.Fatalf("%v: an old tombstone classified %v", s, kind)
				}
			case kind == reap.Tombstone:
				t.Fatalf("%v: classified a tombstone, but it is not an old one", s)
			case n > keep && len(drop) > 0 && kind != reap.Prune:
				t.Fatalf("keep %d, %v: a prunable clock classified %v", keep, s, kind)
			}
			for _, h := range held {
				answers := []reap.Answer{
					{Node: "a", Held: []bool{true}, Retired: retiredOf(s, "a", a2)},
					{Node: "b", Held: []bool{h[0]}, Retired: retiredOf(s, "b", "b@00000000000000b1")},
					{Node: "c", Held: []bool{h[1]}, Retired: retiredOf(s, "c", "c@00000000000000c1")},
				}
				items, err := reap.Plan([]reap.Candidate{candidate(s, kind)}, answers, p, nowMs)
				if err != nil {
					t.Fatal(err)
				}
				all := h[0] && h[1]
				if !all || kind == reap.None {
					if len(items) != 0 {
						t.Fatalf("keep %d, held %v, kind %v, %v: planned %v", keep, h, kind, s, items)
					}
					continue
				}
				if kind == reap.Tombstone {
					d := version.Digest(s)
					if len(items) != 1 || items[0].Set != nil || !bytes.Equal(items[0].Digest, d[:]) || string(items[0].Key) != "k" {
						t.Fatalf("%v: a held old tombstone planned %v, want one delete", s, items)
					}
					deletes++
					continue
				}
				// A prune.
				want := min(len(drop), n-keep)
				if want <= 0 {
					if len(items) != 0 {
						t.Fatalf("keep %d, %v: nothing to drop, planned %v", keep, s, items)
					}
					continue
				}
				if len(items) != 1 || items[0].Set == nil {
					t.Fatalf("keep %d, %v: want one replacement dropping %d, planned %v", keep, s, want, items)
				}
				prunes++
				checkPrune(t, s, items[0], keep, drop, want)
			}
		}
		return true
	})
	t.Logf("%d sets, %d deletes and %d prunes planned and checked", sets, deletes, prunes)
	if deletes == 0 || prunes == 0 {
		t.Fatal("the world produced no delete or no prune: the test checked nothing")
	}
}

// retiredOf is what node's vnode, running as current, reports for s.
func retiredOf(s *version.Set, node, current string) []string { return reap.Retired(s, node, current) }

func checkPrune(t *testing.T, s *version.Set, it reap.Item, keep int, drop []string, want int) {
	t.Helper()
	p := it.Set
	if it.Pruned != want || len(p.Clock()) != len(s.Clock())-want {
		t.Fatalf("keep %d, %v: pruned %d entries (%v), want %d", keep, s, it.Pruned, p.Clock(), want)
	}
	if !reap.IsPruneOf(s, p, a2) {
		t.Fatalf("%v -> %v: the replacement is not a prune of the stored set", s, p)
	}
	for _, e := range s.Clock() {
		if p.Clock().Get(e.Actor) == 0 && !slices.Contains(drop, e.Actor) {
			t.Fatalf("%v -> %v: dropped %s, which is current, a non-primary's, recent or needed", s, p, e.Actor)
		}
	}
	// Oldest first: a kept droppable entry is not older than a dropped one.
	for _, d := range s.Clock() {
		if p.Clock().Get(d.Actor) != 0 {
			continue
		}
		for _, k := range p.Clock() {
			if slices.Contains(drop, k.Actor) && k.UpdatedMs < d.UpdatedMs {
				t.Fatalf("%v -> %v: kept %s, older than the dropped %s", s, p, k.Actor, d.Actor)
			}
		}
	}
	// Nothing a read shows changes; the siblings are the same.
	if !slices.Equal(live(s), live(p)) || !slices.EqualFunc(s.Siblings(), p.Siblings(), version.Sibling.Equal) {
		t.Fatalf("%v -> %v: siblings changed", s, p)
	}
	// A replica that missed the replacement and one that has it converge
	// by merge on the unpruned set, in either direction; the next pass
	// prunes it again to the same set.
	if !version.Equal(version.Sync(s, p), s) || !version.Equal(version.Sync(p, s), s) || !version.Descends(s, p) {
		t.Fatalf("%v and its prune %v do not merge to the unpruned set", s, p)
	}
	// At rest: a pass over the pruned set does nothing more.
	pol := policy(keep)
	kind := reap.Classify(p, pol, owners, nowNs)
	again, err := reap.Plan([]reap.Candidate{candidate(p, kind)}, []reap.Answer{
		{Node: "a", Held: []bool{true}, Retired: retiredOf(p, "a", a2)},
		{Node: "b", Held: []bool{true}, Retired: retiredOf(p, "b", "b@00000000000000b1")}, {Node: "c", Held: []bool{true}}}, pol, nowMs)
	if err != nil || len(again) != 0 {
		t.Fatalf("keep %d: a second pass over %v planned %v (%v): pruning would ping-pong", keep, p, again, err)
	}
}

// An actor is retired only on its own vnode's word: each primary (the
// coordinator included) names its own earlier incarnations, and a name of
// another node's actor counts for nothing. With b silent about b0, b0's
// entry stays.
func TestPlanPrunesOnlyWhatTheVnodesRetired(t *testing.T) {
	s := mustSet(t, version.Clock{
		{Actor: a1, Counter: 3, UpdatedMs: oldEntry}, {Actor: a2, Counter: 1, UpdatedMs: oldEntry},
		{Actor: b0, Counter: 2, UpdatedMs: oldEntry}, {Actor: x, Counter: 5, UpdatedMs: oldEntry},
	}, []version.Sibling{{Dot: version.Dot{Actor: a2, Counter: 1}, Value: []byte("v"), Timestamp: oldTsNs}})
	p := policy(1)
	c := []reap.Candidate{candidate(s, reap.Classify(s, p, owners, nowNs))}
	for _, tc := range []struct {
		name       string
		coord      []string
		bRetired   []string
		wantActors []string // left in the clock
	}{
		{"everyone speaks", []string{a1}, []string{b0}, []string{a2, x}},
		{"b silent", []string{a1}, nil, []string{a2, b0, x}},
		{"a silent", nil, []string{b0}, []string{a1, a2, x}},
		{"a claims b's actor", []string{a1, b0}, nil, []string{a2, b0, x}},
		{"c claims x's actor", nil, nil, []string{a1, a2, b0, x}},
	} {
		answers := []reap.Answer{{Node: "a", Held: []bool{true}, Retired: tc.coord}, {Node: "b", Held: []bool{true}, Retired: tc.bRetired}, {Node: "c", Held: []bool{true}}}
		if tc.name == "c claims x's actor" {
			answers[2].Retired = []string{x}
		}
		items, err := reap.Plan(c, answers, p, nowMs)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if len(items) == 0 {
			for _, e := range s.Clock() {
				got = append(got, e.Actor)
			}
		} else {
			for _, e := range items[0].Set.Clock() {
				got = append(got, e.Actor)
			}
		}
		if !slices.Equal(got, tc.wantActors) {
			t.Errorf("%s: clock %v, want %v", tc.name, got, tc.wantActors)
		}
	}
	if got := reap.Retired(s, "a", a2); !slices.Equal(got, []string{a1}) {
		t.Fatalf("Retired(a) = %v", got)
	}
	if got := reap.Retired(s, "b", "b@00000000000000b1"); !slices.Equal(got, []string{b0}) {
		t.Fatalf("Retired(b) = %v", got)
	}
}

func mustSet(t *testing.T, c version.Clock, sibs []version.Sibling) *version.Set {
	t.Helper()
	s, err := version.New(c, sibs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPlanRefusesAnswersThatDoNotFit(t *testing.T) {
	s := mustSet(t, version.Clock{{Actor: a2, Counter: 1}}, []version.Sibling{{Dot: version.Dot{Actor: a2, Counter: 1}, Tombstone: true, Timestamp: oldTsNs}})
	c := []reap.Candidate{candidate(s, reap.Tombstone)}
	if _, err := reap.Plan(c, []reap.Answer{{Node: "a", Held: []bool{true}}, {Node: "b", Held: []bool{true, true}}}, policy(10), nowMs); !errors.Is(err, reap.ErrInvalid) {
		t.Fatalf("an answer for 2 keys to a check of 1: %v", err)
	}
	// A candidate listed as a tombstone that is not one is never deleted.
	v := mustSet(t, version.Clock{{Actor: a2, Counter: 1}}, []version.Sibling{{Dot: version.Dot{Actor: a2, Counter: 1}, Value: []byte("v"), Timestamp: oldTsNs}})
	items, err := reap.Plan([]reap.Candidate{candidate(v, reap.Tombstone)}, []reap.Answer{{Node: "a", Held: []bool{true}}}, policy(10), nowMs)
	if err != nil || len(items) != 0 {
		t.Fatalf("a live value listed as a tombstone: %v %v", items, err)
	}
	// A zero policy plans nothing.
	if items, err := reap.Plan(c, []reap.Answer{{Node: "a", Held: []bool{true}}}, reap.Policy{}, nowMs); err != nil || len(items) != 0 {
		t.Fatalf("zero policy: %v %v", items, err)
	}
}

func TestIsPruneOf(t *testing.T) {
	sib := []version.Sibling{{Dot: version.Dot{Actor: a2, Counter: 2}, Value: []byte("v"), Timestamp: 1}}
	stored := mustSet(t, version.Clock{{Actor: a1, Counter: 3}, {Actor: a2, Counter: 2}, {Actor: b0, Counter: 1}}, sib)
	for _, tc := range []struct {
		name    string
		clock   version.Clock
		sibs    []version.Sibling
		current string
		want    bool
	}{
		{"drops a1", version.Clock{{Actor: a2, Counter: 2}, {Actor: b0, Counter: 1}}, sib, "b@00000000000000b1", true},
		{"identical", stored.Clock(), sib, "b@00000000000000b1", true},
		{"drops the replica's current actor", version.Clock{{Actor: a1, Counter: 3}, {Actor: a2, Counter: 2}}, sib, b0, false},
		{"lowers a counter", version.Clock{{Actor: a1, Counter: 2}, {Actor: a2, Counter: 2}, {Actor: b0, Counter: 1}}, sib, "", false},
		{"adds an entry", append(stored.Clock(), version.Entry{Actor: x, Counter: 1}), sib, "", false},
		{"changes a value", version.Clock{{Actor: a2, Counter: 2}}, []version.Sibling{{Dot: version.Dot{Actor: a2, Counter: 2}, Value: []byte("w"), Timestamp: 1}}, "", false},
		{"drops a sibling", version.Clock{{Actor: a2, Counter: 2}}, nil, "", false},
	} {
		r := mustSet(t, tc.clock, tc.sibs)
		if got := reap.IsPruneOf(stored, r, tc.current); got != tc.want {
			t.Errorf("%s: IsPruneOf = %v, want %v", tc.name, got, tc.want)
		}
	}
	if reap.IsPruneOf(nil, stored, "") || reap.IsPruneOf(stored, nil, "") {
		t.Fatal("a missing set is no prune")
	}
}

// The limit the design states (docs/design.md, "Pruning"): a pruned entry
// no longer covers the dots of its actor, so a version older than the prune
// that a primary never held (a hint, a stale copy elsewhere) comes back as a
// sibling. It can only be a version whose dot is of a dropped entry, and
// that entry had not advanced for MinAgeMs: the value is older than that.
func TestPruneHazardIsBoundedByMinAge(t *testing.T) {
	old := mustSet(t, version.Clock{{Actor: a1, Counter: 1, UpdatedMs: oldEntry}},
		[]version.Sibling{{Dot: version.Dot{Actor: a1, Counter: 1}, Value: []byte("old"), Timestamp: oldTsNs}})
	s, err := version.Update(old, old.Context(), version.Write{Value: []byte("new"), Timestamp: youngTsNs}, a2, newEntry)
	if err != nil {
		t.Fatal(err)
	}
	p := policy(1)
	items, err := reap.Plan([]reap.Candidate{candidate(s, reap.Classify(s, p, owners, nowNs))},
		[]reap.Answer{{Node: "a", Held: []bool{true}, Retired: []string{a1}}, {Node: "b", Held: []bool{true}}}, p, nowMs)
	if err != nil || len(items) != 1 {
		t.Fatalf("plan: %v %v", items, err)
	}
	pruned := items[0].Set
	if got := live(version.Sync(pruned, old)); !slices.Equal(got, []string{"old", "new"}) && !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("merging the pre-prune version: %v", got)
	}
	if got := live(version.Sync(s, old)); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("without the prune: %v", got)
	}
}

// An expired value is dead from its expiry: a key whose siblings are all
// dead is reaped once the latest death (a delete, an expiry) is older than
// the grace; a live sibling without a ttl keeps the key.
func TestExpiredKeysAreReapedAfterTheGrace(t *testing.T) {
	write := func(local *version.Set, w version.Write, actor string) *version.Set {
		s, err := version.Update(local, version.Context{}, w, actor, nowMs)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ttl := time.Minute
	// Expired 2 hours ago: past the grace.
	old := write(nil, version.Write{Value: []byte("v"), Timestamp: oldTsNs - int64(ttl), TTLNs: int64(ttl)}, a2)
	// Expired a minute ago, within the grace.
	young := write(nil, version.Write{Value: []byte("v"), Timestamp: nowNs - int64(2*ttl), TTLNs: int64(ttl)}, a2)
	// Not expired yet.
	live := write(nil, version.Write{Value: []byte("v"), Timestamp: oldTsNs, TTLNs: int64(3 * time.Hour)}, a2)
	// Expired long ago, beside a value without a ttl.
	mixed := version.Sync(old, write(nil, version.Write{Value: []byte("w"), Timestamp: oldTsNs}, b0))
	// Expired long ago, beside a delete within the grace.
	tomb := version.Sync(old, write(nil, version.Write{Tombstone: true, Timestamp: youngTsNs}, b0))
	cases := []struct {
		name string
		set  *version.Set
		want reap.Kind
	}{
		{"expired past the grace", old, reap.Tombstone},
		{"expired within the grace", young, reap.None},
		{"not expired", live, reap.None},
		{"beside a value without a ttl", mixed, reap.None},
		{"beside a young delete", tomb, reap.None},
	}
	for _, c := range cases {
		if got := reap.Classify(c.set, policy(0), owners, nowNs); got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
	d := version.Digest(old)
	cands := []reap.Candidate{{Key: []byte("k"), Digest: d[:], Set: old, Kind: reap.Tombstone}}
	items, err := reap.Plan(cands, []reap.Answer{{Node: "a", Held: []bool{true}}, {Node: "b", Held: []bool{true}}, {Node: "c", Held: []bool{true}}}, policy(0), nowMs)
	if err != nil || len(items) != 1 || items[0].Set != nil {
		t.Fatalf("Plan = %v, %v; want one delete", items, err)
	}
	// A replica missing it keeps the key.
	items, _ = reap.Plan(cands, []reap.Answer{{Node: "a", Held: []bool{true}}, {Node: "b", Held: []bool{false}}, {Node: "c", Held: []bool{true}}}, policy(0), nowMs)
	if len(items) != 0 {
		t.Fatalf("Plan reaped a key a primary does not hold identically: %v", items)
	}
	// A primary that has nothing of it (it reaped it already, or never
	// had it) holds no older version either: the key is reaped.
	items, _ = reap.Plan(cands, []reap.Answer{{Node: "a", Held: []bool{true}}, {Node: "b", Held: []bool{false}, Absent: []bool{true}}, {Node: "c", Held: []bool{true}}}, policy(0), nowMs)
	if len(items) != 1 {
		t.Fatalf("Plan did not reap a dead key a primary lacks: %v", items)
	}
}
