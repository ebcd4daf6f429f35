package cluster

import "sort"

// Detector is one node's local, purely private opinion of which peers are
// down, on top of serf's: a peer whose request timed out or whose
// connection dropped is suspected for a back-off that starts at Base and
// doubles (up to Max) each time the peer fails again soon after its
// suspicion expired; a success clears it. Routing skips suspected peers, so
// requests go further down the preference list at once instead of each
// waiting out its deadline on the same dead peer.
//
// Time is passed in as nanoseconds on any monotonic scale (the caller's
// clock), so the detector is pure and deterministic. It is not safe for
// concurrent use.
type Detector struct {
	base, max int64
	peers     map[string]*suspicion
}

type suspicion struct {
	until   int64 // suspected while now < until
	backoff int64 // the current back-off
}

// Detector back-off defaults, in nanoseconds.
const (
	DefaultSuspectBase int64 = 200e6 // 200 ms
	DefaultSuspectMax  int64 = 10e9  // 10 s
)

// NewDetector returns a detector whose back-off starts at base and is
// capped at maxBackoff (nanoseconds; base >= 1 and maxBackoff >= base, else
// the defaults).
func NewDetector(base, maxBackoff int64) *Detector {
	if base < 1 {
		base = DefaultSuspectBase
	}
	if maxBackoff < base {
		maxBackoff = max(DefaultSuspectMax, base)
	}
	return &Detector{base: base, max: maxBackoff, peers: map[string]*suspicion{}}
}

// Failed records that a request to node failed (no reply in time, or its
// connection dropped) at now, and returns how long node is now suspected.
// A failure while node is already suspected changes nothing (concurrent
// requests that timed out together are one failure). A failure within one
// back-off of the previous suspicion's end doubles the back-off; a later one
// starts again from the base.
func (d *Detector) Failed(node string, now int64) int64 {
	s, ok := d.peers[node]
	switch {
	case !ok:
		s = &suspicion{backoff: d.base}
		d.peers[node] = s
	case now < s.until:
		return s.until - now
	case now < s.until+s.backoff:
		s.backoff = min(2*s.backoff, d.max)
	default:
		s.backoff = d.base
	}
	s.until = now + s.backoff
	return s.backoff
}

// Succeeded records that node answered: it is no longer suspected and its
// back-off starts again from the base.
func (d *Detector) Succeeded(node string) { delete(d.peers, node) }

// Down reports whether node is suspected at now.
func (d *Detector) Down(node string, now int64) bool {
	s, ok := d.peers[node]
	if !ok {
		return false
	}
	if now >= s.until+s.backoff { // long expired: forget
		delete(d.peers, node)
		return false
	}
	return now < s.until
}

// Suspects lists the nodes suspected at now, sorted.
func (d *Detector) Suspects(now int64) []string {
	var out []string
	for n := range d.peers {
		if d.Down(n, now) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
