package merkle

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

// rootOnlyBytes is the wire estimate of one round trip carrying the root:
// request (frame + 1 index) and response (frame + config + 1 index + 1 hash).
const rootOnlyBytes = FrameBytes + IndexBytes + FrameBytes + ConfigBytes + IndexBytes + HashBytes

func TestIdenticalTreesOneRoundTrip(t *testing.T) {
	seed := testseed.Seed(t)
	rng := newRand(seed)
	a := fixture100k(t)
	// b holds the same keys, inserted incrementally in a random order.
	b := mustNew(t, DefaultConfig())
	for _, i := range rng.Perm(fixtureKeys) {
		k := keyOf(i)
		b.Update(segmentOf(k), k, nil, digestOf(k, 0))
	}
	for _, dir := range []struct {
		name string
		x, y *Tree
	}{{"a vs b", a, b}, {"b vs a", b, a}} {
		ranges, st, err := Diff(dir.x, dir.y)
		if err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
		if len(ranges) != 0 {
			t.Fatalf("%s: identical trees differ in %v", dir.name, ranges)
		}
		want := Stats{RoundTrips: 1, Messages: 2, IndicesSent: 1, HashesSent: 1,
			BytesSent: FrameBytes + IndexBytes, BytesReceived: rootOnlyBytes - FrameBytes - IndexBytes}
		if st != want {
			t.Fatalf("%s: stats %+v, want %+v", dir.name, st, want)
		}
		if st.Bytes() >= 1024 {
			t.Fatalf("%s: %d bytes for identical trees, want < 1 KB", dir.name, st.Bytes())
		}
		t.Logf("identical trees, %d keys: %d round trip(s), %d bytes", fixtureKeys, st.RoundTrips, st.Bytes())
	}
}

func TestDifferingSegmentsExact(t *testing.T) {
	seed := testseed.Seed(t)
	rng := newRand(seed)
	a := fixture100k(t)
	cfg := a.Config()
	// Shipping every key's digest (a ~12-byte key and a 16-byte hash each)
	// is the naive alternative the exchange must beat by far.
	naive := fixtureKeys * (12 + HashBytes)
	bytesFor := map[int]int{}
	for _, k := range []int{1, 10, 100} {
		b := a.Clone()
		changes := mutate(b, rng, k)
		wantLeaves := map[uint32]bool{}
		for _, c := range changes {
			wantLeaves[cfg.Leaf(c.segment)] = true
		}
		for _, dir := range []struct {
			name string
			x, y *Tree
		}{{"local=a", a, b}, {"local=b", b, a}} {
			ranges, st, err := Diff(dir.x, dir.y)
			if err != nil {
				t.Fatalf("k=%d %s: %v", k, dir.name, err)
			}
			// Every changed key's segment is covered.
			for _, c := range changes {
				if !slices.ContainsFunc(ranges, func(r SegmentRange) bool { return r.Contains(c.segment) }) {
					t.Fatalf("k=%d %s: segment %d of changed key %s not in %v", k, dir.name, c.segment, c.key, ranges)
				}
			}
			// Every returned leaf really differs and is one of the changed ones.
			got := 0
			for i, r := range ranges {
				if r.First > r.Last || r.Last > 0xFFFF || (i > 0 && r.First <= ranges[i-1].Last+1) {
					t.Fatalf("k=%d %s: ranges not ascending, disjoint and merged: %v", k, dir.name, ranges)
				}
				if cfg.LeafRange(cfg.Leaf(r.First)).First != r.First || cfg.LeafRange(cfg.Leaf(r.Last)).Last != r.Last {
					t.Fatalf("k=%d %s: range %+v not aligned to leaves", k, dir.name, r)
				}
				for l := cfg.Leaf(r.First); l <= cfg.Leaf(r.Last); l++ {
					got++
					if a.Hashes(cfg.Depth, []uint32{l})[0] == b.Hashes(cfg.Depth, []uint32{l})[0] {
						t.Fatalf("k=%d %s: leaf %d returned but equal", k, dir.name, l)
					}
					if !wantLeaves[l] {
						t.Fatalf("k=%d %s: leaf %d returned but no key changed there", k, dir.name, l)
					}
				}
			}
			if got != len(wantLeaves) {
				t.Fatalf("k=%d %s: %d differing leaves, want %d", k, dir.name, got, len(wantLeaves))
			}
			// Cost bound: the root round trip, then at most Depth more, each
			// asking at most Fanout children per differing leaf.
			bound := rootOnlyBytes + cfg.Depth*(2*FrameBytes+ConfigBytes) + k*cfg.Depth*cfg.Fanout()*(2*IndexBytes+HashBytes)
			if st.RoundTrips != cfg.Depth+1 || st.Bytes() > bound {
				t.Fatalf("k=%d %s: %d round trips, %d bytes; want %d round trips, <= %d bytes",
					k, dir.name, st.RoundTrips, st.Bytes(), cfg.Depth+1, bound)
			}
			if st.BytesSent+st.BytesReceived != st.Bytes() || st.Messages != 2*st.RoundTrips ||
				st.HashesSent != st.IndicesSent || st.BytesSent != st.RoundTrips*FrameBytes+st.IndicesSent*IndexBytes {
				t.Fatalf("k=%d %s: inconsistent stats %+v", k, dir.name, st)
			}
			bytesFor[k] = st.Bytes()
		}
		t.Logf("k=%3d differing keys of %d: %3d leaves, %6d bytes exchanged (%.1f%% of shipping all %d digests, %d bytes)",
			k, fixtureKeys, len(wantLeaves), bytesFor[k], 100*float64(bytesFor[k])/float64(naive), fixtureKeys, naive)
	}
	// One differing key costs the root plus Depth levels of Fanout children:
	// exactly the bound above with k=1, far below the naive cost.
	one := rootOnlyBytes + cfg.Depth*(2*FrameBytes+ConfigBytes+cfg.Fanout()*(2*IndexBytes+HashBytes))
	if bytesFor[1] != one {
		t.Fatalf("k=1: %d bytes, want %d", bytesFor[1], one)
	}
	if bytesFor[1]*100 > naive {
		t.Fatalf("k=1: %d bytes is not far below shipping all digests (%d)", bytesFor[1], naive)
	}
	// Sub-linear: shared ancestors make 100 differences cost well under 100
	// times one difference.
	if bytesFor[100]*2 > 100*bytesFor[1] {
		t.Fatalf("k=100 costs %d bytes, k=1 %d: not sub-linear", bytesFor[100], bytesFor[1])
	}
	if !(bytesFor[1] < bytesFor[10] && bytesFor[10] < bytesFor[100]) {
		t.Fatalf("cost not increasing with k: %v", bytesFor)
	}
}

func BenchmarkExchange(b *testing.B) {
	a := fixture100k(b)
	for _, k := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			r := a.Clone()
			mutate(r, newRand(uint64(k)), k)
			r.Root()
			var st Stats
			for b.Loop() {
				var err error
				_, st, err = Diff(a, r)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Bytes()), "bytes/op")
			b.ReportMetric(float64(st.RoundTrips), "roundtrips/op")
		})
	}
}

// smallTree has keys in every leaf of a 16-leaf tree (FanoutBits 2, Depth
// 2, leaf = segment>>12), optionally skipping some leaves.
func smallTree(t *testing.T, skip ...uint32) *Tree {
	t.Helper()
	tr := mustNew(t, Config{Depth: 2, FanoutBits: 2})
	for leaf := range uint32(16) {
		if slices.Contains(skip, leaf) {
			continue
		}
		for j := range uint32(3) {
			k := fmt.Appendf(nil, "leaf%d-%d", leaf, j)
			tr.Update(leaf<<12|j, k, nil, []byte("v"))
		}
	}
	return tr
}

func TestDifferingSegmentsMerged(t *testing.T) {
	a := smallTree(t)
	b := a.Clone()
	for _, leaf := range []uint32{0, 5, 6, 7, 10, 15} {
		b.Update(leaf<<12|0x7FF, []byte("extra"), nil, []byte("v"))
	}
	ranges, st, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []SegmentRange{{0, 0x0FFF}, {0x5000, 0x7FFF}, {0xA000, 0xAFFF}, {0xF000, 0xFFFF}}
	if !slices.Equal(ranges, want) {
		t.Fatalf("ranges %x, want %x", ranges, want)
	}
	if st.RoundTrips != 3 {
		t.Fatalf("%d round trips, want 3", st.RoundTrips)
	}
}

func TestRemoteEmptySubtreeShortcut(t *testing.T) {
	full := smallTree(t)
	empty := mustNew(t, full.Config())
	all := []SegmentRange{{0, 0xFFFF}}

	// Remote empty: answered by the root alone.
	ranges, st, err := Diff(full, empty)
	if err != nil || !slices.Equal(ranges, all) || st.RoundTrips != 1 {
		t.Fatalf("full vs empty: %v %+v %v", ranges, st, err)
	}
	// Local empty: must walk down to learn which remote leaves are non-empty.
	ranges, st, err = Diff(empty, full)
	if err != nil || !slices.Equal(ranges, all) || st.RoundTrips != 3 {
		t.Fatalf("empty vs full: %v %+v %v", ranges, st, err)
	}
	// Remote lacks level-1 subtree 2 (leaves 8..11) and leaf 14; local lacks
	// leaf 1 (so not every local leaf is reported).
	local := smallTree(t, 1)
	remote := smallTree(t, 8, 9, 10, 11, 14)
	x := NewExchange(local)
	for {
		req, ok := x.Request()
		if !ok {
			break
		}
		if req.Level == 2 && slices.ContainsFunc(req.Indices, func(i uint32) bool { return i >= 8 && i <= 11 }) {
			t.Fatalf("asked leaves %v under an empty remote subtree", req.Indices)
		}
		if err := x.Step(remote.Answer(req)); err != nil {
			t.Fatal(err)
		}
	}
	want := []uint32{1, 8, 9, 10, 11, 14}
	if got := x.DifferingLeaves(); !slices.Equal(got, want) {
		t.Fatalf("differing leaves %v, want %v", got, want)
	}
	if got, want := x.DifferingSegments(), []SegmentRange{{0x1000, 0x1FFF}, {0x8000, 0xBFFF}, {0xE000, 0xEFFF}}; !slices.Equal(got, want) {
		t.Fatalf("segments %x, want %x", got, want)
	}
}

func TestExchangeMalformedResponses(t *testing.T) {
	a := smallTree(t)
	b := a.Clone()
	b.Update(0x5123, []byte("extra"), nil, []byte("v"))
	x := NewExchange(a)

	// Walk to level 1 so that the pending question has several indices.
	req, _ := x.Request()
	if req.Level != 0 || !slices.Equal(req.Indices, []uint32{0}) {
		t.Fatalf("first request %+v, want the root", req)
	}
	if err := x.Step(b.Answer(req)); err != nil {
		t.Fatal(err)
	}
	req, ok := x.Request()
	if !ok || req.Level != 1 || len(req.Indices) != 4 {
		t.Fatalf("second request %+v %v", req, ok)
	}
	good := b.Answer(req)
	statsBefore := x.Stats()

	otherCfg := Config{Depth: 1, FanoutBits: 4}
	for _, tc := range []struct {
		name string
		mut  func(r *Response)
		want string
	}{
		{"wrong level", func(r *Response) { r.Level = 2 }, "level 2, asked level 1"},
		{"negative level", func(r *Response) { r.Level = -1 }, "level -1"},
		{"short indices", func(r *Response) { r.Indices = r.Indices[:3]; r.Hashes = r.Hashes[:3] }, "3 indices, asked 4"},
		{"extra index", func(r *Response) { r.Indices = append(r.Indices, 4); r.Hashes = append(r.Hashes, Hash{}) }, "5 indices, asked 4"},
		{"no indices", func(r *Response) { r.Indices, r.Hashes = nil, nil }, "0 indices, asked 4"},
		{"short hashes", func(r *Response) { r.Hashes = r.Hashes[:2] }, "2 hashes for 4 indices"},
		{"long hashes", func(r *Response) { r.Hashes = append(r.Hashes, Hash{}) }, "5 hashes for 4 indices"},
		{"index not asked", func(r *Response) { r.Indices[2] = 9 }, "index 9 at position 2 was not asked for"},
		{"indices reordered", func(r *Response) { r.Indices[0], r.Indices[1] = r.Indices[1], r.Indices[0] }, "not asked for"},
		{"huge index", func(r *Response) { r.Indices[3] = 1 << 31 }, "not asked for"},
		{"other config", func(r *Response) { r.Config = otherCfg }, "remote tree has Depth 1 FanoutBits 4, local has Depth 2 FanoutBits 2"},
		{"zero config", func(r *Response) { r.Config = Config{} }, "remote tree has Depth 0"},
		{"remote error", func(r *Response) { r.Err = "boom" }, "remote rejected request: boom"},
	} {
		r := good
		r.Indices = slices.Clone(good.Indices)
		r.Hashes = slices.Clone(good.Hashes)
		tc.mut(&r)
		err := x.Step(r)
		if err == nil || !strings.HasPrefix(err.Error(), "merkle: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		// A rejected response leaves the exchange unchanged.
		if again, ok := x.Request(); !ok || again.Level != req.Level || !slices.Equal(again.Indices, req.Indices) {
			t.Fatalf("%s: pending request changed to %+v", tc.name, again)
		}
		if x.Stats() != statsBefore || x.Done() {
			t.Fatalf("%s: state changed by a rejected response", tc.name)
		}
	}

	// Mutating a returned request does not alter the exchange.
	req.Indices[0] = 99
	if again, _ := x.Request(); again.Indices[0] == 99 {
		t.Fatal("Request returned internal state")
	}

	// The good response is still accepted and the exchange completes.
	if err := x.Step(good); err != nil {
		t.Fatal(err)
	}
	for !x.Done() {
		req, _ := x.Request()
		if err := x.Step(b.Answer(req)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := x.Request(); ok {
		t.Fatal("Request after done")
	}
	if got, want := x.DifferingSegments(), []SegmentRange{{0x5000, 0x5FFF}}; !slices.Equal(got, want) {
		t.Fatalf("segments %x, want %x", got, want)
	}
	// A duplicate (late) response after the end is an error.
	if err := x.Step(good); err == nil || !strings.Contains(err.Error(), "merkle: step after the exchange finished") {
		t.Fatalf("step after done: %v", err)
	}
}

func TestDiffConfigMismatch(t *testing.T) {
	for _, cfgs := range [][2]Config{
		{DefaultConfig(), {Depth: 2, FanoutBits: 4}},
		{DefaultConfig(), {Depth: 3, FanoutBits: 5}},
		{{Depth: 1, FanoutBits: 8}, {Depth: 2, FanoutBits: 4}}, // same leaf count
	} {
		a, b := mustNew(t, cfgs[0]), mustNew(t, cfgs[1])
		// Even empty (equal-rooted) trees of different shapes are an error.
		if _, _, err := Diff(a, b); err == nil || !strings.HasPrefix(err.Error(), "merkle: remote tree has") {
			t.Fatalf("%+v vs %+v: err %v", cfgs[0], cfgs[1], err)
		}
	}
}

func TestAnswerInvalidRequests(t *testing.T) {
	tr := smallTree(t)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Level: -1, Indices: []uint32{0}}, "level -1 out of range 0..2"},
		{Request{Level: 3, Indices: []uint32{0}}, "level 3 out of range 0..2"},
		{Request{Level: 0, Indices: []uint32{1}}, "index 1 out of range 0..0 at level 0"},
		{Request{Level: 2, Indices: []uint32{3, 16}}, "index 16 out of range 0..15 at level 2"},
		{Request{Level: 1, Indices: []uint32{0, 1, 2, 3, 0}}, "5 indices requested at level 1, which has 4 nodes"},
	} {
		resp := tr.Answer(tc.req)
		if !strings.HasPrefix(resp.Err, "merkle: ") || !strings.Contains(resp.Err, tc.want) {
			t.Errorf("%+v: Err %q, want %q", tc.req, resp.Err, tc.want)
		}
		if resp.Hashes != nil || resp.Config != tr.Config() {
			t.Errorf("%+v: response %+v", tc.req, resp)
		}
	}
	// Valid requests echo indices and answer in order.
	resp := tr.Answer(Request{Level: 2, Indices: []uint32{5, 3}})
	if resp.Err != "" || !slices.Equal(resp.Indices, []uint32{5, 3}) ||
		!slices.Equal(resp.Hashes, []Hash{tr.Hashes(2, []uint32{5})[0], tr.Hashes(2, []uint32{3})[0]}) {
		t.Fatalf("valid answer %+v", resp)
	}
}
