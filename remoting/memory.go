package remoting

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
)

// Handler serves the envelopes sent to one actor of a MemoryNetwork: reply
// answers a Request (the first call counts; a Send's reply goes nowhere),
// and may be called later, from any goroutine, or never (the requester
// then gets ErrNoReply after its wait).
type Handler func(env *messages.Envelope, reply func(*messages.Envelope))

// MemoryNetwork is a Transport fabric inside one process, for tests: ends
// (Transport) and served actors (Serve) by address, with faults a test
// sets: an address dropped (Drop) is unreachable and every connection to
// it goes down, as when its process dies. Handlers run on goroutines of
// their own. The zero value is not ready: use NewMemoryNetwork.
type MemoryNetwork struct {
	mu       sync.Mutex
	handlers map[string]map[string]Handler // addr -> actor id -> handler
	down     map[string]bool
	ends     map[string]*memoryEnd
	systems  map[string]*actor.ActorSystem // StartSystem's, by address
	watches  map[string][]memoryWatch      // across those systems, by the watchee's address
	wg       sync.WaitGroup
}

// NewMemoryNetwork returns an empty network.
func NewMemoryNetwork() *MemoryNetwork {
	return &MemoryNetwork{handlers: map[string]map[string]Handler{}, down: map[string]bool{}, ends: map[string]*memoryEnd{}}
}

// Serve makes h the actor id at addr (the address is up from then on
// unless dropped).
func (n *MemoryNetwork) Serve(addr, id string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.handlers[addr] == nil {
		n.handlers[addr] = map[string]Handler{}
	}
	n.handlers[addr][id] = h
}

// Unserve removes the actor id at addr: requests to it are dead letters.
func (n *MemoryNetwork) Unserve(addr, id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.handlers[addr], id)
}

// Drop makes addr unreachable, as a dead process: probes fail, requests
// get no reply, and every end connected to it sees the connection go
// down.
func (n *MemoryNetwork) Drop(addr string) {
	n.mu.Lock()
	n.down[addr] = true
	var watchers []func(string, bool)
	for _, e := range n.ends {
		if e.connected[addr] {
			delete(e.connected, addr)
			if e.watch != nil {
				watchers = append(watchers, e.watch)
			}
		}
	}
	n.mu.Unlock()
	for _, w := range watchers {
		w(addr, false)
	}
	n.addressLost(addr)
}

// Transport returns the end at addr (a client's own address).
func (n *MemoryNetwork) Transport(addr string) Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := &memoryEnd{net: n, addr: addr, connected: map[string]bool{}}
	n.ends[addr] = e
	return e
}

// Wait waits for the handlers and timers the network runs (tests call it
// after closing their ends, to leave no goroutine behind).
func (n *MemoryNetwork) Wait() { n.wg.Wait() }

// memoryEnd is one Transport of a MemoryNetwork. Its fields are guarded by
// the network's mutex.
type memoryEnd struct {
	net       *MemoryNetwork
	addr      string
	connected map[string]bool
	watch     func(addr string, up bool)
	closed    bool
}

func (e *memoryEnd) Addr() string { return e.addr }

// route finds the handler of id at addr, opening a connection to addr
// (watchers told) when there is none. reachable is false for an address
// that is down or serves nothing.
func (e *memoryEnd) route(addr, id string) (h Handler, reachable bool) {
	n := e.net
	n.mu.Lock()
	actors, known := n.handlers[addr]
	if e.closed || n.down[addr] || !known {
		n.mu.Unlock()
		return nil, false
	}
	h = actors[id]
	opened := !e.connected[addr]
	e.connected[addr] = true
	watch := e.watch
	n.wg.Add(1) // the caller's handler run
	n.mu.Unlock()
	if opened && watch != nil {
		watch(addr, true)
	}
	return h, true
}

func (e *memoryEnd) Request(addr, id string, env *messages.Envelope, wait time.Duration) <-chan Reply {
	out := make(chan Reply, 1)
	var once sync.Once
	deliver := func(r Reply) (first bool) {
		once.Do(func() { out <- r; first = true })
		return first
	}
	h, reachable := e.route(addr, id)
	if reachable && h == nil {
		e.net.wg.Done()
		deliver(Reply{Err: ErrDeadLetter})
		return out
	}
	e.net.wg.Add(1)
	timer := time.AfterFunc(max(wait, 0), func() {
		defer e.net.wg.Done()
		deliver(Reply{Err: ErrNoReply})
	})
	if !reachable {
		return out
	}
	go func() {
		defer e.net.wg.Done()
		h(env, func(r *messages.Envelope) {
			if deliver(Reply{Env: r}) && timer.Stop() {
				e.net.wg.Done() // the timer's
			}
		})
	}()
	return out
}

func (e *memoryEnd) Send(addr, id string, env *messages.Envelope) {
	h, reachable := e.route(addr, id)
	if !reachable {
		return
	}
	if h == nil {
		e.net.wg.Done()
		return
	}
	go func() {
		defer e.net.wg.Done()
		h(env, func(*messages.Envelope) {})
	}()
}

func (e *memoryEnd) Probe(ctx context.Context, addr string, _ time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if _, known := e.net.handlers[addr]; !known || e.net.down[addr] {
		return fmt.Errorf("dial tcp %s: connection refused", addr)
	}
	return nil
}

func (e *memoryEnd) Watch(fn func(addr string, up bool)) {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.watch = fn
}

func (e *memoryEnd) Close() {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.closed, e.watch = true, nil
	delete(e.net.ends, e.addr)
}
