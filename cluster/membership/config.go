package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/hashicorp/memberlist"
)

// Errors.
var (
	// ErrInvalid marks a Config (or tags, or a seed) that cannot be used.
	ErrInvalid = errors.New("membership: invalid config")
	// ErrJoin marks a Join that reached none of its seeds.
	ErrJoin = errors.New("membership: join failed")
)

// Defaults.
const (
	// DefaultBindAddr is the gossip address used when Config.BindAddr is empty.
	DefaultBindAddr = "127.0.0.1:7946"
	// DefaultReconnectTimeout is used when Config.ReconnectTimeout is 0.
	DefaultReconnectTimeout = 72 * time.Hour
	// MaxTagBytes is serf's limit on a node's encoded tags (memberlist's
	// MetaMaxSize), counting serf's one-byte tag prefix.
	MaxTagBytes = memberlist.MetaMaxSize
)

// Config configures Start. The zero value of every field but Name is usable.
type Config struct {
	// Name is this node's unique name in the cluster. Required.
	Name string
	// BindAddr is the gossip address to listen on, TCP and UDP on the same
	// port: an IP literal and a port. Port 0 picks a free port (tests; read
	// it back with LocalAddr). Empty means DefaultBindAddr (127.0.0.1:7946).
	BindAddr string
	// AdvertiseAddr is the host:port peers reach this node at (IP literal).
	// Empty means the bound address (a private IP when BindAddr is 0.0.0.0).
	// Port 0 means the bound port; it must be 0 when BindAddr's port is 0,
	// because memberlist then overwrites it with the picked port.
	AdvertiseAddr string
	// Tags are this node's initial tags (cluster.Tags.Encode output). They
	// must encode within MaxTagBytes (512 bytes). Default none.
	Tags map[string]string
	// Fast selects test timings: ProbeInterval 100 ms, ProbeTimeout 50 ms,
	// GossipInterval 20 ms, SuspicionMult 1, plus PushPullInterval 500 ms and
	// serf's LeavePropagateDelay 500 ms, so that a failure is detected in
	// well under a second on loopback and a graceful leave takes ~0.5 s
	// (100 ms lost leaves on a loaded machine: the peers then saw the node
	// failed, not left).
	// false (default) keeps memberlist's LAN timings (failure detected in
	// ~5 s, push/pull every 30 s) and serf's 1 s leave propagation delay.
	Fast bool
	// SnapshotPath is serf's snapshot file: on Start a node rejoins the peers
	// it last knew (unless it had left gracefully). Its directory must exist.
	// Empty (default) means no snapshot.
	SnapshotPath string
	// ReconnectTimeout is how long a failed member is kept (and retried)
	// before serf reaps it. 0 means DefaultReconnectTimeout (72 h; serf's own
	// 24 h is short for a store, where a failed node stays in the ring).
	ReconnectTimeout time.Duration
	// Keys encrypt gossip (AES-GCM, each 16, 24 or 32 bytes): the first
	// encrypts what this node sends and every key is tried on what it
	// receives, so a cluster rotates its key with two rolling restarts (add
	// the new key second, then make it first; then drop the old one). A
	// node without a key the cluster uses cannot join it, and one with keys
	// cannot join a plaintext cluster. Default none: plaintext gossip.
	Keys [][]byte
	// Logger receives serf and memberlist logs: "[ERR]" lines at Warn,
	// everything else at Debug. nil (default) discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default filled in but Name.
func DefaultConfig() Config {
	return Config{
		BindAddr:         DefaultBindAddr,
		ReconnectTimeout: DefaultReconnectTimeout,
	}
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	if c.BindAddr == "" {
		c.BindAddr = DefaultBindAddr
	}
	if c.ReconnectTimeout == 0 {
		c.ReconnectTimeout = DefaultReconnectTimeout
	}
	return c
}

// validate checks c; errors wrap ErrInvalid and name the field at fault.
func (c Config) validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: Name is required", ErrInvalid)
	}
	bindPort := -1
	if c.BindAddr != "" {
		var err error
		if _, bindPort, err = splitIPPort(c.BindAddr); err != nil {
			return fmt.Errorf("%w: BindAddr %q: %v", ErrInvalid, c.BindAddr, err)
		}
	}
	if c.AdvertiseAddr != "" {
		_, port, err := splitIPPort(c.AdvertiseAddr)
		if err != nil {
			return fmt.Errorf("%w: AdvertiseAddr %q: %v", ErrInvalid, c.AdvertiseAddr, err)
		}
		if bindPort == 0 && port != 0 {
			return fmt.Errorf("%w: AdvertiseAddr %q: port must be 0 (the picked port) when BindAddr's port is 0", ErrInvalid, c.AdvertiseAddr)
		}
	}
	for i, k := range c.Keys {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return fmt.Errorf("%w: Keys[%d] is %d bytes; a gossip key is 16, 24 or 32 bytes", ErrInvalid, i, n)
		}
	}
	if err := checkTags(c.Tags); err != nil {
		return fmt.Errorf("%w: Tags: %v", ErrInvalid, err)
	}
	if c.ReconnectTimeout < 0 {
		return fmt.Errorf("%w: ReconnectTimeout must not be negative, got %v", ErrInvalid, c.ReconnectTimeout)
	}
	return nil
}

// splitIPPort parses "ip:port"; memberlist binds and advertises IPs only.
func splitIPPort(addr string) (net.IP, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("must be ip:port: %v", err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, 0, fmt.Errorf("host %q must be an IP address", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, 0, fmt.Errorf("port %q must be a number from 0 to 65535", portStr)
	}
	return ip, port, nil
}

// checkTags checks that tags fit serf's limit, measured exactly as serf
// encodes them: a magic byte, then the msgpack map.
func checkTags(tags map[string]string) error {
	if n := cluster.EncodedSize(tags); n > MaxTagBytes {
		return fmt.Errorf("encode to %d bytes, serf allows %d", n, MaxTagBytes)
	}
	return nil
}
