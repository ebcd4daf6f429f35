package remoting

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Errors.
var (
	// ErrInvalid marks a bad configuration.
	ErrInvalid = errors.New("remoting: invalid")
	// ErrListen marks an actor address that could not be listened on.
	ErrListen = errors.New("remoting: cannot listen")
)

// SystemConfig configures a node's actor system and remoting.
type SystemConfig struct {
	// Addr is host:port to listen on for remoting. Port 0 picks a free port
	// (tests). Default 127.0.0.1:8946.
	Addr string
	// Advertise is the canonical address peers send to, host:port. Empty
	// means the address actually bound. protoactor compares addresses as
	// strings: a node sent to under another spelling forwards to itself
	// forever, so every node must use exactly this one.
	Advertise string
	// QueueSize is each remote endpoint's outgoing queue, in messages.
	// protoactor's default (1,000,000 slots, ~16 MB per peer, allocated up
	// front) is far too large. Default 16384.
	QueueSize int
	// TLS, when set, secures remoting in both directions: the gRPC server
	// presents TLS.Certificates and verifies peers as TLS.ClientAuth says,
	// and connections this system opens present the same certificate and
	// verify the peer against TLS.RootCAs (certs.MutualTLS builds one).
	// Peers without a valid certificate are refused at the handshake.
	// Default nil: plaintext (loopback and trusted networks).
	TLS *tls.Config
	// Logger receives the actor system's logs. Default: discard (a CLI is
	// quiet by default; protoactor's own default prints colour to stderr).
	Logger *slog.Logger
	// Wire, when set, counts the batches and messages received over
	// remoting. Default nil: not counted.
	Wire *WireStats
}

// Remoting limits.
const (
	// BatchSize is the most messages protoactor packs into one gRPC message.
	BatchSize = 32
	// MaxMessageBytes is the largest gRPC message (a batch) a node accepts.
	MaxMessageBytes = 1 << 30
)

// DefaultSystemConfig returns the documented defaults.
func DefaultSystemConfig() SystemConfig {
	return SystemConfig{Addr: "127.0.0.1:8946", QueueSize: 16384}
}

func (c SystemConfig) validate() (host string, port int, err error) {
	h, p, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: Addr must be host:port, got %q", ErrInvalid, c.Addr)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: Addr port must be 0..65535, got %q", ErrInvalid, p)
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return "", 0, fmt.Errorf("%w: Advertise must be host:port, got %q", ErrInvalid, c.Advertise)
		}
	}
	if c.QueueSize < 1 {
		return "", 0, fmt.Errorf("%w: QueueSize must be at least 1, got %d", ErrInvalid, c.QueueSize)
	}
	return h, port, nil
}

// System is a node's actor system with remoting started (StartSystem), or
// on a MemoryNetwork (MemoryNetwork.StartSystem; Remote nil).
type System struct {
	Actors *actor.ActorSystem
	Remote *remote.Remote
	// Pool is the dispatcher of a node's request-path actors; Stop stops
	// its workers.
	Pool   *WorkerPool
	detach func() // takes a MemoryNetwork's system off the network
	stop   sync.Once
}

// Root is the system's root context.
func (s *System) Root() *actor.RootContext { return s.Actors.Root }

// Address is the canonical address of this system: what peers send to.
func (s *System) Address() string { return s.Actors.Address() }

// StartSystem creates the actor system and starts remoting. Actors must be
// spawned only after this returns: before remoting starts their PIDs carry
// the address "nonhost" and replies cannot find them.
func StartSystem(cfg SystemConfig) (sys *System, err error) {
	host, port, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	opts := []remote.ConfigOption{
		remote.WithEndpointWriterQueueSize(cfg.QueueSize),
		remote.WithEndpointManagerQueueSize(cfg.QueueSize),
		// protoactor sends up to a batch of messages as one gRPC message,
		// and gRPC's default 4 MiB receive limit applies to the batch: a
		// batch above it resets the stream and loses every message in it.
		// Smaller batches and a receive limit above any batch of objects
		// the vnodes accept (MaxObjectBytes) keep large values flowing.
		remote.WithEndpointWriterBatchSize(BatchSize),
	}
	server := []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMessageBytes)}
	if cfg.Wire != nil {
		server = append(server, grpc.StatsHandler(wireStatsHandler{cfg.Wire}))
	}
	if cfg.TLS != nil {
		opts = append(opts,
			remote.WithServerOptions(append(server, grpc.Creds(credentials.NewTLS(cfg.TLS)))...),
			remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(cfg.TLS))))
	} else {
		opts = append(opts, remote.WithServerOptions(server...))
	}
	if cfg.Advertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(cfg.Advertise))
	}
	r := remote.NewRemote(as, remote.Configure(host, port, opts...))
	// remote.Start panics when it cannot listen; turn that into an error.
	defer func() {
		if p := recover(); p != nil {
			as.Shutdown()
			sys, err = nil, fmt.Errorf("%w on %s: %v", ErrListen, cfg.Addr, p)
		}
	}()
	r.Start()
	guardAliases(as)
	return &System{Actors: as, Remote: r, Pool: NewWorkerPool()}, nil
}

// guardAliases makes messages addressed to another spelling of this
// system's address (localhost, 127.0.0.1, ::1, a local interface's IP, with
// our port) local deliveries. protoactor compares addresses as strings:
// without this, a client that names a node "localhost:P" while the node
// calls itself "127.0.0.1:P" makes the node forward the message to itself
// forever, burning a core. The resolver goes before remoting's.
func guardAliases(as *actor.ActorSystem) {
	own := as.Address()
	_, port, err := net.SplitHostPort(own)
	if err != nil {
		return
	}
	aliases := map[string]bool{}
	hosts := []string{"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	for _, h := range hosts {
		if a := net.JoinHostPort(h, port); a != own {
			aliases[a] = true
		}
	}
	reg := as.ProcessRegistry
	local := func(pid *actor.PID) (actor.Process, bool) {
		if !aliases[pid.Address] {
			return nil, false
		}
		if p, ok := reg.GetLocal(pid.Id); ok {
			return p, true
		}
		return as.DeadLetter, true
	}
	reg.RemoteHandlers = append([]actor.AddressResolver{local}, reg.RemoteHandlers...)
}

// Stop shuts remoting and the actor system down. It may be called more
// than once.
func (s *System) Stop() {
	s.stop.Do(func() {
		if s.Remote != nil {
			s.Remote.Shutdown(false)
		}
		if s.detach != nil {
			s.detach()
		}
		s.Actors.Shutdown()
		s.Pool.Stop()
	})
}
