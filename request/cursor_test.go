package request

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/ring"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []struct {
		p     uint32
		after []byte
	}{{0, nil}, {7, []byte("user:ada")}, {1023, []byte{0, 0xff, '/', '+'}}} {
		p, after, err := DecodeCursor(EncodeCursor(c.p, c.after))
		if err != nil || p != c.p || string(after) != string(c.after) {
			t.Fatalf("%d %q: got %d %q %v", c.p, c.after, p, after, err)
		}
	}
	if p, after, err := DecodeCursor(""); p != 0 || after != nil || err != nil {
		t.Fatal("the empty cursor is not the start")
	}
	for _, bad := range []string{"%%%", "AAA", "=="} {
		if _, _, err := DecodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

// storageSorted sorts keys as a partition stores them (segment, then key).
func storageSorted(q int, keys []string) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	slices.SortFunc(out, func(a, b []byte) int {
		sa, sb := ring.SegmentOf(ring.HashKey(a), q), ring.SegmentOf(ring.HashKey(b), q)
		if sa != sb {
			return cmp.Compare(sa, sb)
		}
		return bytes.Compare(a, b)
	})
	return out
}

func TestMergePages(t *testing.T) {
	const q = 16
	var all []string
	for i := range 30 {
		all = append(all, fmt.Sprint("k", i))
	}
	sorted := storageSorted(q, all)
	str := func(ks [][]byte) []string {
		var out []string
		for _, k := range ks {
			out = append(out, string(k))
		}
		return out
	}
	// A new owner (empty, done) does not hide the keys the other holds.
	keys, _, after, done := MergePages(q, 100, []Page{{Done: true}, {Keys: sorted, Done: true}})
	if !done || after != nil || !slices.Equal(str(keys), str(sorted)) {
		t.Fatalf("empty + full: %d keys, done %v", len(keys), done)
	}
	// One replica stopped at the 10th key: nothing past it is taken, from
	// either, and the next page starts after it.
	keys, _, after, done = MergePages(q, 100, []Page{{Keys: sorted[:10], Next: sorted[9]}, {Keys: sorted, Done: true}})
	if done || string(after) != string(sorted[9]) || !slices.Equal(str(keys), str(sorted[:10])) {
		t.Fatalf("partial + full: %q after %q done %v", str(keys), after, done)
	}
	// Each key once, in storage order, whatever the replicas hold.
	odd, even := [][]byte{}, [][]byte{}
	for i, k := range sorted {
		if i%2 == 1 {
			odd = append(odd, k)
		} else {
			even = append(even, k)
		}
	}
	keys, _, _, done = MergePages(q, 100, []Page{{Keys: odd, Done: true}, {Keys: sorted, Done: true}, {Keys: even, Done: true}})
	if !done || !slices.Equal(str(keys), str(sorted)) {
		t.Fatalf("union of three: %q", str(keys))
	}
	// At most limit keys; the next page starts after the last one.
	keys, _, after, done = MergePages(q, 7, []Page{{Keys: odd, Done: true}, {Keys: even, Done: true}})
	if done || len(keys) != 7 || string(after) != string(sorted[6]) || !slices.Equal(str(keys), str(sorted[:7])) {
		t.Fatalf("limit 7: %q after %q", str(keys), after)
	}
}
