package remoting

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A user post to a gated mailbox before it is started waits for its
// handlers and its start, and is then delivered; an ungated one would
// dereference a nil dispatcher.
func TestGatedMailboxHoldsPostsUntilRegistered(t *testing.T) {
	mb := Gated(actor.Unbounded())()
	posted := make(chan struct{})
	go func() {
		mb.PostUserMessage("early")
		close(posted)
	}()
	select {
	case <-posted:
		t.Fatal("a post returned before the mailbox had handlers")
	case <-time.After(50 * time.Millisecond):
	}
	inv := &countingInvoker{got: make(chan interface{}, 1)}
	mb.RegisterHandlers(inv, actor.NewDefaultDispatcher(10))
	select {
	case <-posted:
		t.Fatal("a user post returned before the mailbox was started")
	case <-time.After(50 * time.Millisecond):
	}
	mb.Start()
	select {
	case <-posted:
	case <-time.After(5 * time.Second):
		t.Fatal("the post still waits after RegisterHandlers")
	}
	select {
	case m := <-inv.got:
		if m != "early" {
			t.Fatalf("delivered %v, want early", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the early message was never delivered")
	}
}

type countingInvoker struct{ got chan interface{} }

func (c *countingInvoker) InvokeSystemMessage(interface{})          {}
func (c *countingInvoker) InvokeUserMessage(m interface{})          { c.got <- m }
func (c *countingInvoker) EscalateFailure(interface{}, interface{}) {}

// Senders that find a name while it is being spawned do not crash the
// process, and no message reaches an actor before its Started. With SpawnNamed calling protoactor's SpawnNamed directly, this
// test dies with a nil pointer dereference in defaultMailbox.schedule
// within a few thousand spawns.
func TestSpawnNamedSurvivesSendersDuringTheSpawn(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	defer sys.Shutdown()
	var delivered, early atomic.Int64
	props := actor.PropsFromProducer(func() actor.Actor { return &startedFirst{delivered: &delivered, early: &early} })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A new PID each time: a PID caches the process it found.
				sys.Root.Send(actor.NewPID(sys.Address(), "target"), "hello")
			}
		}()
	}
	// At least 3,000 spawns, and on until the senders reached one.
	for i := 0; i < 3000 || delivered.Load() == 0; i++ {
		if i == 1_000_000 {
			t.Fatal("no message reached the spawned actors in a million spawns")
		}
		p, err := SpawnNamed(sys.Root, props, "target")
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.Root.StopFuture(p).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := early.Load(); n > 0 {
		t.Fatalf("%d messages reached an actor before its Started", n)
	}
}

// startedFirst counts the messages it gets, and those before Started.
type startedFirst struct {
	started          bool
	delivered, early *atomic.Int64
}

func (a *startedFirst) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.started = true
	case string:
		a.delivered.Add(1)
		if !a.started {
			a.early.Add(1)
		}
	}
}
