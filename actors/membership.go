package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/cluster"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
)

// MemberSource is where the membership actor reads the cluster's members
// (serf, through cluster/membership; a fake in tests).
type MemberSource interface {
	Members() []cluster.Node
}

// ViewRequest asks the membership actor for its current *View (a router
// or vnode manager sends it when it starts or restarts).
type ViewRequest struct{}

// Refresh tells the membership actor that the members changed: it re-reads
// them from its MemberSource. The node sends one per serf change signal.
type Refresh struct{}

// MembershipConfig configures the membership actor.
type MembershipConfig struct {
	// Self is this node's name.
	Self string
	// Local are this node's tags: other nodes must be cluster.Compatible
	// with them to enter the ring.
	Local cluster.Tags
	// Source supplies the members.
	Source MemberSource
	// Subscribers receive every new *View.
	Subscribers []*actor.PID
	// Health is the node's failure detector: the membership actor watches
	// every up peer (protoactor Watch) and reports a dropped connection to
	// it at once, long before serf declares the peer failed. Optional.
	Health *Health
	// Logger receives one line per member event. Required.
	Logger *slog.Logger
}

// membershipActor turns serf members into ring views: serf events in,
// *View out to the subscribers. It logs one line per member event worth an
// operator's attention (joined, failed, recovered, leaving, left, refused).
type membershipActor struct {
	cfg        MembershipConfig
	view       *View
	refused    map[string]string // name → reason last logged
	watched    map[string]string // peer name → address watched
	rewatchT   *time.Timer       // pending rewatch
	rewatching bool              // rewatchT is pending
}

// rewatch asks the membership actor to watch the peers again.
type rewatch struct{}

// MembershipProps returns the props of the membership actor.
func MembershipProps(cfg MembershipConfig) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &membershipActor{cfg: cfg, refused: map[string]string{}, watched: map[string]string{}}
	})
}

func (m *membershipActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *Refresh:
		m.refresh(ctx)
	case *ViewRequest:
		if m.view != nil && ctx.Sender() != nil {
			ctx.Respond(m.view)
		}
	case *actor.Terminated:
		m.dropped(ctx, msg)
	case *rewatch:
		m.rewatching = false
		m.watch(ctx)
	case *actor.Stopping, *actor.Restarting:
		if m.rewatchT != nil {
			m.rewatchT.Stop()
		}
	case *crashNow:
		panic("fault injection: membership actor crash requested")
	}
}

// watch watches the membership actor of every up peer not yet watched: the
// connection to each peer then stays open, and its loss is reported within
// milliseconds as a Terminated (AddressTerminated).
func (m *membershipActor) watch(ctx actor.Context) {
	if m.view == nil {
		return
	}
	for _, nm := range m.view.Ring.Members() {
		addr := m.view.Addr(nm.Name)
		if nm.Name == m.cfg.Self || nm.State != ring.Up || addr == "" || m.watched[nm.Name] == addr {
			continue
		}
		if old := m.watched[nm.Name]; old != "" {
			ctx.Unwatch(actor.NewPID(old, remoting.MembershipName))
		}
		m.watched[nm.Name] = addr
		ctx.Watch(actor.NewPID(addr, remoting.MembershipName))
	}
}

// dropped handles a watched peer's Terminated: its connection dropped (or
// its membership actor stopped). The peer is suspected at once, and watched
// again after the back-off.
func (m *membershipActor) dropped(ctx actor.Context, t *actor.Terminated) {
	for name, addr := range m.watched {
		if t.GetWho().GetAddress() != addr {
			continue
		}
		delete(m.watched, name)
		backoff := time.Second // its actor stopped (restarting): watch again
		if t.GetWhy() == actor.TerminatedReason_AddressTerminated {
			backoff = m.cfg.Health.Failed(name)
			m.cfg.Logger.Debug("connection to member lost; suspecting it", "member", name, "for", backoff)
		}
		if !m.rewatching { // one pending rewatch serves every peer
			m.rewatching = true
			self, root := ctx.Self(), ctx.ActorSystem().Root
			m.rewatchT = time.AfterFunc(max(backoff, 100*time.Millisecond), func() { root.Send(self, &rewatch{}) })
		}
	}
}

// askView requests the current view for ctx's actor, which receives it as
// a *View message.
func askView(ctx actor.Context) {
	ctx.Request(actor.NewPID(ctx.Self().Address, remoting.MembershipName), &ViewRequest{})
}

func (m *membershipActor) refresh(ctx actor.Context) {
	nodes := m.cfg.Source.Members()
	members, refused := cluster.View(m.cfg.Local, nodes)
	seen := map[string]bool{}
	for _, r := range refused {
		seen[r.Name] = true
		if m.refused[r.Name] != r.Err.Error() {
			m.refused[r.Name] = r.Err.Error()
			m.cfg.Logger.Warn("member refused", "member", r.Name, "err", r.Err)
		}
	}
	for name := range m.refused {
		if !seen[name] {
			delete(m.refused, name)
		}
	}
	addrs, left := map[string]string{}, map[string]bool{}
	for _, n := range nodes {
		if t, err := cluster.DecodeTags(n.Tags); err == nil {
			addrs[n.Name] = t.Addr
		}
		if n.Status == cluster.StatusLeft {
			left[n.Name] = true
		}
	}
	r, err := ring.New(ring.Config{Partitions: m.cfg.Local.Partitions, N: m.cfg.Local.N}, members)
	if err != nil {
		m.cfg.Logger.Error("membership: cannot compute the ring; keeping the previous view", "err", err)
		return
	}
	var epoch uint64 = 1
	if m.view != nil {
		epoch = m.view.Epoch + 1
		m.logChanges(m.view.Ring, r, addrs)
	}
	m.view = &View{Self: m.cfg.Self, Ring: r, Addrs: addrs, Left: left, Epoch: epoch}
	for _, s := range m.cfg.Subscribers {
		ctx.Send(s, m.view)
	}
	m.watch(ctx)
}

func (m *membershipActor) logChanges(old, cur *ring.Ring, addrs map[string]string) {
	log := m.cfg.Logger
	for _, nm := range cur.Members() {
		if nm.Name == m.cfg.Self {
			continue
		}
		om, existed := old.Member(nm.Name)
		switch {
		case !existed && nm.State == ring.Up:
			log.Info("member joined", "member", nm.Name, "addr", addrs[nm.Name], "weight", nm.Weight, "zone", nm.Zone)
		case !existed:
			log.Info("member seen", "member", nm.Name, "state", nm.State.String())
		case om.State == nm.State:
		case nm.State == ring.Down:
			log.Warn("member failed", "member", nm.Name)
		case nm.State == ring.Up:
			log.Info("member recovered", "member", nm.Name)
		case nm.State == ring.Leaving:
			log.Info("member leaving", "member", nm.Name)
		}
	}
	for _, om := range old.Members() {
		if _, ok := cur.Member(om.Name); !ok && om.Name != m.cfg.Self {
			log.Info("member left", "member", om.Name)
		}
	}
}
