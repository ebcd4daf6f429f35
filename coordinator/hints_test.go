package coordinator

import (
	"errors"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/version"
)

// With a spare node, a down primary's replica goes to the next fallback as
// a hint naming it; the fallback's ack counts toward W; a read consults the
// fallback's hint, so a read after failover sees the write.
func TestSloppyQuorumWritesHintsToFallbacksAndReadsThem(t *testing.T) {
	s := newSim(t, 5)
	owners := s.ring.Owners(s.route("k").Partition)
	s.down[owners[1]], s.down[owners[2]] = true, true
	rt := s.route("k")
	if len(rt.Targets) != 3 || len(rt.Uncovered) != 0 {
		t.Fatalf("two fallbacks must stand in: %+v", rt)
	}
	w := s.put(owners[0], "k", "v", nil, 3)
	if w.Err != nil || w.Acked != 3 || w.Hinted != 2 {
		t.Fatalf("W=3 with two primaries down and two fallbacks: %+v", w)
	}
	for _, tg := range rt.Targets[1:] {
		if h := s.hints[tg.Node][tg.HintOwner]["k"]; h == nil || s.replicas("k")[tg.HintOwner] != nil {
			t.Fatalf("fallback %s holds no hint for %s (or the owner got data while down)", tg.Node, tg.HintOwner)
		}
	}
	if len(s.hints[owners[0]]) != 0 {
		t.Fatal("the coordinator kept hints although fallbacks took them")
	}
	// R=3 is only reachable by reading the fallbacks' hints.
	if a := s.get(owners[0], "k", 3); a.Err != nil || vals(a) != `["v"]` {
		t.Fatalf("read through fallbacks: %+v", a)
	}
}

// Without a spare node (3 nodes, N=3), the coordinator keeps the hint for the
// down primary itself; it does not count toward W.
func TestCoordinatorKeepsHintWhenNoFallbackExists(t *testing.T) {
	s := newSim(t, 3)
	owners := s.ring.Owners(s.route("k").Partition)
	s.down[owners[2]] = true
	if rt := s.route("k"); !slices.Equal(rt.Uncovered, []string{owners[2]}) {
		t.Fatalf("uncovered %v", rt.Uncovered)
	}
	w := s.put(owners[0], "k", "v", nil, 2)
	if w.Err != nil || w.Acked != 2 || w.Hinted != 0 {
		t.Fatalf("put: %+v", w)
	}
	h := s.hints[owners[0]][owners[2]]["k"]
	if h == nil || !version.Equal(h, s.replicas("k")[owners[0]]) {
		t.Fatalf("coordinator hint for %s: %v", owners[2], h)
	}
	if w := s.put(owners[0], "k", "v2", nil, 3); w.Err == nil {
		t.Fatal("a kept hint must not count toward W=3")
	}
}

// A target that fails or never answers gets a hint kept by the coordinator
// (for a fallback: the primary it stood in for), exactly once per primary.
func TestCoordinatorKeepsHintForFailedAndSilentReplicas(t *testing.T) {
	s := newSim(t, 3)
	owners := s.ring.Owners(s.route("k").Partition)
	s.failing[owners[1]] = true
	s.stopped[owners[2]] = true // not known down: silent until the deadline
	w := s.put(owners[0], "k", "v", nil, 2)
	if w.Err == nil {
		t.Fatal("W=2 with one failing and one silent replica must fail")
	}
	for _, o := range owners[1:] {
		if s.hints[owners[0]][o]["k"] == nil {
			t.Fatalf("no hint kept for %s", o)
		}
	}
	if len(s.hints[owners[0]]) != 2 {
		t.Fatalf("hints kept for %v", s.hints[owners[0]])
	}
}

// With hinted handoff off, routing is strict: no fallbacks, no hints.
func TestStrictQuorumUsesNoFallbacksAndKeepsNoHints(t *testing.T) {
	s := newSim(t, 5)
	s.strict = true
	owners := s.ring.Owners(s.route("k").Partition)
	s.down[owners[2]] = true
	rt := s.route("k")
	if len(rt.Targets) != 2 || rt.Targets[0].HintOwner != "" || rt.Targets[1].HintOwner != "" {
		t.Fatalf("strict route %+v", rt)
	}
	if w := s.put(owners[0], "k", "v", nil, 2); w.Err != nil || w.Hinted != 0 {
		t.Fatalf("put: %+v", w)
	}
	if w := s.put(owners[0], "k", "v", nil, 3); w.Err == nil {
		t.Fatal("W=3 with a primary down must fail under a strict quorum")
	}
	if len(s.hints) != 0 {
		t.Fatalf("hints kept with hinted handoff off: %v", s.hints)
	}
}

// Read repair reaches a fallback's hint too.
func TestReadRepairUpdatesAFallbackHint(t *testing.T) {
	s := newSim(t, 5)
	owners := s.ring.Owners(s.route("k").Partition)
	s.put(owners[0], "k", "v1", nil, 3)
	s.down[owners[2]] = true
	fb := s.route("k").Targets[2]
	if fb.HintOwner != owners[2] {
		t.Fatalf("route %+v", s.route("k"))
	}
	if a := s.get(owners[0], "k", 2); vals(a) != `["v1"]` {
		t.Fatalf("get %s", vals(a))
	}
	if h := s.hints[fb.Node][owners[2]]["k"]; h == nil || !version.Equal(h, s.replicas("k")[owners[0]]) {
		t.Fatalf("the fallback's hint was not repaired: %v", h)
	}
}

// A fallback's "not found" only means it holds no hint: a read does not
// answer "not found" on fallbacks' word while a primary may still answer;
// at the deadline, without R primaries' "not found", it answers a primary
// quorum error (the silent primary may hold the value).
func TestReadWaitsForAPrimaryBeforeNotFound(t *testing.T) {
	s := newSim(t, 5)
	owners := s.ring.Owners(s.route("k").Partition)
	s.put(owners[0], "k", "v", nil, 3)
	s.down[owners[1]], s.down[owners[2]] = true, true
	rt := s.route("k")
	for _, deadline := range []bool{false, true} {
		g, reads, err := newGet(rt, []byte("k"), GetOptions{R: 2})
		if err != nil {
			t.Fatal(err)
		}
		var primary Read
		for _, rd := range reads {
			if rd.HintOwner == "" {
				primary = rd
				continue
			}
			if a, _ := getReply(g, rd.Node, false, nil, nil); a != nil {
				t.Fatalf("answered %+v on two fallbacks' not found", a)
			}
		}
		if got := g.outstanding(); len(got) != 1 || got[0] != primary.Node {
			t.Fatalf("outstanding %v, want the primary %s", got, primary.Node)
		}
		if deadline {
			var qe *quorum.Error
			if a, _ := getDeadline(g); a == nil || !errors.As(a.Err, &qe) || qe.Kind != quorum.KindPrimary ||
				a.Err.Error() != "read primary quorum: 0 of 2 primaries answered not found (1 asked: 1 timed out)" {
				t.Fatalf("at the deadline: %+v", a)
			}
			continue
		}
		set, _ := s.replicaGet(primary)
		a, _ := getReply(g, primary.Node, true, set, nil)
		if a == nil || !a.Found || vals(a) != `["v"]` {
			t.Fatalf("after the primary: %+v", a)
		}
	}
}
