package remoting

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// SpawnNamed spawns props under name with a mailbox that is safe to post
// to while the spawn is under way. Every actor found by name (the node's
// supervisor, its children, the vnodes) is spawned through it.
//
// protoactor registers a named actor's process (actor/props.go:
// ProcessRegistry.Add) before it gives the mailbox its dispatcher
// (RegisterHandlers). A message that finds the name in between, from a
// peer over remoting, a local actor or a watch, is posted to a mailbox
// without a dispatcher, and the poster dereferences nil: the process dies
// (seen in CI: a test asking the vnode manager while the supervisor was
// starting it). The gated mailbox holds such a poster until the handlers
// are in place, which takes the spawning goroutine microseconds, and makes
// the handlers' writes visible to every poster (the race detector saw the
// same window as a data race).
func SpawnNamed(ctx actor.SpawnerContext, props *actor.Props, name string) (*actor.PID, error) {
	return ctx.SpawnNamed(props.Configure(actor.WithMailbox(Gated(actor.Unbounded()))), name)
}

// Gated wraps a mailbox producer so that its mailboxes hold every post
// until their handlers are registered (see SpawnNamed).
func Gated(inner actor.MailboxProducer) actor.MailboxProducer {
	return func() actor.Mailbox {
		return &gatedMailbox{Mailbox: inner(), registered: make(chan struct{})}
	}
}

// gatedMailbox is a mailbox whose posts wait for RegisterHandlers.
type gatedMailbox struct {
	actor.Mailbox
	ready      atomic.Bool   // set once the handlers are registered
	registered chan struct{} // closed at the same time, for waiting posters
}

func (m *gatedMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.Mailbox.RegisterHandlers(invoker, dispatcher)
	m.ready.Store(true)
	close(m.registered)
}

func (m *gatedMailbox) wait() {
	if !m.ready.Load() {
		<-m.registered
	}
}

func (m *gatedMailbox) PostUserMessage(message interface{}) {
	m.wait()
	m.Mailbox.PostUserMessage(message)
}

func (m *gatedMailbox) PostSystemMessage(message interface{}) {
	m.wait()
	m.Mailbox.PostSystemMessage(message)
}
