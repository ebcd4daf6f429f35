package status

import (
	"slices"
	"time"
)

// Sample is what a node read of its counters and its members' gauges at one
// instant: cumulative counts (requests, repairs) and gauges (hints
// pending, keys, bytes). History turns consecutive samples into rates.
type Sample struct {
	At time.Time
	// Requests are the node's request counts since it started, by
	// operation: every outcome, the errors among them, and the cumulative
	// latency buckets (LatencyBounds) of all of them.
	Requests map[string]OpCounts
	// HintsPending is a gauge; Repaired counts anti-entropy repairs since
	// the node started.
	HintsPending uint64
	Repaired     uint64
	// Nodes are each member's keys and storage bytes, as it answered (a
	// member that did not answer is absent).
	Nodes map[string]NodeGauges
}

// OpCounts are one operation's cumulative counts.
type OpCounts struct {
	Count, Errors uint64
	// Buckets[i] counts requests that took at most the i-th latency bound
	// (cumulative, as Prometheus buckets).
	Buckets []uint64
}

// NodeGauges are a member's size.
type NodeGauges struct {
	Keys  uint64 `json:"keys"`
	Bytes uint64 `json:"bytes"`
}

// History keeps the last samples, oldest first, up to a fixed number.
type History struct {
	max     int
	bounds  []time.Duration
	samples []Sample
}

// NewHistory keeps up to max samples; bounds are the latency buckets'
// upper bounds (actors.LatencyBuckets).
func NewHistory(max int, bounds []time.Duration) *History {
	return &History{max: max, bounds: slices.Clone(bounds)}
}

// Add appends s, dropping the oldest sample beyond the limit. A sample not
// later than the last one is ignored.
func (h *History) Add(s Sample) {
	if n := len(h.samples); n > 0 && !s.At.After(h.samples[n-1].At) {
		return
	}
	h.samples = append(h.samples, s)
	if len(h.samples) > h.max {
		h.samples = slices.Delete(h.samples, 0, len(h.samples)-h.max)
	}
}

// HistoryDoc is GET /status/history: one point per interval between two
// consecutive samples, oldest first.
type HistoryDoc struct {
	Node   string  `json:"node"`
	Points []Point `json:"points"`
}

// Point is one interval: its end (Unix ms), the rates over it, and the
// gauges at its end.
type Point struct {
	At int64 `json:"at"`
	// Ops: each operation's requests and errors per second and its p99
	// latency in ms over the interval (the upper bound of the latency
	// bucket the 99th percentile falls in; 0 with no request).
	Ops          map[string]OpPoint `json:"ops"`
	HintsPending uint64             `json:"hints_pending"`
	// Repairs are anti-entropy repairs per second.
	Repairs float64               `json:"repairs"`
	Nodes   map[string]NodeGauges `json:"nodes"`
}

// OpPoint is one operation's figures over an interval.
type OpPoint struct {
	Rate   float64 `json:"rate"`
	Errors float64 `json:"errors"`
	P99Ms  float64 `json:"p99_ms"`
}

// Doc computes the points of the samples kept. A counter that went down
// (the node restarted between samples) counts from zero.
func (h *History) Doc(node string) HistoryDoc {
	d := HistoryDoc{Node: node, Points: []Point{}}
	for i := 1; i < len(h.samples); i++ {
		prev, cur := h.samples[i-1], h.samples[i]
		secs := cur.At.Sub(prev.At).Seconds()
		p := Point{At: cur.At.UnixMilli(), Ops: map[string]OpPoint{}, HintsPending: cur.HintsPending,
			Repairs: float64(delta(cur.Repaired, prev.Repaired)) / secs, Nodes: cur.Nodes}
		if p.Nodes == nil {
			p.Nodes = map[string]NodeGauges{}
		}
		for op, c := range cur.Requests {
			was := prev.Requests[op]
			if c.Count < was.Count {
				was = OpCounts{}
			}
			n := c.Count - was.Count
			p.Ops[op] = OpPoint{Rate: float64(n) / secs, Errors: float64(delta(c.Errors, was.Errors)) / secs,
				P99Ms: h.quantileMs(0.99, c.Buckets, was.Buckets, n)}
		}
		d.Points = append(d.Points, p)
	}
	return d
}

func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// quantileMs is the upper bound, in ms, of the first bucket holding the
// q-th quantile of the n requests between two cumulative bucket counts; n
// beyond the last bucket is the last bound. 0 when n is 0.
func (h *History) quantileMs(q float64, cur, prev []uint64, n uint64) float64 {
	if n == 0 || len(h.bounds) == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999) // ceil, at least 1
	for i, b := range h.bounds {
		var c, p uint64
		if i < len(cur) {
			c = cur[i]
		}
		if i < len(prev) {
			p = prev[i]
		}
		if delta(c, p) >= rank {
			return float64(b) / float64(time.Millisecond)
		}
	}
	return float64(h.bounds[len(h.bounds)-1]) / float64(time.Millisecond)
}
