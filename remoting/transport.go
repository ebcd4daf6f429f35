package remoting

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/dynamokv/dynamo/messages"
)

// Transport is how a process reaches the actors of other processes:
// requests that want one reply, one-way sends, and news of its
// connections. NewTransport gives the real one, over a System's protoactor
// remoting; a MemoryNetwork gives transports that stay inside the process,
// so that the logic above them (the Go client) is tested under the race
// detector. Its methods are safe for concurrent use.
type Transport interface {
	// Addr is this end's own address, the one replies come to.
	Addr() string
	// Request sends env to the actor id at the process addr. Its outcome
	// comes on the returned channel, once: the reply, or an error
	// matching ErrNoReply (nothing within wait) or ErrDeadLetter (no such
	// actor there).
	Request(addr, id string, env *messages.Envelope, wait time.Duration) <-chan Reply
	// Send sends env to the actor id at addr; no reply is expected.
	Send(addr, id string, env *messages.Envelope)
	// Probe reports whether addr accepts connections, within timeout (for
	// remoting, a TCP connect: microseconds for a dead host, where
	// protoactor would retry a refused connection for about 10 s).
	Probe(ctx context.Context, addr string, timeout time.Duration) error
	// Watch calls fn with each change of this end's connections, by
	// address: up when a connection opens, down when it drops. fn must
	// not block. One watcher per transport; Close ends it.
	Watch(fn func(addr string, up bool))
	// Close stops the transport and the goroutines it owns.
	Close()
}

// Reply is the outcome of a Request.
type Reply struct {
	Env *messages.Envelope
	Err error
}

// Errors of a Request.
var (
	// ErrNoReply marks a request that got no reply within its wait.
	ErrNoReply = errors.New("remoting: no reply in time")
	// ErrDeadLetter marks a request whose actor is not there.
	ErrDeadLetter = errors.New("remoting: no such actor (dead letter)")
)

// closeWait bounds the graceful stop of remoting in a transport's Close.
const closeWait = time.Second

// systemTransport is the Transport over a System's remoting.
type systemTransport struct {
	sys  *System
	mu   sync.Mutex
	sub  *eventstream.Subscription
	stop sync.Once
}

// NewTransport is the Transport over sys's remoting. Its Close stops sys.
func NewTransport(sys *System) Transport { return &systemTransport{sys: sys} }

func (t *systemTransport) Addr() string { return t.sys.Address() }

func (t *systemTransport) Request(addr, id string, env *messages.Envelope, wait time.Duration) <-chan Reply {
	out := make(chan Reply, 1)
	f := t.sys.Root().RequestFuture(actor.NewPID(addr, id), env, wait)
	// The future always completes by itself (a reply or its timeout), so
	// this goroutine ends within wait.
	go func() {
		res, err := f.Result()
		switch {
		case errors.Is(err, actor.ErrTimeout):
			err = ErrNoReply
		case errors.Is(err, actor.ErrDeadLetter):
			err = ErrDeadLetter
		case err == nil:
			switch r := res.(type) {
			case *messages.Envelope:
				out <- Reply{Env: r}
				return
			case *actor.DeadLetterResponse:
				err = ErrDeadLetter
			default:
				err = fmt.Errorf("remoting: unexpected reply %T", res)
			}
		}
		out <- Reply{Err: err}
	}()
	return out
}

func (t *systemTransport) Send(addr, id string, env *messages.Envelope) {
	t.sys.Root().Send(actor.NewPID(addr, id), env)
}

func (t *systemTransport) Probe(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (t *systemTransport) Watch(fn func(addr string, up bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sub = t.sys.Actors.EventStream.SubscribeWithPredicate(func(evt any) {
		switch e := evt.(type) {
		case *remote.EndpointConnectedEvent:
			fn(e.Address, true)
		case *remote.EndpointTerminatedEvent:
			fn(e.Address, false)
		}
	}, func(evt any) bool {
		switch evt.(type) {
		case *remote.EndpointConnectedEvent, *remote.EndpointTerminatedEvent:
			return true
		}
		return false
	})
}

// Close stops remoting and the actor system. A graceful remoting stop
// closes the outbound connections (a forced one leaves them and their
// goroutines running, reconnecting, for the life of the process) and takes
// about a millisecond, unless an endpoint is still in protoactor's
// connection retry loop (a host that accepts TCP but never speaks gRPC):
// then, after closeWait, the listener is closed at once and the rest stops
// in the background when the retries end.
func (t *systemTransport) Close() {
	t.stop.Do(func() {
		t.mu.Lock()
		if t.sub != nil {
			t.sys.Actors.EventStream.Unsubscribe(t.sub)
		}
		t.mu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			t.sys.Remote.Shutdown(true)
		}()
		timer := time.NewTimer(closeWait)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			t.sys.Actors.Logger().Warn("remoting did not stop in time: closing its listener, the rest stops in the background", "wait", closeWait)
			t.sys.Remote.Shutdown(false)
		}
		t.sys.Actors.Shutdown()
		t.sys.Pool.Stop()
	})
}
