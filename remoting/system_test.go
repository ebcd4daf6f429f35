//go:build !race

package remoting

import (
	"errors"
	"testing"
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
