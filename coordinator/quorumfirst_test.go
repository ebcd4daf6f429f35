package coordinator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func readNodes(reads []Read) []string {
	out := make([]string, len(reads))
	for i, rd := range reads {
		out[i] = rd.Node
	}
	return out
}

func TestQuorumFirstAsksRTargetsOwnFirst(t *testing.T) {
	s := newSim(t, 5)
	route := s.route("k")
	nodes := make([]string, len(route.Targets))
	for i, tg := range route.Targets {
		nodes[i] = tg.Node
	}
	self := nodes[1]
	ask := func(opts GetOptions) []string {
		t.Helper()
		_, reads, err := newGet(route, []byte("k"), opts)
		if err != nil {
			t.Fatal(err)
		}
		return readNodes(reads)
	}
	if got := ask(GetOptions{R: 2, First: self}); !slices.Equal(got, nodes) {
		t.Errorf("QuorumFirst off: asked %v, want every target %v", got, nodes)
	}
	a := ask(GetOptions{R: 2, QuorumFirst: true, First: self})
	b := ask(GetOptions{R: 2, QuorumFirst: true, First: self, Spread: 1})
	if len(a) != 2 || len(b) != 2 || a[0] != self || b[0] != self || a[1] == b[1] {
		t.Errorf("R=2 from %s: asked %v and, spread by 1, %v; want %s first, then different replicas", self, a, b, self)
	}
	if got := ask(GetOptions{R: 3, QuorumFirst: true, First: self}); len(got) != 3 {
		t.Errorf("R=N: asked %v, want every target", got)
	}
	if got := ask(GetOptions{R: 1, QuorumFirst: true, First: "not-a-target"}); !slices.Equal(got, nodes[:1]) {
		t.Errorf("First not a target: asked %v, want %v (route order)", got, nodes[:1])
	}
	// A route with a fallback asks every target: a fallback's "not found"
	// needs the primaries' word.
	s.down[nodes[2]] = true
	sloppy := s.route("k")
	if _, reads, err := newGet(sloppy, []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: self}); err != nil || len(reads) != 3 {
		t.Errorf("route with a fallback: asked %v (%v), want all 3 targets", readNodes(reads), err)
	}
}

func TestQuorumFirstReplacesAFailedReplica(t *testing.T) {
	s := newSim(t, 3)
	s.put("node-01", "k", "v", nil, 3)
	g, reads, err := newGet(s.route("k"), []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: "node-01"})
	if err != nil || len(reads) != 2 {
		t.Fatalf("reads %v, %v", readNodes(reads), err)
	}
	r := g.Step(GetReplied{Node: reads[1].Node, Err: errors.New("disk on fire")})
	if r.Answer != nil {
		t.Fatalf("answered after a failure: %+v", r.Answer)
	}
	more := r.Reads
	if len(more) != 1 || slices.Contains(readNodes(reads), more[0].Node) {
		t.Fatalf("after a failure Reads = %v, want the target not asked yet", readNodes(more))
	}
	if m := g.Step(GetSpeculate{}).Reads; m != nil {
		t.Fatalf("a speculative retry asked %v again: every target was asked", readNodes(m))
	}
	var ans *GetAnswer
	for _, rd := range []Read{reads[0], more[0]} {
		set, _ := s.replicaGet(rd)
		if a, _ := getReply(g, rd.Node, set != nil, set, nil); a != nil {
			ans = a
		}
	}
	if ans == nil || ans.Err != nil || vals(ans) != `["v"]` || !g.done() {
		t.Fatalf("answer %+v, done %v", ans, g.done())
	}
}

func TestQuorumFirstSpeculates(t *testing.T) {
	s := newSim(t, 3)
	s.put("node-01", "k", "v", nil, 3)
	g, reads, _ := newGet(s.route("k"), []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: "node-01"})
	set, _ := s.replicaGet(reads[0])
	if a, _ := getReply(g, reads[0].Node, true, set, nil); a != nil {
		t.Fatalf("answered on one reply of R=2: %+v", a)
	}
	// reads[1] is slow: the speculative timer asks the third.
	spec := g.Step(GetSpeculate{}).Reads
	if len(spec) != 1 || slices.Contains(readNodes(reads), spec[0].Node) {
		t.Fatalf("Speculate() = %v, want the target not asked", readNodes(spec))
	}
	if again := g.Step(GetSpeculate{}).Reads; len(again) != 0 {
		t.Fatalf("Speculate() twice asked %v again", readNodes(again))
	}
	set, _ = s.replicaGet(spec[0])
	a, _ := getReply(g, spec[0].Node, true, set, nil)
	if a == nil || vals(a) != `["v"]` {
		t.Fatalf("answer %+v", a)
	}
	if g.done() {
		t.Fatal("done while the slow replica may still answer (its reply finds repairs)")
	}
	if out := g.outstanding(); !slices.Equal(out, []string{reads[1].Node}) {
		t.Fatalf("Outstanding() = %v, want the slow replica", out)
	}
	set, _ = s.replicaGet(reads[1])
	if _, reps := getReply(g, reads[1].Node, true, set, nil); len(reps) != 0 || !g.done() {
		t.Fatalf("repairs %v of equal replicas, done %v", reps, g.done())
	}
}

func TestQuorumFirstRepairsTheReplicasAsked(t *testing.T) {
	s := newSim(t, 3)
	owners := s.ring.Owners(s.route("k").Partition)
	s.stopped[owners[1]] = true
	s.put(owners[0], "k", "v1", nil, 2)
	s.stopped[owners[1]] = false
	// owners[1] missed the write. A read from owners[0] that asks
	// owners[1] repairs it; one that asks owners[2] does not ask it,
	// repairs nothing, and is done without it.
	branches := map[bool]bool{}
	for spread := range uint(2) {
		g, reads, _ := newGet(s.route("k"), []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: owners[0], Spread: spread})
		var repairs []Repair
		var ans *GetAnswer
		for _, rd := range reads {
			set, _ := s.replicaGet(rd)
			a, rp := getReply(g, rd.Node, set != nil, set, nil)
			if a != nil {
				ans = a
			}
			repairs = append(repairs, rp...)
		}
		if ans == nil || vals(ans) != `["v1"]` || !g.done() {
			t.Fatalf("spread %d: answer %+v, done %v", spread, ans, g.done())
		}
		asked := slices.Contains(readNodes(reads), owners[1])
		branches[asked] = true
		if want := map[bool]int{true: 1, false: 0}[asked]; len(repairs) != want || (asked && repairs[0].Node != owners[1]) {
			t.Fatalf("spread %d asked %v: repairs %+v", spread, readNodes(reads), repairs)
		}
	}
	if len(branches) != 2 {
		t.Fatalf("spreads 0 and 1 both asked owners[1]: %v (Spread does not rotate)", branches)
	}
}

func TestQuorumFirstDeadlineCountsOnlyTheAsked(t *testing.T) {
	s := newSim(t, 3)
	s.put("node-01", "k", "v", nil, 3)
	g, reads, _ := newGet(s.route("k"), []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: "node-01"})
	set, _ := s.replicaGet(reads[0])
	getReply(g, reads[0].Node, true, set, nil)
	if out := g.outstanding(); !slices.Equal(out, []string{reads[1].Node}) {
		t.Fatalf("Outstanding() = %v", out)
	}
	a, _ := getDeadline(g)
	if a == nil || a.Err == nil || a.Err.Error() != "read quorum: 1 of 2 replicas answered (2 asked: 1 timed out)" {
		t.Fatalf("deadline answer %+v", a)
	}
	if !g.done() || g.Step(GetSpeculate{}).Reads != nil {
		t.Fatalf("after the deadline: done %v", g.done())
	}
}

// TestQuorumFirstReadsSeeAckedWrites: with R+W > N, a read that asks only
// R replicas first still returns every write acked before it, whichever
// replica is slow. Seeded: the seed is printed.
func TestQuorumFirstReadsSeeAckedWrites(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	s := newSim(t, 4)
	s.quorumFirst = true
	names := []string{"node-01", "node-02", "node-03", "node-04"}
	last := map[string]string{}
	for i := range 400 {
		clear(s.stopped)
		if rng.IntN(2) == 0 {
			s.stopped[names[rng.IntN(len(names))]] = true
		}
		key := fmt.Sprintf("k%d", rng.IntN(20))
		via := names[rng.IntN(len(names))]
		if rng.IntN(2) == 0 {
			ctx := s.get(via, key, 2).Context
			val := fmt.Sprintf("v%d", i)
			if w := s.put(via, key, val, ctx, 2); w.Err == nil {
				last[key] = val
			}
			continue
		}
		a := s.get(via, key, 2)
		if a.Err != nil {
			t.Fatalf("op %d: get %s via %s: %v", i, key, via, a.Err)
		}
		want, written := last[key]
		if written && !slices.ContainsFunc(a.Values, func(v []byte) bool { return string(v) == want }) {
			t.Fatalf("op %d: get %s via %s (stopped %v) = %q, missing the acked %q", i, key, via, s.stopped, a.Values, want)
		}
		if !written && a.Found {
			t.Fatalf("op %d: get %s found %q before any write", i, key, a.Values)
		}
	}
}
