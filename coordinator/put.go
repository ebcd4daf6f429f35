package coordinator

import (
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/version"
)

// PutOptions are a write's parameters.
type PutOptions struct {
	// W is the write quorum, 1..N.
	W int
	// Context is the writer's decoded context: what the put's answer
	// covers besides the version it writes (version.WriterContext).
	Context version.Context
	// Hints makes the coordinator keep a hint itself for every primary the
	// write did not reach through a target: a down primary no fallback
	// covers (Route.Uncovered), and a target that failed or did not answer
	// by the deadline (for a fallback, the primary it stood in for). Such
	// hints do not count toward W. Off when hinted handoff is off.
	Hints bool
}

// Replicate is a replica write to send: ReplicaPutRequest of kind WRITE
// with Set to Node (a hint for HintOwner when Node is a fallback).
//
// When Local is set, Node is the coordinator itself and the write is a
// hint it keeps for HintOwner in its own hint store; it does not count toward
// W, and nothing is to be fed back to the Put.
type Replicate struct {
	Node      string
	HintOwner string
	Partition uint32
	Key       []byte
	Set       *version.Set
	Local     bool
}

// PutAnswer is what the client gets.
type PutAnswer struct {
	// Context is the encoded context the writer passes to its next write:
	// what its own context covered and the version written, nothing else
	// (version.WriterContext).
	Context []byte
	// Acked and Hinted count the replicas that acked (fallbacks among them)
	// when the write was decided.
	Acked, Hinted int
	// Err is nil on success; a *quorum.Error when W was not reached; the
	// local vnode's error when the coordinating write itself failed.
	Err error
}

// Put coordinates one write (or delete) at a replica of the key.
type Put struct {
	route    Route
	self     string
	key      []byte
	w        int
	ctx      version.Context // the writer's
	core     *quorum.PutCore
	set      *version.Set // from Prepared: the replica writes went out
	dot      version.Dot  // the new version's, from Prepared
	answered bool
	hints    bool
	replied  map[string]bool // targets that replied (success or failure)
	hinted   map[string]bool // primaries the coordinator keeps a hint for
	// localFailed: the local commit of the prepared version failed;
	// stored: another target acked it; timedOut: some target never
	// answered (it may have stored it).
	localFailed, stored, timedOut bool
	// expired: the deadline passed (Step); forgot: Step asked once to
	// forget the prepared version.
	expired, forgot bool
}

// NewPut starts a write of key received by node self. When self is not an
// up primary of the key, it returns forward: the node that must coordinate
// instead (the first up primary), and a nil Put. When no primary is up it
// returns an UnavailableError (fallback coordination comes with hinted
// handoff).
func NewPut(route Route, self string, key []byte, opts PutOptions) (p *Put, forward string, err error) {
	if len(key) == 0 {
		return nil, "", fmt.Errorf("%w: key: empty", ErrInvalid)
	}
	if err := quorum.Validate(route.N, 1, opts.W); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(route.Targets) < opts.W {
		return nil, "", &UnavailableError{Op: "write", Need: opts.W, Got: len(route.Targets)}
	}
	var primaries []string
	for _, t := range route.Targets {
		if t.HintOwner == "" {
			primaries = append(primaries, t.Node)
		}
	}
	if len(primaries) == 0 {
		return nil, "", &UnavailableError{Op: "write", Need: 1, Got: 0}
	}
	if !slices.Contains(primaries, self) {
		return nil, primaries[0], nil
	}
	replicas := make([]quorum.Node, len(route.Targets))
	fallbacks := map[quorum.Node]quorum.Node{}
	for i, t := range route.Targets {
		replicas[i] = quorum.Node(t.Node)
		if t.HintOwner != "" {
			fallbacks[quorum.Node(t.Node)] = quorum.Node(t.HintOwner)
		}
	}
	core, err := quorum.NewPutCore(quorum.PutConfig{N: route.N, W: opts.W, Replicas: replicas, Fallbacks: fallbacks})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &Put{route: route, self: self, key: key, w: opts.W, ctx: opts.Context, core: core, hints: opts.Hints,
		replied: map[string]bool{}, hinted: map[string]bool{}}, "", nil
}

// localHint returns the hint the coordinator keeps for primary, once per
// primary, when hints are on and the local write succeeded.
func (p *Put) localHint(primary string) []Replicate {
	if !p.hints || p.set == nil || primary == p.self || p.hinted[primary] {
		return nil
	}
	p.hinted[primary] = true
	return []Replicate{{Node: p.self, HintOwner: primary, Partition: p.route.Partition, Key: p.key, Set: p.set, Local: true}}
}

// Prepared feeds the version the local vnode computed for the write
// (vnode.Store.Prepare) and its new dot, before it is durable there, and
// returns the
// replica writes to send at once: the local write and the replica writes
// then wait on their disks at the same time, one round instead of two.
// The local outcome follows with Coordinated. Prepared after a failed
// Coordinated, or twice, does nothing.
func (p *Put) Prepared(set *version.Set, dot version.Dot) []Replicate {
	if p.set != nil || p.answered {
		return nil
	}
	p.set, p.dot = set, dot
	return p.replicas()
}

// Coordinated feeds the outcome of the local coordinating write: nil when
// the prepared version is durable here (Store.Commit after Prepared), or
// the error that stopped it, before or after Prepared. Success counts as
// this replica's ack; success before Prepared does nothing (the caller
// feeds Prepared first). A failure fails the write with that error, unless
// W acks decided it already: the coordinator's own write must succeed
// (replicas that stored the prepared version keep it, as after any failed
// write). It returns the answer when this decides the write.
func (p *Put) Coordinated(err error) *PutAnswer {
	if p.replied[p.self] || (p.set == nil && err == nil) {
		return nil
	}
	if err != nil {
		if p.set != nil {
			p.replied[p.self] = true
			p.localFailed = true
			_ = p.core.Add(quorum.Node(p.self), quorum.Failed, err)
		}
		if p.answered {
			return nil
		}
		p.answered = true
		return &PutAnswer{Err: err}
	}
	p.replied[p.self] = true
	_ = p.core.Add(quorum.Node(p.self), quorum.Acked, nil)
	return p.effects()
}

// replicas returns the replica writes of p.set to the other targets, and
// the hints the coordinator keeps for the primaries no target covers.
func (p *Put) replicas() []Replicate {
	var out []Replicate
	for _, t := range p.route.Targets {
		if t.Node != p.self {
			out = append(out, Replicate{Node: t.Node, HintOwner: t.HintOwner, Partition: p.route.Partition, Key: p.key, Set: p.set})
		}
	}
	for _, primary := range p.route.Uncovered {
		out = append(out, p.localHint(primary)...)
	}
	return out
}

// Reply feeds a replica's ack (err nil) or failure. It returns the answer
// when this reply decides the write (once), and, when the replica failed,
// the hint the coordinator keeps for it (see PutOptions.Hints).
func (p *Put) Reply(node string, err error) (*PutAnswer, []Replicate) {
	if p.set == nil {
		return nil, nil // nothing was sent yet
	}
	kind := quorum.Acked
	if err != nil {
		kind = quorum.Failed
	}
	if p.core.Add(quorum.Node(node), kind, err) != nil {
		return nil, nil
	}
	p.replied[node] = true
	var hints []Replicate
	if err != nil {
		hints = p.localHint(p.route.owner(node))
	} else {
		p.stored = true
	}
	return p.effects(), hints
}

// Outstanding lists the targets that have not answered yet, in route
// order; before the local write, none (nothing was sent).
func (p *Put) Outstanding() []string {
	if p.set == nil {
		return nil
	}
	var out []string
	for _, t := range p.route.Targets {
		if !p.replied[t.Node] {
			out = append(out, t.Node)
		}
	}
	return out
}

// Deadline is called when the request's deadline passes. It returns the
// answer if none was given yet, and the hints the coordinator keeps for the
// targets that did not answer.
func (p *Put) Deadline() (*PutAnswer, []Replicate) {
	if p.set == nil {
		if p.answered {
			return nil, nil
		}
		p.answered = true
		return &PutAnswer{Err: &quorum.Error{Op: quorum.OpWrite, Kind: quorum.KindQuorum, Need: p.w, Asked: len(p.route.Targets), TimedOut: len(p.route.Targets)}}, nil
	}
	var hints []Replicate
	for _, t := range p.route.Targets {
		if !p.replied[t.Node] {
			p.replied[t.Node] = true
			p.timedOut = true
			hints = append(hints, p.localHint(p.route.owner(t.Node))...)
		}
	}
	p.core.Timeout()
	return p.effects(), hints
}

// Unreplicated reports that the version prepared for the write was stored
// nowhere: the local commit failed, every other target answered with a
// failure, and the coordinator kept no hint of it. The local vnode may
// then forget it (vnode.Store.Forget). Meaningful once Done.
func (p *Put) Unreplicated() bool {
	return p.set != nil && p.localFailed && !p.stored && !p.timedOut && len(p.hinted) == 0
}

// Done reports that the write has answered and heard from every replica.
func (p *Put) Done() bool { return p.answered && p.core.Done() }

// Phase is the riak-style state, for tracing.
func (p *Put) Phase() quorum.Phase {
	if p.set == nil {
		return quorum.Execute
	}
	return p.core.Phase()
}

func (p *Put) effects() *PutAnswer {
	if p.answered || !p.core.Enough() {
		return nil
	}
	p.answered = true
	res, err := p.core.Result()
	if err != nil {
		return &PutAnswer{Err: err}
	}
	return &PutAnswer{Context: version.EncodeContext(version.WriterContext(p.set, p.ctx, p.dot)), Acked: res.Acked, Hinted: res.Hinted}
}
