package actors

import (
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// NodeConfig is everything the root supervisor needs to start a node's
// actors.
type NodeConfig struct {
	Membership MembershipConfig // Subscribers are filled in
	Vnodes     VnodesConfig
	Router     RouterConfig
	// Restarts counts child restarts (for status and metrics). Optional.
	Restarts *atomic.Uint64
	// Logger receives supervision events. Required.
	Logger *slog.Logger
}

// Vnode restart limit: a vnode that fails more than this often within the
// window is stopped, and the vnode manager starts it again after
// respawnDelay. The root supervisor's children (membership, vnode manager,
// router) always restart: without them the node would stay in the cluster
// serving nothing.
const (
	RestartLimit  = 10
	RestartWindow = 10 * time.Second
)

// supervisor is the node's root actor. It starts the membership actor, the
// vnode manager and the request router as children and supervises them one
// for one: a failing child restarts on its own (the router and the vnode
// manager ask for the current view again when they start).
type supervisor struct{ cfg NodeConfig }

// SpawnNode starts a node's actors under a root supervisor named
// SupervisorName and returns its PID. Stop the node by stopping that PID.
func SpawnNode(sys *System, cfg NodeConfig) (*actor.PID, error) {
	strategy := actor.NewOneForOneStrategy(math.MaxInt32, RestartWindow, func(reason interface{}) actor.Directive {
		cfg.Logger.Error("actor failed; restarting it", "reason", fmt.Sprint(reason))
		if cfg.Restarts != nil {
			cfg.Restarts.Add(1)
		}
		return actor.RestartDirective
	})
	props := actor.PropsFromProducer(func() actor.Actor { return &supervisor{cfg: cfg} }, actor.WithSupervisor(strategy))
	return sys.Root().SpawnNamed(props, SupervisorName)
}

func (s *supervisor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	addr := ctx.Self().Address
	mc := s.cfg.Membership
	mc.Subscribers = []*actor.PID{actor.NewPID(addr, RouterName), actor.NewPID(addr, VnodesName)}
	// Membership first: the others ask it for the view when they start.
	for _, c := range []struct {
		name  string
		props *actor.Props
	}{
		{membershipChild, MembershipProps(mc)},
		{vnodesChild, VnodesProps(s.cfg.Vnodes)},
		{routerChild, RouterProps(s.cfg.Router)},
	} {
		if _, err := ctx.SpawnNamed(c.props, c.name); err != nil {
			panic(fmt.Errorf("supervisor: start %s: %w", c.name, err))
		}
	}
}
