package antientropy

import (
	"fmt"
	"slices"
	"strings"
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

// exchanges calls Next until it returns NoJob (at most limit times),
// recording each exchange as done, and returns the (partition/peer, catch
// up) pairs it chose.
func exchanges(t *testing.T, pl *Planner, w World, limit int) (got []string, last Job) {
	t.Helper()
	for range limit {
		j := pl.Next(w)
		if j.Kind == NoJob {
			return got, j
		}
		if j.Kind != Exchange {
			t.Fatalf("a %v job", j.Kind)
		}
		tag := ""
		if j.CatchUp {
			tag = "+"
		}
		got = append(got, fmt.Sprintf("%d/%s%s", j.Partition, j.Nodes[0], tag))
		pl.Exchanged(j.Partition, j.Nodes[0])
	}
	return got, Job{Kind: Exchange}
}

// A new planner first compares each owned partition with every reachable
// peer, back to back; then exchanges go in sweeps, one per SweepMs: a
// sweep runs back to back and the next waits for the period's end, or
// begins at once when the sweep took longer.
func TestPlannerCatchesUpThenSweeps(t *testing.T) {
	w := world() // a owns 0, 2, 3, 4, 6, 7 (of 8, N=3, 4 nodes)
	w.Reaps, w.SweepMs = false, 1000
	var pl Planner
	got, last := exchanges(t, &pl, w, 100)
	var want []string
	for _, p := range w.Owned {
		for _, n := range w.Owners(p) {
			if n != "a" {
				want = append(want, fmt.Sprintf("%d/%s+", p, n))
			}
		}
	}
	// Then one sweep: each owned partition with its next peer.
	for _, p := range w.Owned {
		peers := slices.DeleteFunc(slices.Clone(w.Owners(p)), func(n string) bool { return n == "a" })
		want = append(want, fmt.Sprintf("%d/%s", p, peers[0]))
	}
	// Catch-ups go partitions round robin, so in another order.
	catch := len(want) - len(w.Owned)
	if len(got) != len(want) || !slices.Equal(got[catch:], want[catch:]) {
		t.Fatalf("exchanges\n got %v\nwant %v", got, want)
	}
	gotCatch, wantCatch := slices.Sorted(slices.Values(got[:catch])), slices.Sorted(slices.Values(want[:catch]))
	if !slices.Equal(gotCatch, wantCatch) {
		t.Fatalf("catch-ups\n got %v\nwant %v", gotCatch, wantCatch)
	}
	if last.Kind != NoJob || last.WaitMs != 1000 {
		t.Fatalf("after a sweep at once: %+v, want NoJob waiting 1000 ms", last)
	}
	w.NowMs += 400
	if j := pl.Next(w); j.Kind != NoJob || j.WaitMs != 600 {
		t.Fatalf("400 ms into the sweep period: %+v, want NoJob waiting 600 ms", j)
	}
	w.NowMs += 600
	got, _ = exchanges(t, &pl, w, 1)
	if len(got) != 1 || got[0] != "0/c" {
		t.Fatalf("the next sweep begins with %v, want 0/c (partition 0's second peer)", got)
	}
	// A sweep longer than the period: the next begins at once.
	w.NowMs += 5000
	got, last = exchanges(t, &pl, w, len(w.Owned))
	if len(got) != len(w.Owned) || last.Kind != Exchange {
		t.Fatalf("a sweep that outlasted its period was followed by %v then %+v", got, last)
	}
}

// An exchange not recorded is offered again; a partition that leaves this
// node and comes back, and a peer that becomes reachable, are caught up.
func TestPlannerCatchUpFollowsOwnershipAndReachability(t *testing.T) {
	w := world()
	w.Reaps, w.SweepMs = false, 1000
	down := "c"
	w.Reachable = func(n string) bool { return n != down }
	var pl Planner
	j := pl.Next(w)
	if !j.CatchUp || j.Partition != 0 || j.Nodes[0] != "b" {
		t.Fatalf("first job %+v, want a catch-up of 0 with b", j)
	}
	got, _ := exchanges(t, &pl, w, 100)
	for _, g := range got {
		if strings.Contains(g, "/c") {
			t.Fatalf("exchanged with c while it is unreachable: %v", got)
		}
	}
	// c comes back: every partition it shares with a is caught up with it.
	down = ""
	got, _ = exchanges(t, &pl, w, 100)
	var withC []string
	for _, g := range got {
		if strings.HasSuffix(g, "/c+") {
			withC = append(withC, g)
		}
	}
	if want := []string{"0/c+", "2/c+", "4/c+", "6/c+"}; !slices.Equal(withC, want) {
		t.Fatalf("catch-ups with c %v, want %v (all: %v)", withC, want, got)
	}
	// Partition 2 leaves a and comes back: caught up again with its peers.
	owned := slices.Clone(w.Owned)
	w.Owned = slices.DeleteFunc(slices.Clone(owned), func(p uint32) bool { return p == 2 })
	w.Held = w.Owned
	w.NowMs += 1000
	if got, _ = exchanges(t, &pl, w, 100); slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, "+") }) {
		t.Fatalf("catch-ups with nothing new: %v", got)
	}
	w.Owned, w.Held = owned, owned
	w.NowMs += 1000
	got, _ = exchanges(t, &pl, w, 100)
	var catch []string
	for _, g := range got {
		if strings.HasSuffix(g, "+") {
			catch = append(catch, g)
		}
	}
	if want := []string{"2/c+", "2/d+"}; !slices.Equal(catch, want) {
		t.Fatalf("partition 2 back: catch-ups %v, want %v", catch, want)
	}
}

// A sweep's exchanges are at least GapMs apart; catch-ups are not.
func TestPlannerSpacesASweepsExchanges(t *testing.T) {
	w := world()
	w.Reaps, w.SweepMs, w.GapMs = false, 1000, 10
	var pl Planner
	got, _ := exchanges(t, &pl, w, 100)
	if n := len(got); n != 13 {
		// 12 catch-ups back to back, then the sweep's first exchange.
		t.Fatalf("at one instant: %v, want the 12 catch-ups and one sweep exchange", got)
	}
	if j := pl.Next(w); j.Kind != NoJob || j.WaitMs != 10 {
		t.Fatalf("right after a sweep exchange: %+v, want NoJob waiting 10 ms", j)
	}
	w.NowMs += 4
	if j := pl.Next(w); j.Kind != NoJob || j.WaitMs != 6 {
		t.Fatalf("4 ms later: %+v, want NoJob waiting 6 ms", j)
	}
	for i := 1; i < len(w.Owned); i++ {
		w.NowMs += 6
		if j := pl.Next(w); j.Kind != Exchange || j.CatchUp {
			t.Fatalf("exchange %d of the sweep: %+v", i, j)
		}
		w.NowMs += 4
	}
	// The sweep is over; the next begins 1000 ms after the first began.
	w.NowMs += 6
	if j := pl.Next(w); j.Kind != NoJob || j.WaitMs != 1000-int64(len(w.Owned))*10 {
		t.Fatalf("after the sweep: %+v", j)
	}
	w.NowMs += 1000 - int64(len(w.Owned))*10
	if j := pl.Next(w); j.Kind != Exchange || j.CatchUp {
		t.Fatalf("at the next sweep period: %+v", j)
	}
}

// A catch-up that fails is tried again after a pause (1 s, doubling), not
// at once and not never; once it succeeds it is done.
func TestPlannerRetriesAFailedCatchUp(t *testing.T) {
	w := world()
	w.Reaps, w.SweepMs = false, 1000
	var pl Planner
	j := pl.Next(w)
	if !j.CatchUp {
		t.Fatalf("first job %+v, want a catch-up", j)
	}
	pl.ExchangeFailed(j.Partition, j.Nodes[0], w.NowMs)
	// Every other pair (11 of 12) is caught up; the failed one waits its
	// pause.
	got, _ := exchanges(t, &pl, w, 11)
	for _, g := range got {
		if !strings.HasSuffix(g, "+") {
			t.Fatalf("a sweep before the catch-ups ended: %v", got)
		}
		if g == fmt.Sprintf("%d/%s+", j.Partition, j.Nodes[0]) {
			t.Fatalf("the failed catch-up came back at once: %v", got)
		}
	}
	w.NowMs += HandoffRetryMinMs
	next := pl.Next(w)
	if !next.CatchUp || next.Partition != j.Partition || next.Nodes[0] != j.Nodes[0] {
		t.Fatalf("after its pause: %+v, want the catch-up of %d with %s again", next, j.Partition, j.Nodes[0])
	}
	pl.ExchangeFailed(next.Partition, next.Nodes[0], w.NowMs)
	w.NowMs += HandoffRetryMinMs
	if again := pl.Next(w); again.CatchUp {
		t.Fatalf("a second failure waits 2 s, not 1: %+v", again)
	}
	w.NowMs += HandoffRetryMinMs
	if again := pl.Next(w); !again.CatchUp {
		t.Fatalf("2 s after the second failure: %+v, want the catch-up", again)
	}
	pl.Exchanged(j.Partition, j.Nodes[0])
	w.NowMs += 10 * HandoffRetryMaxMs
	if got, _ := exchanges(t, &pl, w, 100); slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, "+") }) {
		t.Fatalf("caught up, then more catch-ups: %v", got)
	}
}
