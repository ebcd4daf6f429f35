package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6d65726b6c65)) }

// segmentOf is the caller-side segment function used by the tests: the top
// 16 bits of SHA-256(key).
func segmentOf(key []byte) uint32 {
	s := sha256.Sum256(key)
	return uint32(binary.BigEndian.Uint16(s[:2]))
}

func digestOf(key []byte, version int) []byte {
	s := sha256.Sum256(fmt.Appendf(nil, "%s@%d", key, version))
	return s[:]
}

func keyOf(i int) []byte { return fmt.Appendf(nil, "key-%08d", i) }

func mustNew(tb testing.TB, cfg Config) *Tree {
	tb.Helper()
	t, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// buildMap builds a tree from a key -> digest map (map order is random, so
// this also exercises order independence).
func buildMap(tb testing.TB, cfg Config, m map[string][]byte) *Tree {
	tb.Helper()
	t, err := Build(cfg, func(yield func(uint32, []byte, []byte) bool) {
		for k, d := range m {
			if !yield(segmentOf([]byte(k)), []byte(k), d) {
				return
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// allHashes returns every node hash of every level.
func allHashes(t *Tree) [][]Hash {
	out := make([][]Hash, t.Config().Depth+1)
	for l := range out {
		idx := make([]uint32, t.Config().width(l))
		for i := range idx {
			idx[i] = uint32(i)
		}
		out[l] = t.Hashes(l, idx)
	}
	return out
}

func sameTree(tb testing.TB, what string, got, want *Tree) {
	tb.Helper()
	if got.Root() != want.Root() {
		tb.Fatalf("%s: root %x, want %x", what, got.Root(), want.Root())
	}
	if got.Count() != want.Count() {
		tb.Fatalf("%s: count %d, want %d", what, got.Count(), want.Count())
	}
	g, w := allHashes(got), allHashes(want)
	for l := range w {
		for i := range w[l] {
			if g[l][i] != w[l][i] {
				tb.Fatalf("%s: level %d node %d = %x, want %x", what, l, i, g[l][i], w[l][i])
			}
		}
	}
}

const fixtureKeys = 100_000

var fixture struct {
	once sync.Once
	tree *Tree
}

// fixture100k returns a tree (default config) of keys keyOf(0..99999) at
// version 0. Callers must Clone it before modifying.
func fixture100k(tb testing.TB) *Tree {
	tb.Helper()
	fixture.once.Do(func() {
		t, err := Build(DefaultConfig(), func(yield func(uint32, []byte, []byte) bool) {
			for i := range fixtureKeys {
				k := keyOf(i)
				if !yield(segmentOf(k), k, digestOf(k, 0)) {
					return
				}
			}
		})
		if err != nil {
			panic(err)
		}
		t.Root()
		fixture.tree = t
	})
	return fixture.tree
}

// change describes one key changed on the remote copy.
type change struct {
	key     []byte
	segment uint32
}

// mutate applies k distinct random changes (modify, remove or insert a new
// key) to t, which holds fixture100k's keys, and returns them.
func mutate(t *Tree, rng *rand.Rand, k int) []change {
	var out []change
	used := map[int]bool{}
	for len(out) < k {
		switch op := rng.IntN(3); op {
		case 0, 1:
			i := rng.IntN(fixtureKeys)
			if used[i] {
				continue
			}
			used[i] = true
			key := keyOf(i)
			seg := segmentOf(key)
			if op == 0 {
				t.Update(seg, key, digestOf(key, 0), digestOf(key, 1))
			} else {
				t.Update(seg, key, digestOf(key, 0), nil)
			}
			out = append(out, change{key, seg})
		case 2:
			key := fmt.Appendf(nil, "new-%d-%d", len(out), rng.Uint64())
			seg := segmentOf(key)
			t.Update(seg, key, nil, digestOf(key, 0))
			out = append(out, change{key, seg})
		}
	}
	return out
}
