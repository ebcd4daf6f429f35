package remoting

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// SpawnNamed spawns props under name with a mailbox that is safe to post
// to while the spawn is under way. Every actor found by name (the node's
// supervisor, its children, the vnodes) is spawned through it. It spawns a
// copy of props with that mailbox: a mailbox props set is replaced.
//
// protoactor registers a named actor's process (actor/props.go:
// ProcessRegistry.Add) before it gives the mailbox its dispatcher
// (RegisterHandlers), then posts Started and starts the mailbox. A
// message that finds the name before the handlers, from a peer over
// remoting, a local actor or a watch, is posted to a mailbox without a
// dispatcher, and the poster dereferences nil: the process dies (seen in
// CI: a test asking the vnode manager while the supervisor was starting
// it). The gated mailbox holds such a poster until the handlers are in
// place, and a user message until the mailbox is started, so that Started
// is the first message an actor sees (a vnode opens its store then); the
// spawning goroutine gets there in microseconds. It also makes the
// handlers' writes visible to every poster (the race detector saw the
// same window as a data race). Nothing may run between the registry and
// the handlers that could fail or post to the name itself (props
// WithOnInit): a lint test refuses it.
func SpawnNamed(ctx actor.SpawnerContext, props *actor.Props, name string) (*actor.PID, error) {
	p := *props
	return ctx.SpawnNamed(p.Configure(actor.WithMailbox(Gated(actor.Unbounded()))), name)
}

// Gated wraps a mailbox producer so that its mailboxes hold system posts
// until their handlers are registered and user posts until they are
// started (see SpawnNamed).
func Gated(inner actor.MailboxProducer) actor.MailboxProducer {
	return func() actor.Mailbox {
		return &gatedMailbox{Mailbox: inner(), registered: make(chan struct{}), started: make(chan struct{})}
	}
}

// gatedMailbox is a mailbox whose posts wait for RegisterHandlers (system
// messages) and Start (user messages).
type gatedMailbox struct {
	actor.Mailbox
	isRegistered, isStarted atomic.Bool
	registered, started     chan struct{} // closed when the flags are set
}

func (m *gatedMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.Mailbox.RegisterHandlers(invoker, dispatcher)
	m.isRegistered.Store(true)
	close(m.registered)
}

func (m *gatedMailbox) Start() {
	m.Mailbox.Start()
	m.isStarted.Store(true)
	close(m.started)
}

func (m *gatedMailbox) PostUserMessage(message interface{}) {
	if !m.isStarted.Load() {
		<-m.started
	}
	m.Mailbox.PostUserMessage(message)
}

func (m *gatedMailbox) PostSystemMessage(message interface{}) {
	if !m.isRegistered.Load() {
		<-m.registered
	}
	m.Mailbox.PostSystemMessage(message)
}
