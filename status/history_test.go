package status

import (
	"testing"
	"time"
)

var testBounds = []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}

func TestHistoryRatesAndP99(t *testing.T) {
	h := NewHistory(3, testBounds)
	t0 := time.Unix(1000, 0)
	h.Add(Sample{At: t0, Requests: map[string]OpCounts{"get": {Count: 100, Errors: 1, Buckets: []uint64{90, 100, 100}}}, Repaired: 5})
	// 200 gets in 2 s: 150 under 1 ms, 49 under 10 ms, 1 under 100 ms;
	// the 198th is under 10 ms. 4 errors. 10 repairs.
	h.Add(Sample{At: t0.Add(2 * time.Second), HintsPending: 7, Repaired: 15,
		Requests: map[string]OpCounts{"get": {Count: 300, Errors: 5, Buckets: []uint64{240, 299, 300}}, "put": {Count: 4, Buckets: []uint64{0, 0, 4}}},
		Nodes:    map[string]NodeGauges{"n1": {Keys: 3, Bytes: 4096}}})
	d := h.Doc("n1")
	if len(d.Points) != 1 {
		t.Fatalf("%d points from 2 samples", len(d.Points))
	}
	p := d.Points[0]
	if g := p.Ops["get"]; g.Rate != 100 || g.Errors != 2 || g.P99Ms != 10 {
		t.Fatalf("get %+v, want 100/s, 2 errors/s, p99 10 ms", g)
	}
	if pu := p.Ops["put"]; pu.Rate != 2 || pu.P99Ms != 100 {
		t.Fatalf("put %+v (new since the last sample: counts from 0)", pu)
	}
	if p.Repairs != 5 || p.HintsPending != 7 || p.Nodes["n1"].Bytes != 4096 || p.At != t0.Add(2*time.Second).UnixMilli() {
		t.Fatalf("point %+v", p)
	}
	// A restart (counters back down) counts from zero; the oldest sample
	// goes beyond the limit; a sample not after the last is ignored.
	h.Add(Sample{At: t0.Add(3 * time.Second), Requests: map[string]OpCounts{"get": {Count: 10, Buckets: []uint64{10, 10, 10}}}, Repaired: 1})
	h.Add(Sample{At: t0.Add(3 * time.Second), Requests: map[string]OpCounts{"get": {Count: 99}}})
	h.Add(Sample{At: t0.Add(4 * time.Second), Requests: map[string]OpCounts{"get": {Count: 10, Buckets: []uint64{10, 10, 10}}}})
	d = h.Doc("n1")
	if len(d.Points) != 2 {
		t.Fatalf("%d points, want 2 (3 samples kept)", len(d.Points))
	}
	if g := d.Points[0].Ops["get"]; g.Rate != 10 || g.P99Ms != 1 || d.Points[0].Repairs != 1 {
		t.Fatalf("after a restart: %+v, repairs %v", g, d.Points[0].Repairs)
	}
	if g := d.Points[1].Ops["get"]; g.Rate != 0 || g.P99Ms != 0 {
		t.Fatalf("an idle interval: %+v", g)
	}
	if len(NewHistory(3, testBounds).Doc("x").Points) != 0 {
		t.Fatal("an empty history has points")
	}
}
