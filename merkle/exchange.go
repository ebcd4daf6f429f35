package merkle

import (
	"errors"
	"fmt"
	"slices"
)

// Wire-size estimate constants (see Request.WireSize, Response.WireSize).
const (
	FrameBytes  = 8  // per message: type, level, counts
	ConfigBytes = 2  // Config in a response: Depth and FanoutBits
	IndexBytes  = 4  // per index
	HashBytes   = 16 // per hash
)

// Request asks the remote for the hashes of nodes at one level.
type Request struct {
	Level   int      // 0 = root, Depth = leaves
	Indices []uint32 // node indices within the level, ascending
}

// WireSize estimates the encoded size of r in bytes.
func (r Request) WireSize() int { return FrameBytes + IndexBytes*len(r.Indices) }

// Response answers a Request; produce it with Tree.Answer.
type Response struct {
	Level   int      // the requested level
	Indices []uint32 // the requested indices, echoed in order
	Hashes  []Hash   // one per index
	Config  Config   // the answering tree's shape
	Err     string   // non-empty if the remote rejected the request
}

// WireSize estimates the encoded size of r in bytes.
func (r Response) WireSize() int {
	return FrameBytes + ConfigBytes + IndexBytes*len(r.Indices) + HashBytes*len(r.Hashes) + len(r.Err)
}

// Stats counts the traffic of the accepted round trips of an Exchange
// (responses rejected by Step are not counted).
type Stats struct {
	RoundTrips    int // accepted request/response pairs
	Messages      int // messages in both directions (2 per round trip)
	IndicesSent   int // indices carried by requests
	HashesSent    int // hashes carried by responses (requests carry none)
	BytesSent     int // estimated bytes of requests (local -> remote)
	BytesReceived int // estimated bytes of responses (remote -> local)
}

// Bytes is the estimated total bytes on the wire in both directions.
func (s Stats) Bytes() int { return s.BytesSent + s.BytesReceived }

// Exchange is one side of an anti-entropy comparison: a pure state machine
// that walks the local tree against a remote tree it can only ask questions
// of. See the package documentation for the protocol. The local tree must
// not be modified while the exchange runs (pass a Clone if writes continue).
type Exchange struct {
	local   *Tree
	level   int      // level of the pending question
	pending []uint32 // indices of the pending question; empty when done
	done    bool
	leaves  []uint32 // differing leaves found so far (unsorted)
	stats   Stats
}

// NewExchange starts an exchange of local against a remote tree; its first
// Request is the root.
func NewExchange(local *Tree) *Exchange {
	return &Exchange{local: local, pending: []uint32{0}}
}

// Request returns the pending question, or false when the exchange is done.
// Until a matching Response is stepped, it returns the same question again
// (so a lost message can be re-sent). The returned slice is a copy.
func (x *Exchange) Request() (Request, bool) {
	if x.done {
		return Request{}, false
	}
	return Request{Level: x.level, Indices: slices.Clone(x.pending)}, true
}

// Done reports whether the exchange has finished.
func (x *Exchange) Done() bool { return x.done }

// Stats returns the traffic so far.
func (x *Exchange) Stats() Stats { return x.stats }

// Step feeds the remote's answer to the pending question. A malformed or
// mismatched response returns an error prefixed "merkle: " and leaves the
// exchange unchanged; Step never panics.
func (x *Exchange) Step(resp Response) error {
	if x.done {
		return errors.New("merkle: step after the exchange finished")
	}
	if resp.Err != "" {
		return fmt.Errorf("merkle: remote rejected request: %s", resp.Err)
	}
	cfg := x.local.cfg
	if resp.Config != cfg {
		return fmt.Errorf("merkle: remote tree has Depth %d FanoutBits %d, local has Depth %d FanoutBits %d",
			resp.Config.Depth, resp.Config.FanoutBits, cfg.Depth, cfg.FanoutBits)
	}
	if resp.Level != x.level {
		return fmt.Errorf("merkle: response for level %d, asked level %d", resp.Level, x.level)
	}
	if len(resp.Indices) != len(x.pending) {
		return fmt.Errorf("merkle: response has %d indices, asked %d", len(resp.Indices), len(x.pending))
	}
	if len(resp.Hashes) != len(resp.Indices) {
		return fmt.Errorf("merkle: response has %d hashes for %d indices", len(resp.Hashes), len(resp.Indices))
	}
	for i, idx := range resp.Indices {
		if idx != x.pending[i] {
			return fmt.Errorf("merkle: response index %d at position %d was not asked for (asked %d)", idx, i, x.pending[i])
		}
	}

	// Valid: only now mutate state.
	x.stats.RoundTrips++
	x.stats.Messages += 2
	x.stats.IndicesSent += len(x.pending)
	x.stats.HashesSent += len(resp.Hashes)
	x.stats.BytesSent += Request{Level: x.level, Indices: x.pending}.WireSize()
	x.stats.BytesReceived += resp.WireSize()

	local := x.local.Hashes(x.level, x.pending)
	f := uint32(cfg.Fanout())
	var next []uint32
	for i, idx := range x.pending {
		remote := resp.Hashes[i]
		switch {
		case remote == local[i]:
			// In sync.
		case x.level == cfg.Depth:
			x.leaves = append(x.leaves, idx)
		case remote.IsZero():
			// Remote subtree is empty: every non-empty local leaf below
			// differs, and nothing more needs asking.
			x.addNonEmptyLocalLeaves(x.level, idx)
		default:
			for c := idx * f; c < (idx+1)*f; c++ {
				next = append(next, c)
			}
		}
	}
	x.pending = next
	if len(next) == 0 {
		x.done = true
	} else {
		x.level++
	}
	return nil
}

// addNonEmptyLocalLeaves records the non-empty local leaves under node
// (level, idx).
func (x *Exchange) addNonEmptyLocalLeaves(level int, idx uint32) {
	cfg := x.local.cfg
	span := uint32(1) << ((cfg.Depth - level) * cfg.FanoutBits)
	leaves := x.local.nodes[cfg.Depth]
	for l := idx * span; l < (idx+1)*span; l++ {
		if !leaves[l].IsZero() {
			x.leaves = append(x.leaves, l)
		}
	}
}

// DifferingSegments returns the inclusive segment ranges covered by the
// differing leaves found so far, ascending, with adjacent leaves merged.
// It is complete once Done reports true.
func (x *Exchange) DifferingSegments() []SegmentRange {
	leaves := slices.Clone(x.leaves)
	slices.Sort(leaves)
	var out []SegmentRange
	for i, l := range leaves {
		r := x.local.cfg.LeafRange(l)
		if i > 0 && l == leaves[i-1]+1 {
			out[len(out)-1].Last = r.Last
			continue
		}
		out = append(out, r)
	}
	return out
}

// DifferingLeaves returns the differing leaf indices found so far, ascending.
func (x *Exchange) DifferingLeaves() []uint32 {
	leaves := slices.Clone(x.leaves)
	slices.Sort(leaves)
	return leaves
}

// Diff runs an Exchange of a against b in process and returns the segment
// ranges where they differ and the traffic the exchange would have cost.
func Diff(a, b *Tree) ([]SegmentRange, Stats, error) {
	x := NewExchange(a)
	for {
		req, ok := x.Request()
		if !ok {
			return x.DifferingSegments(), x.Stats(), nil
		}
		if err := x.Step(b.Answer(req)); err != nil {
			return nil, x.Stats(), err
		}
	}
}
