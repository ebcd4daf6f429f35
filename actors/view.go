package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
)

// Defaults are a node's request defaults, used when a request leaves R, W or
// its timeout at zero.
type Defaults struct {
	// R and W are the default read and write quorums (1..N). Default 2, 2.
	R, W int
	// Timeout is a request's deadline. Default 1 s.
	Timeout time.Duration
	// Mode is the conflict mode of requests that do not choose one:
	// CONFLICT_MODE_SIBLINGS (default) or CONFLICT_MODE_LWW (last write
	// wins; concurrent writes are lost).
	Mode messages.ConflictMode
	// TTL is the time to live of a put that does not set one: its value
	// expires that long after the write. Default 0: never.
	TTL time.Duration
}

// View is one immutable snapshot of the cluster as this node sees it: the
// ring computed from the serf members, and each member's canonical actor
// address. The membership actor sends a new *View to its subscribers after
// every membership change; receivers never modify it.
type View struct {
	// Self is this node's name.
	Self string
	// Ring is the placement computed from the members.
	Ring *ring.Ring
	// Addrs maps member name to canonical actor address.
	Addrs map[string]string
	// Left are the nodes serf reports left: they left gracefully or were
	// removed, and are out of the ring for good (hints held for them go to
	// their partitions' current owners).
	Left map[string]bool
	// Epoch counts views on this node, from 1.
	Epoch uint64
}

// Down reports whether node is a member that serf reports failed. A node
// that is not a member at all is also down.
func (v *View) Down(node string) bool {
	m, ok := v.Ring.Member(node)
	return !ok || m.State == ring.Down
}

// Absent reports whether node is neither a member nor left: serf never
// knew it, forgot it (a removed node after its tombstone, a failed one
// reaped after its reconnect timeout), or this node started while it was
// down and nobody that remembered it was up to tell.
func (v *View) Absent(node string) bool {
	_, member := v.Ring.Member(node)
	return !member && !v.Left[node]
}

// Addr is node's actor address ("" when unknown).
func (v *View) Addr(node string) string { return v.Addrs[node] }

// Members is the view as the wire MembersReply lists it.
func (v *View) Members() []*messages.MemberInfo {
	var out []*messages.MemberInfo
	for _, m := range v.Ring.Members() {
		st := messages.MemberState_MEMBER_STATE_UP
		switch m.State {
		case ring.Down:
			st = messages.MemberState_MEMBER_STATE_DOWN
		case ring.Leaving:
			st = messages.MemberState_MEMBER_STATE_LEAVING
		}
		out = append(out, &messages.MemberInfo{Name: m.Name, Addr: v.Addrs[m.Name], Zone: m.Zone, Weight: uint32(m.Weight), State: st})
	}
	return out
}

// vnodePID addresses partition p's vnode on the node at addr.
func vnodePID(addr string, p uint32) *actor.PID { return actor.NewPID(addr, remoting.VnodeName(p)) }

// routerPID addresses the router on the node at addr.
func routerPID(addr string) *actor.PID { return actor.NewPID(addr, remoting.RouterName) }

// hintsPID addresses the hint dispatcher on the node at addr.
func hintsPID(addr string) *actor.PID { return actor.NewPID(addr, remoting.HintsName) }

// pidCache holds one PID per address and partition (and per address for
// hint dispatchers) for one actor system's coordinators. A PID caches the
// process it resolves to (re-resolving when a local actor behind it died),
// so sharing PIDs spares a registry lookup and a name formatting on every
// replica request: 5 % of a node's CPU under load. It must not be shared
// between actor systems: the process a PID caches is its sender's.
//
// It is bounded by use: it grows only by misses, and every sweepEvery
// misses, once sweepAfter passed since the last sweep, a sweep drops the
// entries not looked up since the previous one. Addresses gone from the
// view (a node removed, or restarted on another port) and peers nobody
// asks (down ones) are forgotten within two sweeps, so the cache holds
// about what the requests of the last sweepAfter or two used; a dropped
// PID is made again at its next lookup. A hit only reads shared memory
// (and stores once per entry and sweep).
type pidCache struct {
	m      sync.Map // pidKey → *pidEntry
	misses atomic.Uint64
	gen    atomic.Uint64 // sweeps done
	mu     sync.Mutex    // one sweep at a time
	last   time.Time     // of the last sweep; guarded by mu

	// sweepEvery and sweepAfter (defaults 256 misses and one minute) and
	// now (default time.Now) are for tests.
	sweepEvery uint64
	sweepAfter time.Duration
	now        func() time.Time
}

type pidKey struct {
	addr  string
	vnode uint32 // partition + 1; 0 for the hint dispatcher
}

type pidEntry struct {
	pid  *actor.PID
	used atomic.Uint64 // the generation of its last lookup
}

const (
	defaultPIDSweepEvery = 256
	defaultPIDSweepAfter = time.Minute
)

func (c *pidCache) get(k pidKey) *actor.PID {
	gen := c.gen.Load()
	if v, ok := c.m.Load(k); ok {
		e := v.(*pidEntry)
		if e.used.Load() != gen {
			e.used.Store(gen)
		}
		return e.pid
	}
	every := c.sweepEvery
	if every == 0 {
		every = defaultPIDSweepEvery
	}
	if c.misses.Add(1)%every == 0 {
		c.sweep()
		gen = c.gen.Load()
	}
	e := &pidEntry{}
	if k.vnode == 0 {
		e.pid = hintsPID(k.addr)
	} else {
		e.pid = vnodePID(k.addr, k.vnode-1)
	}
	e.used.Store(gen)
	v, _ := c.m.LoadOrStore(k, e)
	return v.(*pidEntry).pid
}

// sweep drops the entries not looked up since the last sweep, if that was
// sweepAfter ago; a concurrent sweep makes it a no-op.
func (c *pidCache) sweep() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	after := c.sweepAfter
	if after == 0 {
		after = defaultPIDSweepAfter
	}
	t := now()
	if !c.last.IsZero() && t.Sub(c.last) < after {
		return
	}
	c.last = t
	gen := c.gen.Load()
	c.m.Range(func(k, v any) bool {
		if v.(*pidEntry).used.Load() < gen {
			c.m.Delete(k)
		}
		return true
	})
	c.gen.Store(gen + 1)
}

// size is the number of entries held (tests).
func (c *pidCache) size() int {
	n := 0
	c.m.Range(func(any, any) bool { n++; return true })
	return n
}

func (c *pidCache) vnode(addr string, p uint32) *actor.PID { return c.get(pidKey{addr, p + 1}) }

func (c *pidCache) hints(addr string) *actor.PID { return c.get(pidKey{addr: addr}) }
