package membership

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/dynamokv/dynamo/cluster"
)

const (
	// eventBuffer is serf's EventCh capacity: serf blocks on a full EventCh
	// (holding its member lock), so it is large and drained at once.
	eventBuffer = 1024
	// reclaimProbes is DeadNodeReclaimTime in probe intervals: after a node
	// is declared dead its name may come back from another address. A few
	// probe rounds lets stale gossip about the old address die out.
	reclaimProbes = 5
)

// Membership is this node's serf agent. Its methods are safe for concurrent
// use.
type Membership struct {
	serf      *serf.Serf
	log       *slog.Logger
	localAddr string
	changes   chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
	shutErr   error
}

// Start validates cfg, binds the gossip address and starts serf. The node
// is alone until Join (or until it rejoins the peers in its snapshot).
func Start(cfg Config) (*Membership, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logw := newLogWriter(logger)

	mc := memberlist.DefaultLANConfig()
	mc.LogOutput = logw
	bindIP, bindPort, _ := splitIPPort(cfg.BindAddr) // validated
	mc.BindAddr = bindIP.String()
	mc.BindPort = bindPort
	mc.AdvertisePort = bindPort // memberlist replaces both when bindPort is 0
	if cfg.AdvertiseAddr != "" {
		advIP, advPort, _ := splitIPPort(cfg.AdvertiseAddr) // validated
		mc.AdvertiseAddr = advIP.String()
		if advPort != 0 {
			mc.AdvertisePort = advPort
		}
	}
	if cfg.Fast {
		mc.ProbeInterval = 100 * time.Millisecond
		mc.ProbeTimeout = 50 * time.Millisecond
		mc.GossipInterval = 20 * time.Millisecond
		mc.SuspicionMult = 1
		mc.PushPullInterval = 500 * time.Millisecond
	}
	mc.DeadNodeReclaimTime = reclaimProbes * mc.ProbeInterval
	if len(cfg.Keys) > 0 {
		kr, err := memberlist.NewKeyring(cfg.Keys[1:], cfg.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: Keys: %v", ErrInvalid, err)
		}
		mc.Keyring = kr
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}

	events := make(chan serf.Event, eventBuffer)
	sc := serf.DefaultConfig()
	sc.NodeName = cfg.Name
	sc.Tags = maps.Clone(cfg.Tags)
	sc.EventCh = events
	sc.LogOutput = logw
	sc.MemberlistConfig = mc
	sc.SnapshotPath = cfg.SnapshotPath
	sc.ReconnectTimeout = cfg.ReconnectTimeout
	sc.EnableNameConflictResolution = false // see the package comment
	if cfg.Fast {
		sc.LeavePropagateDelay = 500 * time.Millisecond
	}

	s, err := serf.Create(sc)
	if err != nil {
		return nil, fmt.Errorf("membership: start %q on %s: %w", cfg.Name, cfg.BindAddr, err)
	}
	// The local address never changes after Create. Read it once, now, while
	// nothing updates the local node: SetTags rewrites the node's fields
	// (same values) without a lock the reader could take.
	ln := s.Memberlist().LocalNode()
	m := &Membership{
		serf:      s,
		log:       logger,
		localAddr: net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port))),
		changes:   make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	m.wg.Add(1)
	go m.drain(events)
	return m, nil
}

// drain empties serf's EventCh until Shutdown and signals Changes after
// every member event.
func (m *Membership) drain(events <-chan serf.Event) {
	defer m.wg.Done()
	for {
		select {
		case e := <-events:
			me, ok := e.(serf.MemberEvent)
			if !ok {
				continue // user events and queries: unused
			}
			if m.log.Enabled(context.Background(), slog.LevelDebug) {
				names := make([]string, len(me.Members))
				for i, mem := range me.Members {
					names[i] = mem.Name
				}
				m.log.Debug("membership: event", "type", me.Type.String(), "members", names)
			}
			select {
			case m.changes <- struct{}{}:
			default:
			}
		case <-m.stop:
			return
		}
	}
}

// Join contacts the seeds (gossip host:port each) and returns how many
// were reached. The error wraps ErrJoin when none was (and also ErrInvalid
// when a seed is not host:port). Seeds may include this node's own address.
func (m *Membership) Join(seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, fmt.Errorf("%w: no seeds given", ErrJoin)
	}
	for _, s := range seeds {
		host, port, err := net.SplitHostPort(s)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("%w: seed %q must be host:port (%w)", ErrJoin, s, ErrInvalid)
		}
	}
	n, err := m.serf.Join(seeds, true)
	if n == 0 {
		return 0, fmt.Errorf("%w: none of %s reached: %s", ErrJoin, strings.Join(seeds, ", "), oneLine(err))
	}
	if err != nil {
		// The push/pull with a seed worked; only the join broadcast failed
		// and gossip repairs that.
		m.log.Warn("membership: join broadcast failed", "err", err)
	}
	return n, nil
}

// oneLine flattens memberlist's multi-line multierror into "a; b".
func oneLine(err error) string {
	if err == nil {
		return "no error reported"
	}
	if me, ok := err.(interface{ WrappedErrors() []error }); ok {
		parts := make([]string, 0, len(me.WrappedErrors()))
		for _, e := range me.WrappedErrors() {
			parts = append(parts, e.Error())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// Members returns a snapshot of every member serf knows, this node
// included, sorted by name. Tags are copies.
func (m *Membership) Members() []cluster.Node {
	ms := m.serf.Members()
	out := make([]cluster.Node, len(ms))
	for i, sm := range ms {
		out[i] = cluster.Node{Name: sm.Name, Status: status(sm.Status), Tags: maps.Clone(sm.Tags)}
	}
	slices.SortFunc(out, func(a, b cluster.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// status maps serf's member status. StatusNone never reaches Members in
// practice; it is read as failed so the node stays in the ring as down.
func status(s serf.MemberStatus) cluster.Status {
	switch s {
	case serf.StatusAlive:
		return cluster.StatusAlive
	case serf.StatusLeaving:
		return cluster.StatusLeaving
	case serf.StatusLeft:
		return cluster.StatusLeft
	}
	return cluster.StatusFailed
}

// Changes is signalled (capacity 1, coalesced) after every member event:
// join, leave, failed, update, reap. The receiver then calls Members.
func (m *Membership) Changes() <-chan struct{} {
	return m.changes
}

// SetTags replaces this node's tags and gossips them. It waits until the
// update is sent to a peer, or serf's broadcast timeout (5 s).
func (m *Membership) SetTags(tags map[string]string) error {
	if err := checkTags(tags); err != nil {
		return fmt.Errorf("%w: Tags: %v", ErrInvalid, err)
	}
	if err := m.serf.SetTags(maps.Clone(tags)); err != nil {
		return fmt.Errorf("membership: set tags: %w", err)
	}
	return nil
}

// LocalAddr is the gossip host:port peers reach this node at: the bound
// address with the port actually picked when BindAddr's port was 0, or the
// advertised address when AdvertiseAddr is set (or BindAddr is 0.0.0.0).
// Use it as a seed.
func (m *Membership) LocalAddr() string {
	return m.localAddr
}

// Leave gracefully leaves the cluster: peers see StatusLeft. It takes about
// serf's leave propagation delay (1 s, 100 ms with Fast). Call Shutdown
// afterwards.
func (m *Membership) Leave() error {
	if err := m.serf.Leave(); err != nil {
		return fmt.Errorf("membership: leave: %w", err)
	}
	return nil
}

// RemoveFailed takes the failed member name out of the cluster for good:
// serf marks it left on every node (it stays listed as left until reaped).
// Serf refuses nothing: the caller checks that name is failed.
func (m *Membership) RemoveFailed(name string) error {
	if err := m.serf.RemoveFailedNode(name); err != nil {
		return fmt.Errorf("membership: remove %s: %w", name, err)
	}
	return nil
}

// Shutdown stops serf, closes the gossip sockets and stops the event
// goroutine. Without a prior Leave, peers see this node failed. It is
// idempotent; later calls return the first call's result.
func (m *Membership) Shutdown() error {
	m.once.Do(func() {
		if err := m.serf.Shutdown(); err != nil {
			m.shutErr = fmt.Errorf("membership: shutdown: %w", err)
		}
		close(m.stop)
		m.wg.Wait()
	})
	return m.shutErr
}
