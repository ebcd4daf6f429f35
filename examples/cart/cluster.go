package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/internal/freeport"
	"github.com/dynamokv/dynamo/node"
)

// cluster is what the scenarios need beyond a client: the seeds, and for a
// cluster this process runs, a way to make a node fail and come back.
type cluster interface {
	Seeds() []string
	// CanFail reports whether Fail and Recover work: false for a cluster
	// that runs elsewhere (dynamo dev, agents).
	CanFail() bool
	// Fail stops the named node for real: its process (here, its part of
	// this process) is gone, as after a crash.
	Fail(name string) error
	// Recover starts the named node again on its data directory and
	// addresses.
	Recover(name string) error
	Close()
}

// errCannotFail: the cluster cannot stop that node; the failure is played
// from the clients' side instead.
var errCannotFail = errors.New("cart: the cluster cannot stop a node on request")

// remote is a cluster that runs elsewhere. Nodes of `dynamo dev` stop on
// request (`dynamo debug stop`) and start again by themselves after
// remoteDowntime; other clusters refuse, and the failure is played.
type remote struct {
	seeds  []string
	listen string
}

// remoteDowntime is how long a dev node stays down: long enough for gossip
// to notice (~0.3 s) and for the writes of the scenario.
const remoteDowntime = 4 * time.Second

func (r remote) Seeds() []string { return r.seeds }
func (r remote) CanFail() bool   { return true }
func (r remote) Fail(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Seeds: r.seeds, ListenAddr: r.listen})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StopNode(ctx, name, remoteDowntime); err != nil {
		// Not a dev node, or fault injection is off: play the failure.
		return fmt.Errorf("%w: %v", errCannotFail, err)
	}
	return nil
}

// Recover: a dev node starts again by itself after remoteDowntime.
func (r remote) Recover(string) error { return nil }
func (r remote) Close()               {}

// own is a cluster of nodes started in this process, like `dynamo dev`.
type own struct {
	dir     string
	removed bool // dir is ours to remove
	names   []string
	cfgs    map[string]node.Config
	nodes   map[string]*node.Node
}

// startOwn starts count nodes named dev1.. on free loopback ports with
// their data under dir (a temporary directory, removed by Close, when dir
// is ""). Fast gossip detects a failure in well under a second; NoSync
// skips fsync because the data is thrown away at exit.
func startOwn(dir string, count int, log *slog.Logger) (*own, error) {
	o := &own{dir: dir, cfgs: map[string]node.Config{}, nodes: map[string]*node.Node{}}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "dynamo-cart-")
		if err != nil {
			return nil, fmt.Errorf("cart: %w", err)
		}
		o.dir, o.removed = d, true
	}
	for i := range count {
		name := fmt.Sprintf("dev%d", i+1)
		cfg := node.DefaultConfig(name)
		cfg.DataDir = filepath.Join(o.dir, name)
		gp, err := freeport.Run(1)
		if err != nil {
			o.Close()
			return nil, err
		}
		ap, err := freeport.Run(1)
		if err != nil {
			o.Close()
			return nil, err
		}
		cfg.GossipAddr, cfg.ActorAddr = fmt.Sprintf("127.0.0.1:%d", gp), fmt.Sprintf("127.0.0.1:%d", ap)
		cfg.FastGossip, cfg.NoSync = true, true
		cfg.Logger = log.With("node", name)
		if i > 0 {
			cfg.Join = []string{o.nodes[o.names[0]].GossipAddr()}
		}
		nd, err := node.Start(cfg)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("cart: starting %s: %w", name, err)
		}
		// A restart reuses the ports picked now: the node's address is its
		// identity for peers and clients.
		cfg.GossipAddr, cfg.ActorAddr = nd.GossipAddr(), nd.ActorAddr()
		o.names = append(o.names, name)
		o.cfgs[name], o.nodes[name] = cfg, nd
	}
	return o, nil
}

func (o *own) Seeds() []string {
	var out []string
	for _, n := range o.names {
		out = append(out, o.cfgs[n].ActorAddr)
	}
	return out
}

func (o *own) CanFail() bool { return true }

func (o *own) Fail(name string) error {
	nd, ok := o.nodes[name]
	if !ok || nd == nil {
		return fmt.Errorf("cart: no running node %q", name)
	}
	nd.Stop()
	o.nodes[name] = nil
	return nil
}

func (o *own) Recover(name string) error {
	cfg, ok := o.cfgs[name]
	if !ok {
		return fmt.Errorf("cart: no node %q", name)
	}
	if o.nodes[name] != nil {
		return nil
	}
	cfg.Join = nil
	for _, n := range o.names {
		if n != name && o.nodes[n] != nil {
			cfg.Join = append(cfg.Join, o.nodes[n].GossipAddr())
		}
	}
	nd, err := node.Start(cfg)
	if err != nil {
		return fmt.Errorf("cart: restarting %s: %w", name, err)
	}
	o.nodes[name] = nd
	return nil
}

func (o *own) Close() {
	for i := len(o.names) - 1; i >= 0; i-- {
		if nd := o.nodes[o.names[i]]; nd != nil {
			nd.Stop()
			o.nodes[o.names[i]] = nil
		}
	}
	if o.removed {
		_ = os.RemoveAll(o.dir)
	}
}
