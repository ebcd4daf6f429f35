package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
)

// manyGetter runs a GetManyRequest: one get coordinator per key, all at
// once, as its children; it answers the client once every key is
// answered, then waits for its children (their read repairs) before it
// stops.
type manyGetter struct {
	client  *actor.PID
	id      uint64
	replies []*messages.GetReply // nil until answered; refused keys set by the router
	subs    []manyGet
	left    int // keys not answered yet
	running int // children not terminated yet
	done    bool
	timer   *time.Timer
	limit   time.Duration // the longest sub-request deadline, plus slack
}

// manyGet is one key's get: its index in the request and its plan.
type manyGet struct {
	i   int
	req plan
	key []byte
}

// manyTimeout is sent to a manyGetter whose children did not all answer
// in time (they answer at their own deadlines; this is a safety net).
type manyTimeout struct{}

// manySlack is how long past the longest deadline the safety net waits:
// less than a client waits past it, so that a late key still reaches the
// client as TIMEOUT rather than making it send the whole group elsewhere.
const manySlack = 100 * time.Millisecond

func manyProps(client *actor.PID, id uint64, replies []*messages.GetReply, subs []manyGet, d actor.Dispatcher) *actor.Props {
	limit := time.Duration(0)
	for _, s := range subs {
		limit = max(limit, s.req.timeout)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &manyGetter{client: client, id: id, replies: replies, subs: subs, left: len(subs), limit: limit + manySlack}
	}, onDispatcher(d)...)
}

func (m *manyGetter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		for _, s := range m.subs {
			s.req.client, s.req.id = ctx.Self(), uint64(s.i)
			ctx.Spawn(getProps(s.req, &messages.GetRequest{Key: s.key}))
			m.running++
		}
		m.subs = nil
		if m.left == 0 {
			m.answer(ctx)
			return
		}
		self, root := ctx.Self(), ctx.ActorSystem().Root
		m.timer = time.AfterFunc(m.limit, func() { root.Send(self, &manyTimeout{}) })
	case *messages.Envelope:
		i := int(msg.GetRequestId())
		if m.done || i < 0 || i >= len(m.replies) || m.replies[i] != nil {
			return
		}
		r := msg.GetGetReply()
		if r == nil {
			r = &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: "the key's coordinator answered with something else than a GetReply"}}
		}
		m.replies[i] = r
		if m.left--; m.left == 0 {
			m.answer(ctx)
		}
	case *manyTimeout:
		if !m.done {
			for i, r := range m.replies {
				if r == nil {
					m.replies[i] = &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TIMEOUT, Message: "the key's read did not answer in time"}}
				}
			}
			m.answer(ctx)
		}
	case *actor.Terminated:
		if m.running--; m.done && m.running == 0 {
			ctx.Stop(ctx.Self())
		}
	case *actor.Stopping:
		if m.timer != nil {
			m.timer.Stop()
		}
	}
}

// answer sends the client every key's reply, in order, and stops once the
// children have.
func (m *manyGetter) answer(ctx actor.Context) {
	m.done = true
	ctx.Send(m.client, messages.Wrap(m.id, &messages.GetManyReply{Replies: m.replies}))
	if m.running == 0 {
		ctx.Stop(ctx.Self())
	}
}
