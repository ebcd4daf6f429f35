package version

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

// The oracle: full causal histories, the model that DVV sets compress. Each
// write is an event with the set of events its context had seen (its past).
// A replica holds the set of events it has seen; its live values are the
// events in that set that are in no other seen event's past.
type oracle struct {
	past map[string]map[string]bool // event -> its past
}

func (o *oracle) live(seen map[string]bool) []string {
	var out []string
	for e := range seen {
		dominated := false
		for f := range seen {
			if o.past[f][e] {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

type snapshot struct {
	ctx  Context
	seen map[string]bool
	// via is the coordinator of the put whose returned context this is
	// (-1 for a read's context).
	via int
}

type history struct {
	sets   []*Set
	seen   []map[string]bool
	reads  []snapshot
	puts   []snapshot // puts' returned contexts (WriterContext)
	states []*Set     // every state reached, for the law tests
}

// runHistory drives replicas through random writes (siblings mode, some
// deletes), reads and pairwise syncs, checking after every step that each
// replica's siblings are exactly the oracle's live events and that its clock
// covers exactly the events it has seen.
func runHistory(t *testing.T, rng *rand.Rand, replicas, steps int) *history {
	t.Helper()
	o := &oracle{past: map[string]map[string]bool{}}
	h := &history{sets: make([]*Set, replicas), seen: make([]map[string]bool, replicas)}
	actors := make([]string, replicas)
	for i := range actors {
		actors[i] = fmt.Sprintf("n%d@%d", i, rng.IntN(3))
		h.seen[i] = map[string]bool{}
	}
	actors[replicas-1] = actors[0] + "x" // actor ids are arbitrary strings
	dotOf := map[string]Dot{}
	for step := 0; step < steps; step++ {
		switch op := rng.IntN(10); {
		case op < 4: // write through coordinator j with some earlier read's context, or with an earlier put's returned context through that put's coordinator
			j := rng.IntN(replicas)
			snap := snapshot{seen: map[string]bool{}, via: -1}
			switch k := rng.IntN(10); {
			case k < 3 && len(h.puts) > 0:
				snap = h.puts[rng.IntN(len(h.puts))]
				j = snap.via
			case k < 8 && len(h.reads) > 0:
				snap = h.reads[rng.IntN(len(h.reads))]
			}
			id := fmt.Sprintf("w%d", step)
			w := Write{Value: []byte(id), Timestamp: int64(step)}
			if rng.IntN(6) == 0 {
				w = Write{Tombstone: true, Timestamp: int64(step)}
			}
			s, err := Update(h.sets[j], snap.ctx, w, actors[j], int64(step))
			if err != nil {
				t.Fatal(err)
			}
			h.sets[j] = s
			o.past[id] = snap.seen
			h.seen[j] = union(union(h.seen[j], snap.seen), map[string]bool{id: true})
			for _, sib := range s.Siblings() {
				if sib.Timestamp == int64(step) {
					dotOf[id] = sib.Dot
				}
			}
			// What the put returns covers what its writer saw and the
			// version written; the whole clock (everything j has seen)
			// when that version is the only sibling left.
			ret := snapshot{ctx: WriterContext(s, snap.ctx, dotOf[id]), seen: union(snap.seen, map[string]bool{id: true}), via: j}
			if s.Len() == 1 {
				ret.seen = h.seen[j]
			}
			h.puts = append(h.puts, ret)
		case op < 7: // replicate i -> j
			i, j := rng.IntN(replicas), rng.IntN(replicas)
			h.sets[j] = Sync(h.sets[j], h.sets[i])
			h.seen[j] = union(h.seen[j], h.seen[i])
		default: // a client reads replica i (a single-replica read)
			i := rng.IntN(replicas)
			h.reads = append(h.reads, snapshot{ctx: h.sets[i].Context(), seen: h.seen[i], via: -1})
		}
		for r := range replicas {
			var got []string
			for _, sib := range h.sets[r].Siblings() {
				if sib.Tombstone {
					got = append(got, fmt.Sprintf("w%d", sib.Timestamp))
				} else {
					got = append(got, string(sib.Value))
				}
			}
			slices.Sort(got)
			if want := o.live(h.seen[r]); !slices.Equal(got, want) {
				t.Fatalf("step %d replica %d: siblings %v, causal-history oracle says %v", step, r, got, want)
			}
			for e := range dotOf {
				if h.sets[r].Clock().Covers(dotOf[e]) != h.seen[r][e] {
					t.Fatalf("step %d replica %d: clock %v covers %s=%v, seen=%v", step, r, h.sets[r].Clock(), e, dotOf[e], h.seen[r][e])
				}
			}
			h.states = append(h.states, h.sets[r])
		}
	}
	return h
}

func TestRandomHistoriesMatchCausalOracle(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		runHistory(t, rng, 2+rng.IntN(4), 60)
	}
}

func TestSyncIsASemilattice(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 100 {
		h := runHistory(t, rng, 2+rng.IntN(3), 40)
		pick := func() *Set { return h.states[rng.IntN(len(h.states))] }
		for range 50 {
			a, b, c := pick(), pick(), pick()
			if !Equal(Sync(a, b), Sync(b, a)) {
				t.Fatalf("not commutative:\na=%+v\nb=%+v", a, b)
			}
			if !Equal(Sync(Sync(a, b), c), Sync(a, Sync(b, c))) {
				t.Fatalf("not associative:\na=%+v\nb=%+v\nc=%+v", a, b, c)
			}
			if !Equal(Sync(a, a), a) {
				t.Fatalf("not idempotent: %+v", a)
			}
			// Descends is exactly "merging changes nothing".
			if Descends(a, b) != Equal(Sync(a, b), a) {
				t.Fatalf("Descends(a,b)=%v but Sync(a,b)==a is %v\na=%+v\nb=%+v", Descends(a, b), !Descends(a, b), a, b)
			}
			if !Descends(Sync(a, b), a) || !Descends(Sync(a, b), b) {
				t.Fatal("a merge must descend both sides")
			}
			if Digest(Sync(a, b)) != Digest(Sync(b, a)) {
				t.Fatal("equal sets must have equal digests")
			}
		}
	}
}
