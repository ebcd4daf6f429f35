package merkle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

var testConfigs = []Config{
	DefaultConfig(),
	{Depth: 1, FanoutBits: 1},
	{Depth: 6, FanoutBits: 1},
	{Depth: 2, FanoutBits: 8},
	{Depth: 5, FanoutBits: 3},
	{Depth: 4, FanoutBits: 4},
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // "" = valid
	}{
		{DefaultConfig(), ""},
		{Config{Depth: 1, FanoutBits: 1}, ""},
		{Config{Depth: 2, FanoutBits: 8}, ""},
		{Config{Depth: 4, FanoutBits: 4}, ""},
		{Config{Depth: 6, FanoutBits: 2}, ""},
		{Config{Depth: 3, FanoutBits: 0}, "Config.FanoutBits = 0, want 1..8"},
		{Config{Depth: 1, FanoutBits: 9}, "Config.FanoutBits = 9, want 1..8"},
		{Config{Depth: 0, FanoutBits: 4}, "Config.Depth = 0, want 1..6"},
		{Config{Depth: 7, FanoutBits: 1}, "Config.Depth = 7, want 1..6"},
		{Config{Depth: -1, FanoutBits: 4}, "Config.Depth = -1"},
		{Config{Depth: 5, FanoutBits: 4}, "Config.Depth*Config.FanoutBits = 5*4 = 20, want <= 16"},
		{Config{Depth: 3, FanoutBits: 6}, "want <= 16"},
		{Config{}, "Config.FanoutBits"},
	} {
		err := tc.cfg.Validate()
		_, nerr := New(tc.cfg)
		_, berr := Build(tc.cfg, func(func(uint32, []byte, []byte) bool) {})
		if tc.want == "" {
			if err != nil || nerr != nil || berr != nil {
				t.Errorf("%+v: unexpected errors %v / %v / %v", tc.cfg, err, nerr, berr)
			}
			continue
		}
		for _, e := range []error{err, nerr, berr} {
			if e == nil || !strings.HasPrefix(e.Error(), "merkle: ") || !strings.Contains(e.Error(), tc.want) {
				t.Errorf("%+v: error %v, want one containing %q", tc.cfg, e, tc.want)
			}
		}
	}
}

func TestConfigLeaves(t *testing.T) {
	c := DefaultConfig()
	if c.Fanout() != 16 || c.Leaves() != 4096 {
		t.Fatalf("default fanout %d leaves %d", c.Fanout(), c.Leaves())
	}
	for _, tc := range []struct {
		seg, leaf uint32
	}{{0, 0}, {15, 0}, {16, 1}, {0xFFFF, 4095}, {0x1234, 0x123}, {0x1_0010, 1}} {
		if got := c.Leaf(tc.seg); got != tc.leaf {
			t.Errorf("Leaf(%#x) = %d, want %d", tc.seg, got, tc.leaf)
		}
	}
	if r := c.LeafRange(0x123); r != (SegmentRange{0x1230, 0x123F}) {
		t.Errorf("LeafRange(0x123) = %+v", r)
	}
	c = Config{Depth: 1, FanoutBits: 1}
	if r := c.LeafRange(1); r != (SegmentRange{0x8000, 0xFFFF}) {
		t.Errorf("1-bit LeafRange(1) = %+v", r)
	}
	c = Config{Depth: 4, FanoutBits: 4}
	if c.Leaf(0xBEEF) != 0xBEEF || c.LeafRange(7) != (SegmentRange{7, 7}) {
		t.Errorf("16-bit config maps segments to themselves")
	}
}

func TestEmptyTree(t *testing.T) {
	for _, cfg := range testConfigs {
		tr := mustNew(t, cfg)
		if !tr.Root().IsZero() || tr.Count() != 0 {
			t.Fatalf("%+v: empty root %x count %d", cfg, tr.Root(), tr.Count())
		}
		for l, level := range allHashes(tr) {
			for i, h := range level {
				if !h.IsZero() {
					t.Fatalf("%+v: empty tree level %d node %d = %x", cfg, l, i, h)
				}
			}
		}
		b, err := Build(cfg, func(func(uint32, []byte, []byte) bool) {})
		if err != nil || !b.Root().IsZero() {
			t.Fatalf("%+v: Build of nothing root %x err %v", cfg, b.Root(), err)
		}
	}
}

// TestIncrementalMatchesBuild applies random seeded histories of inserts,
// updates and removes, with random reads in between (to exercise partial
// lazy recomputation), and checks every node against a Build from scan.
func TestIncrementalMatchesBuild(t *testing.T) {
	seed := testseed.Seed(t)
	rng := newRand(seed)
	for _, cfg := range testConfigs {
		t.Run(fmt.Sprintf("depth%d_bits%d", cfg.Depth, cfg.FanoutBits), func(t *testing.T) {
			tr := mustNew(t, cfg)
			model := map[string][]byte{}
			const pool, ops = 400, 3000
			for op := 1; op <= ops; op++ {
				key := keyOf(rng.IntN(pool))
				seg := segmentOf(key)
				old, present := model[string(key)]
				var nd []byte
				switch {
				case !present || rng.IntN(2) == 0:
					n := rng.IntN(40)
					if rng.IntN(10) == 0 {
						n = 0 // present with an empty (non-nil) digest
					}
					nd = make([]byte, n)
					for i := range nd {
						nd[i] = byte(rng.Uint32())
					}
				default:
					nd = nil // remove
				}
				if !present {
					old = nil
				}
				tr.Update(seg, key, old, nd)
				if nd == nil {
					delete(model, string(key))
				} else {
					model[string(key)] = nd
				}
				switch rng.IntN(8) {
				case 0:
					tr.Root()
				case 1:
					l := rng.IntN(cfg.Depth + 1)
					tr.Hashes(l, []uint32{uint32(rng.IntN(cfg.width(l)))})
				}
				if op%250 == 0 || op == ops {
					if tr.Count() != len(model) {
						t.Fatalf("op %d: Count %d, want %d", op, tr.Count(), len(model))
					}
					sameTree(t, fmt.Sprintf("op %d", op), tr, buildMap(t, cfg, model))
				}
			}
		})
	}
}

func TestOrderIndependence(t *testing.T) {
	seed := testseed.Seed(t)
	rng := newRand(seed)
	cfg := DefaultConfig()
	const n = 3000
	var want Hash
	for trial := range 4 {
		perm := rng.Perm(n)
		tr := mustNew(t, cfg)
		for _, i := range perm {
			k := keyOf(i)
			tr.Update(segmentOf(k), k, nil, digestOf(k, 0))
		}
		if trial == 0 {
			want = tr.Root()
			if want.IsZero() {
				t.Fatal("non-empty tree has zero root")
			}
		} else if tr.Root() != want {
			t.Fatalf("trial %d: root %x, want %x", trial, tr.Root(), want)
		}
		if tr.Count() != n {
			t.Fatalf("count %d", tr.Count())
		}
	}
	// Same keys, one digest different: different root.
	tr := mustNew(t, cfg)
	for i := range n {
		k := keyOf(i)
		v := 0
		if i == n/2 {
			v = 1
		}
		tr.Update(segmentOf(k), k, nil, digestOf(k, v))
	}
	if tr.Root() == want {
		t.Fatal("changing one digest did not change the root")
	}
}

func TestLengthPrefixedItems(t *testing.T) {
	if ItemHash([]byte("ab"), []byte("c")) == ItemHash([]byte("a"), []byte("bc")) {
		t.Fatal(`h("ab","c") == h("a","bc")`)
	}
	if ItemHash([]byte("k"), nil) != ItemHash([]byte("k"), []byte{}) {
		t.Fatal("nil and empty digest differ in ItemHash")
	}
	a, b := mustNew(t, DefaultConfig()), mustNew(t, DefaultConfig())
	a.Update(7, []byte("ab"), nil, []byte("c"))
	b.Update(7, []byte("a"), nil, []byte("bc"))
	if a.Root() == b.Root() {
		t.Fatal("trees of (ab,c) and (a,bc) have the same root")
	}
	// The leaf is exactly the item hash.
	if got := a.Hashes(3, []uint32{0}); got[0] != ItemHash([]byte("ab"), []byte("c")) {
		t.Fatalf("leaf %x is not the item hash", got[0])
	}
}

func TestRemoveRestoresRoot(t *testing.T) {
	seed := testseed.Seed(t)
	rng := newRand(seed)
	for _, cfg := range testConfigs {
		tr := mustNew(t, cfg)
		// Insert then remove on an empty tree gives back zero everywhere.
		k := []byte("lonely")
		tr.Update(segmentOf(k), k, nil, []byte("d"))
		if tr.Root().IsZero() || tr.Count() != 1 {
			t.Fatalf("%+v: after insert root %x count %d", cfg, tr.Root(), tr.Count())
		}
		tr.Update(segmentOf(k), k, []byte("d"), nil)
		if !tr.Root().IsZero() || tr.Count() != 0 {
			t.Fatalf("%+v: after remove root %x count %d", cfg, tr.Root(), tr.Count())
		}
		empty := mustNew(t, cfg)
		sameTree(t, "insert+remove", tr, empty)

		for i := range 500 {
			k := keyOf(i)
			tr.Update(segmentOf(k), k, nil, digestOf(k, 0))
		}
		before := tr.Clone()
		r0 := tr.Root()
		for range 50 {
			i := rng.IntN(1000)
			k := keyOf(i)
			seg := segmentOf(k)
			if i < 500 { // present: update, then undo
				tr.Update(seg, k, digestOf(k, 0), digestOf(k, 9))
				if tr.Root() == r0 {
					t.Fatalf("%+v: update of %s did not change root", cfg, k)
				}
				tr.Update(seg, k, digestOf(k, 9), digestOf(k, 0))
			} else { // absent: insert, then remove
				tr.Update(seg, k, nil, digestOf(k, 0))
				if tr.Root() == r0 || tr.Count() != 501 {
					t.Fatalf("%+v: insert of %s: root unchanged or count %d", cfg, k, tr.Count())
				}
				tr.Update(seg, k, digestOf(k, 0), nil)
			}
			if tr.Root() != r0 || tr.Count() != 500 {
				t.Fatalf("%+v: undo of %s: root %x want %x, count %d", cfg, k, tr.Root(), r0, tr.Count())
			}
		}
		sameTree(t, "after undos", tr, before)
	}
}

func TestUpdateNoops(t *testing.T) {
	tr := mustNew(t, DefaultConfig())
	tr.Update(1, []byte("k"), nil, nil)
	if tr.Count() != 0 || !tr.Root().IsZero() {
		t.Fatal("nil->nil changed the tree")
	}
	tr.Update(1, []byte("k"), nil, []byte{})
	if tr.Count() != 1 || tr.Root().IsZero() {
		t.Fatal("empty non-nil digest is not a present key")
	}
	r := tr.Root()
	tr.Update(1, []byte("k"), []byte{}, []byte{})
	if tr.Count() != 1 || tr.Root() != r {
		t.Fatal("same-digest update changed the tree")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	for i := range 100 {
		k := keyOf(i)
		a.Update(segmentOf(k), k, nil, digestOf(k, 0))
	}
	// Clone with dirty nodes pending.
	b := a.Clone()
	sameTree(t, "clone", b, a)
	r := a.Root()
	k := keyOf(1000)
	b.Update(segmentOf(k), k, nil, digestOf(k, 0))
	if a.Root() != r || a.Count() != 100 {
		t.Fatal("updating the clone changed the original")
	}
	if b.Root() == r || b.Count() != 101 {
		t.Fatal("clone update lost")
	}
	if b.Config() != a.Config() {
		t.Fatal("clone config differs")
	}
}

func TestHashesPanicsOutOfRange(t *testing.T) {
	tr := mustNew(t, DefaultConfig())
	for _, tc := range []struct {
		level int
		idx   []uint32
	}{{-1, nil}, {4, nil}, {0, []uint32{1}}, {3, []uint32{4096}}, {1, []uint32{0, 16}}} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Hashes(%d, %v) did not panic", tc.level, tc.idx)
				}
			}()
			tr.Hashes(tc.level, tc.idx)
		}()
	}
}

func TestDiffKeys(t *testing.T) {
	kd := func(pairs ...string) []KeyDigest {
		var out []KeyDigest
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, KeyDigest{Key: []byte(pairs[i]), Digest: []byte(pairs[i+1])})
		}
		return out
	}
	str := func(keys [][]byte) string {
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = string(k)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name                 string
		local, remote        []KeyDigest
		onlyL, onlyR, differ string
		wantErr              string
	}{
		{name: "both empty"},
		{name: "only local", local: kd("a", "1", "b", "2"), onlyL: "a,b"},
		{name: "only remote", remote: kd("a", "1"), onlyR: "a"},
		{name: "equal", local: kd("a", "1", "b", "2"), remote: kd("a", "1", "b", "2")},
		{
			name:   "mixed",
			local:  kd("a", "1", "c", "3", "d", "4", "f", "6", "z", "9"),
			remote: kd("b", "2", "c", "3", "d", "X", "e", "5", "z", "8", "zz", "0"),
			onlyL:  "a,f", onlyR: "b,e,zz", differ: "d,z",
		},
		{name: "prefix keys", local: kd("a", "1", "ab", "2"), remote: kd("a", "1", "abc", "2"), onlyL: "ab", onlyR: "abc"},
		{name: "empty vs nil digest", local: []KeyDigest{{Key: []byte("k")}}, remote: []KeyDigest{{Key: []byte("k"), Digest: []byte{}}}},
		{name: "unsorted local", local: kd("b", "1", "a", "2"), wantErr: "local keys not strictly ascending at position 1"},
		{name: "unsorted remote", remote: kd("a", "1", "c", "2", "b", "3"), wantErr: "remote keys not strictly ascending at position 2"},
		{name: "duplicate", local: kd("a", "1", "a", "2"), wantErr: "local keys not strictly ascending"},
	} {
		l, r, d, err := DiffKeys(tc.local, tc.remote)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), "merkle: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
			if l != nil || r != nil || d != nil {
				t.Errorf("%s: results returned with error", tc.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if str(l) != tc.onlyL || str(r) != tc.onlyR || str(d) != tc.differ {
			t.Errorf("%s: got onlyLocal %q onlyRemote %q differ %q, want %q %q %q",
				tc.name, str(l), str(r), str(d), tc.onlyL, tc.onlyR, tc.differ)
		}
	}
}
