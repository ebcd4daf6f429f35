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
	// Found: at least one live (neither deleted nor expired) value.
	Found bool
	// Values are the live siblings' values (one in LWW mode).
	Values [][]byte
	// Expires are Values' expiries (Unix ns by the writing coordinator's
	// clock; 0 never), aligned with Values.
	Expires []int64
	// Context is the encoded causal context covering everything read
	// (tombstones included); empty when nothing was read.
	Context []byte
	// Err is nil on success, else a *quorum.Error.
	Err error
}

// ExpiresNs is Expires, or nil when no value expires (the wire's
// GetReply.expires_at_ns).
func (a *GetAnswer) ExpiresNs() []int64 {
	for _, e := range a.Expires {
		if e != 0 {
			return a.Expires
		}
	}
	return nil
}

// GetOptions are a read's parameters.
type GetOptions struct {
	// R is the read quorum, 1..N.
	R int
	// Mode is how siblings are shown (ModeLWW: only the latest).
	Mode version.ConflictMode
	// NowNs is the read's time (Unix ns, the caller's clock): values
	// expired at NowNs read as absent.
	NowNs int64
	// QuorumFirst asks only R targets at first (Cassandra's way): another
	// target is asked when one of those fails, and every target left when
	// the caller steps GetSpeculate (its speculative-retry timer). Read repair
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

// GetEvent is something a read's coordinator learns: GetReplied,
// GetSpeculate or GetDeadline.
type GetEvent interface{ getEvent() }

// GetReplied: a replica answered a read: its set (Found false and Set nil
// when it does not have the key) or the error it returned.
type GetReplied struct {
	Node  string
	Found bool
	Set   *version.Set
	Err   error
}

// GetSpeculate: the shell's speculative-retry timer fired (armed when a
// GetReady says Speculate).
type GetSpeculate struct{}

// GetDeadline: the request's deadline passed; every target that has not
// answered counts as timed out.
type GetDeadline struct{}

func (GetReplied) getEvent()   {}
func (GetSpeculate) getEvent() {}
func (GetDeadline) getEvent()  {}

// GetReady is what the shell carries out after NewGet or a Step, in this
// order: send Reads (their replies come back as GetReplied), arm the
// speculative-retry timer when Speculate is set (NewGet only), answer the
// client with Answer when set (once in a read's life), send Repairs (fire
// and forget), count TimedOut as the targets that never answered (at the
// deadline), and stop when Done.
type GetReady struct {
	Reads     []Read
	Speculate bool
	Answer    *GetAnswer
	Repairs   []Repair
	TimedOut  []string
	Done      bool
}

// GetState names where a read is, as riak_kv_get_fsm names its states.
type GetState int

const (
	// GetWaitQuorum: reads sent, the answer not given yet: R replies are
	// not in, or the core decided "not found" on a fallback's word and
	// the read waits for the primaries.
	GetWaitQuorum GetState = iota
	// GetReadRepair: answered; collecting the remaining replies to find
	// the replicas to repair.
	GetReadRepair
	// GetFinished: answered, and every target asked answered or timed out.
	GetFinished
)

// Get coordinates one read: a pure state machine, fed by Step.
type Get struct {
	route Route
	key   []byte
	mode  version.ConflictMode
	now   int64 // GetOptions.NowNs
	r     int   // the read quorum
	core  *quorum.GetCore[*version.Set]
	order []ring.Target // the targets in the order they are asked
	asked int           // order[:asked] were asked, or skipped
	state GetState
}

var setObject = quorum.Object[*version.Set]{Merge: version.Sync, Descends: version.Descends}

// NewGet starts a read of key along route and returns the reads to send.
func NewGet(route Route, key []byte, opts GetOptions) (*Get, GetReady, error) {
	if len(key) == 0 {
		return nil, GetReady{}, fmt.Errorf("%w: key: empty", ErrInvalid)
	}
	if err := quorum.Validate(route.N, opts.R, 1); err != nil {
		return nil, GetReady{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(route.Targets) < opts.R {
		return nil, GetReady{}, &UnavailableError{Op: quorum.OpRead, Need: opts.R, Got: len(route.Targets)}
	}
	replicas := make([]quorum.Node, len(route.Targets))
	for i, t := range route.Targets {
		replicas[i] = quorum.Node(t.Node)
	}
	core, err := quorum.NewGetCore(quorum.GetConfig[*version.Set]{
		N: route.N, R: opts.R, NotFoundOK: true, Object: setObject, Replicas: replicas,
	})
	if err != nil {
		return nil, GetReady{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	g := &Get{route: route, key: key, mode: opts.Mode, now: opts.NowNs, core: core, order: route.Targets, r: opts.R}
	first := len(route.Targets)
	if opts.QuorumFirst && opts.R < first && !hasFallback(route) {
		g.order, first = askOrder(route.Targets, opts.First, opts.Spread), opts.R
	}
	return g, GetReady{Reads: g.ask(first), Speculate: first < len(g.order)}, nil
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

// Step feeds one event and returns what to do.
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
//
// Under QuorumFirst a target that fails is replaced by one not asked yet
// (in Reads), and GetSpeculate asks every target left. A reply from a node
// that is not a target, or a second reply from a node, is ignored. After
// GetDeadline the read is Done whatever else happened.
func (g *Get) Step(ev GetEvent) GetReady {
	var r GetReady
	expired := false
	switch e := ev.(type) {
	case GetReplied:
		r.Reads = g.reply(e)
	case GetSpeculate:
		if g.state == GetWaitQuorum {
			r.Reads = g.ask(len(g.order))
		}
	case GetDeadline:
		r.TimedOut = g.outstanding()
		g.skipUnasked()
		g.core.Timeout()
		expired = true
	}
	r.Answer, r.Repairs = g.effects(expired)
	r.Done = g.state == GetFinished
	return r
}

// ask returns the reads of the next n targets not asked yet.
func (g *Get) ask(n int) []Read {
	n = min(n, len(g.order)-g.asked)
	if n <= 0 {
		return nil
	}
	reads := make([]Read, n)
	for i, t := range g.order[g.asked : g.asked+n] {
		reads[i] = Read{Node: t.Node, HintOwner: t.HintOwner, Partition: g.route.Partition, Key: g.key}
	}
	g.asked += n
	return reads
}

// reply records one replica's answer, and returns the read to send in
// place of a failed one while the read is undecided.
func (g *Get) reply(e GetReplied) []Read {
	kind, set := quorum.Found, e.Set
	switch {
	case e.Err != nil:
		kind = quorum.Failed
	case !e.Found || set == nil:
		kind, set = quorum.NotFound, nil
	}
	if g.core.Add(quorum.Node(e.Node), kind, set, e.Err) != nil {
		return nil
	}
	if kind == quorum.Failed && !g.core.Enough() {
		return g.ask(1)
	}
	return nil
}

// skipUnasked tells the core the targets not asked will not be: once the
// read has answered, or at the deadline.
func (g *Get) skipUnasked() {
	if g.asked == len(g.order) {
		return
	}
	skip := make([]quorum.Node, 0, len(g.order)-g.asked)
	for _, t := range g.order[g.asked:] {
		skip = append(skip, quorum.Node(t.Node))
	}
	g.asked = len(g.order)
	g.core.Skip(skip...)
}

// outstanding lists the targets asked that have not answered yet, in the
// order asked (at the deadline: the ones that timed out).
func (g *Get) outstanding() []string {
	var out []string
	for _, t := range g.order[:g.asked] {
		if g.core.Kind(quorum.Node(t.Node)) == 0 {
			out = append(out, t.Node)
		}
	}
	return out
}

// primaries counts the primaries asked that answered not found, that
// failed, and that did not answer (or timed out).
func (g *Get) primaries() (asked, notFound, failed, silent int) {
	for _, t := range g.order {
		if t.HintOwner != "" {
			continue
		}
		switch g.core.Kind(quorum.Node(t.Node)) {
		case quorum.NotAsked:
			continue
		case quorum.NotFound:
			notFound++
		case quorum.Failed:
			failed++
		case 0, quorum.TimedOut:
			silent++
		}
		asked++
	}
	return asked, notFound, failed, silent
}

// waitForPrimary reports that the core decided "not found" but the read
// may not answer yet: a fallback's "not found" only means it holds no
// hint, so it must never outvote a primary's value. The read waits until R
// primaries answered not found, or every primary asked has answered
// (found, not found or failed), or the deadline passed; answer then says
// "not found" only on R primaries' word. A found value (from a primary or
// a fallback's hint) and a quorum error answer at once.
func (g *Get) waitForPrimary(expired bool) bool {
	if expired || !hasFallback(g.route) {
		return false
	}
	if _, err := g.core.Result(); err != nil {
		return false
	}
	if _, found := g.core.Merged(); found {
		return false
	}
	_, notFound, _, _ := g.primaries()
	if notFound >= g.r {
		return false
	}
	for _, t := range g.order[:g.asked] {
		if t.HintOwner == "" && g.core.Kind(quorum.Node(t.Node)) == 0 {
			return true
		}
	}
	return false
}

// effects moves the read on: the answer once the core decided (and the
// primaries had their say), the repairs once every target answered.
func (g *Get) effects(expired bool) (*GetAnswer, []Repair) {
	var ans *GetAnswer
	if g.state == GetWaitQuorum && g.core.Enough() && !g.waitForPrimary(expired) {
		g.state = GetReadRepair
		g.skipUnasked() // the core's answer stands: it decided
		ans = g.answer()
	}
	if g.state != GetReadRepair || !g.core.Done() {
		return ans, nil
	}
	g.state = GetFinished
	merged, ok := g.core.Merged()
	if !ok {
		return ans, nil
	}
	var repairs []Repair
	for _, n := range g.core.RepairTargets() {
		repairs = append(repairs, Repair{
			Node: string(n), HintOwner: g.route.hintOwner(string(n)),
			Partition: g.route.Partition, Key: g.key, Set: merged,
		})
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
		if hasFallback(g.route) {
			if asked, notFound, failed, silent := g.primaries(); notFound < g.r {
				return &GetAnswer{Err: &quorum.Error{Op: quorum.OpRead, Kind: quorum.KindPrimary,
					Need: g.r, Got: notFound, Asked: asked, Failed: failed, TimedOut: silent}}
			}
		}
		return &GetAnswer{}
	}
	live, found := merged.Live(g.mode, g.now)
	ans := &GetAnswer{Found: found, Context: version.EncodeContext(merged.Context())}
	for _, s := range live {
		ans.Values = append(ans.Values, s.Value)
		ans.Expires = append(ans.Expires, s.ExpiresAt)
	}
	return ans
}
