package remoting

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
)

// echoProps answers an envelope with itself, and hands what it received
// to got when set.
func echoProps(got chan<- *messages.Envelope) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if env, ok := ctx.Message().(*messages.Envelope); ok {
			if got != nil {
				got <- env
			}
			ctx.Respond(env)
		}
	})
}

func TestMemorySystemsTalkByPID(t *testing.T) {
	n := NewMemoryNetwork()
	a, b := n.StartSystem("a:1"), n.StartSystem("b:1")
	defer a.Stop()
	defer b.Stop()
	got := make(chan *messages.Envelope, 1)
	if _, err := SpawnNamed(b.Root(), echoProps(got), "echo"); err != nil {
		t.Fatal(err)
	}
	sent := messages.Wrap(7, &messages.ReplicaGetRequest{Partition: 3, Key: []byte("k")})
	f := a.Root().RequestFuture(actor.NewPID("b:1", "echo"), sent, 5*time.Second)
	res, err := f.Result()
	if err != nil {
		t.Fatal(err)
	}
	reply, ok := res.(*messages.Envelope)
	if !ok || reply.GetRequestId() != 7 || reply.GetReplicaGet().GetPartition() != 3 {
		t.Fatalf("reply %v", res)
	}
	// The receiver got a copy, as over the wire: not the sender's message.
	if in := <-got; in == sent || reply == sent {
		t.Fatal("a message crossed systems by reference")
	}

	// An actor the system does not have: a dead letter, at once.
	_, err = a.Root().RequestFuture(actor.NewPID("b:1", "nobody"), sent, 5*time.Second).Result()
	if !errors.Is(err, actor.ErrDeadLetter) {
		t.Fatalf("unknown actor: %v", err)
	}
	// A system that is not there: lost, the request times out.
	_, err = a.Root().RequestFuture(actor.NewPID("c:1", "echo"), sent, 100*time.Millisecond).Result()
	if !errors.Is(err, actor.ErrTimeout) {
		t.Fatalf("unknown address: %v", err)
	}
}

// watcher records the Terminated messages of the PIDs it watches.
type watcher struct {
	watch []*actor.PID
	out   chan *actor.Terminated
}

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		for _, p := range w.watch {
			ctx.Watch(p)
		}
	case *actor.Terminated:
		w.out <- m
	}
}

// A stopped or dropped system ends the watches of its actors with
// AddressTerminated, as remoting does when a connection drops; a watch of
// an address that is not there ends at once.
func TestMemorySystemWatchesEndWhenAnAddressIsLost(t *testing.T) {
	n := NewMemoryNetwork()
	a, b, c := n.StartSystem("a:1"), n.StartSystem("b:1"), n.StartSystem("c:1")
	defer a.Stop()
	defer c.Stop()
	for _, s := range []*System{b, c} {
		if _, err := SpawnNamed(s.Root(), echoProps(nil), "echo"); err != nil {
			t.Fatal(err)
		}
	}
	out := make(chan *actor.Terminated, 4)
	w := &watcher{watch: []*actor.PID{actor.NewPID("b:1", "echo"), actor.NewPID("c:1", "echo"), actor.NewPID("gone:1", "echo")}, out: out}
	a.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return w }))
	expect := func(addr string) {
		t.Helper()
		select {
		case m := <-out:
			if m.GetWho().GetAddress() != addr || m.GetWhy() != actor.TerminatedReason_AddressTerminated {
				t.Fatalf("Terminated %v, want %s AddressTerminated", m, addr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no Terminated for %s", addr)
		}
	}
	expect("gone:1")
	b.Stop()
	expect("b:1")
	n.Drop("c:1")
	expect("c:1")
	select {
	case m := <-out:
		t.Fatalf("a Terminated too many: %v", m)
	case <-time.After(50 * time.Millisecond):
	}
	// A dropped address is unreachable until a system starts there again.
	_, err := a.Root().RequestFuture(actor.NewPID("c:1", "echo"), messages.Wrap(1, &messages.ReplicaGetRequest{}), 100*time.Millisecond).Result()
	if !errors.Is(err, actor.ErrTimeout) {
		t.Fatalf("dropped address: %v", err)
	}
}
