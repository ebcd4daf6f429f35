package client

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
)

// Config configures a Client.
type Config struct {
	// Seeds are actor addresses (host:port) of some nodes; the client reads
	// the membership from the first one that answers. Required, at least
	// one. Spell them as the nodes advertise themselves: protoactor compares
	// addresses as strings.
	Seeds []string
	// ListenAddr is the client's own remoting address, host:port. Replies
	// come back on a connection the node opens to it, so the nodes must be
	// able to reach it. Port 0 picks a free port. Default "127.0.0.1:0",
	// which only works with nodes on the same host.
	ListenAddr string
	// Advertise is the address the nodes reply to, when it differs from the
	// address bound (NAT, 0.0.0.0). Optional.
	Advertise string
	// Timeout is the request deadline sent to the nodes when a call does not
	// give one with the Timeout option; the client waits a little longer
	// than that for the answer. Default 1 s, at most 1 min (the nodes'
	// limit).
	Timeout time.Duration
	// RefreshInterval is how often the membership is re-read in the
	// background; it is also re-read after any failover. Default 5 s;
	// negative disables the periodic refresh.
	RefreshInterval time.Duration
	// TLS, when set, secures the connections to and from the nodes with
	// mutual TLS: the client presents its certificate (signed by the
	// cluster's CA, for the host of ListenAddr, since the nodes connect
	// back to it) and verifies the nodes'. certs.MutualTLS builds one from
	// PEM files. Required when the nodes run with TLS. Default nil.
	TLS *tls.Config
	// CoordinateReads makes the client coordinate gets itself, as a node
	// would: it asks the key's up primaries directly, merges their
	// versions, answers after R of them, and sends read repairs to the
	// stale ones. That saves a round trip (a node coordinating a read asks
	// the other replicas and waits for them before it answers) and the
	// coordinator's work on the node. It falls back to a node-coordinated
	// read, which may use fallback nodes (sloppy quorum), when fewer than R
	// primaries are up and connected or the read does not reach R. Such
	// reads are not counted in the nodes' request metrics. Default false.
	CoordinateReads bool
	// ReadSpeculateAfter, with CoordinateReads: the client asks R of the
	// key's primaries first, another one at once when one of those fails,
	// and every one left when no answer came within this delay
	// (speculative retry, as the nodes' --read-speculate-after); read
	// repair then reaches the primaries asked. 0 asks every primary at
	// once. Default 20 ms in DefaultConfig; the zero Config asks all.
	ReadSpeculateAfter time.Duration
	// Logger receives the client's and its actor system's logs. Default:
	// discard.
	Logger *slog.Logger
	// Transport, when set, carries the client's messages instead of a
	// protoactor system of its own started on ListenAddr (ListenAddr,
	// Advertise and TLS are then unused); the client closes it. For tests
	// (remoting.MemoryNetwork) and for programs that run the client on a
	// remoting.System they already have (remoting.NewTransport). Default
	// nil.
	Transport remoting.Transport
}

// DefaultConfig returns the defaults with no seeds.
func DefaultConfig() Config {
	return Config{ListenAddr: "127.0.0.1:0", Timeout: time.Second, RefreshInterval: 5 * time.Second, ReadSpeculateAfter: 20 * time.Millisecond}
}

// normalize fills defaults and checks the configuration.
func (c Config) normalize() (Config, error) {
	d := DefaultConfig()
	if len(c.Seeds) == 0 {
		return c, invalidf("Seeds", "at least one seed address (host:port) is required")
	}
	seen := map[string]bool{}
	var seeds []string
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return c, invalidf("Seeds", "seed %q is not host:port", s)
		}
		if !seen[s] {
			seen[s] = true
			seeds = append(seeds, s)
		}
	}
	c.Seeds = seeds
	if c.ListenAddr == "" {
		c.ListenAddr = d.ListenAddr
	}
	if c.Timeout < 0 {
		return c, invalidf("Timeout", "must not be negative, got %v", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Timeout > request.MaxTimeout {
		return c, invalidf("Timeout", "must be at most %v, got %v", request.MaxTimeout, c.Timeout)
	}
	if c.ReadSpeculateAfter < 0 {
		return c, invalidf("ReadSpeculateAfter", "must not be negative, got %v", c.ReadSpeculateAfter)
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = d.RefreshInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
