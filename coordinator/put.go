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
}

// Replicate is a replica write to send: ReplicaPutRequest of kind WRITE
// with Set to Node (a hint for HintFor when Node is a fallback).
type Replicate struct {
	Node      string
	HintFor   string
	Partition uint32
	Key       []byte
	Set       *version.Set
}

// PutAnswer is what the client gets.
type PutAnswer struct {
	// Context is the encoded context of the version written.
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
	core     *quorum.PutCore
	set      *version.Set
	answered bool
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
		if t.HintFor == "" {
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
		if t.HintFor != "" {
			fallbacks[quorum.Node(t.Node)] = quorum.Node(t.HintFor)
		}
	}
	core, err := quorum.NewPutCore(quorum.PutConfig{N: route.N, W: opts.W, Replicas: replicas, Fallbacks: fallbacks})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &Put{route: route, self: self, key: key, w: opts.W, core: core}, "", nil
}

// Coordinated feeds the result of the local coordinating write
// (vnode.Store.Coordinate). On success it counts as this replica's ack and
// returns the replica writes to send; the answer too when W=1. On failure
// the write fails with that error.
func (p *Put) Coordinated(set *version.Set, err error) (*PutAnswer, []Replicate) {
	if p.set != nil || p.answered {
		return nil, nil
	}
	if err != nil {
		p.answered = true
		return &PutAnswer{Err: err}, nil
	}
	p.set = set
	_ = p.core.Add(quorum.Node(p.self), quorum.Acked, nil)
	var out []Replicate
	for _, t := range p.route.Targets {
		if t.Node != p.self {
			out = append(out, Replicate{Node: t.Node, HintFor: t.HintFor, Partition: p.route.Partition, Key: p.key, Set: set})
		}
	}
	return p.effects(), out
}

// Reply feeds a replica's ack (err nil) or failure. It returns the answer
// when this reply decides the write (once).
func (p *Put) Reply(node string, err error) *PutAnswer {
	if p.set == nil {
		return nil // nothing was sent yet
	}
	kind := quorum.Acked
	if err != nil {
		kind = quorum.Failed
	}
	if p.core.Add(quorum.Node(node), kind, err) != nil {
		return nil
	}
	return p.effects()
}

// Deadline is called when the request's deadline passes.
func (p *Put) Deadline() *PutAnswer {
	if p.answered {
		return nil
	}
	if p.set == nil {
		p.answered = true
		return &PutAnswer{Err: &quorum.Error{Op: quorum.OpWrite, Kind: quorum.KindQuorum, Need: p.w, Asked: len(p.route.Targets), TimedOut: len(p.route.Targets)}}
	}
	p.core.Timeout()
	return p.effects()
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
	return &PutAnswer{Context: version.EncodeContext(p.set.Context()), Acked: res.Acked, Hinted: res.Hinted}
}
