package actors

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dynamokv/dynamo/messages"
)

// LatencyBuckets are the upper bounds of the request latency histograms
// (Prometheus "le" buckets; +Inf is implicit).
var LatencyBuckets = []time.Duration{
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second,
}

// Outcomes of a request besides the error codes' names.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not_found"
)

// RequestStats counts the client requests a node answered (coordinated or
// refused), by operation and outcome, with latency histograms. The zero
// value is ready; safe for concurrent use.
type RequestStats struct {
	mu sync.Mutex
	m  map[requestKey]*RequestSeries
	// count and sum total every series.
	count uint64
	sum   time.Duration
}

// Totals returns how many requests were recorded and their summed
// latency.
func (s *RequestStats) Totals() (count uint64, sum time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.sum
}

type requestKey struct{ op, outcome string }

// RequestSeries is one (operation, outcome) pair's counts.
type RequestSeries struct {
	Op, Outcome string
	Count       uint64
	Sum         time.Duration
	// Buckets[i] counts requests that took at most LatencyBuckets[i]
	// (cumulative, as Prometheus wants them).
	Buckets []uint64
}

// Record notes one answered request.
func (s *RequestStats) Record(op, outcome string, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[requestKey]*RequestSeries{}
	}
	k := requestKey{op, outcome}
	rs := s.m[k]
	if rs == nil {
		rs = &RequestSeries{Op: op, Outcome: outcome, Buckets: make([]uint64, len(LatencyBuckets))}
		s.m[k] = rs
	}
	rs.Count++
	rs.Sum += took
	s.count++
	s.sum += took
	for i := len(LatencyBuckets) - 1; i >= 0 && took <= LatencyBuckets[i]; i-- {
		rs.Buckets[i]++
	}
}

// Snapshot returns a copy of every series, sorted by operation then
// outcome.
func (s *RequestStats) Snapshot() []RequestSeries {
	s.mu.Lock()
	out := make([]RequestSeries, 0, len(s.m))
	for _, rs := range s.m {
		c := *rs
		c.Buckets = slices.Clone(rs.Buckets)
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b RequestSeries) int {
		if c := strings.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return strings.Compare(a.Outcome, b.Outcome)
	})
	return out
}

// Outcome names a reply's outcome: "ok", "not_found", or the error code's
// name in lower case without its prefix ("quorum", "timeout", ...).
func Outcome(e *messages.Error, found bool) string {
	if e != nil {
		return e.GetCode().Slug()
	}
	if !found {
		return OutcomeNotFound
	}
	return OutcomeOK
}
