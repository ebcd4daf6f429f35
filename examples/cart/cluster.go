package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

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

// remote is a cluster that runs elsewhere.
type remote struct{ seeds []string }

func (r remote) Seeds() []string { return r.seeds }
func (r remote) CanFail() bool   { return false }
func (r remote) Fail(string) error {
	return errors.New("cart: a cluster outside this process cannot be made to fail from here")
}
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
		cfg.GossipAddr, cfg.ActorAddr = "127.0.0.1:0", "127.0.0.1:0"
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
