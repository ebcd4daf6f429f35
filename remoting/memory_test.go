package remoting

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
)

// The memory network behaves as remoting does for its users: replies,
// dead letters, silence, unreachable addresses, and connections that open
// and drop.
func TestMemoryNetwork(t *testing.T) {
	n := NewMemoryNetwork()
	echo := func(env *messages.Envelope, reply func(*messages.Envelope)) { reply(env) }
	n.Serve("a:1", "echo", echo)
	n.Serve("a:1", "silent", func(*messages.Envelope, func(*messages.Envelope)) {})
	c := n.Transport("c:1")
	defer c.Close()
	type event struct {
		addr string
		up   bool
	}
	events := make(chan event, 4)
	c.Watch(func(addr string, up bool) { events <- event{addr, up} })

	if err := c.Probe(context.Background(), "b:1", time.Second); err == nil {
		t.Fatal("a probe of an address nothing serves succeeded")
	}
	if err := c.Probe(context.Background(), "a:1", time.Second); err != nil {
		t.Fatalf("probe: %v", err)
	}
	env := messages.Wrap(7, &messages.MembersRequest{})
	r := <-c.Request("a:1", "echo", env, time.Second)
	if r.Err != nil || r.Env.GetRequestId() != 7 {
		t.Fatalf("echo: %+v", r)
	}
	if e := <-events; e != (event{"a:1", true}) {
		t.Fatalf("event %+v, want a:1 up", e)
	}
	if r := <-c.Request("a:1", "nobody", env, time.Second); !errors.Is(r.Err, ErrDeadLetter) {
		t.Fatalf("no such actor: %+v", r)
	}
	began := time.Now()
	if r := <-c.Request("a:1", "silent", env, 50*time.Millisecond); !errors.Is(r.Err, ErrNoReply) || time.Since(began) < 50*time.Millisecond {
		t.Fatalf("silence: %+v after %v", r, time.Since(began))
	}
	n.Drop("a:1")
	if e := <-events; e != (event{"a:1", false}) {
		t.Fatalf("event %+v, want a:1 down", e)
	}
	if err := c.Probe(context.Background(), "a:1", time.Second); err == nil {
		t.Fatal("a probe of a dropped address succeeded")
	}
	if r := <-c.Request("a:1", "echo", env, 20*time.Millisecond); !errors.Is(r.Err, ErrNoReply) {
		t.Fatalf("dropped: %+v", r)
	}
	c.Close()
	n.Wait()
}
