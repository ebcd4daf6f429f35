package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/node"
	"github.com/dynamokv/dynamo/request"
)

// envPrefix: every agent flag can also be given as DYNAMO_<FLAG>, the flag
// name upper-cased with dashes as underscores (--gossip-addr is
// DYNAMO_GOSSIP_ADDR). A flag on the command line wins; a config file
// (--config) comes below both. See docs/configuration.md.
const envPrefix = "DYNAMO_"

func runAgent(args []string, stdout, stderr io.Writer) int {
	ac, err := resolveAgent(args, os.LookupEnv, stderr)
	if err != nil {
		if !errors.As(err, new(flagError)) {
			fmt.Fprintf(stderr, "dynamo agent: %v\n", err)
		}
		return 2
	}
	if ac.PrintConfig {
		if err := writeConfig(stdout, ac.flags, ac.sources, ac.file); err != nil {
			fmt.Fprintf(stderr, "dynamo agent: %v\n", err)
			return 1
		}
		return 0
	}
	log := ac.Node.Logger
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	nd, err := node.Start(ac.Node)
	if errors.Is(err, node.ErrLeft) {
		// An orchestrator restarts an exited agent: wait to be stopped
		// instead of rejoining.
		log.Warn("not rejoining: waiting to be stopped", "err", err)
		<-ctx.Done()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dynamo agent: %v\n", err)
		return 1
	}
	select {
	case <-ctx.Done():
	case <-nd.Left():
		log.Info("left the cluster (dynamo leave): exiting")
	}
	nd.Stop()
	return 0
}

// agentConfig is what `dynamo agent` resolves its command line,
// environment and config file to, before anything is started.
type agentConfig struct {
	Node        node.Config // ready for node.Start; its Logger tags every line node=<name>
	PrintConfig bool        // --print-config: print the settings instead of starting

	file    string            // the config file loaded, or ""
	flags   *flag.FlagSet     // with every flag set to its effective value
	sources map[string]string // flag name → layer its value came from
}

// agentSettings holds what the agent's flags set: the node's Config and
// the few settings that are the command's own.
type agentSettings struct {
	cfg           node.Config
	configFile    string
	logLevel      string
	durableWrites string
	logFormat     string
	printConfig   bool
}

// agentFlags defines the agent's flags on a new FlagSet writing its errors
// and usage to out, each flag bound to the setting it sets. A flag added
// here is also a config file key, a DYNAMO_* variable and a --print-config
// line; docs/configuration.md must list it (TestConfigDocListsEveryFlag).
func agentFlags(out io.Writer, host string) (*flag.FlagSet, *agentSettings) {
	fs := flag.NewFlagSet("dynamo agent", flag.ContinueOnError)
	fs.SetOutput(out)
	def := node.DefaultConfig(host)
	s := &agentSettings{cfg: def}
	c := &s.cfg
	fs.StringVar(&s.configFile, "config", "", "TOML `file` of settings, keys named like these flags (also DYNAMO_CONFIG); flags and DYNAMO_* variables override it")
	fs.BoolVar(&s.printConfig, "print-config", false, "print the effective configuration as TOML, with each value's source, and exit without starting")
	fs.StringVar(&c.Name, "name", host, "unique node name")
	fs.StringVar(&c.DataDir, "data-dir", "", "data directory (default ./data/<name>)")
	fs.StringVar(&c.GossipAddr, "gossip-addr", def.GossipAddr, "serf gossip host:port (TCP and UDP)")
	fs.StringVar(&c.ActorAddr, "actor-addr", def.ActorAddr, "actor remoting host:port; also the address clients and peers use, so it must be reachable")
	fs.StringVar(&c.BindAddr, "bind-addr", "", "IP the gossip and actor listeners bind instead of the hosts of --gossip-addr and --actor-addr (0.0.0.0: every interface, as in a container; then give --advertise-addr)")
	fs.StringVar(&c.AdvertiseAddr, "advertise-addr", "", "IP peers and clients reach this node at, with the ports of --gossip-addr and --actor-addr (behind NAT or with --bind-addr 0.0.0.0)")
	fs.StringVar(&c.HTTPAddr, "http-addr", node.DefaultHTTPAddr, "HTTP API host:port: /kv/{key}, /metrics, /status and the status page at / (empty: off)")
	fs.Var((*stringList)(&c.GossipKeys), "gossip-key", "gossip encryption `keys`, comma-separated standard base64 of 16, 24 or 32 bytes: the first encrypts, all decrypt (rotation); every node needs the key in use (none: plaintext)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate of this node, signed by the cluster CA: with --tls-key and --tls-ca, mutual TLS on remoting and HTTPS on the HTTP API")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM certificate of the cluster CA: peers and clients must present a certificate it signed")
	fs.IntVar(&c.MaxKeyBytes, "max-key-bytes", request.DefaultMaxKeyBytes, "largest key of a client write, bytes (at most 64 KiB)")
	fs.IntVar(&c.MaxValueBytes, "max-value-bytes", request.DefaultMaxValueBytes, "largest value of a client write, bytes (at most 16 MiB)")
	fs.IntVar(&c.CacheBytes, "cache-bytes", node.DefaultCacheBytes, "memory for the objects a node keeps for reads, bytes, shared out over the partitions (0: off)")
	fs.IntVar(&c.BlockCacheBytes, "block-cache-bytes", 0, "goleveldb's shared cache of table blocks, bytes (0: off, each open table keeps its index and filter blocks in memory instead; best once the data outgrows the cache)")
	fs.StringVar(&c.HTTPTokenFile, "http-token-file", "", "file of bearer tokens, one per line, that authenticate HTTP requests (with it or TLS on, requests without a token or client certificate get 401)")
	c.Join = nil
	fs.Var((*stringList)(&c.Join), "join", "comma-separated seed gossip `addresses` host:port; a host may be a DNS name, resolved again at every retry (a headless Service); empty: start a new cluster")
	fs.IntVar(&c.Partitions, "partitions", 0, "Q, partitions in the ring, power of two 8..1024, fixed when a cluster is created (default 64, or what the data directory was created with)")
	fs.IntVar(&c.N, "n", 0, "replicas per key, the same on every node (default 3, or what the data directory was created with)")
	fs.IntVar(&c.R, "r", def.R, "default read quorum")
	fs.IntVar(&c.W, "w", def.W, "default write quorum")
	fs.IntVar(&c.Weight, "weight", def.Weight, "capacity weight: partitions held are proportional to it")
	fs.StringVar(&c.Zone, "zone", "", "failure domain (rack or data center); replicas spread over zones")
	fs.DurationVar(&c.Timeout, "timeout", def.Timeout, "default request deadline")
	fs.DurationVar(&c.ReadSpeculateAfter, "read-speculate-after", def.ReadSpeculateAfter, "reads ask R replicas first and the others when one fails or no answer came within this delay (0: every replica at once, read repair on all of them)")
	fs.StringVar(&s.durableWrites, "durable-writes", def.DurableWrites.String(), "which replicas fsync a write before acking it: all, or one (this node's own write fsyncs before the answer; the other replicas ack from their engine and fsync within --flush-interval)")
	fs.DurationVar(&c.CommitLinger, "commit-linger", def.CommitLinger, "under load, how long storage writes gather into one write and fsync after the previous one began (0 to 100ms; an idle node writes at once; a write is acked once its group is written and fsynced, a buffered one of --durable-writes one once written)")
	fs.DurationVar(&c.FlushInterval, "flush-interval", def.FlushInterval, "the longest a replica write sent with --durable-writes one waits for its fsync (one fsync serves all such writes of the interval)")
	fs.DurationVar(&c.DefaultTTL, "default-ttl", 0, "time to live of puts that set none (their values then expire that long after the write); 0: never")
	fs.BoolVar(&c.StayLeft, "stay-left", false, "after a graceful leave (dynamo leave), a restart on the same data directory does not rejoin: it waits to be stopped (for orchestrators that restart an exited agent, such as a Kubernetes StatefulSet)")
	fs.BoolVar(&c.LWW, "lww", false, "last-write-wins by default (concurrent writes are lost) instead of siblings")
	fs.BoolVar(&c.FastGossip, "fast-gossip", false, "sub-second failure detection timings (loopback and tests; default: serf LAN timings, ~5 s)")
	fs.BoolVar(&c.NoHintedHandoff, "no-hinted-handoff", false, "turn hinted handoff off: strict quorums, no fallbacks, no hints (set on every node; for control tests)")
	fs.DurationVar(&c.HintInterval, "hint-interval", def.HintInterval, "how often hints are retried to owners that are up")
	fs.IntVar(&c.HintRate, "hint-rate", def.HintRate, "hint delivery limit, hints per second for the node")
	fs.DurationVar(&c.HintMaxAge, "hint-max-age", def.HintMaxAge, "hints older than this for a down owner are handed over to the key's other current primaries (anti-entropy then repairs the owner); an owner absent from the view is waited for as long")
	fs.IntVar(&c.HintMaxBytes, "hint-max-bytes", def.HintMaxBytes, "bytes of hints kept per down owner; beyond it the oldest are handed over to the key's other current primaries")
	fs.DurationVar(&c.AntiEntropyInterval, "anti-entropy-interval", def.AntiEntropyInterval, "anti-entropy sweep period: each of the P partitions held is compared with its next peer about every max(interval, P x 10ms); identical replicas cost a root hash")
	fs.IntVar(&c.AntiEntropyRate, "anti-entropy-rate", def.AntiEntropyRate, "anti-entropy repair limit, keys per second for the node")
	fs.BoolVar(&c.NoAntiEntropy, "no-anti-entropy", false, "turn the Merkle syncer off (for control tests)")
	fs.BoolVar(&c.NoAdmissionControl, "no-admission-control", false, "keep background work (anti-entropy repairs, handoff, hint delivery, reap passes) at its configured rates even while client requests suffer")
	fs.DurationVar(&c.TombstoneGrace, "tombstone-grace", def.TombstoneGrace, "a deleted or expired key is reaped (its space freed) this long after the delete or expiry, once every primary holds it or nothing of it; above the hint max age (3h); a node down longer must be wiped before it rejoins")
	fs.DurationVar(&c.PruneMinAge, "prune-min-age", def.PruneMinAge, "clock entries of retired vnode incarnations idle this long may be pruned from clocks of more than 10 entries; above the hint max age (3h)")
	fs.BoolVar(&c.AllowFaultInjection, "allow-fault-injection", false, "accept 'dynamo debug crash' requests that make an actor panic (testing supervision; never in production)")
	fs.StringVar(&s.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&s.logFormat, "log-format", "text", "text or json")
	return fs, s
}

// resolveAgent resolves the agent's settings from args, the environment
// (lookupEnv) and the config file, and builds the logger, writing to logw.
// It starts nothing, so tests call it directly.
func resolveAgent(args []string, lookupEnv func(string) (string, bool), logw io.Writer) (*agentConfig, error) {
	host, _ := os.Hostname()
	fs, s := agentFlags(logw, host)
	src, err := resolveFlags(fs, args, lookupEnv)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	level, err := parseLogLevel(s.logLevel)
	if err != nil {
		return nil, fromSource(err, src["log-level"])
	}
	h, err := newLogHandler(logw, s.logFormat, level)
	if err != nil {
		return nil, fromSource(err, src["log-format"])
	}
	cfg := s.cfg
	if cfg.DurableWrites, err = coordinator.ParseDurability(s.durableWrites); err != nil {
		return nil, fromSource(fmt.Errorf("--durable-writes must be all or one, got %q", s.durableWrites), src["durable-writes"])
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join("data", cfg.Name)
	}
	// The node adds no name of its own to its lines: with several agents'
	// logs collected together, node= says which one wrote each.
	cfg.Logger = slog.New(h).With("node", cfg.Name)
	return &agentConfig{Node: cfg, PrintConfig: s.printConfig, file: s.configFile, flags: fs, sources: src}, nil
}

// fromSource adds where a bad value came from when it was not the command
// line, which the user would see.
func fromSource(err error, src string) error {
	switch {
	case src == srcFile:
		return fmt.Errorf("%v (set in the config file)", err)
	case strings.HasPrefix(src, "env "):
		return fmt.Errorf("%v (set by %s)", err, strings.TrimPrefix(src, "env "))
	}
	return err
}

// parseWithEnv parses args, then fills every flag not given on the command
// line from its DYNAMO_* environment variable (and from the config file if
// fs has a "config" flag). It reports errors on fs's output.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	_, err := resolveFlags(fs, args, os.LookupEnv)
	if err != nil && !errors.As(err, new(flagError)) {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
	}
	return err
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	h, err := newLogHandler(w, format, l)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

func parseLogLevel(level string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return 0, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	return l, nil
}

func newLogHandler(w io.Writer, format string, level slog.Level) (slog.Handler, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
