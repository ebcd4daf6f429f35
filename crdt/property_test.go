package crdt

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

// The property tests run random histories over a few replicas, each with
// its own actor id, and compare every replica with a model that keeps whole
// causal histories: the set of events a replica has seen. In the model an
// element is present when some add of it seen is not undone by a remove
// seen that observed that add: exactly the add-wins OR-Set's meaning.

type event struct {
	add     bool
	elem    string
	removes map[int]bool // for a remove: the adds of elem it observed
}

type model struct {
	events []event
}

func (m *model) present(h map[int]bool) []string {
	removed := map[int]bool{}
	for id := range h {
		for a := range m.events[id].removes {
			removed[a] = true
		}
	}
	set := map[string]bool{}
	for id := range h {
		if e := m.events[id]; e.add && !removed[id] {
			set[e.elem] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// visibleAdds are the adds of elem present in history h.
func (m *model) visibleAdds(h map[int]bool, elem string) map[int]bool {
	removed := map[int]bool{}
	for id := range h {
		for a := range m.events[id].removes {
			removed[a] = true
		}
	}
	out := map[int]bool{}
	for id := range h {
		if e := m.events[id]; e.add && e.elem == elem && !removed[id] {
			out[id] = true
		}
	}
	return out
}

type replica struct {
	actor string
	set   *ORSet
	hist  map[int]bool
}

var universe = []string{"banana", "apple", "milk", "bread", "eggs"}

// history runs steps random operations over n replicas and checks every
// replica against the model after each one. It returns every state reached
// (with duplicates), for the algebraic laws.
func history(t *testing.T, rng *rand.Rand, n, steps int) []*ORSet {
	t.Helper()
	m := &model{}
	rs := make([]*replica, n)
	for i := range rs {
		rs[i] = &replica{actor: fmt.Sprintf("r%d", i), set: NewORSet(), hist: map[int]bool{}}
	}
	var states []*ORSet
	for step := range steps {
		r := rs[rng.IntN(n)]
		switch k := rng.IntN(10); {
		case k < 4: // add
			elem := universe[rng.IntN(len(universe))]
			if _, err := r.set.Add(r.actor, elem); err != nil {
				t.Fatal(err)
			}
			m.events = append(m.events, event{add: true, elem: elem})
			r.hist[len(m.events)-1] = true
		case k < 6: // remove
			elem := universe[rng.IntN(len(universe))]
			r.set.Remove(elem)
			m.events = append(m.events, event{elem: elem, removes: m.visibleAdds(r.hist, elem)})
			r.hist[len(m.events)-1] = true
		default: // merge another replica into r
			o := rs[rng.IntN(n)]
			r.set.Merge(o.set)
			maps.Copy(r.hist, o.hist)
		}
		for _, x := range rs {
			if got, want := x.set.Elements(), m.present(x.hist); !slices.Equal(got, want) {
				t.Fatalf("step %d: replica %s holds %v, the causal model says %v", step, x.actor, got, want)
			}
		}
		states = append(states, r.set.Clone())
	}
	return states
}

func TestORSetMatchesCausalModel(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		history(t, rng, 2+rng.IntN(3), 60)
	}
}

func TestORSetMergeIsAJoin(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 100 {
		states := history(t, rng, 2+rng.IntN(3), 40)
		pick := func() *ORSet { return states[rng.IntN(len(states))] }
		join := func(a, b *ORSet) *ORSet { c := a.Clone(); c.Merge(b); return c }
		for range 50 {
			a, b, c := pick(), pick(), pick()
			if ab, ba := join(a, b), join(b, a); !ab.Equal(ba) {
				t.Fatalf("not commutative:\na=%v\nb=%v\na⊔b=%v\nb⊔a=%v", dump(a), dump(b), dump(ab), dump(ba))
			}
			if l, r := join(join(a, b), c), join(a, join(b, c)); !l.Equal(r) {
				t.Fatalf("not associative:\na=%v\nb=%v\nc=%v\n(a⊔b)⊔c=%v\na⊔(b⊔c)=%v", dump(a), dump(b), dump(c), dump(l), dump(r))
			}
			if aa := join(a, a); !aa.Equal(a) {
				t.Fatalf("not idempotent:\na=%v\na⊔a=%v", dump(a), dump(aa))
			}
			// The merge function on encoded siblings agrees with Merge, in
			// any order.
			enc := MergeORSets([][]byte{a.Encode(), b.Encode(), c.Encode()})
			rev := MergeORSets([][]byte{c.Encode(), b.Encode(), a.Encode(), a.Encode()})
			if string(enc) != string(rev) || string(enc) != string(join(join(a, b), c).Encode()) {
				t.Fatalf("MergeORSets depends on the order of the siblings")
			}
			// Encoding is deterministic and round-trips.
			d, err := DecodeORSet(a.Encode())
			if err != nil || !d.Equal(a) || string(d.Encode()) != string(a.Encode()) {
				t.Fatalf("round trip of %v: %v, %v", dump(a), dump(d), err)
			}
		}
	}
}

// Concurrent adds, from any common past, all survive the merge of every
// replica in any order.
func TestORSetConcurrentAddsAllSurvive(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		base := NewORSet()
		for i := range rng.IntN(8) {
			elem := universe[rng.IntN(len(universe))]
			if rng.IntN(3) == 0 {
				base.Remove(elem)
			} else if _, err := base.Add(fmt.Sprintf("b%d", i%2), elem); err != nil {
				t.Fatal(err)
			}
		}
		n := 2 + rng.IntN(4)
		var sets []*ORSet
		added := map[string]bool{}
		for i := range n {
			s := base.Clone()
			elem := universe[rng.IntN(len(universe))]
			if _, err := s.Add(fmt.Sprintf("client%d", i), elem); err != nil {
				t.Fatal(err)
			}
			added[elem] = true
			sets = append(sets, s)
		}
		rng.Shuffle(len(sets), func(i, j int) { sets[i], sets[j] = sets[j], sets[i] })
		merged := NewORSet()
		for _, s := range sets {
			merged.Merge(s)
		}
		for elem := range added {
			if !merged.Contains(elem) {
				t.Fatalf("concurrent add of %q lost: merged %v", elem, dump(merged))
			}
		}
	}
}

func TestORSetAddConcurrentWithRemoveSurvives(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		// A common past where the element is present, seen by both.
		common := NewORSet()
		elem := universe[rng.IntN(len(universe))]
		for i := range 1 + rng.IntN(3) {
			if _, err := common.Add(fmt.Sprintf("c%d", i), elem); err != nil {
				t.Fatal(err)
			}
		}
		a, b := common.Clone(), common.Clone()
		if !a.Remove(elem) {
			t.Fatal("remove of a present element reported absent")
		}
		if _, err := b.Add("b", elem); err != nil {
			t.Fatal(err)
		}
		ab, ba := a.Clone(), b.Clone()
		ab.Merge(b)
		ba.Merge(a)
		if !ab.Contains(elem) || !ba.Contains(elem) {
			t.Fatalf("an add concurrent with a remove was lost: %v / %v", dump(ab), dump(ba))
		}
	}
}

func TestORSetRemoveOfObservedAddIsHonoured(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		a := NewORSet()
		elem := universe[rng.IntN(len(universe))]
		if _, err := a.Add("a", elem); err != nil {
			t.Fatal(err)
		}
		b := NewORSet()
		b.Merge(a) // b observes the add
		// Unrelated concurrent activity on other elements.
		for range rng.IntN(4) {
			other := universe[rng.IntN(len(universe))]
			if other == elem {
				continue
			}
			if _, err := a.Add("a", other); err != nil {
				t.Fatal(err)
			}
		}
		b.Remove(elem)
		for _, m := range []*ORSet{a.Clone(), b.Clone()} {
			m.Merge(a)
			m.Merge(b)
			if m.Contains(elem) {
				t.Fatalf("removed %q came back: %v", elem, dump(m))
			}
		}
	}
}

func dump(s *ORSet) string {
	if s == nil {
		return "<nil>"
	}
	out := "{"
	for i, e := range s.Elements() {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s%v", e, s.Dots(e))
	}
	keys := slices.Sorted(maps.Keys(s.clock))
	out += "} clock["
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s:%d", k, s.clock[k])
	}
	return out + "]"
}

// Counters: random increments and merges over replicas; each replica's
// value must be the sum of the deltas it has seen, and merges must be a
// join.
func TestCounterMatchesModelAndMergeIsAJoin(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 100 {
		n := 2 + rng.IntN(3)
		type rep struct {
			c    *Counter
			hist map[int]bool
		}
		var deltas []int64
		rs := make([]*rep, n)
		for i := range rs {
			rs[i] = &rep{c: NewCounter(), hist: map[int]bool{}}
		}
		var states []*Counter
		for range 50 {
			i := rng.IntN(n)
			r := rs[i]
			if rng.IntN(3) > 0 {
				d := rng.Int64N(2001) - 1000
				if err := r.c.Increment(fmt.Sprintf("r%d", i), d); err != nil {
					t.Fatal(err)
				}
				deltas = append(deltas, d)
				r.hist[len(deltas)-1] = true
			} else {
				o := rs[rng.IntN(n)]
				r.c.Merge(o.c)
				maps.Copy(r.hist, o.hist)
			}
			for _, x := range rs {
				var want int64
				for id := range x.hist {
					want += deltas[id]
				}
				if got, err := x.c.Value(); err != nil || got != want {
					t.Fatalf("value %d (%v), the model says %d", got, err, want)
				}
			}
			states = append(states, r.c.Clone())
		}
		join := func(a, b *Counter) *Counter { c := a.Clone(); c.Merge(b); return c }
		for range 50 {
			a, b, c := states[rng.IntN(len(states))], states[rng.IntN(len(states))], states[rng.IntN(len(states))]
			if !join(a, b).Equal(join(b, a)) {
				t.Fatal("counter merge not commutative")
			}
			if !join(join(a, b), c).Equal(join(a, join(b, c))) {
				t.Fatal("counter merge not associative")
			}
			if !join(a, a).Equal(a) {
				t.Fatal("counter merge not idempotent")
			}
			d, err := DecodeCounter(a.Encode())
			if err != nil || !d.Equal(a) {
				t.Fatalf("counter round trip: %v", err)
			}
			if string(MergeCounters([][]byte{a.Encode(), b.Encode()})) != string(MergeCounters([][]byte{b.Encode(), a.Encode()})) {
				t.Fatal("MergeCounters depends on the order of the siblings")
			}
		}
	}
}
