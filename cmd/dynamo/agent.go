package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dynamokv/dynamo/node"
)

// envPrefix: every agent flag can also be given as DYNAMO_<FLAG>, the flag
// name upper-cased with dashes as underscores (--gossip-addr is
// DYNAMO_GOSSIP_ADDR). A flag on the command line wins.
const envPrefix = "DYNAMO_"

func runAgent(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dynamo agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, _ := os.Hostname()
	def := node.DefaultConfig(host)
	name := fs.String("name", host, "unique node name")
	dataDir := fs.String("data-dir", "", "data directory (default ./data/<name>)")
	gossip := fs.String("gossip-addr", def.GossipAddr, "serf gossip host:port (TCP and UDP)")
	actorAddr := fs.String("actor-addr", def.ActorAddr, "actor remoting host:port; also the address clients and peers use, so it must be reachable")
	join := fs.String("join", "", "comma-separated seed gossip addresses host:port (empty: start a new cluster)")
	q := fs.Int("partitions", 0, "Q, partitions in the ring, power of two 8..1024, fixed when a cluster is created (default 64, or what the data directory was created with)")
	n := fs.Int("n", 0, "replicas per key, the same on every node (default 3, or what the data directory was created with)")
	r := fs.Int("r", def.R, "default read quorum")
	w := fs.Int("w", def.W, "default write quorum")
	weight := fs.Int("weight", def.Weight, "capacity weight: partitions held are proportional to it")
	zone := fs.String("zone", "", "failure domain (rack or data center); replicas spread over zones")
	timeout := fs.Duration("timeout", def.Timeout, "default request deadline")
	lww := fs.Bool("lww", false, "last-write-wins by default (concurrent writes are lost) instead of siblings")
	fast := fs.Bool("fast-gossip", false, "sub-second failure detection timings (loopback and tests; default: serf LAN timings, ~5 s)")
	noHH := fs.Bool("no-hinted-handoff", false, "turn hinted handoff off: strict quorums, no fallbacks, no hints (set on every node; for control tests)")
	hintInterval := fs.Duration("hint-interval", def.HintInterval, "how often hints are retried to owners that are up")
	hintRate := fs.Int("hint-rate", def.HintRate, "hint delivery limit, hints per second for the node")
	aaeInterval := fs.Duration("aae-interval", def.AAEInterval, "pause between two anti-entropy exchanges (one partition with one replica each)")
	aaeRate := fs.Int("aae-rate", def.AAERate, "anti-entropy repair limit, keys per second for the node")
	noAAE := fs.Bool("no-anti-entropy", false, "turn the Merkle syncer off (for control tests)")
	faults := fs.Bool("allow-fault-injection", false, "accept 'dynamo debug crash' requests that make an actor panic (testing supervision; never in production)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	if err := parseWithEnv(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dynamo agent: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "dynamo agent: %v\n", err)
		return 2
	}
	cfg := def
	cfg.Name, cfg.GossipAddr, cfg.ActorAddr = *name, *gossip, *actorAddr
	cfg.DataDir = *dataDir
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join("data", *name)
	}
	cfg.Join = splitList(*join)
	cfg.Partitions, cfg.N, cfg.R, cfg.W = *q, *n, *r, *w
	cfg.Weight, cfg.Zone, cfg.Timeout, cfg.LWW, cfg.FastGossip = *weight, *zone, *timeout, *lww, *fast
	cfg.NoHintedHandoff, cfg.HintInterval, cfg.HintRate, cfg.AllowFaultInjection = *noHH, *hintInterval, *hintRate, *faults
	cfg.AAEInterval, cfg.AAERate, cfg.NoAntiEntropy = *aaeInterval, *aaeRate, *noAAE
	cfg.Logger = log
	nd, err := node.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dynamo agent: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-nd.Left():
		log.Info("left the cluster (dynamo leave): exiting")
	}
	nd.Stop()
	return 0
}

// parseWithEnv parses args, then fills every flag not given on the command
// line from its DYNAMO_* environment variable.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", env, v, e)
			}
		}
	})
	if err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
	}
	return err
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
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
