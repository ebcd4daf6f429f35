package coordinator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// setOf is a set holding one value written by actor.
func setOf(t testing.TB, actor, value string) *version.Set {
	t.Helper()
	s, err := version.Update(nil, version.Context{}, version.Write{Value: []byte(value)}, actor, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A fallback's "not found" must never outvote a
// primary's value. N=3, R=2: primary p1 lags (it missed the write), p2
// holds the value but is slow, p3 is down and fallback f stands in for it
// (it holds no hint). p1's and f's "not found" make R replies, but only one
// of them is a primary's: the read waits for p2 and answers with its value.
func TestFallbackNotFoundDoesNotOutvoteAPrimarysValue(t *testing.T) {
	rt := Route{Partition: 7, N: 3, Targets: []ring.Target{{Node: "p1"}, {Node: "p2"}, {Node: "f", HintOwner: "p3"}}}
	for _, qf := range []bool{false, true} {
		g, reads, err := newGet(rt, []byte("k"), GetOptions{R: 2, QuorumFirst: qf, First: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(reads) != 3 {
			t.Fatalf("quorum first %v: asked %v, want every target of a route with a fallback", qf, readNodes(reads))
		}
		if a, _ := getReply(g, "p1", false, nil, nil); a != nil {
			t.Fatalf("quorum first %v: answered %+v on one reply of R=2", qf, a)
		}
		if a, _ := getReply(g, "f", false, nil, nil); a != nil {
			t.Fatalf("quorum first %v: answered %+v on a lagging primary's and a fallback's not found while primary p2 has not answered", qf, a)
		}
		if out := g.outstanding(); len(out) != 1 || out[0] != "p2" {
			t.Fatalf("quorum first %v: outstanding %v, want [p2]", qf, out)
		}
		a, repairs := getReply(g, "p2", true, setOf(t, "p2@1", "v"), nil)
		if a == nil || a.Err != nil || !a.Found || vals(a) != `["v"]` || len(a.Context) == 0 {
			t.Fatalf("quorum first %v: after p2's value: %+v", qf, a)
		}
		// Read repair goes to the replicas that answered not found: the
		// lagging primary and the fallback (as a hint for p3).
		if len(repairs) != 2 || repairs[0].Node != "p1" || repairs[0].HintOwner != "" ||
			repairs[1].Node != "f" || repairs[1].HintOwner != "p3" || !g.done() {
			t.Fatalf("quorum first %v: repairs %+v, done %v", qf, repairs, g.done())
		}
	}
}

// The cases the rule has to think about, one by one. Replies arrive in
// the order listed ("deadline" fires the deadline); the answer must come
// at the reply marked by at (its index), and be want: "not found", a
// value, or "error" (a quorum error).
func TestNotFoundWaitsForPrimariesCases(t *testing.T) {
	one := []ring.Target{{Node: "p1"}, {Node: "p2"}, {Node: "f3", HintOwner: "p3"}}
	two := []ring.Target{{Node: "p1"}, {Node: "f2", HintOwner: "p2"}, {Node: "f3", HintOwner: "p3"}}
	for _, tc := range []struct {
		name    string
		targets []ring.Target
		r       int
		replies []string // node:found, node:newer (a newer value), node:nf, node:fail, or deadline
		at      int
		want    string
		repairs []string
	}{
		{"R=1 fallback not found first waits for a primary", one, 1,
			[]string{"f3:nf", "p2:found", "p1:found"}, 1, "v1", []string{"f3"}},
		{"R=1 one primary's not found is R primaries'", one, 1,
			[]string{"f3:nf", "p1:nf", "p2:found"}, 1, "not found", []string{"p1", "f3"}},
		{"R=2 two primaries' not found answer at once", one, 2,
			[]string{"p1:nf", "p2:nf", "f3:found"}, 1, "not found", []string{"p1", "p2"}},
		{"R=2 a failed primary ends the wait, with an error: it may hold the value", one, 2,
			[]string{"p1:nf", "f3:nf", "p2:fail"}, 2, "error", nil},
		{"R=2 a fallback's newer hint answers at R replies", one, 2,
			[]string{"f3:newer", "p1:nf", "p2:found"}, 1, "v2", []string{"p1", "p2"}},
		{"R=2 a fallback's value and a primary's not found", one, 2,
			[]string{"p1:nf", "f3:found", "p2:nf"}, 1, "v1", []string{"p1", "p2"}},
		{"R=2 the deadline without R primaries' not found is an error", one, 2,
			[]string{"p1:nf", "f3:nf", "deadline"}, 2, "error", nil},
		{"R=2 a quorum error does not wait for a primary", one, 2,
			[]string{"p1:fail", "f3:fail", "p2:found"}, 1, "error", nil},
		{"R=2 two fallbacks' not found wait for the primary", two, 2,
			[]string{"f2:nf", "f3:nf", "p1:found"}, 2, "v1", []string{"f2", "f3"}},
		{"R=3 every primary answered, but only 2 of them", one, 3,
			[]string{"f3:nf", "p2:nf", "p1:nf"}, 2, "error", nil},
		{"R=3 a primary's value after two not found", one, 3,
			[]string{"p1:nf", "f3:nf", "p2:found"}, 2, "v1", []string{"p1", "f3"}},
	} {
		v1, v2 := nfValues(t)
		rt := Route{Partition: 5, N: 3, Targets: tc.targets}
		g, reads, err := newGet(rt, []byte("k"), GetOptions{R: tc.r, QuorumFirst: true, First: "p1"})
		if err != nil || len(reads) != 3 {
			t.Fatalf("%s: asked %v, %v", tc.name, readNodes(reads), err)
		}
		var repairs []string
		for i, rep := range tc.replies {
			var a *GetAnswer
			var reps []Repair
			if rep == "deadline" {
				a, reps = getDeadline(g)
			} else {
				node, kind, _ := strings.Cut(rep, ":")
				switch kind {
				case "found":
					a, reps = getReply(g, node, true, v1, nil)
				case "newer":
					a, reps = getReply(g, node, true, v2, nil)
				case "nf":
					a, reps = getReply(g, node, false, nil, nil)
				case "fail":
					a, reps = getReply(g, node, false, nil, errors.New("disk on fire"))
				}
			}
			for _, rp := range reps {
				repairs = append(repairs, rp.Node)
			}
			if (a != nil) != (i == tc.at) {
				t.Fatalf("%s: after %v: answer %+v, want one after %s", tc.name, tc.replies[:i+1], a, tc.replies[tc.at])
			}
			if a == nil {
				continue
			}
			got := "not found"
			switch {
			case a.Err != nil:
				got = "error"
			case a.Found:
				got = string(a.Values[0])
			}
			if got != tc.want {
				t.Fatalf("%s: answered %q (%+v), want %q", tc.name, got, a, tc.want)
			}
		}
		if !g.done() || !slices.Equal(repairs, tc.repairs) {
			t.Fatalf("%s: done %v, repairs %v, want %v", tc.name, g.done(), repairs, tc.repairs)
		}
	}
}

// nfCase is one read for the not-found checker: a route of N primaries,
// each up (a target), down with a fallback standing in (a target with
// HintOwner), or down and uncovered (no target); what each target answers;
// the order the answers arrive in; how many arrive before the deadline.
type nfCase struct {
	n, r  int
	state []int // per primary: nfUp, nfFallback, nfUncovered
	// kinds per target (route order): quorum.Found, NotFound or Failed. A
	// found primary holds v1; a found fallback holds a hint of v2, a later
	// write that descends v1 (a hint holds the newest write).
	kinds []quorum.ReplyKind
	order []int // arrival order, indexes into the targets
	cut   int   // answers that arrive before the deadline: order[:cut]
	qf    bool  // GetOptions.QuorumFirst
	// spread: GetOptions.Spread
	spread uint
}

const (
	nfUp = iota
	nfFallback
	nfUncovered
)

func (c nfCase) String() string {
	var rt []string
	for i, s := range c.state {
		rt = append(rt, fmt.Sprintf("p%d:%s", i, [...]string{"up", "fallback", "uncovered"}[s]))
	}
	return fmt.Sprintf("N=%d R=%d route[%s] kinds %v order %v cut %d quorumFirst %v spread %d",
		c.n, c.r, strings.Join(rt, " "), c.kinds, c.order, c.cut, c.qf, c.spread)
}

func (c nfCase) route() Route {
	rt := Route{Partition: 3, N: c.n}
	for i, s := range c.state {
		switch s {
		case nfUp:
			rt.Targets = append(rt.Targets, ring.Target{Node: fmt.Sprintf("p%d", i)})
		case nfFallback:
			rt.Targets = append(rt.Targets, ring.Target{Node: fmt.Sprintf("f%d", i), HintOwner: fmt.Sprintf("p%d", i)})
		default:
			rt.Uncovered = append(rt.Uncovered, fmt.Sprintf("p%d", i))
		}
	}
	return rt
}

// checkNotFound runs one read and checks it against the rule, an oracle
// computed from the replies alone:
//   - The core decides as riak's get_core with notfound_ok: once R answers
//     are found or not found (success), or once R can no longer be reached
//     (a quorum error).
//   - The read answers at the first reply after which the core has decided
//     and: it failed, or a found value is in (from anyone), or R primaries
//     answered not found, or every primary asked has answered (found, not
//     found or failed); else at the deadline, with what it has.
//   - Hence the invariant: it never answers "not found" before the
//     deadline while a primary holding the value has not answered, unless
//     R primaries said not found (the strict-quorum answer: a fallback's
//     "not found" never outvotes a primary's value).
//   - It answers exactly once, by the deadline; the answer's values merge
//     every found reply in by then; read repair (once, when the read is
//     done) goes to every replica that answered not found or an older value.
func checkNotFound(t *testing.T, c nfCase, v1, v2 *version.Set) {
	t.Helper()
	rt := c.route()
	targets := rt.Targets
	g, reads, err := newGet(rt, []byte("k"), GetOptions{R: c.r, QuorumFirst: c.qf, First: "p0", Spread: c.spread})
	if len(targets) < c.r {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%v: %d targets for R=%d: %v", c, len(targets), c.r, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%v: %s", c, fmt.Sprintf(format, args...))
	}
	asked := map[string]bool{}
	addAsked := func(rs []Read) {
		for _, rd := range rs {
			if asked[rd.Node] {
				fail("%s asked twice", rd.Node)
			}
			asked[rd.Node] = true
		}
	}
	addAsked(reads)
	index := map[string]int{}
	for i, tg := range targets {
		index[tg.Node] = i
	}
	if hasFallback(rt) && len(reads) != len(targets) {
		fail("a route with a fallback asked %v, not every target", readNodes(reads))
	}

	replied := make([]bool, len(targets))
	var (
		counted, failed, primaryNF int
		decided, decidedOK         bool
		ans                        *GetAnswer
		repairs                    []Repair
		repairEvents               int
	)
	// merged is the merge of the found replies in so far.
	merged := func() *version.Set {
		var m *version.Set
		for i, k := range c.kinds {
			if replied[i] && k == quorum.Found {
				m = version.Sync(m, c.value(i, targets, v1, v2))
			}
		}
		return m
	}
	check := func(a *GetAnswer, reps []Repair, deadline bool) {
		t.Helper()
		if len(reps) > 0 {
			repairEvents++
			repairs = append(repairs, reps...)
		}
		m := merged()
		// The invariant first, stated on its own: in a route with a
		// fallback, a "not found" rests on R primaries' "not found" (a
		// primary that failed or did not answer may hold the value).
		if a != nil && a.Err == nil && !a.Found && hasFallback(rt) && primaryNF < c.r {
			fail("answered not found on %d primaries' not found (R=%d) in a route with a fallback", primaryNF, c.r)
		}
		want := false
		if !deadline && ans == nil && decided {
			primariesIn := true
			for i, tg := range targets {
				if tg.HintOwner == "" && asked[tg.Node] && !replied[i] {
					primariesIn = false
				}
			}
			want = !decidedOK || m != nil || primaryNF >= c.r || primariesIn
		}
		if deadline && ans == nil {
			want = true
		}
		if (a != nil) != want {
			fail("deadline %v, %d counted, %d failed, %d primaries not found, replied %v: answered %+v, want an answer: %v",
				deadline, counted, failed, primaryNF, replied, a, want)
		}
		if a == nil {
			return
		}
		ans = a
		if !decidedOK && !(deadline && counted >= c.r) {
			if !errors.Is(a.Err, quorum.ErrQuorum) {
				fail("answered %+v, want a quorum error (%d of R=%d counted)", a, counted, c.r)
			}
			return
		}
		if m == nil && hasFallback(rt) && primaryNF < c.r {
			var qe *quorum.Error
			if !errors.As(a.Err, &qe) || qe.Kind != quorum.KindPrimary || qe.Got != primaryNF || qe.Need != c.r {
				fail("answered %+v; want a primary quorum error (%d of %d primaries said not found)", a, primaryNF, c.r)
			}
			return
		}
		if a.Err != nil {
			fail("answered %v with %d of R=%d counted", a.Err, counted, c.r)
		}
		if a.Found != (m != nil) {
			fail("answered found %v with found replies merged to %v", a.Found, m)
		}
		if m != nil {
			live, _ := m.Live(version.ModeSiblings, 0)
			if len(a.Values) != len(live) || string(a.Values[0]) != string(live[0].Value) {
				fail("answered %s, want %q", vals(a), live[0].Value)
			}
		}
	}

	for _, i := range c.order[:c.cut] {
		name := targets[i].Node
		if !asked[name] {
			addAsked(g.Step(GetSpeculate{}).Reads) // the speculative-retry timer fired
			if !asked[name] {
				continue // never asked: the read answered first
			}
		}
		kind := c.kinds[i]
		var set *version.Set
		var rerr error
		switch kind {
		case quorum.Found:
			set = c.value(i, targets, v1, v2)
		case quorum.Failed:
			rerr = fmt.Errorf("disk on fire on %s", name)
		}
		replied[i] = true
		switch kind {
		case quorum.Found, quorum.NotFound:
			counted++
			if kind == quorum.NotFound && targets[i].HintOwner == "" {
				primaryNF++
			}
		case quorum.Failed:
			failed++
		}
		if !decided {
			switch {
			case counted >= c.r:
				decided, decidedOK = true, true
			case failed >= len(targets)-c.r+1:
				decided = true
			}
		}
		r := g.Step(GetReplied{Node: name, Found: kind == quorum.Found, Set: set, Err: rerr})
		addAsked(r.Reads)
		check(r.Answer, r.Repairs, false)
	}
	a, reps := getDeadline(g)
	check(a, reps, true)
	if ans == nil || !g.done() {
		fail("no answer by the deadline (%+v), done %v", ans, g.done())
	}
	if a, reps := getDeadline(g); a != nil || reps != nil {
		fail("a second deadline gave %+v, %+v", a, reps)
	}
	// Read repair: once, to the replicas that answered not found or an
	// older value, with the merge of every found reply.
	m := merged()
	var want []string
	for i, k := range c.kinds {
		if m != nil && replied[i] && (k == quorum.NotFound || k == quorum.Found && !version.Descends(c.value(i, targets, v1, v2), m)) {
			want = append(want, targets[i].Node)
		}
	}
	var got []string
	for _, rp := range repairs {
		got = append(got, rp.Node)
		if tg := targets[index[rp.Node]]; rp.HintOwner != tg.HintOwner || !version.Equal(rp.Set, m) {
			fail("repair %+v of target %+v, merged %v", rp, tg, m)
		}
	}
	if !slices.Equal(got, want) || repairEvents > 1 {
		fail("repairs %v (in %d batches), want %v (once)", got, repairEvents, want)
	}
}

// value is what target i holds when it answers found: a primary v1, a
// fallback a hint of v2 (newer).
func (c nfCase) value(i int, targets []ring.Target, v1, v2 *version.Set) *version.Set {
	if targets[i].HintOwner != "" {
		return v2
	}
	return v1
}

func nfValues(t testing.TB) (v1, v2 *version.Set) {
	v1 = setOf(t, "p0@1", "v1")
	v2, err := version.Update(v1, v1.Context(), version.Write{Value: []byte("v2")}, "p0@1", 2)
	if err != nil {
		t.Fatal(err)
	}
	return v1, v2
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for at := 0; at <= len(p); at++ {
			q := slices.Insert(slices.Clone(p), at, n-1)
			out = append(out, q)
		}
	}
	return out
}

// Exhaustive at N=3: every route (each primary up or replaced by a
// fallback: 0 to 3 fallbacks), every R, every assignment of found, not
// found and failed, every order of the replies, every deadline (after 0 to
// 3 replies), reads asking every target and asking R first.
func TestNotFoundRestsOnPrimariesExhaustive(t *testing.T) {
	v1, v2 := nfValues(t)
	kindsOf := []quorum.ReplyKind{quorum.Found, quorum.NotFound, quorum.Failed}
	const n = 3
	runs := 0
	for routeMask := range 1 << n {
		state := make([]int, n)
		for i := range n {
			if routeMask&(1<<i) != 0 {
				state[i] = nfFallback
			}
		}
		for r := 1; r <= n; r++ {
			for assign := range 27 {
				kinds := make([]quorum.ReplyKind, n)
				for i, a := 0, assign; i < n; i, a = i+1, a/3 {
					kinds[i] = kindsOf[a%3]
				}
				for _, order := range permutations(n) {
					for cut := 0; cut <= n; cut++ {
						for _, qf := range []bool{false, true} {
							checkNotFound(t, nfCase{n: n, r: r, state: state, kinds: kinds, order: order, cut: cut, qf: qf, spread: uint(assign)}, v1, v2)
							runs++
						}
					}
				}
			}
		}
	}
	t.Logf("%d reads checked", runs)
}

// Randomized over N=1..5 (quorum.MaxN), routes with uncovered primaries
// too, random replies, orders, deadlines and quorum-first spreads. Seeded:
// DYNAMO_SEED replays a run.
func TestNotFoundRestsOnPrimariesRandomized(t *testing.T) {
	rng, _ := testseed.New(t)
	v1, v2 := nfValues(t)
	kindsOf := []quorum.ReplyKind{quorum.Found, quorum.NotFound, quorum.Failed}
	iterations := 20000
	if testing.Short() {
		iterations = 2000
	}
	for range iterations {
		n := 1 + rng.IntN(5)
		c := nfCase{n: n, r: 1 + rng.IntN(n), qf: rng.IntN(2) == 0, spread: uint(rng.IntN(8))}
		targets := 0
		for range n {
			s := nfUp
			switch x := rng.IntN(10); {
			case x >= 9:
				s = nfUncovered
			case x >= 6:
				s = nfFallback
			}
			c.state = append(c.state, s)
			if s != nfUncovered {
				targets++
			}
		}
		for range targets {
			c.kinds = append(c.kinds, kindsOf[rng.IntN(3)])
		}
		c.order = rng.Perm(targets)
		c.cut = rng.IntN(targets + 1)
		checkNotFound(t, c, v1, v2)
	}
}
