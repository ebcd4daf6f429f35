package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/remoting"
)

// NodeConfig is everything the root supervisor needs to start a node's
// actors.
type NodeConfig struct {
	Membership MembershipConfig // Subscribers are filled in
	Vnodes     VnodesConfig
	Router     RouterConfig
	Hints      HintsConfig
	Syncer     SyncerConfig
	// Counters are the node's counters (restarts, hints, vnodes), shared
	// by every actor; the configs above get them when theirs are nil.
	// Optional.
	Counters *Counters
	// Health is the node's failure detector, shared likewise. Optional.
	Health *Health
	// Background pauses and resumes the node's background work, shared
	// likewise. Optional.
	Background *Background
	// Logger receives supervision events. Required.
	Logger *slog.Logger
}

// Restart limits: an actor that fails more than RestartLimit times within
// RestartWindow is stopped instead of restarted, and started again after
// respawnDelay (a failing disk is not hammered; a transient fault heals).
// This holds for vnodes (under the vnode manager) and for the root
// supervisor's children: membership, vnode manager, hint dispatcher and
// router. Coordinators are never restarted (see RouterProps).
const (
	RestartLimit  = 10
	RestartWindow = 10 * time.Second
)

// supervisor is the node's root actor. It starts the membership actor, the
// vnode manager, the hint dispatcher and the request router as children and
// supervises them one for one: a failing child restarts on its own (the
// others ask for the current view again when they start).
type supervisor struct {
	cfg      NodeConfig
	children map[string]*actor.Props
	pids     map[string]*actor.PID
	timers   []*time.Timer
	ending   bool
}

// SpawnNode starts a node's actors under a root supervisor named
// remoting.SupervisorName and returns its PID. Stop the node by stopping that PID.
func SpawnNode(sys *remoting.System, cfg NodeConfig) (*actor.PID, error) {
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	for _, c := range []**Counters{&cfg.Vnodes.Counters, &cfg.Router.Counters, &cfg.Hints.Counters, &cfg.Syncer.Counters} {
		if *c == nil {
			*c = cfg.Counters
		}
	}
	for _, h := range []**Health{&cfg.Membership.Health, &cfg.Router.Health, &cfg.Hints.Health, &cfg.Syncer.Health} {
		if *h == nil {
			*h = cfg.Health
		}
	}
	for _, b := range []**Background{&cfg.Router.Background, &cfg.Hints.Background, &cfg.Syncer.Background} {
		if *b == nil {
			*b = cfg.Background
		}
	}
	for _, d := range []*actor.Dispatcher{&cfg.Vnodes.Dispatcher, &cfg.Router.Dispatcher, &cfg.Hints.Dispatcher} {
		if *d == nil {
			*d = sys.Pool
		}
	}
	if cfg.Syncer.Logger == nil {
		cfg.Syncer.Logger = cfg.Logger
	}
	strategy := actor.NewOneForOneStrategy(RestartLimit, RestartWindow, func(reason interface{}) actor.Directive {
		cfg.Logger.Error("actor failed; restarting it", "reason", fmt.Sprint(reason))
		cfg.Counters.Restarts.Add(1)
		return actor.RestartDirective
	})
	props := actor.PropsFromProducer(func() actor.Actor { return &supervisor{cfg: cfg} }, actor.WithSupervisor(strategy))
	return remoting.SpawnNamed(sys.Root(), props, remoting.SupervisorName)
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.start(ctx)
	case *actor.Stopping:
		s.ending = true
		for _, t := range s.timers {
			t.Stop()
		}
	case *actor.Terminated:
		// A child failed more than RestartLimit times in RestartWindow.
		if s.ending {
			return
		}
		for name, pid := range s.pids {
			if pid.Equal(m.Who) {
				delete(s.pids, name)
				s.cfg.Logger.Error("actor stopped after repeated failures; starting it again shortly", "actor", name, "delay", respawnDelay)
				self, root := ctx.Self(), ctx.ActorSystem().Root
				s.timers = append(s.timers, time.AfterFunc(respawnDelay, func() { root.Send(self, &respawnChild{name}) }))
			}
		}
	case *respawnChild:
		if _, running := s.pids[m.name]; !running && !s.ending {
			s.spawn(ctx, m.name)
		}
	}
}

// respawnChild asks the supervisor to start a child stopped for good.
type respawnChild struct{ name string }

func (s *supervisor) start(ctx actor.Context) {
	addr := ctx.Self().Address
	mc := s.cfg.Membership
	mc.Subscribers = []*actor.PID{actor.NewPID(addr, remoting.RouterName), actor.NewPID(addr, remoting.VnodesName), hintsPID(addr), actor.NewPID(addr, remoting.SyncerName)}
	s.children = map[string]*actor.Props{
		remoting.MembershipChild: MembershipProps(mc),
		remoting.VnodesChild:     VnodesProps(s.cfg.Vnodes),
		remoting.HintsChild:      HintsProps(s.cfg.Hints),
		remoting.RouterChild:     RouterProps(s.cfg.Router),
		remoting.SyncerChild:     SyncerProps(s.cfg.Syncer),
	}
	s.pids = map[string]*actor.PID{}
	// Membership first: the others ask it for the view when they start.
	for _, name := range []string{remoting.MembershipChild, remoting.VnodesChild, remoting.HintsChild, remoting.RouterChild, remoting.SyncerChild} {
		s.spawn(ctx, name)
	}
}

func (s *supervisor) spawn(ctx actor.Context, name string) {
	pid, err := remoting.SpawnNamed(ctx, s.children[name], name)
	if err != nil {
		panic(fmt.Errorf("supervisor: start %s: %w", name, err))
	}
	s.pids[name] = pid
}
