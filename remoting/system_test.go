//go:build !race

package remoting

import (
	"errors"
	"net"
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
