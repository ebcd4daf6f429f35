package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/dynamokv/dynamo/node"
)

// runDev starts a local cluster of --nodes nodes on loopback in this
// process and runs it until SIGINT or SIGTERM.
func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dynamo dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("nodes", 3, "number of nodes (1..16)")
	dir := fs.String("dir", "", "data directory for the nodes, kept after exit (default: a temporary directory, removed at exit)")
	gossipPort := fs.Int("gossip-port", 7946, "first node's gossip port; node i uses this + i")
	actorPort := fs.Int("actor-port", 8946, "first node's actor port; node i uses this + i (the CLI's default seed is 127.0.0.1:8946)")
	httpPort := fs.Int("http-port", 8080, "first node's HTTP API port; node i uses this + i (0: no HTTP API)")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parseWithEnv(fs, args); err != nil {
		return 2
	}
	if *count < 1 || *count > 16 {
		fmt.Fprintf(stderr, "dynamo dev: --nodes must be from 1 to 16, got %d\n", *count)
		return 2
	}
	log, err := newLogger(stderr, *level, "text")
	if err != nil {
		fmt.Fprintf(stderr, "dynamo dev: %v\n", err)
		return 2
	}
	base := *dir
	if base == "" {
		if base, err = os.MkdirTemp("", "dynamo-dev-"); err != nil {
			fmt.Fprintf(stderr, "dynamo dev: %v\n", err)
			return 1
		}
		defer os.RemoveAll(base)
	}
	var nodes []*node.Node
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].Stop()
		}
	}()
	for i := range *count {
		name := fmt.Sprintf("dev%d", i+1)
		cfg := node.DefaultConfig(name)
		cfg.DataDir = filepath.Join(base, name)
		cfg.GossipAddr = fmt.Sprintf("127.0.0.1:%d", *gossipPort+i)
		cfg.ActorAddr = fmt.Sprintf("127.0.0.1:%d", *actorPort+i)
		if *httpPort > 0 {
			cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", *httpPort+i)
		}
		cfg.FastGossip = true
		cfg.Logger = log.With("node", name)
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		if *count < node.DefaultN {
			// A smaller cluster cannot hold 3 replicas: use what it has.
			cfg.N, cfg.R, cfg.W = *count, min(cfg.R, *count), min(cfg.W, *count)
		}
		nd, err := node.Start(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "dynamo dev: %s: %v\n", name, err)
			return 1
		}
		nodes = append(nodes, nd)
	}
	fmt.Fprintf(stdout, "dynamo dev: %d nodes running, data in %s (Ctrl-C stops them)\n", len(nodes), base)
	for _, nd := range nodes {
		fmt.Fprintf(stdout, "  %-6s actor %s  gossip %s", nd.Name(), nd.ActorAddr(), nd.GossipAddr())
		if a := nd.HTTPAddr(); a != "" {
			fmt.Fprintf(stdout, "  http http://%s/", a)
		}
		fmt.Fprintln(stdout)
	}
	seeds := nodes[0].ActorAddr()
	fmt.Fprintf(stdout, "\ntry, from another terminal:\n  dynamo put --seeds %s greeting hello\n  dynamo get --seeds %s greeting\n  dynamo members --seeds %s\n", seeds, seeds, seeds)
	if a := nodes[0].HTTPAddr(); a != "" {
		fmt.Fprintf(stdout, "  curl -i http://%s/kv/greeting\n  open http://%s/ for the status page\n", a, a)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "dynamo dev: stopping")
	return 0
}
