package coordinator

import (
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/version"
)

// Durability is which replicas of a write fsync it before they ack.
type Durability uint8

const (
	// DurableAll: every replica fsyncs the write before it acks (the
	// default).
	DurableAll Durability = iota
	// DurableOne: the coordinator's own write fsyncs before the write is
	// answered; the other primaries ack once the write reached their
	// storage engine (it survives their process, not yet their machine)
	// and fsync it within their flush interval (storage.Flusher). The
	// Dynamo paper's "durable write" by one of the N replicas (section
	// 6.1). Hints kept by fallbacks and by the coordinator still fsync.
	DurableOne
)

// String is the setting's name: "all" or "one".
func (d Durability) String() string {
	switch d {
	case DurableAll:
		return "all"
	case DurableOne:
		return "one"
	}
	return fmt.Sprintf("Durability(%d)", uint8(d))
}

// ParseDurability reads "all" or "one".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "all":
		return DurableAll, nil
	case "one":
		return DurableOne, nil
	}
	return 0, fmt.Errorf("%w: durable writes must be all or one, got %q", ErrInvalid, s)
}

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
	// Durability says which replicas fsync before they ack. With
	// DurableOne the write is answered only once the coordinator's own
	// fsynced write succeeded, whatever the other acks.
	Durability Durability
	// FirstPrimary: only the key's first up primary coordinates the write
	// (an if-absent put, checked by the coordinating vnode: one
	// coordinator per key makes concurrent ones have one winner); any
	// other node forwards it there.
	FirstPrimary bool
}

// Replicate is a replica write to send: ReplicaPutRequest of kind WRITE
// with Set to Node (a hint for HintOwner when Node is a fallback).
//
// When Local is set, Node is the coordinator itself and the write is a
// hint it keeps for HintOwner in its own hint store; it does not count toward
// W, and nothing is to be fed back to the Put.
//
// Buffered asks the replica to ack before its fsync (DurableOne).
type Replicate struct {
	Node      string
	HintOwner string
	Partition uint32
	Key       []byte
	Set       *version.Set
	Local     bool
	Buffered  bool
}

// PutAnswer is what the client gets.
type PutAnswer struct {
	// Context is the encoded context the writer passes to its next write:
	// what its own context covered and the version written, nothing else
	// (version.WriterContext).
	Context []byte
	// Acked and Hinted count the replicas that acked (fallbacks among them)
	// when W acks decided the write; with DurableOne those include the
	// buffered acks, and the answer came later, once the coordinator's own
	// write was durable.
	Acked, Hinted int
	// Err is nil on success; a *quorum.Error when W was not reached; the
	// local vnode's error when the coordinating write itself failed.
	Err error
}

// PutState names where a write is, as riak_kv_put_fsm names its states.
type PutState int

const (
	// PutWaitLocal: waiting for the local vnode to compute the version
	// (PutPrepared); nothing was sent.
	PutWaitLocal PutState = iota
	// PutWaitQuorum: the replica writes went out; the answer not given.
	PutWaitQuorum
	// PutWaitRest: answered; waiting for the remaining replies, to keep
	// hints for the targets that fail.
	PutWaitRest
	// PutFinished: answered, and every target replied or timed out (or
	// nothing was sent).
	PutFinished
)

// Put coordinates one write (or delete) at a replica of the key: a pure
// state machine, fed by Step.
type Put struct {
	route  Route
	self   string
	key    []byte
	w      int
	ctx    version.Context // the writer's
	hints  bool
	durab  Durability
	core   *quorum.PutCore
	set    *version.Set    // from PutPrepared: the replica writes went out
	dot    version.Dot     // the new version's, from PutPrepared
	hinted map[string]bool // primaries the coordinator keeps a hint for
	state  PutState
	forgot bool // Step asked once to forget the prepared version
}

// NewPut starts a write of key received by node self. When self is not an
// up primary of the key, it returns forward: the node that must coordinate
// instead (the first up primary), and a nil Put. When no primary is up it
// returns an UnavailableError.
func NewPut(route Route, self string, key []byte, opts PutOptions) (p *Put, forward string, err error) {
	if len(key) == 0 {
		return nil, "", fmt.Errorf("%w: key: empty", ErrInvalid)
	}
	if err := quorum.Validate(route.N, 1, opts.W); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(route.Targets) < opts.W {
		return nil, "", &UnavailableError{Op: quorum.OpWrite, Need: opts.W, Got: len(route.Targets)}
	}
	var primaries []string
	for _, t := range route.Targets {
		if t.HintOwner == "" {
			primaries = append(primaries, t.Node)
		}
	}
	if len(primaries) == 0 {
		return nil, "", &UnavailableError{Op: quorum.OpWrite, Need: 1, Got: 0}
	}
	if !slices.Contains(primaries, self) || (opts.FirstPrimary && primaries[0] != self) {
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
		durab: opts.Durability, hinted: map[string]bool{}}, "", nil
}

// Step feeds one event and returns what to do:
//
//   - PutPrepared: the version the local vnode computed for the write
//     (vnode.Store.Prepare) and its new dot, before it is durable there.
//     The replica writes go out at once, so the local write and the
//     replica writes wait on their disks at the same time: one round, not
//     two. Ignored unless the write waits for it.
//   - PutCoordinated: the outcome of the local write, nil once the
//     prepared version is durable here. Success counts as this replica's
//     ack (ignored before PutPrepared). A failure fails the write with
//     that error, unless W acks decided it already: the coordinator's own
//     write must succeed (replicas that stored the prepared version keep
//     it, as after any failed write).
//   - PutReplied: a replica's ack (Err nil) or failure; a failure makes the
//     coordinator keep a hint for it (PutOptions.Hints).
//   - PutDeadline: every target that has not replied counts as timed out,
//     and the coordinator keeps hints for them; before PutPrepared the
//     write fails with a quorum error. The write is then Done.
func (p *Put) Step(ev PutEvent) PutReady {
	var r PutReady
	switch e := ev.(type) {
	case PutPrepared:
		if p.state == PutWaitLocal {
			p.set, p.dot, p.state = e.Set, e.Dot, PutWaitQuorum
			r.Replicate = p.replicas()
		}
	case PutCoordinated:
		r.Answer = p.coordinated(e.Err)
	case PutReplied:
		if p.state != PutWaitLocal && p.core.Add(quorum.Node(e.Node), replyKind(e.Err), e.Err) == nil && e.Err != nil {
			r.Replicate = p.localHint(p.route.owner(e.Node))
		}
	case PutDeadline:
		r.Answer, r.Replicate, r.TimedOut = p.deadline()
	}
	if ans := p.effects(); ans != nil {
		r.Answer = ans
	}
	if p.state == PutFinished {
		r.Done = true
		if !p.forgot && p.unreplicated() {
			p.forgot = true
			r.Forget, r.Dot = true, p.dot
		}
	}
	return r
}

func replyKind(err error) quorum.ReplyKind {
	if err != nil {
		return quorum.Failed
	}
	return quorum.Acked
}

// coordinated records the local write's outcome; it returns the answer
// when the local write failed before the write was answered.
func (p *Put) coordinated(err error) *PutAnswer {
	switch {
	case p.state == PutFinished || p.core.Kind(quorum.Node(p.self)) != 0:
		return nil
	case p.state == PutWaitLocal:
		if err == nil {
			return nil // PutPrepared comes first
		}
		p.state = PutFinished // nothing was sent
		return &PutAnswer{Err: err}
	}
	_ = p.core.Add(quorum.Node(p.self), replyKind(err), err)
	if err == nil || p.state != PutWaitQuorum {
		return nil
	}
	p.state = PutWaitRest
	return &PutAnswer{Err: err}
}

// deadline marks the targets that have not replied as timed out and keeps
// hints for them; before PutPrepared it fails the write.
func (p *Put) deadline() (*PutAnswer, []Replicate, []string) {
	switch p.state {
	case PutFinished:
		return nil, nil, nil
	case PutWaitLocal:
		p.state = PutFinished
		return &PutAnswer{Err: &quorum.Error{Op: quorum.OpWrite, Kind: quorum.KindQuorum, Need: p.w, Asked: len(p.route.Targets), TimedOut: len(p.route.Targets)}}, nil, nil
	}
	timedOut := p.outstanding()
	var hints []Replicate
	for _, n := range timedOut {
		hints = append(hints, p.localHint(p.route.owner(n))...)
	}
	p.core.Timeout()
	return nil, hints, timedOut
}

// effects moves the write on: the answer once the core decided, and the
// end once every target replied.
func (p *Put) effects() *PutAnswer {
	var ans *PutAnswer
	if p.state == PutWaitQuorum && p.core.Enough() {
		res, err := p.core.Result()
		switch {
		case err != nil:
			p.state, ans = PutWaitRest, &PutAnswer{Err: err}
		case p.durab == DurableOne && p.core.Kind(quorum.Node(p.self)) != quorum.Acked:
			// W acks, none of them durable yet: the answer waits for the
			// coordinator's own fsynced write (its failure answers in
			// coordinated), or fails once every target is heard.
			if p.core.Done() {
				p.state, ans = PutWaitRest, &PutAnswer{Err: p.notDurable()}
			}
		default:
			p.state = PutWaitRest
			ans = &PutAnswer{Context: version.EncodeContext(version.WriterContext(p.set, p.ctx, p.dot)), Acked: res.Acked, Hinted: res.Hinted}
		}
	}
	if p.state == PutWaitRest && p.core.Done() {
		p.state = PutFinished
	}
	return ans
}

// notDurable is the answer of a DurableOne write whose W replicas acked
// but whose coordinator's own write did not succeed by the deadline.
func (p *Put) notDurable() *quorum.Error {
	e := &quorum.Error{Op: quorum.OpWrite, Kind: quorum.KindDurable, Need: 1, Asked: len(p.route.Targets)}
	for _, t := range p.route.Targets {
		switch p.core.Kind(quorum.Node(t.Node)) {
		case quorum.Failed:
			e.Failed++
		case quorum.TimedOut:
			e.TimedOut++
		}
	}
	return e
}

// localHint returns the hint the coordinator keeps for primary, once per
// primary, when hints are on and the write has a version.
func (p *Put) localHint(primary string) []Replicate {
	if !p.hints || p.set == nil || primary == p.self || p.hinted[primary] {
		return nil
	}
	p.hinted[primary] = true
	return []Replicate{{Node: p.self, HintOwner: primary, Partition: p.route.Partition, Key: p.key, Set: p.set, Local: true}}
}

// replicas returns the replica writes of p.set to the other targets, and
// the hints the coordinator keeps for the primaries no target covers.
func (p *Put) replicas() []Replicate {
	var out []Replicate
	for _, t := range p.route.Targets {
		if t.Node != p.self {
			out = append(out, Replicate{Node: t.Node, HintOwner: t.HintOwner, Partition: p.route.Partition, Key: p.key, Set: p.set,
				Buffered: p.durab == DurableOne && t.HintOwner == ""})
		}
	}
	for _, primary := range p.route.Uncovered {
		out = append(out, p.localHint(primary)...)
	}
	return out
}

// outstanding lists the targets that have not replied yet, in route
// order; before PutPrepared, none (nothing was sent).
func (p *Put) outstanding() []string {
	if p.state == PutWaitLocal {
		return nil
	}
	var out []string
	for _, t := range p.route.Targets {
		if p.core.Kind(quorum.Node(t.Node)) == 0 {
			out = append(out, t.Node)
		}
	}
	return out
}

// unreplicated reports that the version prepared for the write was stored
// nowhere: the local commit failed, every other target answered with a
// failure (none timed out: it may have stored it), and the coordinator
// kept no hint of it. The local vnode may then forget it
// (vnode.Store.Forget). Meaningful once every target replied.
func (p *Put) unreplicated() bool {
	if p.set == nil || p.core.Kind(quorum.Node(p.self)) != quorum.Failed || len(p.hinted) > 0 {
		return false
	}
	for _, t := range p.route.Targets {
		if k := p.core.Kind(quorum.Node(t.Node)); k != quorum.Failed {
			return false
		}
	}
	return true
}
