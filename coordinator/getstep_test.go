package coordinator

import (
	"slices"
	"testing"
)

// Step runs a read as the shell sees it: the first reads and whether to
// arm the speculative timer, one answer, the repairs once every target
// answered, and the silent targets at the deadline.
func TestGetStep(t *testing.T) {
	s := newSim(t, 3)
	s.put("node-01", "k", "v", nil, 3)
	route := s.route("k")
	set, _ := s.replicaGet(Read{Node: route.Targets[0].Node, Partition: route.Partition, Key: []byte("k")})

	// Every target asked at once: no speculative timer.
	g, r, err := NewGet(route, []byte("k"), GetOptions{R: 2})
	if err != nil || len(r.Reads) != 3 || r.Speculate || r.Done || r.Answer != nil {
		t.Fatalf("start: %+v, %v", r, err)
	}
	if r := g.Step(GetReplied{Node: r.Reads[0].Node, Found: true, Set: set}); r.Answer != nil || r.Done {
		t.Fatalf("first reply at R=2: %+v", r)
	}
	second := g.Step(GetReplied{Node: r.Reads[1].Node})
	if second.Answer == nil || !second.Answer.Found || second.Done || g.state != GetReadRepair {
		t.Fatalf("second reply: %+v, state %v", second, g.state)
	}
	if again := g.Step(GetReplied{Node: r.Reads[1].Node, Found: true, Set: set}); again.Answer != nil || again.Done {
		t.Fatalf("a duplicate reply changed the read: %+v", again)
	}
	last := g.Step(GetReplied{Node: r.Reads[2].Node, Found: true, Set: set})
	if last.Answer != nil || !last.Done || len(last.Repairs) != 1 || last.Repairs[0].Node != r.Reads[1].Node {
		t.Fatalf("last reply: %+v", last)
	}

	// Quorum first: R targets, the timer armed; the deadline names the
	// silent targets once.
	g, r, err = NewGet(route, []byte("k"), GetOptions{R: 2, QuorumFirst: true, First: route.Targets[0].Node})
	if err != nil || len(r.Reads) != 2 || !r.Speculate {
		t.Fatalf("quorum-first start: %+v, %v", r, err)
	}
	g.Step(GetReplied{Node: r.Reads[0].Node, Found: true, Set: set})
	spec := g.Step(GetSpeculate{})
	if len(spec.Reads) != 1 || spec.Answer != nil {
		t.Fatalf("speculative retry: %+v", spec)
	}
	dl := g.Step(GetDeadline{})
	want := []string{r.Reads[1].Node, spec.Reads[0].Node}
	if dl.Answer == nil || dl.Answer.Err == nil || !dl.Done || !slices.Equal(dl.TimedOut, want) {
		t.Fatalf("deadline: %+v, want timed out %v", dl, want)
	}
	if again := g.Step(GetDeadline{}); again.Answer != nil || len(again.TimedOut) != 0 || !again.Done {
		t.Fatalf("second deadline: %+v", again)
	}
}
