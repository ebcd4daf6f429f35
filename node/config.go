package node

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/vnode"
)

// ErrConfig marks an invalid configuration. Its message names the flag
// (`dynamo agent --<flag>`) at fault.
var ErrConfig = errors.New("node: invalid configuration")

// Config is one node's configuration. Field comments give the `dynamo agent`
// flag, the unit and the default.
type Config struct {
	// Name is the node's unique name (--name). Default: the hostname.
	Name string
	// DataDir holds the node's storage, identity and serf snapshot
	// (--data-dir). Default ./data/<name>.
	DataDir string
	// GossipAddr is serf's host:port, TCP and UDP (--gossip-addr). Port 0
	// picks a free port. Default 127.0.0.1:7946.
	GossipAddr string
	// ActorAddr is the protoactor remoting host:port (--actor-addr). It is
	// also the node's canonical address: peers and clients send to exactly
	// this string, so give a host others can reach (not 0.0.0.0). Port 0
	// picks a free port. Default 127.0.0.1:8946.
	ActorAddr string
	// BindAddr, when set, is the IP the gossip and actor listeners bind
	// (--bind-addr) in place of the hosts of GossipAddr and ActorAddr,
	// whose ports stay: 0.0.0.0 (or ::) binds every interface, as in a
	// container. Default "": the hosts of GossipAddr and ActorAddr.
	BindAddr string
	// AdvertiseAddr, when set, is the IP peers and clients reach this node
	// at (--advertise-addr), with the ports of GossipAddr and ActorAddr:
	// the gossip address peers are told and the node's canonical actor
	// address. Required when BindAddr is unspecified (0.0.0.0); behind NAT
	// it is the address on the outer side (the ports must map to the same
	// numbers). Needs fixed ports (not 0). Default "": the bound addresses.
	AdvertiseAddr string
	// HTTPAddr is the HTTP API's host:port (--http-addr): key-value
	// requests, /metrics, /status and the status page. Port 0 picks a free
	// port. Empty (the zero value) turns it off; `dynamo agent` defaults to
	// DefaultHTTPAddr.
	HTTPAddr string
	// GossipKeys encrypt gossip (--gossip-key, comma-separated): standard
	// base64 of 16, 24 or 32 random bytes each (`dynamo certs gossip-key`
	// makes one). The first encrypts; every one decrypts, so a key rotates
	// with rolling restarts (docs/security.md). Every node of a cluster
	// needs the key in use. Default none: plaintext gossip.
	GossipKeys []string
	// TLSCert, TLSKey and TLSCA are PEM files (--tls-cert, --tls-key,
	// --tls-ca): the node's certificate and key, signed by the cluster's
	// CA, and that CA. Set together, they turn on mutual TLS for remoting
	// (peers and clients without a certificate from the CA are refused)
	// and HTTPS for the HTTP API (`dynamo certs` makes them). Default
	// none: plaintext.
	TLSCert, TLSKey, TLSCA string
	// HTTPTokenFile lists bearer tokens, one per line, that authenticate
	// HTTP requests (--http-token-file). With it or TLS on, an HTTP request
	// without a token or a client certificate from the CA gets 401.
	// Default none.
	HTTPTokenFile string
	// Join lists seed gossip addresses, host:port (--join). Empty starts a
	// new cluster. Unreachable seeds are retried in the background.
	Join []string
	// Partitions is Q (--partitions), fixed when a cluster is created: a
	// power of two, 8..1024. 0 means the value this data directory was
	// created with, else 64. Every node of a cluster must use the same Q.
	Partitions int
	// N is the replication factor (--n), 1..16, the same on every node.
	// 0 means the stored value, else 3.
	N int
	// R and W are the default read and write quorums (--r, --w), 1..N.
	// Default 2 and 2.
	R, W int
	// Weight is the node's capacity weight (--weight), 1..1000: it holds
	// partitions in proportion. Default 1.
	Weight int
	// Zone is the node's failure domain, a rack or data center (--zone).
	// Replicas spread over distinct zones when there are N of them. Default "".
	Zone string
	// Timeout is the default request deadline (--timeout). Default 1 s.
	Timeout time.Duration
	// ReadSpeculateAfter: the reads this node coordinates ask R replicas
	// first, this node's own when it holds the key (--read-speculate-after).
	// Another replica is asked at once when one of those fails, and every
	// replica left when no answer came within this delay (speculative
	// retry, as Cassandra's). Read repair reaches the replicas asked;
	// anti-entropy and hints the others. 0 asks every replica at once, as
	// Dynamo and riak do: read repair then reaches all of them on every
	// read, for 1.5 times the replica messages at N=3, R=2. At most 60 s;
	// a delay at or above a request's deadline asks every replica at once
	// too. Default 20 ms: above the replica reads' p99.9 under load here,
	// so it fires for a slow or stalled replica, not for an ordinary one
	// (5 ms fired so often at 50 concurrent clients that it saved nothing:
	// bench/RESULTS.md).
	ReadSpeculateAfter time.Duration
	// DefaultTTL is the time to live of the puts this node receives that
	// set none (--default-ttl): their values expire that long after the
	// write. A cluster-wide default is the same flag on every node. 0 to
	// 100 years (request.MaxTTL), at least 1 ms when set. Default 0:
	// values never expire.
	DefaultTTL time.Duration
	// LWW makes last-write-wins the default conflict mode of requests this
	// node coordinates (--lww). Concurrent writes are then lost. Default
	// false: siblings.
	LWW bool
	// StayLeft keeps a node that left the cluster (dynamo leave) out of it
	// when it is started again on the same data directory (--stay-left):
	// Start fails with ErrLeft, and the agent waits to be stopped. For
	// orchestrators that restart an exited process (a Kubernetes
	// StatefulSet). Default false: the node rejoins on its data.
	StayLeft bool
	// FastGossip uses sub-second failure detection timings (tests and the
	// dev cluster on loopback). Default false: serf's LAN timings (~5 s).
	FastGossip bool
	// NoSync skips fsync per write (tests only). Default false.
	NoSync bool
	// HistoryInterval is how often the node samples what the status page
	// charts (GET /status/history, HistoryLength samples kept): its
	// requests, hints and repairs, and every member's keys and storage
	// bytes. Default 5 s: the last 10 minutes.
	HistoryInterval time.Duration
	// DurableWrites is which replicas of the writes this node coordinates
	// fsync before they ack (--durable-writes): coordinator.DurableAll
	// ("all", the default) or coordinator.DurableOne ("one": this node's
	// own write fsyncs before the write is answered; the other primaries
	// ack once the write reached their storage engine and fsync it within
	// their FlushInterval; a machine that loses power within that interval
	// loses those replicas' copies, not the write). A per-node choice: each
	// node honours what a coordinator asks.
	DurableWrites coordinator.Durability
	// FlushInterval bounds how long a replica write sent buffered (durable
	// writes "one") waits for the fsync that makes it durable
	// (--flush-interval): one fsync serves every such write of the
	// interval. 1 ms to 1 s. Default storage.DefaultFlushInterval (10 ms).
	FlushInterval time.Duration
	// CommitLinger is how long, under load, the node's storage writes
	// gather into one group after the previous group's start
	// (--commit-linger; storage.Committer): each group is one write and
	// one fsync, and an fsync costs the machine far more than the write.
	// An idle node writes at once. A write is acknowledged only once its
	// group is written and fsynced (a buffered replica write of durable
	// writes "one" once written). 0 to 100 ms; 0 writes each group as soon as the
	// previous one ends. Default storage.DefaultCommitLinger (5 ms).
	CommitLinger time.Duration
	// NoHintedHandoff turns hinted handoff off (--no-hinted-handoff):
	// strict quorums over the up primaries, no fallbacks and no hints, so a
	// node that was down misses the writes it was down for until read
	// repair or anti-entropy. A cluster-wide choice: set it on every node.
	// For control tests. Default false.
	NoHintedHandoff bool
	// HintInterval is how often hints are retried to owners that are up
	// (--hint-interval); they are also delivered at once when an owner
	// recovers. Default 10 s.
	HintInterval time.Duration
	// HintRate bounds hint delivery, in hints per second for the node
	// (--hint-rate). Default 2000.
	HintRate int
	// HintMaxAge and HintMaxBytes bound the hints kept for an owner that
	// is down (--hint-max-age, --hint-max-bytes): older hints, and the
	// oldest beyond that many bytes, are handed over to the key's other
	// current primaries (anti-entropy brings the owner up to date). An
	// owner absent from the view is waited for HintMaxAge. Defaults 3 h
	// and 256 MiB.
	HintMaxAge   time.Duration
	HintMaxBytes int
	// AntiEntropyInterval is the anti-entropy sweep period
	// (--anti-entropy-interval): a sweep compares each partition the node
	// owns with its next peer, exchanges at least 10 ms (or the interval,
	// if shorter) apart, and begins at most once per interval; identical
	// replicas cost a root hash each. After
	// a start, and for a partition that comes to the node, each partition
	// is first compared with every peer, back to back
	// (actors.SyncerConfig.Interval). Default 1 s.
	AntiEntropyInterval time.Duration
	// AntiEntropyRate bounds anti-entropy repairs, in keys per second for
	// the node (--anti-entropy-rate). Default 1000.
	AntiEntropyRate int
	// NoAntiEntropy turns the Merkle syncer off (--no-anti-entropy), for
	// control tests. Default false.
	NoAntiEntropy bool
	// NoAdmissionControl keeps background work (anti-entropy repairs,
	// handoff, hint delivery, reap passes) at its configured rates
	// whatever the foreground suffers (--no-admission-control). Default
	// false: an admission controller (package admission) scales those
	// rates down while this node's client requests take longer than
	// without background work, and back up when they do not.
	NoAdmissionControl bool
	// TombstoneGrace is how long a delete's tombstone stays after every
	// primary holds it (--tombstone-grace): a reap pass then deletes the
	// key on every primary, which frees its space. It must exceed
	// HintMaxAge (unless hinted handoff is off), so that no hint holding a
	// version from before the delete is delivered after the reap. A node
	// down longer than this must be wiped before it rejoins
	// (docs/operations.md). Default 24 h.
	TombstoneGrace time.Duration
	// PruneMinAge: clock entries of retired vnode incarnations that have
	// not advanced for this long may be pruned from clocks longer than 10
	// entries (--prune-min-age). Like TombstoneGrace, it must exceed
	// HintMaxAge unless hinted handoff is off. Default 7 days.
	PruneMinAge time.Duration
	// AllowFaultInjection accepts `dynamo debug crash` requests, which make
	// a named actor of this node panic (--allow-fault-injection). For
	// testing supervision; never in production. Default false.
	AllowFaultInjection bool
	// MaxKeyBytes and MaxValueBytes bound the keys and values of client
	// writes (--max-key-bytes, --max-value-bytes), checked before any
	// replica is touched; replication, hints, repairs and handoff never
	// refuse. 0 means the defaults: 64 KiB and 1 MiB. At most 64 KiB and
	// 16 MiB (a read carries every sibling's value in one message).
	MaxKeyBytes, MaxValueBytes int
	// CacheBytes bounds the objects (keys with every sibling, encoded) the
	// node keeps in memory for reads and the reads before writes
	// (--cache-bytes), shared out evenly over the ring's partitions: a node
	// holding every partition (a cluster of N nodes) uses all of it, one
	// holding fewer uses less. 0 turns the cache off. Default 32 MiB.
	CacheBytes int
	// BlockCacheBytes is goleveldb's shared cache of table blocks
	// (--block-cache-bytes). 0, the default, turns it off: each open
	// table keeps its index and bloom filter blocks in memory instead
	// (about 1.7 bytes per key held, for up to 500 open tables, about
	// 1 GiB of data), so a lookup that misses the object cache reads one
	// data block. A shared cache smaller than the tables' index blocks
	// makes random reads re-read and decompress an index block per lookup
	// (8 MiB at 10,000,000 keys: half the gets per second); one large
	// enough to hold the data set (small data sets) is cheaper than 0.
	BlockCacheBytes int
	// Restarter, when set, lets `dynamo debug stop` (a FaultRequest for the
	// component "node", with AllowFaultInjection) stop this node as a crash
	// would and start it again on its data after down: the process that
	// started the node (dynamo dev) does both, and Restarter must return at
	// once. Default nil: such requests are refused.
	Restarter func(down time.Duration) error
	// Logger receives one line per node event. Default: discard.
	Logger *slog.Logger
}

// limits are the client request limits this node checks: MaxKeyBytes and
// MaxValueBytes, or their defaults where 0.
func (c Config) limits() request.Limits {
	l := request.DefaultLimits()
	if c.MaxKeyBytes > 0 {
		l.MaxKeyBytes = c.MaxKeyBytes
	}
	if c.MaxValueBytes > 0 {
		l.MaxValueBytes = c.MaxValueBytes
	}
	return l
}

// Limits of the configurable limits.
const (
	MaxKeyLimit   = 64 << 10
	MaxValueLimit = 16 << 20
)

// Defaults.
const (
	DefaultGossipAddr = "127.0.0.1:7946"
	DefaultActorAddr  = "127.0.0.1:8946"
	DefaultHTTPAddr   = "127.0.0.1:8080"
	DefaultPartitions = 64
	DefaultN          = 3
	DefaultR          = 2
	DefaultW          = 2
	DefaultTimeout    = time.Second
	// DefaultReadSpeculateAfter: see Config.ReadSpeculateAfter.
	DefaultReadSpeculateAfter = 20 * time.Millisecond
	// DefaultHintInterval and DefaultHintRate: see Config (the hint
	// dispatcher's own defaults, defined once there).
	DefaultHintInterval = actors.DefaultHintInterval
	DefaultHintRate     = actors.DefaultHintRate
	// DefaultHintMaxAge and DefaultHintMaxBytes: see Config.
	DefaultHintMaxAge   = actors.DefaultHintMaxAge
	DefaultHintMaxBytes = actors.DefaultHintMaxBytes
	// DefaultAntiEntropyInterval and DefaultAntiEntropyRate: see Config
	// (the Merkle syncer's defaults).
	DefaultAntiEntropyInterval = actors.DefaultSyncInterval
	DefaultAntiEntropyRate     = actors.DefaultSyncRate
	// DefaultTombstoneGrace and DefaultPruneMinAge: see Config.
	DefaultTombstoneGrace = actors.DefaultTombstoneGrace
	DefaultPruneMinAge    = actors.DefaultPruneMinAge
	// DefaultCacheBytes: see Config.CacheBytes.
	DefaultCacheBytes = vnode.NodeCacheBytes
	// MaxCacheBytes bounds Config.CacheBytes (64 GiB).
	MaxCacheBytes = 64 << 30
)

// DefaultConfig returns the defaults for a node named name.
func DefaultConfig(name string) Config {
	return Config{
		Name: name, DataDir: filepath.Join("data", name),
		GossipAddr: DefaultGossipAddr, ActorAddr: DefaultActorAddr,
		R: DefaultR, W: DefaultW, Weight: 1, Timeout: DefaultTimeout, ReadSpeculateAfter: DefaultReadSpeculateAfter, FlushInterval: storage.DefaultFlushInterval, CommitLinger: storage.DefaultCommitLinger,
		HintInterval: DefaultHintInterval, HintRate: DefaultHintRate, HintMaxAge: DefaultHintMaxAge, HintMaxBytes: DefaultHintMaxBytes,
		AntiEntropyInterval: DefaultAntiEntropyInterval, AntiEntropyRate: DefaultAntiEntropyRate,
		TombstoneGrace: DefaultTombstoneGrace, PruneMinAge: DefaultPruneMinAge,
		CacheBytes: DefaultCacheBytes,
	}
}

func flagErr(flag, format string, args ...any) error {
	return fmt.Errorf("%w: --%s: %s", ErrConfig, flag, fmt.Sprintf(format, args...))
}

// Validate checks c as Start does before it opens the data directory: every
// field on its own and the fields against each other. Errors match
// ErrConfig and name the flag.
func (c Config) Validate() error {
	n := c.N
	if n == 0 {
		n = quorum.MaxN // N comes from the data directory or the cluster
	}
	return c.validate(n)
}

// validate checks everything that does not need the data directory; n is
// the replication factor in force (flag or stored).
func (c Config) validate(n int) error {
	if c.Name == "" {
		return flagErr("name", "must not be empty")
	}
	if len(c.Name) > 200 {
		return flagErr("name", "is %d bytes, the limit is 200", len(c.Name))
	}
	if c.DataDir == "" {
		return flagErr("data-dir", "must not be empty")
	}
	for flag, a := range map[string]string{"gossip-addr": c.GossipAddr, "actor-addr": c.ActorAddr} {
		if err := hostPort(a, 0); err != nil {
			return flagErr(flag, "%v", err)
		}
	}
	if c.HTTPAddr != "" {
		if err := hostPort(c.HTTPAddr, 0); err != nil {
			return flagErr("http-addr", "%v", err)
		}
	}
	if c.MaxKeyBytes < 0 || c.MaxKeyBytes > MaxKeyLimit {
		return flagErr("max-key-bytes", "must be 1 to %d (0: the default %d), got %d", MaxKeyLimit, request.DefaultMaxKeyBytes, c.MaxKeyBytes)
	}
	if c.DurableWrites != coordinator.DurableAll && c.DurableWrites != coordinator.DurableOne {
		return flagErr("durable-writes", "must be all or one, got %v", c.DurableWrites)
	}
	if c.CommitLinger < 0 || c.CommitLinger > 100*time.Millisecond {
		return flagErr("commit-linger", "must be from 0 to 100ms, got %v", c.CommitLinger)
	}
	if c.FlushInterval < time.Millisecond || c.FlushInterval > time.Second {
		return flagErr("flush-interval", "must be from 1ms to 1s, got %v", c.FlushInterval)
	}
	if c.ReadSpeculateAfter < 0 || c.ReadSpeculateAfter > time.Minute {
		return flagErr("read-speculate-after", "must be 0 (ask every replica at once) to 60s, got %v", c.ReadSpeculateAfter)
	}
	if c.BlockCacheBytes < 0 || c.BlockCacheBytes > MaxCacheBytes {
		return flagErr("block-cache-bytes", "must be 0 (off: index and filter blocks kept per table) to %d, got %d", MaxCacheBytes, c.BlockCacheBytes)
	}
	if c.CacheBytes < 0 || c.CacheBytes > MaxCacheBytes {
		return flagErr("cache-bytes", "must be 0 (off) to %d, got %d", MaxCacheBytes, c.CacheBytes)
	}
	if c.MaxValueBytes < 0 || c.MaxValueBytes > MaxValueLimit {
		return flagErr("max-value-bytes", "must be 1 to %d (0: the default %d), got %d", MaxValueLimit, request.DefaultMaxValueBytes, c.MaxValueBytes)
	}
	if _, err := c.gossipKeys(); err != nil {
		return err
	}
	if set := btoi(c.TLSCert != "") + btoi(c.TLSKey != "") + btoi(c.TLSCA != ""); set != 0 && set != 3 {
		return flagErr("tls-cert", "--tls-cert, --tls-key and --tls-ca go together (got cert %q, key %q, ca %q)", c.TLSCert, c.TLSKey, c.TLSCA)
	}
	if err := c.checkBindAdvertise(); err != nil {
		return err
	}
	for _, s := range c.Join {
		if err := hostPort(s, 1); err != nil {
			return flagErr("join", "%v", err)
		}
	}
	if c.Partitions != 0 {
		if err := ring.ValidatePartitions(c.Partitions); err != nil {
			return flagErr("partitions", "%v", err)
		}
	}
	if n < 1 || n > quorum.MaxN {
		return flagErr("n", "must be from 1 to %d, got %d", quorum.MaxN, n)
	}
	if c.R < 1 || c.R > n {
		return flagErr("r", "must be from 1 to n=%d, got %d", n, c.R)
	}
	if c.W < 1 || c.W > n {
		return flagErr("w", "must be from 1 to n=%d, got %d", n, c.W)
	}
	if c.Weight < 1 || c.Weight > ring.MaxWeight {
		return flagErr("weight", "must be from 1 to %d, got %d", ring.MaxWeight, c.Weight)
	}
	if len(c.Zone) > 64 {
		return flagErr("zone", "is %d bytes, the limit is 64", len(c.Zone))
	}
	if c.HintInterval < 100*time.Millisecond || c.HintInterval > time.Hour {
		return flagErr("hint-interval", "must be from 100ms to 1h, got %v", c.HintInterval)
	}
	if c.HintRate < 1 || c.HintRate > 1_000_000 {
		return flagErr("hint-rate", "must be from 1 to 1000000 hints per second, got %d", c.HintRate)
	}
	if c.HintMaxAge < time.Second || c.HintMaxAge > 720*time.Hour {
		return flagErr("hint-max-age", "must be from 1s to 720h, got %v", c.HintMaxAge)
	}
	if c.HintMaxBytes < 1<<20 || int64(c.HintMaxBytes) > 1<<40 {
		return flagErr("hint-max-bytes", "must be from 1 MiB to 1 TiB (1048576 to 1099511627776), got %d", c.HintMaxBytes)
	}
	if c.AntiEntropyInterval < time.Millisecond || c.AntiEntropyInterval > time.Hour {
		return flagErr("anti-entropy-interval", "must be from 1ms to 1h, got %v", c.AntiEntropyInterval)
	}
	if c.AntiEntropyRate < 1 || c.AntiEntropyRate > 1_000_000 {
		return flagErr("anti-entropy-rate", "must be from 1 to 1000000 keys per second, got %d", c.AntiEntropyRate)
	}
	for flag, d := range map[string]time.Duration{"tombstone-grace": c.TombstoneGrace, "prune-min-age": c.PruneMinAge} {
		switch {
		case d < time.Second || d > 10*365*24*time.Hour:
			return flagErr(flag, "must be from 1s to 87600h, got %v", d)
		case !c.NoHintedHandoff && d <= c.HintMaxAge:
			return flagErr(flag, "must exceed --hint-max-age %v (a hint older than the delete could bring a reaped value back), got %v; only with --no-hinted-handoff may it be shorter", c.HintMaxAge, d)
		}
	}
	if c.Timeout <= 0 || c.Timeout > request.MaxTimeout {
		return flagErr("timeout", "must be above 0 and at most %v, got %v", request.MaxTimeout, c.Timeout)
	}
	if e := request.CheckTTL(c.DefaultTTL); e != nil {
		return flagErr("default-ttl", "%s", e.GetMessage())
	}
	return nil
}

// checkBindAdvertise checks BindAddr and AdvertiseAddr against the gossip
// and actor addresses.
func (c Config) checkBindAdvertise() error {
	var bind net.IP
	if c.BindAddr != "" {
		if bind = net.ParseIP(c.BindAddr); bind == nil {
			return flagErr("bind-addr", "want an IP address (0.0.0.0 for every interface), got %q", c.BindAddr)
		}
	}
	if c.AdvertiseAddr != "" {
		adv := net.ParseIP(c.AdvertiseAddr)
		if adv == nil || adv.IsUnspecified() {
			return flagErr("advertise-addr", "want the IP address peers and clients reach this node at, got %q", c.AdvertiseAddr)
		}
		for flag, a := range map[string]string{"gossip-addr": c.GossipAddr, "actor-addr": c.ActorAddr} {
			if _, p, _ := net.SplitHostPort(a); p == "0" {
				return flagErr("advertise-addr", "needs a fixed port in --%s, got %q", flag, a)
			}
		}
		return nil
	}
	if bind != nil && bind.IsUnspecified() {
		return flagErr("advertise-addr", "is required with --bind-addr %s: peers and clients need an address they can reach", c.BindAddr)
	}
	if h, _, _ := net.SplitHostPort(c.ActorAddr); bind == nil && net.ParseIP(h) != nil && net.ParseIP(h).IsUnspecified() {
		return flagErr("actor-addr", "%q is not an address peers can send to: it is the node's canonical address, give this host's IP (or bind it with --bind-addr and give --advertise-addr)", c.ActorAddr)
	}
	return nil
}

// listenAddrs are the addresses the gossip and actor listeners bind, and
// those they advertise ("" when the bound ones).
func (c Config) listenAddrs() (gossipBind, actorBind, gossipAdv, actorAdv string) {
	gossipBind, actorBind = c.GossipAddr, c.ActorAddr
	withHost := func(a, host string) string {
		_, p, _ := net.SplitHostPort(a)
		return net.JoinHostPort(host, p)
	}
	if c.BindAddr != "" {
		gossipBind, actorBind = withHost(c.GossipAddr, c.BindAddr), withHost(c.ActorAddr, c.BindAddr)
	}
	if c.AdvertiseAddr != "" {
		gossipAdv, actorAdv = withHost(c.GossipAddr, c.AdvertiseAddr), withHost(c.ActorAddr, c.AdvertiseAddr)
	}
	return
}

// hostPort checks a host:port with a port from minPort to 65535.
func hostPort(a string, minPort int) error {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", a)
	}
	if h == "" {
		return fmt.Errorf("want a host in %q (peers must be able to reach it)", a)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < minPort || port > 65535 {
		return fmt.Errorf("port of %q must be a number from %d to 65535", a, minPort)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gossipKeys decodes GossipKeys.
func (c Config) gossipKeys() ([][]byte, error) {
	var out [][]byte
	for i, k := range c.GossipKeys {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil {
			return nil, flagErr("gossip-key", "key %d is not standard base64: %v", i+1, err)
		}
		if n := len(b); n != 16 && n != 24 && n != 32 {
			return nil, flagErr("gossip-key", "key %d is %d bytes; a gossip key is 16, 24 or 32 bytes (base64 of 32 random bytes: `dynamo certs gossip-key`)", i+1, n)
		}
		out = append(out, b)
	}
	return out, nil
}
