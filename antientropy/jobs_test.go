package antientropy

import (
	"slices"
	"testing"
)

// world is a 4-node ring of 8 partitions, N=3, seen from "a".
func world() World {
	owners := func(p uint32) []string {
		nodes := []string{"a", "b", "c", "d"}
		i := int(p) % 4
		return []string{nodes[i], nodes[(i+1)%4], nodes[(i+2)%4]}
	}
	var owned []uint32
	for p := range uint32(8) {
		if slices.Contains(owners(p), "a") {
			owned = append(owned, p)
		}
	}
	return World{NowMs: 1000, Self: "a", Held: owned, Owned: owned, Owners: owners,
		Reachable: func(string) bool { return true }, Exchanges: true, Reaps: true,
		ReapDue: func(uint32) bool { return true }}
}

// Handoffs, exchanges and reap passes take turns; each kind goes round
// robin over its partitions.
func TestPlannerTakesTurns(t *testing.T) {
	w := world()
	w.Held = append(slices.Clone(w.Owned), 1, 5) // held but not a's: 1 (b,c,d) and 5 (b,c,d)
	var pl Planner
	var kinds []JobKind
	var handoffs []uint32
	for range 9 {
		j := pl.Next(w)
		kinds = append(kinds, j.Kind)
		if j.Kind == Handoff {
			handoffs = append(handoffs, j.Partition)
			if !slices.Equal(j.Nodes, w.Owners(j.Partition)) {
				t.Fatalf("handoff of %d to %v, want every owner %v", j.Partition, j.Nodes, w.Owners(j.Partition))
			}
		}
		if j.Kind == Reap && j.Nodes[0] != "a" {
			t.Fatalf("reap pass of %d led by %s", j.Partition, j.Nodes[0])
		}
		if j.Kind == Exchange && (len(j.Nodes) != 1 || j.Nodes[0] == "a" || !slices.Contains(w.Owners(j.Partition), j.Nodes[0])) {
			t.Fatalf("exchange of %d with %v", j.Partition, j.Nodes)
		}
	}
	want := []JobKind{Handoff, Exchange, Reap, Handoff, Exchange, Reap, Handoff, Exchange, Reap}
	if !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	if !slices.Equal(handoffs, []uint32{1, 5, 1}) {
		t.Fatalf("handoffs %v, want round robin 1, 5, 1", handoffs)
	}
}

// A kind that has nothing to do gives its turn away; nothing at all is
// NoJob.
func TestPlannerSkipsIdleKinds(t *testing.T) {
	w := world()
	w.Reaps, w.Exchanges = false, false
	var pl Planner
	if j := pl.Next(w); j.Kind != NoJob {
		t.Fatalf("nothing to hand off, no exchanges, no reaps: %+v", j)
	}
	w.Exchanges = true
	for range 3 {
		if j := pl.Next(w); j.Kind != Exchange {
			t.Fatalf("only exchanges can run: %+v", j)
		}
	}
}

// A handoff waits until every owner is reachable, and a failed one backs
// off from 1 s, doubling, to 30 s; done, it forgets the back-off.
func TestPlannerHandoffWaitsForOwnersAndBacksOff(t *testing.T) {
	w := world()
	w.Held = append(slices.Clone(w.Owned), 1)
	w.Exchanges, w.Reaps = false, false
	down := "c"
	w.Reachable = func(n string) bool { return n != down }
	var pl Planner
	if j := pl.Next(w); j.Kind != NoJob {
		t.Fatalf("an owner of 1 is down, yet %+v", j)
	}
	down = ""
	if j := pl.Next(w); j.Kind != Handoff || j.Partition != 1 {
		t.Fatalf("owners back: %+v", j)
	}
	pauses := []int64{1000, 2000, 4000, 8000, 16000, 30000, 30000}
	for _, pause := range pauses {
		pl.HandoffFailed(1, w.NowMs)
		w.NowMs += pause - 1
		if j := pl.Next(w); j.Kind != NoJob {
			t.Fatalf("%d ms into a %d ms back-off: %+v", pause-1, pause, j)
		}
		w.NowMs++
		if j := pl.Next(w); j.Kind != Handoff {
			t.Fatalf("after a %d ms back-off: %+v", pause, j)
		}
	}
	pl.HandoffFailed(1, w.NowMs)
	pl.HandoffDone(1)
	if j := pl.Next(w); j.Kind != Handoff {
		t.Fatalf("done forgets the back-off: %+v", j)
	}
}

// A reap pass runs only at the partition's first primary, when it is due
// and every primary is reachable.
func TestPlannerReapRules(t *testing.T) {
	w := world()
	w.Exchanges = false
	due := map[uint32]bool{0: true, 7: true, 6: true}
	w.ReapDue = func(p uint32) bool { return due[p] }
	var pl Planner
	var got []uint32
	for range 4 {
		if j := pl.Next(w); j.Kind == Reap {
			got = append(got, j.Partition)
		}
	}
	// a leads partitions 0 and 4 only (owners[0] == "a"); 4 is not due.
	if !slices.Equal(got, []uint32{0, 0, 0, 0}) {
		t.Fatalf("reap passes %v, want only partition 0", got)
	}
	w.Reachable = func(n string) bool { return n != "b" }
	if j := pl.Next(w); j.Kind != NoJob {
		t.Fatalf("a primary of 0 is down, yet %+v", j)
	}
}
