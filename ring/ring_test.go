package ring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

func mustRing(t *testing.T, cfg Config, ms []Member) *Ring {
	t.Helper()
	r, err := New(cfg, ms)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHashingMatchesMD5Layout(t *testing.T) {
	// md5("") = d41d8cd98f00b204e9800998ecf8427e
	h := HashKey(nil)
	if h[0] != 0xd4 || h[1] != 0x1d {
		t.Fatalf("HashKey is not MD5: %x", h)
	}
	if p := PartitionOf(h, 64); p != 0xd4>>2 {
		t.Fatalf("partition of %x at Q=64 = %d, want top 6 bits = %d", h, p, 0xd4>>2)
	}
	if p := PartitionOf(h, 1024); p != 0xd41d>>6 {
		t.Fatalf("partition at Q=1024 = %d, want %d", p, 0xd41d>>6)
	}
	// The segment is the 16 bits after the partition bits: at Q=256 that is
	// bytes 1 and 2: 0x1d8c.
	if s := SegmentOf(h, 256); s != 0x1d8c {
		t.Fatalf("segment at Q=256 = %#x, want 0x1d8c", s)
	}
}

func TestKeysSpreadEvenlyOverPartitions(t *testing.T) {
	const q, keys = 64, 64000
	counts := make([]int, q)
	for i := range keys {
		counts[PartitionOf(HashKey(fmt.Appendf(nil, "key-%d", i)), q)]++
	}
	for p, c := range counts {
		if math.Abs(float64(c)-keys/q) > 5*math.Sqrt(keys/q) {
			t.Fatalf("partition %d has %d keys, expected about %d", p, c, keys/q)
		}
	}
}

func checkPlacement(t *testing.T, r *Ring) {
	t.Helper()
	zones := map[string]bool{}
	owning := 0
	for _, m := range r.Members() {
		if m.owns() {
			zones[m.Zone] = true
			owning++
		}
	}
	wantN := min(r.Config().N, owning)
	for p := range uint32(r.Config().Partitions) {
		owners := r.Owners(p)
		if len(owners) != wantN {
			t.Fatalf("partition %d has %d owners, want %d", p, len(owners), wantN)
		}
		seenNode, seenZone := map[string]bool{}, map[string]bool{}
		for _, o := range owners {
			m, _ := r.Member(o)
			if !m.owns() {
				t.Fatalf("partition %d owned by %s in state %s", p, o, m.State)
			}
			if seenNode[o] {
				t.Fatalf("partition %d has %s twice", p, o)
			}
			seenNode[o] = true
			if len(zones) >= wantN && len(zones) > 1 && seenZone[m.Zone] {
				t.Fatalf("partition %d has two owners in zone %q: %v", p, m.Zone, owners)
			}
			seenZone[m.Zone] = true
		}
		pl := r.PreferenceList(p)
		if !slices.Equal(pl[:wantN], owners) || len(pl) != owning {
			t.Fatalf("preference list %v does not start with owners %v or misses members", pl, owners)
		}
	}
}

func TestPlacementConstraints(t *testing.T) {
	rng, _ := testseed.New(t)
	for trial := range 60 {
		n := 1 + rng.IntN(20)
		var ms []Member
		zones := 1 + rng.IntN(5)
		for i := range n {
			ms = append(ms, Member{
				Name: fmt.Sprintf("n%d-%d", trial, i), Weight: 1 + rng.IntN(4),
				Zone: fmt.Sprintf("z%d", rng.IntN(zones)), State: State(rng.IntN(3)),
			})
		}
		cfg := Config{Partitions: 8 << rng.IntN(5), N: 1 + rng.IntN(5)}
		r := mustRing(t, cfg, ms)
		checkPlacement(t, r)
		checkCaps(t, r)
	}
}

// checkCaps: no member holds more than its cap, max(ceil(share),
// floor(share*(1+Slack))): the bound behind the balance figure.
func checkCaps(t *testing.T, r *Ring) {
	t.Helper()
	share := r.Share()
	for name, l := range r.Loads() {
		s := share[name]
		limit := max(int(math.Ceil(s-1e-9)), int(math.Floor(s*(1+Slack))))
		if l > limit {
			t.Fatalf("%s holds %d replicas, share %.2f, cap %d (loads %v)", name, l, s, limit, r.Loads())
		}
	}
}

func TestZonesAreSpreadWhenThereAreEnough(t *testing.T) {
	var ms []Member
	for i := range 9 {
		ms = append(ms, Member{Name: fmt.Sprintf("n%d", i), Weight: 1, Zone: fmt.Sprintf("rack-%d", i%3)})
	}
	r := mustRing(t, Config{Partitions: 256, N: 3}, ms)
	checkPlacement(t, r)
	for p := range uint32(256) {
		zs := map[string]bool{}
		for _, o := range r.Owners(p) {
			m, _ := r.Member(o)
			zs[m.Zone] = true
		}
		if len(zs) != 3 {
			t.Fatalf("partition %d spans %d zones", p, len(zs))
		}
	}
	// An unbalanced zone layout: rack-a has 4 nodes, rack-b and rack-c one
	// each. Every partition needs one replica per rack, so the lone nodes
	// hold every partition.
	ms = []Member{{Name: "a1", Weight: 1, Zone: "a"}, {Name: "a2", Weight: 1, Zone: "a"}, {Name: "a3", Weight: 1, Zone: "a"},
		{Name: "a4", Weight: 1, Zone: "a"}, {Name: "b1", Weight: 1, Zone: "b"}, {Name: "c1", Weight: 1, Zone: "c"}}
	r = mustRing(t, Config{Partitions: 64, N: 3}, ms)
	checkPlacement(t, r)
	if l := r.Loads(); l["b1"] != 64 || l["c1"] != 64 {
		t.Fatalf("lone-zone nodes must hold every partition: %v", l)
	}
}

func TestDeterministicWhateverTheInputOrder(t *testing.T) {
	rng, _ := testseed.New(t)
	ms := Nodes(17)
	ms[3].Weight, ms[5].Zone, ms[6].State = 3, "x", Down
	a := mustRing(t, Config{Partitions: 128, N: 3}, ms)
	shuffled := slices.Clone(ms)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := mustRing(t, Config{Partitions: 128, N: 3}, shuffled)
	for p := range uint32(128) {
		if !slices.Equal(a.PreferenceList(p), b.PreferenceList(p)) {
			t.Fatalf("partition %d: %v vs %v", p, a.PreferenceList(p), b.PreferenceList(p))
		}
	}
}

func TestDownMembersKeepPartitionsLeavingMembersGiveThemUp(t *testing.T) {
	ms := Nodes(6)
	up := mustRing(t, Config{Partitions: 64, N: 3}, ms)
	ms[2].State = Down
	down := mustRing(t, Config{Partitions: 64, N: 3}, ms)
	if moved, _ := Moved(up, down); moved != 0 {
		t.Fatalf("a failure moved %d replicas; a failed node stays in the ring", moved)
	}
	ms[2].State = Leaving
	leaving := mustRing(t, Config{Partitions: 64, N: 3}, ms)
	if ps, _ := leaving.PartitionsOf(ms[2].Name); len(ps) != 0 {
		t.Fatalf("a leaving member still owns %d partitions", len(ps))
	}
	if _, ok := leaving.Member(ms[2].Name); !ok {
		t.Fatal("a leaving member is still a member (it hands off its data)")
	}
	checkPlacement(t, leaving)
}

func TestWeightsScaleOwnership(t *testing.T) {
	ms := Nodes(8)
	ms[0].Weight = 3
	r := mustRing(t, Config{Partitions: 256, N: 3}, ms)
	l := r.Loads()
	share := r.Share()
	if math.Abs(share[ms[0].Name]-3*share[ms[1].Name]) > 1e-9 {
		t.Fatalf("weighted shares wrong: %v", share)
	}
	if float64(l[ms[0].Name]) < 2*float64(l[ms[1].Name]) {
		t.Fatalf("weight 3 node holds %d, weight 1 node %d", l[ms[0].Name], l[ms[1].Name])
	}
	if r.Balance() > 1.10 {
		t.Fatalf("balance %.3f", r.Balance())
	}
}

func TestFewerMembersThanN(t *testing.T) {
	r := mustRing(t, Config{Partitions: 8, N: 3}, Nodes(2))
	if r.N() != 2 {
		t.Fatalf("N() = %d with two members", r.N())
	}
	checkPlacement(t, r)
	empty := mustRing(t, Config{Partitions: 8, N: 3}, nil)
	if empty.N() != 0 || len(empty.PreferenceList(0)) != 0 {
		t.Fatal("an empty ring has no owners")
	}
}

func TestValidation(t *testing.T) {
	bad := []struct {
		cfg  Config
		ms   []Member
		want string
	}{
		{Config{Partitions: 100, N: 3}, nil, "partitions must be a power of two"},
		{Config{Partitions: 4, N: 3}, nil, "from 8 to 1024, got 4"},
		{Config{Partitions: 2048, N: 3}, nil, "got 2048"},
		{Config{Partitions: 64, N: 0}, nil, "n must be from 1"},
		{Config{Partitions: 64, N: 3}, []Member{{Name: "", Weight: 1}}, "empty name"},
		{Config{Partitions: 64, N: 3}, []Member{{Name: "a", Weight: 1}, {Name: "a", Weight: 1}}, `"a" appears twice`},
		{Config{Partitions: 64, N: 3}, []Member{{Name: "a", Weight: 0}}, "weight must be from 1 to 1000, got 0"},
		{Config{Partitions: 64, N: 3}, []Member{{Name: "a", Weight: 1, State: 9}}, "unknown state"},
	}
	for _, b := range bad {
		_, err := New(b.cfg, b.ms)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New(%+v) = %v, want ErrInvalid mentioning %q", b.cfg, err, b.want)
		}
	}
	r := mustRing(t, DefaultConfig(), Nodes(3))
	if _, err := r.PartitionsOf("nobody"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("PartitionsOf(unknown) = %v", err)
	}
	other := mustRing(t, Config{Partitions: 128, N: 3}, Nodes(3))
	if _, err := Moved(r, other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Moved across Q = %v", err)
	}
}

// The quality the design promises, at the sizes the README reports. The
// exact figures are printed by `go run ./bench ring`; this guards against
// regressions well past them.
func TestQualityBounds(t *testing.T) {
	cfg := Config{Partitions: 256, N: 3}
	for _, n := range []int{3, 5, 8, 13, 21, 34, 50} {
		q, err := Evaluate(cfg, Nodes(n), []Member{{Name: "joiner", Weight: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if q.Balance > 1.10 {
			t.Errorf("%d nodes: balance %.3f > 1.10", n, q.Balance)
		}
		if q.JoinMovement > 2.2 || q.LeaveMovement > 2.6 {
			t.Errorf("%d nodes: movement join %.2f leave %.2f", n, q.JoinMovement, q.LeaveMovement)
		}
	}
}

func TestSloppyTargets(t *testing.T) {
	pl := []string{"a", "b", "c", "d", "e", "f"}
	down := func(set ...string) func(string) bool { return func(n string) bool { return slices.Contains(set, n) } }
	cases := []struct {
		down []string
		want []Target
	}{
		{nil, []Target{{Node: "a"}, {Node: "b"}, {Node: "c"}}},
		{[]string{"b"}, []Target{{Node: "a"}, {Node: "d", HintOwner: "b"}, {Node: "c"}}},
		{[]string{"a", "d"}, []Target{{Node: "e", HintOwner: "a"}, {Node: "b"}, {Node: "c"}}},
		{[]string{"a", "b", "c"}, []Target{{Node: "d", HintOwner: "a"}, {Node: "e", HintOwner: "b"}, {Node: "f", HintOwner: "c"}}},
		{[]string{"a", "b", "c", "e", "f"}, []Target{{Node: "d", HintOwner: "a"}}},
	}
	for _, c := range cases {
		if got := SloppyTargets(pl, 3, down(c.down...)); !slices.Equal(got, c.want) {
			t.Errorf("down %v: %v, want %v", c.down, got, c.want)
		}
	}
	if got := SloppyTargets(pl[:2], 3, down()); len(got) != 2 {
		t.Fatalf("short list: %v", got)
	}
}

func BenchmarkNew(b *testing.B) {
	for _, c := range []struct{ q, n int }{{64, 5}, {256, 50}, {1024, 50}} {
		b.Run(fmt.Sprintf("Q%d-nodes%d", c.q, c.n), func(b *testing.B) {
			ms := Nodes(c.n)
			for b.Loop() {
				if _, err := New(Config{Partitions: c.q, N: 3}, ms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
