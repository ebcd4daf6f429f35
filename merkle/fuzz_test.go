package merkle

import (
	"encoding/binary"
	"slices"
	"testing"
)

// fuzzTrees returns two small trees that differ in a few leaves, so an
// exchange between them goes down every level.
func fuzzTrees(tb testing.TB) (a, b *Tree) {
	cfg := Config{Depth: 3, FanoutBits: 2}
	a = mustNew(tb, cfg)
	for i := range 200 {
		k := keyOf(i)
		a.Update(segmentOf(k), k, nil, digestOf(k, 0))
	}
	b = a.Clone()
	for _, i := range []int{3, 50, 51, 199} {
		k := keyOf(i)
		b.Update(segmentOf(k), k, digestOf(k, 0), digestOf(k, 1))
	}
	return a, b
}

// FuzzStep feeds arbitrary Responses into Step after 0..3 valid steps. Step
// must never panic; an accepted response must be one that matches the
// pending question; and the exchange must still complete normally with
// valid answers afterwards.
func FuzzStep(f *testing.F) {
	a, b := fuzzTrees(f)
	// Seeds: valid-looking responses at each level, and junk.
	f.Add(uint8(0), int64(0), uint8(3), uint8(2), false, []byte{0, 0, 0, 0}, make([]byte, 16), "")
	f.Add(uint8(1), int64(1), uint8(3), uint8(2), true, []byte{}, make([]byte, 64), "")
	f.Add(uint8(2), int64(2), uint8(3), uint8(2), true, []byte{}, []byte("0123456789abcdef"), "")
	f.Add(uint8(3), int64(3), uint8(3), uint8(2), true, []byte{}, make([]byte, 1000), "")
	f.Add(uint8(1), int64(-5), uint8(0), uint8(0), false, []byte{255, 255, 255, 255, 1}, []byte{1}, "err")
	f.Add(uint8(0), int64(1<<40), uint8(3), uint8(2), false, []byte{0, 0, 0, 1, 0, 0, 0, 2}, make([]byte, 32), "")

	f.Fuzz(func(t *testing.T, prefix uint8, level int64, depth, fanoutBits uint8, mirror bool, rawIdx, rawHashes []byte, errStr string) {
		x := NewExchange(a)
		for range int(prefix % 4) {
			req, ok := x.Request()
			if !ok {
				break
			}
			if err := x.Step(b.Answer(req)); err != nil {
				t.Fatalf("valid step: %v", err)
			}
		}
		req, pendingOK := x.Request()

		resp := Response{
			Level:  int(level),
			Config: Config{Depth: int(depth), FanoutBits: int(fanoutBits)},
			Err:    errStr,
		}
		if mirror && pendingOK {
			// Echo the question so that fuzzed hashes reach the comparison.
			resp.Level = req.Level
			resp.Indices = slices.Clone(req.Indices)
		} else {
			for i := 0; i+4 <= len(rawIdx); i += 4 {
				resp.Indices = append(resp.Indices, binary.BigEndian.Uint32(rawIdx[i:]))
			}
		}
		for i := 0; i+16 <= len(rawHashes); i += 16 {
			resp.Hashes = append(resp.Hashes, Hash(rawHashes[i:i+16]))
		}

		statsBefore := x.Stats()
		err := x.Step(resp)
		if err == nil {
			if !pendingOK || resp.Level != req.Level || !slices.Equal(resp.Indices, req.Indices) ||
				len(resp.Hashes) != len(req.Indices) || resp.Config != a.Config() || resp.Err != "" {
				t.Fatalf("accepted a response %+v that does not match request %+v (pending %v)", resp, req, pendingOK)
			}
			if x.Stats().RoundTrips != statsBefore.RoundTrips+1 {
				t.Fatalf("accepted response not counted")
			}
		} else if x.Stats() != statsBefore {
			t.Fatalf("rejected response changed stats")
		}

		// Whatever happened, valid answers drive the exchange to the end
		// within Depth+1 round trips in total, and the results are sane.
		for {
			req, ok := x.Request()
			if !ok {
				break
			}
			if err := x.Step(b.Answer(req)); err != nil {
				t.Fatalf("valid step after fuzzed one: %v", err)
			}
		}
		if !x.Done() || x.Stats().RoundTrips > a.Config().Depth+1 {
			t.Fatalf("exchange did not finish properly: done %v stats %+v", x.Done(), x.Stats())
		}
		for _, r := range x.DifferingSegments() {
			if r.First > r.Last || r.Last > 0xFFFF {
				t.Fatalf("bad range %+v", r)
			}
		}
	})
}

// TestFuzzTreesDiffer makes sure the fuzz fixture exercises every level.
func TestFuzzTreesDiffer(t *testing.T) {
	a, b := fuzzTrees(t)
	ranges, st, err := Diff(a, b)
	if err != nil || len(ranges) == 0 || st.RoundTrips != a.Config().Depth+1 {
		t.Fatalf("fuzz fixture: %v %+v %v", ranges, st, err)
	}
}
