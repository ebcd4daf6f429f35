package remoting

import (
	"io"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// StartSystem starts an actor system at addr on the network: its actors
// reach the actors of the network's other systems by PID as over
// remoting, in memory, with no gRPC and no ports. A message to another
// system is copied (proto.Clone), as remoting would serialize it, and
// must be a protobuf message; a message of another type is dropped. A
// message to an actor the target system does not have comes back to its
// sender, when it has one, as a DeadLetterResponse, as over remoting. A
// message to a system that stopped, to an address that is not on the
// network, or to a dropped address (Drop) is lost, as to a peer that is
// gone: a request to it times out. Watches (actor.Watch) work across
// systems; when a system stops or its address is dropped, each watcher of
// its actors gets a Terminated with reason AddressTerminated, as when
// remoting loses a connection. Stop the system with its Stop; addr may be
// started again after.
func (n *MemoryNetwork) StartSystem(addr string) *System {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	as.ProcessRegistry.Address = addr
	as.ProcessRegistry.RegisterAddressResolver(func(pid *actor.PID) (actor.Process, bool) {
		return &memoryProcess{net: n, from: as}, true
	})
	n.mu.Lock()
	if n.systems == nil {
		n.systems, n.watches = map[string]*actor.ActorSystem{}, map[string][]memoryWatch{}
	}
	n.systems[addr] = as
	delete(n.down, addr)
	n.mu.Unlock()
	return &System{Actors: as, Pool: NewWorkerPool(), detach: func() {
		n.mu.Lock()
		gone := n.systems[addr] == as
		if gone {
			delete(n.systems, addr)
		}
		n.mu.Unlock()
		if gone {
			n.addressLost(addr)
		}
	}}
}

// system returns the running system at addr, nil when there is none or
// addr is dropped.
func (n *MemoryNetwork) system(addr string) *actor.ActorSystem {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down[addr] {
		return nil
	}
	return n.systems[addr]
}

// memoryProcess stands, in system from, for every actor of the other
// systems of a MemoryNetwork.
type memoryProcess struct {
	net  *MemoryNetwork
	from *actor.ActorSystem
}

func (p *memoryProcess) SendUserMessage(pid *actor.PID, message interface{}) {
	msg, sender, out := message, (*actor.PID)(nil), &actor.MessageEnvelope{}
	if env, ok := message.(*actor.MessageEnvelope); ok {
		msg, sender, out.Header = env.Message, env.Sender, env.Header // headers are not changed once sent
	}
	body, ok := msg.(proto.Message)
	to := p.net.system(pid.Address)
	if !ok || to == nil {
		return
	}
	out.Message = proto.Clone(body)
	if sender != nil {
		out.Sender = proto.Clone(sender).(*actor.PID)
	}
	local := actor.NewPID(pid.Address, pid.Id)
	proc, _ := to.ProcessRegistry.GetLocal(pid.Id) // the dead letter process when there is no such actor
	proc.SendUserMessage(local, out)
}

func (p *memoryProcess) SendSystemMessage(pid *actor.PID, message interface{}) {
	n := p.net
	switch m := message.(type) {
	case *actor.Watch:
		w := memoryWatch{watcher: proto.Clone(m.Watcher).(*actor.PID), watchee: actor.NewPID(pid.Address, pid.Id)}
		// One section: a system that goes away after the check finds the
		// watch and ends it.
		n.mu.Lock()
		up := !n.down[pid.Address] && n.systems[pid.Address] != nil
		if up {
			n.watches[pid.Address] = append(n.watches[pid.Address], w)
		}
		n.mu.Unlock()
		if !up { // as remoting when it cannot connect
			n.terminate([]memoryWatch{w})
			return
		}
	case *actor.Unwatch:
		n.unwatch(m.Watcher, pid)
	case *actor.Terminated:
		n.unwatch(pid, m.Who)
	}
	to := n.system(pid.Address)
	if to == nil {
		return
	}
	if pm, ok := message.(proto.Message); ok {
		message = proto.Clone(pm)
	}
	proc, _ := to.ProcessRegistry.GetLocal(pid.Id)
	proc.SendSystemMessage(actor.NewPID(pid.Address, pid.Id), message)
}

func (p *memoryProcess) Stop(pid *actor.PID) {
	p.SendSystemMessage(pid, &actor.Stop{})
}

// memoryWatch is a watch across systems of a MemoryNetwork.
type memoryWatch struct{ watcher, watchee *actor.PID }

// unwatch forgets the watch of watchee by watcher.
func (n *MemoryNetwork) unwatch(watcher, watchee *actor.PID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ws := n.watches[watchee.GetAddress()]
	for i, w := range ws {
		if w.watcher.Equal(watcher) && w.watchee.Equal(watchee) {
			n.watches[watchee.GetAddress()] = append(ws[:i:i], ws[i+1:]...)
			return
		}
	}
}

// addressLost ends the watches of the actors at addr, as remoting does when
// the connection to a peer drops: each watcher gets a Terminated with
// reason AddressTerminated.
func (n *MemoryNetwork) addressLost(addr string) {
	n.mu.Lock()
	ws := n.watches[addr]
	delete(n.watches, addr)
	n.mu.Unlock()
	n.terminate(ws)
}

func (n *MemoryNetwork) terminate(ws []memoryWatch) {
	for _, w := range ws {
		if sys := n.system(w.watcher.Address); sys != nil {
			proc, _ := sys.ProcessRegistry.GetLocal(w.watcher.Id)
			proc.SendSystemMessage(w.watcher, &actor.Terminated{Who: w.watchee, Why: actor.TerminatedReason_AddressTerminated})
		}
	}
}
