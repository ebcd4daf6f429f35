package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

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
	dc := &devCluster{stdout: stdout, stderr: stderr, quit: make(chan struct{})}
	defer dc.close()
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
		// A dev cluster is for trying failures: `dynamo debug crash` and
		// `dynamo debug stop` work on it.
		cfg.AllowFaultInjection = true
		cfg.Restarter = func(down time.Duration) error { return dc.restart(i, down) }
		cfg.Logger = log.With("node", name)
		if i > 0 {
			cfg.Join = []string{dc.nodes[0].GossipAddr()}
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
		dc.add(nd, cfg)
	}
	nodes := dc.snapshot()
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
	fmt.Fprintf(stdout, "  dynamo debug stop --seeds %s --node %s --for 10s   (a node fails, then comes back)\n", seeds, nodes[len(nodes)-1].Name())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "dynamo dev: stopping")
	return 0
}

// devCluster holds the nodes of `dynamo dev`, which it can stop and start
// again on request (`dynamo debug stop`).
type devCluster struct {
	stdout, stderr io.Writer
	mu             sync.Mutex
	nodes          []*node.Node
	cfgs           []node.Config
	busy           []bool // node i is stopped for a while
	closed         bool
	quit           chan struct{} // closed by close: a stopped node stays stopped
	wg             sync.WaitGroup
}

func (d *devCluster) add(nd *node.Node, cfg node.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nodes, d.cfgs, d.busy = append(d.nodes, nd), append(d.cfgs, cfg), append(d.busy, false)
}

func (d *devCluster) snapshot() []*node.Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*node.Node(nil), d.nodes...)
}

// restart stops node i as a crash would and starts it again on its data
// directory, with the same addresses, after down. It returns at once: the
// request that asked for it is answered by the node being stopped.
func (d *devCluster) restart(i int, down time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("dynamo dev is stopping")
	}
	if d.busy[i] {
		return fmt.Errorf("%s is already stopped", d.cfgs[i].Name)
	}
	d.busy[i] = true
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		time.Sleep(100 * time.Millisecond) // let the answer leave first
		d.mu.Lock()
		nd, cfg := d.nodes[i], d.cfgs[i]
		d.mu.Unlock()
		nd.Stop()
		fmt.Fprintf(d.stdout, "dynamo dev: %s stopped (debug stop); it starts again in %s\n", cfg.Name, down)
		select {
		case <-time.After(down):
		case <-d.quit:
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.closed {
			return
		}
		cfg.Join = nil
		for j, other := range d.nodes {
			if j != i && !d.busy[j] {
				cfg.Join = append(cfg.Join, other.GossipAddr())
			}
		}
		again, err := node.Start(cfg)
		if err != nil {
			fmt.Fprintf(d.stderr, "dynamo dev: %s did not start again: %v\n", cfg.Name, err)
			return
		}
		d.nodes[i], d.busy[i] = again, false
		fmt.Fprintf(d.stdout, "dynamo dev: %s is back\n", cfg.Name)
	}()
	return nil
}

// close stops every node (those stopped for a while stay stopped).
func (d *devCluster) close() {
	d.mu.Lock()
	if !d.closed {
		close(d.quit)
	}
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	nodes := append([]*node.Node(nil), d.nodes...)
	d.mu.Unlock()
	for i := len(nodes) - 1; i >= 0; i-- {
		nodes[i].Stop()
	}
}
