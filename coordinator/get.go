package coordinator

import (
	"fmt"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// Read is a replica read to send: ReplicaGetRequest{Partition, Key} to Node
// (for the hint it holds for HintOwner when Node is a fallback).
type Read struct {
	Node      string
	HintOwner string
	Partition uint32
	Key       []byte
}

// Repair is a read repair to send: ReplicaPutRequest of kind READ_REPAIR
// with Set to Node (as a hint for HintOwner when Node is a fallback).
type Repair struct {
	Node      string
	HintOwner string
	Partition uint32
	Key       []byte
	Set       *version.Set
}

// GetAnswer is what the client gets.
type GetAnswer struct {
	// Found: at least one live (not deleted) value.
	Found bool
	// Values are the live siblings' values (one in LWW mode).
	Values [][]byte
	// Context is the encoded causal context covering everything read
	// (tombstones included); empty when nothing was read.
	Context []byte
	// Err is nil on success, else a *quorum.Error.
	Err error
}

// GetOptions are a read's parameters.
type GetOptions struct {
	// R is the read quorum, 1..N.
	R int
	// Mode is how siblings are shown (ModeLWW: only the latest).
	Mode version.ConflictMode
	// QuorumFirst asks only R targets at first (Cassandra's way): another
	// target is asked when one of those fails, and every target left when
	// the caller calls Speculate (its speculative-retry timer). Read repair
	// then reaches the replicas asked only. Off, every target is asked at
	// once (Dynamo's and riak's way). A route with fallbacks always asks
	// every target.
	QuorumFirst bool
	// First is the target asked first under QuorumFirst (the coordinating
	// node: its read is local); ignored when it is not a target.
	First string
	// Spread rotates the order in which the other targets are asked under
	// QuorumFirst (a random number, say), so that the reads one node
	// coordinates spread over the replicas.
	Spread uint
}

// Get coordinates one read.
type Get struct {
	route    Route
	key      []byte
	mode     version.ConflictMode
	core     *quorum.GetCore[*version.Set]
	order    []ring.Target // the targets in the order they are asked
	asked    int           // order[:asked] were asked
	closed   bool          // no more targets will be asked (the rest skipped)
	more     []Read        // reads decided but not yet taken (More)
	answered bool
	repaired bool
	expired  bool            // the deadline passed
	replied  map[string]bool // targets that answered (or failed)
	r        int             // the read quorum
	// primaryNotFound counts the primaries that answered not found, and
	// primaryFailed those that failed. A fallback's "not found" only means
	// it holds no hint for the key: in a route with a fallback the read
	// answers "not found" only on R primaries' word (see waitForPrimary
	// and answer).
	primaryNotFound, primaryFailed int
}

var setObject = quorum.Object[*version.Set]{Merge: version.Sync, Descends: version.Descends}

// NewGet starts a read of key along route and returns the reads to send.
func NewGet(route Route, key []byte, opts GetOptions) (*Get, []Read, error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("%w: key: empty", ErrInvalid)
	}
	if err := quorum.Validate(route.N, opts.R, 1); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(route.Targets) < opts.R {
		return nil, nil, &UnavailableError{Op: "read", Need: opts.R, Got: len(route.Targets)}
	}
	replicas := make([]quorum.Node, len(route.Targets))
	for i, t := range route.Targets {
		replicas[i] = quorum.Node(t.Node)
	}
	core, err := quorum.NewGetCore(quorum.GetConfig[*version.Set]{
		N: route.N, R: opts.R, NotFoundOK: true, Object: setObject, Replicas: replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	g := &Get{route: route, key: key, mode: opts.Mode, core: core, replied: map[string]bool{}, order: route.Targets, r: opts.R}
	first := len(route.Targets)
	if opts.QuorumFirst && opts.R < first && !hasFallback(route) {
		g.order, first = askOrder(route.Targets, opts.First, opts.Spread), opts.R
	}
	return g, g.ask(first), nil
}

// hasFallback reports whether a route has a fallback target.
func hasFallback(rt Route) bool {
	for _, t := range rt.Targets {
		if t.HintOwner != "" {
			return true
		}
	}
	return false
}

// askOrder puts first (when a target) ahead of the other targets, which
// are rotated by spread.
func askOrder(targets []ring.Target, first string, spread uint) []ring.Target {
	out := make([]ring.Target, 0, len(targets))
	var rest []ring.Target
	for _, t := range targets {
		if t.Node == first {
			out = append(out, t)
		} else {
			rest = append(rest, t)
		}
	}
	if len(rest) > 0 {
		k := int(spread % uint(len(rest)))
		rest = append(rest[k:], rest[:k]...)
	}
	return append(out, rest...)
}

// ask returns the reads of the next n targets not asked yet.
func (g *Get) ask(n int) []Read {
	if g.closed {
		return nil
	}
	n = min(n, len(g.order)-g.asked)
	reads := make([]Read, n)
	for i, t := range g.order[g.asked : g.asked+n] {
		reads[i] = Read{Node: t.Node, HintOwner: t.HintOwner, Partition: g.route.Partition, Key: g.key}
	}
	g.asked += n
	return reads
}

// More returns the reads the last Reply calls for: under QuorumFirst, a
// target in place of one that failed. The caller sends them and feeds
// their replies as any other.
func (g *Get) More() []Read {
	m := g.more
	g.more = nil
	return m
}

// Speculate is the caller's speculative-retry timer: if the read has not
// answered yet, it returns the reads of every target not asked yet.
func (g *Get) Speculate() []Read {
	return g.ask(len(g.order))
}

// skipUnasked tells the core the targets not asked will not be: once it has
// decided, or at the deadline.
func (g *Get) skipUnasked() {
	if g.closed {
		return
	}
	g.closed = true
	if g.asked == len(g.order) {
		return
	}
	skip := make([]quorum.Node, 0, len(g.order)-g.asked)
	for _, t := range g.order[g.asked:] {
		skip = append(skip, quorum.Node(t.Node))
	}
	g.core.Skip(skip...)
}

// Reply feeds one replica's answer: its set (nil and found false when it
// does not have the key) or the error it returned. It returns the client's
// answer when this reply decides the read (once), and the read repairs when
// this was the last reply (once). A reply from a node that was not asked, or
// a second reply from a node, is ignored.
//
// The read decides once R replies are in (found and not found count,
// fallbacks' too) or R can no longer be reached (a quorum error). A found
// value, from a primary or a fallback's hint, then answers at once. In a
// route with a fallback, "not found" answers only on R primaries' word:
// until R primaries said not found, or every primary asked has answered,
// the read waits for the primaries; then, or at the deadline, a read
// without R primaries' "not found" answers a primary quorum error ("read
// primary quorum: 1 of 2 primaries answered not found"), never "not
// found": a primary that failed or did not answer may hold the value.
func (g *Get) Reply(node string, found bool, set *version.Set, err error) (*GetAnswer, []Repair) {
	kind := quorum.Found
	switch {
	case err != nil:
		kind = quorum.Failed
	case !found || set == nil:
		kind, set = quorum.NotFound, nil
	}
	if g.core.Add(quorum.Node(node), kind, set, err) != nil {
		return nil, nil
	}
	g.replied[node] = true
	if g.route.hintOwner(node) == "" {
		switch kind {
		case quorum.NotFound:
			g.primaryNotFound++
		case quorum.Failed:
			g.primaryFailed++
		}
	}
	if kind == quorum.Failed && !g.core.Enough() {
		g.more = append(g.more, g.ask(1)...)
	}
	return g.effects()
}

// Outstanding lists the targets asked that have not answered yet, in the
// order asked (at the deadline: the ones that timed out).
func (g *Get) Outstanding() []string {
	var out []string
	for _, t := range g.order[:g.asked] {
		if !g.replied[t.Node] {
			out = append(out, t.Node)
		}
	}
	return out
}

// waitForPrimary reports that the core decided "not found" but the read
// may not answer yet: a fallback's "not found" only means it holds no
// hint, so it must never outvote a primary's value. The read waits until R
// primaries answered not found, or every primary asked has answered
// (found, not found or failed), or the deadline passed; answer then says
// "not found" only on R primaries' word. A found value (from a primary or
// a fallback's hint) and a quorum error answer at once.
func (g *Get) waitForPrimary() bool {
	if g.expired || g.primaryNotFound >= g.r {
		return false
	}
	if _, err := g.core.Result(); err != nil {
		return false
	}
	if _, found := g.core.Merged(); found {
		return false
	}
	for _, t := range g.order[:g.asked] {
		if t.HintOwner == "" && !g.replied[t.Node] {
			return true
		}
	}
	return false
}

// Deadline is called when the request's deadline passes: every outstanding
// replica counts as timed out. It returns the answer if none was given yet,
// and the read repairs for the replicas that did reply.
func (g *Get) Deadline() (*GetAnswer, []Repair) {
	g.expired = true
	g.skipUnasked()
	g.core.Timeout()
	return g.effects()
}

// Done reports that the get has answered and has nothing more to do.
func (g *Get) Done() bool { return g.answered && g.repaired }

// Phase is the riak-style state, for tracing.
func (g *Get) Phase() quorum.Phase { return g.core.Phase() }

func (g *Get) effects() (*GetAnswer, []Repair) {
	var ans *GetAnswer
	if g.core.Enough() && !g.answered && !g.waitForPrimary() {
		g.answered = true
		ans = g.answer()
	}
	if g.answered {
		g.skipUnasked()
	}
	var repairs []Repair
	if g.core.Done() && !g.repaired {
		g.repaired = true
		if merged, ok := g.core.Merged(); ok && g.answered {
			for _, n := range g.core.RepairTargets() {
				repairs = append(repairs, Repair{
					Node: string(n), HintOwner: g.route.hintOwner(string(n)),
					Partition: g.route.Partition, Key: g.key, Set: merged,
				})
			}
		}
	}
	return ans, repairs
}

func (g *Get) answer() *GetAnswer {
	_, err := g.core.Result()
	if err != nil {
		return &GetAnswer{Err: err}
	}
	// Everything found so far: the replies the core decided on, and any
	// that came while the answer waited for a primary.
	merged, found := g.core.Merged()
	if !found {
		if g.primaryNotFound < g.r && hasFallback(g.route) {
			return &GetAnswer{Err: g.primaryQuorumError()}
		}
		return &GetAnswer{}
	}
	live, found := merged.Live(g.mode)
	ans := &GetAnswer{Found: found, Context: version.EncodeContext(merged.Context())}
	for _, s := range live {
		ans.Values = append(ans.Values, s.Value)
	}
	return ans
}

// primaryQuorumError is the answer of a read whose route has a fallback and
// that found nothing without R primaries' "not found": the primaries that
// failed or did not answer may hold the value.
func (g *Get) primaryQuorumError() *quorum.Error {
	e := &quorum.Error{Op: quorum.OpRead, Kind: quorum.KindPrimary, Need: g.r, Got: g.primaryNotFound}
	for _, t := range g.order[:g.asked] {
		if t.HintOwner != "" {
			continue
		}
		e.Asked++
		if !g.replied[t.Node] {
			e.TimedOut++
		}
	}
	e.Failed = g.primaryFailed
	return e
}
