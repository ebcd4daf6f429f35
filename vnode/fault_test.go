package vnode

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// Corrupt overwrites stored objects under the store: the cache forgets
// them (a read finds them corrupt), the tree takes the digest a rebuild
// gives them, keys not stored are skipped, and a failing write changes
// nothing. SampleKeys draws stored keys.
func TestCorruptUnderARunningStore(t *testing.T) {
	const p, parts = 5, 16
	var keys [][]byte
	for i := 0; len(keys) < 4; i++ {
		k := fmt.Appendf(nil, "fault-key-%d", i)
		if ring.PartitionOf(ring.HashKey(k), parts) == p {
			keys = append(keys, k)
		}
	}
	fail := storage.FailOps(errors.New("disk on fire"), storage.OpWrite)
	fail.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), fail)
	s, err := Open(e, DefaultConfig(p, parts, "n1@1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:3] {
		if _, err := coordinate(s, k, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(k); err != nil { // cached
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sample, err := s.SampleKeys(10, rng)
	if err != nil || len(sample) != 3 {
		t.Fatalf("sample of 3 stored keys: %q, %v", sample, err)
	}
	if one, _ := s.SampleKeys(1, rng); len(one) != 1 {
		t.Fatalf("sample of 1: %q", one)
	}

	fail.SetEnabled(true)
	if done, err := s.Corrupt(keys[:1], rng); err == nil || len(done) != 0 {
		t.Fatalf("corrupt through a failing disk: %q, %v", done, err)
	}
	fail.SetEnabled(false)
	if _, err := s.Get(keys[0]); err != nil {
		t.Fatalf("a failed corruption changed the object: %v", err)
	}

	done, err := s.Corrupt([][]byte{keys[0], keys[1], keys[3]}, rng) // keys[3] is not stored
	if err != nil || len(done) != 2 {
		t.Fatalf("corrupted %q, %v; want the 2 stored keys", done, err)
	}
	for _, k := range done {
		if set, err := s.Get(k); set != nil || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s after corruption: %v, %v (want ErrCorrupt: the cache must forget it)", k, set, err)
		}
	}
	if set, err := s.Get(keys[2]); err != nil || set == nil {
		t.Fatalf("an untouched key: %v, %v", set, err)
	}
	// The tree is what a rebuild from storage gives.
	again, err := Open(e, DefaultConfig(p, parts, "n1@1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Tree().Root() != again.Tree().Root() {
		t.Fatal("the tree after Corrupt differs from a rebuild's")
	}
	var zero merkle.Hash
	if s.Tree().Root() == zero {
		t.Fatal("empty tree")
	}
	// A merge replaces a corrupt object (as anti-entropy does).
	in, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("w"), Timestamp: 2}, "n2@1", 2)
	if _, changed, err := s.Merge(keys[0], in); err != nil || !changed {
		t.Fatalf("merge over a corrupt object: changed %v, %v", changed, err)
	}
	if set, err := s.Get(keys[0]); err != nil || set == nil {
		t.Fatalf("after the merge: %v, %v", set, err)
	}
}
