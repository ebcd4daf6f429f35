package main

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

// `bench wire --coalesce W` sends every remote message through a coalescing
// layer, Nagle's rule per destination process: a message goes at once when
// fewer than W batches to that process are unacknowledged; otherwise it
// waits, and everything that waited goes as one batch when an ack comes. Each
// process has a mux actor that unpacks a batch, delivers each message to
// its actor with its sender, as protoactor would have, and acks the batch.
// What it measures is what such a layer would save (protoactor's envelope
// per message) against what it costs (the framing, the acks, the wait).

// wireMuxName is the mux actor of every wire process.
const wireMuxName = "wire-mux"

// wireLink carries a process's remote messages: straight over protoactor,
// or through outboxes when coalescing.
type wireLink struct {
	root  *actor.RootContext
	self  string // this process's address
	mu    sync.Mutex
	boxes map[string]*outbox // by destination address; nil: not coalescing
	// window is how many batches may be unacknowledged per destination.
	window int
	// batches and messages count what the outboxes sent.
	batches, messages atomic.Uint64
}

// newWireLink is a process's link; window 0 sends straight over
// protoactor, above 0 coalesces with that many batches unacknowledged.
func newWireLink(root *actor.RootContext, self string, window int) *wireLink {
	l := &wireLink{root: root, self: self, window: window}
	if window > 0 {
		l.boxes = map[string]*outbox{}
	}
	return l
}

// send sends env to target with sender (nil: none) as its sender.
func (l *wireLink) send(target *actor.PID, env *messages.Envelope, sender *actor.PID) {
	if l.boxes == nil {
		if sender == nil {
			l.root.Send(target, env)
		} else {
			l.root.RequestWithCustomSender(target, env, sender)
		}
		return
	}
	l.mu.Lock()
	o := l.boxes[target.Address]
	if o == nil {
		o = &outbox{link: l, mux: actor.NewPID(target.Address, wireMuxName)}
		l.boxes[target.Address] = o
	}
	l.mu.Unlock()
	o.post(outItem{target: target.Id, sender: sender, env: env})
}

// outbox is one destination's queue.
type outbox struct {
	link  *wireLink
	mux   *actor.PID
	mu    sync.Mutex
	items []outItem
	busy  int // batches unacknowledged
}

type outItem struct {
	target string
	sender *actor.PID
	env    *messages.Envelope
}

func (o *outbox) post(it outItem) {
	o.mu.Lock()
	o.items = append(o.items, it)
	if o.busy >= o.link.window {
		o.mu.Unlock()
		return
	}
	o.busy++
	items := o.items
	o.items = nil
	o.mu.Unlock()
	o.flush(items)
}

// acked sends what waited, or marks the link idle.
func (o *outbox) acked() {
	o.mu.Lock()
	items := o.items
	o.items = nil
	if len(items) == 0 {
		o.busy--
	}
	o.mu.Unlock()
	if len(items) > 0 {
		o.flush(items)
	}
}

// flush sends items as one batch: a GetReply whose values are the frames
// (the bench's own container, from the types every process knows).
func (o *outbox) flush(items []outItem) {
	b := &messages.GetReply{Values: make([][]byte, 0, len(items))}
	for _, it := range items {
		b.Values = append(b.Values, frame(it))
	}
	// The batch's sender is this process's mux: the ack goes there.
	o.link.root.RequestWithCustomSender(o.mux, messages.Wrap(0, b), actor.NewPID(o.link.self, wireMuxName))
	o.link.batches.Add(1)
	o.link.messages.Add(uint64(len(items)))
}

// frame encodes an item: target, sender address, sender id (each
// length-prefixed), then the envelope.
func frame(it outItem) []byte {
	var sa, sid string
	if it.sender != nil {
		sa, sid = it.sender.Address, it.sender.Id
	}
	body, _ := proto.Marshal(it.env)
	b := make([]byte, 0, len(it.target)+len(sa)+len(sid)+len(body)+8)
	for _, s := range []string{it.target, sa, sid} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, body...)
}

var errFrame = errors.New("bench: wire: malformed frame")

// unframe decodes a frame.
func unframe(b []byte) (target, senderAddr, senderID string, env *messages.Envelope, err error) {
	var parts [3]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", "", "", nil, errFrame
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	env = &messages.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return "", "", "", nil, err
	}
	return parts[0], parts[1], parts[2], env, nil
}

// muxProps is a process's mux actor: it delivers a batch's messages and
// acks it; an ack (a batch of none) frees the outbox it answers.
func muxProps(l *wireLink, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		env, ok := ctx.Message().(*messages.Envelope)
		if !ok || env.GetGetReply() == nil || ctx.Sender() == nil {
			return
		}
		vals := env.GetGetReply().GetValues()
		if len(vals) == 0 {
			l.mu.Lock()
			o := l.boxes[ctx.Sender().Address]
			l.mu.Unlock()
			if o != nil {
				o.acked()
			}
			return
		}
		// Ack first: the next batch can gather while these are delivered.
		ctx.Request(ctx.Sender(), messages.Wrap(0, &messages.GetReply{}))
		for _, f := range vals {
			target, sa, sid, inner, err := unframe(f)
			if err != nil {
				continue
			}
			pid := actor.NewPID(l.self, target)
			if sa == "" {
				ctx.Send(pid, inner)
			} else {
				ctx.RequestWithCustomSender(pid, inner, actor.NewPID(sa, sid))
			}
		}
	}, opts...)
}
