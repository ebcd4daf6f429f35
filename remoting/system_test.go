//go:build !race

package remoting

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
)

func TestStartSystemErrors(t *testing.T) {
	cfg := DefaultSystemConfig()
	cfg.Addr = "127.0.0.1:0"
	s, err := StartSystem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	cfg.Addr = s.Address() // already taken
	if _, err := StartSystem(cfg); !errors.Is(err, ErrListen) {
		t.Fatalf("taken port: %v", err)
	}
	for _, c := range []SystemConfig{{Addr: "nope", QueueSize: 1}, {Addr: "127.0.0.1:99999", QueueSize: 1}, {Addr: "127.0.0.1:0"}} {
		if _, err := StartSystem(c); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}

func startTestSystem(t *testing.T) *System {
	t.Helper()
	cfg := DefaultSystemConfig()
	cfg.Addr = "127.0.0.1:0"
	s, err := StartSystem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// A message sent to another spelling of a node's address (localhost for
// 127.0.0.1) is delivered locally instead of looping through remoting.
func TestAliasAddressIsDeliveredLocally(t *testing.T) {
	a, b := startTestSystem(t), startTestSystem(t)
	echo := actor.PropsFromFunc(func(ctx actor.Context) {
		if env, ok := ctx.Message().(*messages.Envelope); ok {
			ctx.Respond(env)
		}
	})
	if _, err := SpawnNamed(b.Root(), echo, VnodeName(2)); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(b.Address())
	alias := actor.NewPID(net.JoinHostPort("localhost", port), VnodeName(2))
	res, err := a.Root().RequestFuture(alias, messages.Wrap(7, &messages.ReplicaGetRequest{Partition: 2}), 5*time.Second).Result()
	if err != nil {
		t.Fatalf("via alias: %v", err)
	}
	if env, ok := res.(*messages.Envelope); !ok || env.GetRequestId() != 7 {
		t.Fatalf("via alias: %v", res)
	}
}

// WireStats counts the batches a system receives and the messages in them:
// a burst sent at once travels in fewer batches than messages, and every
// message is counted once.
func TestWireStatsCountBatchesAndMessages(t *testing.T) {
	var wire WireStats
	cfg := DefaultSystemConfig()
	cfg.Addr, cfg.Wire = "127.0.0.1:0", &wire
	b, err := StartSystem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	a := startTestSystem(t)
	var got atomic.Int64
	sink := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.Envelope); ok {
			got.Add(1)
		}
	})
	if _, err := SpawnNamed(b.Root(), sink, "sink"); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	to := actor.NewPID(b.Address(), "sink")
	for i := range n {
		a.Root().Send(to, messages.Wrap(uint64(i), &messages.ReplicaGetRequest{Partition: 1}))
	}
	deadline := time.Now().Add(10 * time.Second)
	for got.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived", got.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m := wire.Messages.Load(); m != n {
		t.Fatalf("%d messages counted, want %d", m, n)
	}
	if bt := wire.Batches.Load(); bt == 0 || bt >= n || bt < n/BatchSize {
		t.Fatalf("%d batches for %d messages sent at once, want fewer batches than messages and at most %d a batch", bt, n, BatchSize)
	}
	t.Logf("%d messages in %d batches (%.1f a batch)", n, wire.Batches.Load(), float64(n)/float64(wire.Batches.Load()))
}
