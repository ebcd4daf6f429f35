package merkle

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

// TestAddOfSnapshotAndLaterUpdates: the tree of a snapshot plus a tree of
// the updates made after it (applied to an empty tree) is the tree of the
// final state, whatever the interleaving.
func TestAddOfSnapshotAndLaterUpdates(t *testing.T) {
	rng, _ := testseed.New(t)
	cfg := DefaultConfig()
	type item struct {
		seg    uint32
		digest []byte
	}
	state := map[string]item{}
	digest := func() []byte { return []byte(fmt.Sprint(rng.Int64())) }
	for i := 0; i < 2000; i++ {
		state[fmt.Sprint("k", rng.IntN(1500))] = item{uint32(rng.IntN(1 << 16)), digest()}
	}
	snapshot, err := Build(cfg, func(yield func(uint32, []byte, []byte) bool) {
		for k, it := range state {
			yield(it.seg, []byte(k), it.digest)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	delta, _ := New(cfg)
	for i := 0; i < 3000; i++ {
		k := fmt.Sprint("k", rng.IntN(2500))
		old, ok := state[k]
		var oldDigest []byte
		if ok {
			oldDigest = old.digest
		} else {
			old.seg = uint32(rng.IntN(1 << 16))
		}
		if ok && rng.IntN(4) == 0 {
			delta.Update(old.seg, []byte(k), oldDigest, nil)
			delete(state, k)
			continue
		}
		d := digest()
		delta.Update(old.seg, []byte(k), oldDigest, d)
		state[k] = item{old.seg, d}
	}
	if err := snapshot.Add(delta); err != nil {
		t.Fatal(err)
	}
	want, _ := Build(cfg, func(yield func(uint32, []byte, []byte) bool) {
		for k, it := range state {
			yield(it.seg, []byte(k), it.digest)
		}
	})
	if snapshot.Root() != want.Root() || snapshot.Count() != want.Count() {
		t.Fatalf("snapshot + delta: root %x count %d, want root %x count %d", snapshot.Root(), snapshot.Count(), want.Root(), want.Count())
	}
	other, _ := New(Config{Depth: 2, FanoutBits: 4})
	if err := snapshot.Add(other); err == nil {
		t.Fatal("adding a tree of another shape succeeded")
	}
}

func TestLeavesRoundTrip(t *testing.T) {
	cfg := Config{Depth: 2, FanoutBits: 3}
	tr, _ := New(cfg)
	for i := 0; i < 300; i++ {
		tr.Update(uint32(i*211), []byte(fmt.Sprint(i)), nil, []byte{byte(i)})
	}
	root := tr.Root() // leaves dirty ancestors clean
	b := tr.AppendLeaves([]byte("prefix"))
	if len(b) != len("prefix")+cfg.EncodedSize() {
		t.Fatalf("encoded %d bytes, want %d", len(b)-len("prefix"), cfg.EncodedSize())
	}
	got, err := DecodeLeaves(cfg, b[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	if got.Root() != root || got.Count() != 300 {
		t.Fatalf("decoded root %x count %d, want %x 300", got.Root(), got.Count(), root)
	}
	got.Update(5, []byte("x"), nil, []byte("y"))
	if got.Root() == root {
		t.Fatal("a decoded tree does not update")
	}
	for _, bad := range [][]byte{b[len("prefix"):][:10], append(b[len("prefix"):], 0), nil} {
		if _, err := DecodeLeaves(cfg, bad); !errors.Is(err, ErrLeaves) {
			t.Fatalf("DecodeLeaves of %d bytes: %v, want ErrLeaves", len(bad), err)
		}
	}
	neg := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, b[len("prefix")+8:]...)
	if _, err := DecodeLeaves(cfg, neg); !errors.Is(err, ErrLeaves) {
		t.Fatalf("a negative count decoded: %v", err)
	}
}
