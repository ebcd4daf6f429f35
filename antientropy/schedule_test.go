package antientropy_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/internal/testseed"
)

type pick struct {
	p    uint32
	peer string
}

func (k pick) String() string { return fmt.Sprintf("%d/%s", k.p, k.peer) }

// picks calls s.Next n times and returns what it chose; every call must
// succeed.
func picks(t *testing.T, s *antientropy.Scheduler, n int, held []uint32, peers func(uint32) []string) []pick {
	t.Helper()
	var out []pick
	for range n {
		p, peer, ok := s.Next(held, peers)
		if !ok {
			t.Fatalf("Next(%v) = not ok after %v", held, out)
		}
		out = append(out, pick{p, peer})
	}
	return out
}

func samePicks(t *testing.T, what string, got []pick, want ...pick) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func peersMap(m map[uint32][]string) func(uint32) []string {
	return func(p uint32) []string { return m[p] }
}

func TestSchedulerRoundRobinAndPeerRotation(t *testing.T) {
	var s antientropy.Scheduler // the zero value is ready
	peers := peersMap(map[uint32][]string{
		1: {"a", "b", "c"},
		2: {"x", "y"},
		5: {"solo"},
	})
	got := picks(t, &s, 12, []uint32{1, 2, 5}, peers)
	samePicks(t, "three partitions", got,
		pick{1, "a"}, pick{2, "x"}, pick{5, "solo"},
		pick{1, "b"}, pick{2, "y"}, pick{5, "solo"},
		pick{1, "c"}, pick{2, "x"}, pick{5, "solo"},
		pick{1, "a"}, pick{2, "y"}, pick{5, "solo"})
}

func TestSchedulerSkipsPartitionsWithoutPeers(t *testing.T) {
	var s antientropy.Scheduler
	calls := map[uint32]int{}
	peers := func(p uint32) []string {
		calls[p]++
		switch p {
		case 2:
			return []string{"b"}
		case 4:
			return []string{"d1", "d2"}
		}
		return nil // 1, 3 and 6 have no peer that can be asked now
	}
	got := picks(t, &s, 6, []uint32{1, 2, 3, 4, 6}, peers)
	samePicks(t, "skipping", got, pick{2, "b"}, pick{4, "d1"}, pick{2, "b"}, pick{4, "d2"}, pick{2, "b"}, pick{4, "d1"})
	if calls[2] != 3 || calls[4] != 3 {
		t.Fatalf("peers called %v", calls)
	}
	// A skipped partition does not use up a turn: once partition 1 has
	// peers, it starts with the first.
	got = picks(t, &s, 3, []uint32{1, 2, 3, 4, 6}, peersMap(map[uint32][]string{1: {"p", "q"}, 2: {"b"}, 4: {"d1", "d2"}}))
	samePicks(t, "partition 1 back", got, pick{1, "p"}, pick{2, "b"}, pick{4, "d2"})
}

func TestSchedulerNothingToDo(t *testing.T) {
	var s antientropy.Scheduler
	none := func(uint32) []string { return nil }
	for _, held := range [][]uint32{nil, {}, {0}, {3, 1, 2}} {
		if p, peer, ok := s.Next(held, none); ok || p != 0 || peer != "" {
			t.Fatalf("Next(%v) with no peers = %d, %q, %v", held, p, peer, ok)
		}
	}
	if _, _, ok := s.Next(nil, func(uint32) []string { return []string{"x"} }); ok {
		t.Fatal("Next with nothing held is ok")
	}
	// Failed calls leave no trace: the first real call starts at the lowest
	// partition with its first peer.
	got := picks(t, &s, 2, []uint32{3, 1, 2}, func(uint32) []string { return []string{"x", "y"} })
	samePicks(t, "after failures", got, pick{1, "x"}, pick{2, "x"})
}

func TestSchedulerHeldOrderDoesNotMatter(t *testing.T) {
	rng, _ := testseed.New(t)
	peers := func(p uint32) []string {
		if p%4 == 3 {
			return nil
		}
		out := make([]string, 1+int(p%3))
		for i := range out {
			out[i] = fmt.Sprintf("n%d-%d", p, i)
		}
		return out
	}
	sorted := []uint32{0, 1, 2, 3, 5, 7, 8, 11, 12, 13, 40, 63}
	var ref antientropy.Scheduler
	want := picks(t, &ref, 50, sorted, peers)
	for range 20 {
		held := slices.Clone(sorted)
		rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
		before := slices.Clone(held)
		var s antientropy.Scheduler
		var got []pick
		for range 50 {
			got = append(got, picks(t, &s, 1, held, peers)...)
			if !slices.Equal(held, before) {
				t.Fatalf("Next reordered the caller's slice: %v, was %v", held, before)
			}
			// A fresh shuffle on every call changes nothing either.
			rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
			before = slices.Clone(held)
		}
		samePicks(t, "shuffled", got, want...)
	}
}

func TestSchedulerHeldSetChanges(t *testing.T) {
	var s antientropy.Scheduler
	all := func(p uint32) []string { return []string{fmt.Sprintf("r%d", p)} }
	step := func(held []uint32, want uint32) {
		t.Helper()
		p, _, ok := s.Next(held, all)
		if !ok || p != want {
			t.Fatalf("Next(%v) = %d, %v; want %d", held, p, ok, want)
		}
	}
	step([]uint32{10, 20, 30}, 10)
	step([]uint32{10, 20, 30}, 20)
	// 20 handed off and 25 gained: the next after 20 is 25.
	step([]uint32{10, 25, 30}, 25)
	// 30 handed off: wrap around to the lowest.
	step([]uint32{10, 40}, 40)
	step([]uint32{10, 40}, 10)
	// A partition below the last chosen one waits for the wrap.
	step([]uint32{5, 10, 40}, 40)
	step([]uint32{5, 10, 40}, 5)
	// The last chosen partition is handed off and only lower ones remain.
	step([]uint32{1, 2}, 1)
	step([]uint32{2}, 2)
	step([]uint32{2}, 2)
	// Duplicates do not break anything.
	step([]uint32{7, 7, 3}, 3)
	step([]uint32{7, 7, 3}, 7)
	step([]uint32{7, 7, 3}, 3)
}

func TestSchedulerWrapsAtTheTopPartition(t *testing.T) {
	var s antientropy.Scheduler
	held := []uint32{math.MaxUint32, 0, 7}
	got := picks(t, &s, 7, held, func(uint32) []string { return []string{"x"} })
	samePicks(t, "top partition", got,
		pick{0, "x"}, pick{7, "x"}, pick{math.MaxUint32, "x"},
		pick{0, "x"}, pick{7, "x"}, pick{math.MaxUint32, "x"}, pick{0, "x"})
}

// Over whole cycles every (partition, peer) pair is compared equally often,
// whatever the peer lists' lengths.
func TestSchedulerFairness(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 20 {
		held := []uint32{}
		lists := map[uint32][]string{}
		lcm := 1
		for p := range uint32(2 + rng.IntN(10)) {
			if rng.IntN(4) == 0 {
				continue
			}
			held = append(held, p*3)
			n := 1 + rng.IntN(4)
			for i := range n {
				lists[p*3] = append(lists[p*3], fmt.Sprintf("n%d", i))
			}
			lcm = lcm * n / gcd(lcm, n)
		}
		if len(held) == 0 {
			continue
		}
		var s antientropy.Scheduler
		rounds := 3 * lcm
		counts := map[pick]int{}
		for _, k := range picks(t, &s, rounds*len(held), held, peersMap(lists)) {
			counts[k]++
		}
		for _, p := range held {
			for _, peer := range lists[p] {
				want := rounds / len(lists[p])
				if got := counts[pick{p, peer}]; got != want {
					t.Fatalf("held %v lists %v: pair %d/%s chosen %d times in %d rounds, want %d", held, lists, p, peer, got, rounds, want)
				}
			}
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
