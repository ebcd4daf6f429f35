package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
)

// listMerger runs a ListKeysRequest the router received (the HTTP API's
// listing): it asks every up primary of the partition, merges their pages
// (request.MergePages: a replica missing keys, such as a new owner before
// its handoff, does not hide them) and answers the client, at the latest
// at its deadline with the pages that came.
type listMerger struct {
	client  *actor.PID
	env     *messages.Envelope
	targets []*actor.PID
	q       int
	limit   int
	timeout time.Duration
	self    string

	pages []request.Page
	fails []string
	left  int
	done  bool
	timer *time.Timer
}

// listDeadline is sent to a listMerger whose vnodes did not all answer.
type listDeadline struct{}

func (m *listMerger) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.left = len(m.targets)
		for _, pid := range m.targets {
			ctx.Request(pid, m.env)
		}
		self, root := ctx.Self(), ctx.ActorSystem().Root
		m.timer = time.AfterFunc(m.timeout, func() { root.Send(self, &listDeadline{}) })
	case *messages.Envelope:
		if m.done {
			return
		}
		r := msg.GetListKeysReply()
		switch {
		case r == nil:
			m.fails = append(m.fails, "a reply that is not a key listing")
		case r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT:
			m.answer(ctx, &messages.ListKeysReply{Partition: r.GetPartition(), Node: m.self, Error: r.GetError()})
			return
		case r.GetError() != nil:
			m.fails = append(m.fails, fmt.Sprintf("%s: %s", r.GetNode(), r.GetError().GetMessage()))
		default:
			page, err := request.ItemsPage(r.GetItems(), r.GetNext(), r.GetDone())
			if err != nil {
				m.fails = append(m.fails, fmt.Sprintf("%s: %v", r.GetNode(), err))
				break
			}
			m.pages = append(m.pages, page)
		}
		if m.left--; m.left == 0 {
			m.merge(ctx)
		}
	case *listDeadline:
		if !m.done {
			m.fails = append(m.fails, fmt.Sprintf("%d of %d replicas did not answer within %v", m.left, len(m.targets), m.timeout))
			m.merge(ctx)
		}
	case *actor.Stopping:
		if m.timer != nil {
			m.timer.Stop()
		}
	}
}

// merge answers with the merged pages, or UNAVAILABLE when none came.
func (m *listMerger) merge(ctx actor.Context) {
	p := m.env.GetListKeys().GetPartition()
	if len(m.pages) == 0 {
		m.answer(ctx, &messages.ListKeysReply{Partition: p, Node: m.self,
			Error: unavailable(fmt.Sprintf("no replica of partition %d answered a key listing (%s)", p, strings.Join(m.fails, "; ")))})
		return
	}
	keys, sets, after, done := request.MergePages(m.q, m.limit, m.pages)
	m.answer(ctx, &messages.ListKeysReply{Partition: p, Node: m.self, Keys: request.Holding(keys, sets, time.Now().UnixNano()), Next: after, Done: done})
}

func (m *listMerger) answer(ctx actor.Context, r *messages.ListKeysReply) {
	m.done = true
	ctx.Send(m.client, messages.Wrap(m.env.GetRequestId(), r))
	ctx.Stop(ctx.Self())
}
