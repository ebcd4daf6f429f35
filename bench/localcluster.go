package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"encoding/json"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/node"
	"github.com/dynamokv/dynamo/ring"
)

// A local cluster is made of real node processes: the bench binary itself,
// re-executed with the hidden `_node` subcommand, on loopback ports. Each
// child gets the read end of a pipe as its stdin and stops when it reads
// EOF, so that children stop even when the bench process is killed
// (SIGKILL) without its clean-up running.

// stopGrace is how long a child has to exit after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// clusterSpec is what a local cluster is started with.
type clusterSpec struct {
	nodes       int
	partitions  int
	n, r, w     int
	noSync      bool
	speculate   time.Duration          // --read-speculate-after
	durable     coordinator.Durability // --durable-writes
	fastGossip  bool
	profileDir  string // when set, each node writes <dir>/<name>.cpu.pprof
	aeRate      int    // --anti-entropy-rate; 0: the default
	noAdmission bool   // --no-admission-control
	log         io.Writer
}

type child struct {
	name    string
	gossip  string
	actor   string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	// restarting is closed when the bench stops the node to start it
	// again (refill): its exit is expected.
	restarting chan struct{}
}

type localCluster struct {
	spec     clusterSpec
	dir      string
	stdinW   *os.File // children's stdin: closing it stops them
	stdinR   *os.File
	children []*child
	stopping chan struct{}
	once     sync.Once
	// wire is each node's remoting counters, read at stop.
	wire map[string]*wireStats
}

// startLocalCluster starts spec.nodes node processes in a fresh temporary
// directory and waits until a client sees all of them up. On error,
// whatever started is stopped and removed.
func startLocalCluster(ctx context.Context, spec clusterSpec) (lc *localCluster, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the bench binary to start nodes: %w", err)
	}
	dir, err := os.MkdirTemp("", "dynamo-bench-")
	if err != nil {
		return nil, err
	}
	lc = &localCluster{spec: spec, dir: dir, stopping: make(chan struct{})}
	defer func() {
		if err != nil {
			lc.stop()
			lc = nil
		}
	}()
	if lc.stdinR, lc.stdinW, err = os.Pipe(); err != nil {
		return lc, err
	}
	ports, err := freePorts(2 * spec.nodes)
	if err != nil {
		return lc, err
	}
	fmt.Fprintf(spec.log, "bench: starting %d node processes, data in %s\n", spec.nodes, dir)
	for i := range spec.nodes {
		c := &child{
			name:       fmt.Sprintf("n%d", i+1),
			gossip:     net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			actor:      net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
			restarting: make(chan struct{}),
		}
		c.logPath = filepath.Join(dir, c.name+".log")
		lc.children = append(lc.children, c)
	}
	// The first node founds the cluster; the others join it once its
	// gossip port answers.
	for i, c := range lc.children {
		if err := lc.spawn(exe, c, i > 0); err != nil {
			return lc, err
		}
		if i == 0 {
			if err := lc.waitListening(ctx, c, c.gossip, 30*time.Second); err != nil {
				return lc, err
			}
		}
	}
	if err := lc.waitUp(ctx, 60*time.Second); err != nil {
		return lc, err
	}
	return lc, nil
}

func (lc *localCluster) spawn(exe string, c *child, join bool) error {
	s := lc.spec
	args := []string{"_node", "--name", c.name, "--data-dir", filepath.Join(lc.dir, c.name),
		"--gossip-addr", c.gossip, "--actor-addr", c.actor, "--partitions", strconv.Itoa(s.partitions),
		"--n", strconv.Itoa(s.n), "--stop-on-stdin-eof"}
	if s.r > 0 {
		args = append(args, "--r", strconv.Itoa(s.r))
	}
	if s.w > 0 {
		args = append(args, "--w", strconv.Itoa(s.w))
	}
	if join {
		args = append(args, "--join", lc.children[0].gossip)
	}
	if s.noSync {
		args = append(args, "--no-sync")
	}
	args = append(args, "--read-speculate-after", s.speculate.String(), "--durable-writes", s.durable.String())
	if s.fastGossip {
		args = append(args, "--fast-gossip")
	}
	if s.aeRate > 0 {
		args = append(args, "--anti-entropy-rate", strconv.Itoa(s.aeRate))
	}
	if s.noAdmission {
		args = append(args, "--no-admission-control")
	}
	if s.profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(s.profileDir, c.name+".cpu.pprof"))
	}
	logf, err := os.Create(c.logPath)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	c.cmd = exec.Command(exe, args...)
	c.cmd.Stdin = lc.stdinR
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches the bench
	// only, which then stops the nodes in order.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("start node %s: %w", c.name, err)
	}
	c.exited = make(chan struct{})
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
		select {
		case <-lc.stopping:
		case <-c.restarting:
		default:
			fmt.Fprintf(lc.spec.log, "\nbench: node %s (pid %d) exited unexpectedly: %v\n%s", c.name, c.cmd.Process.Pid, c.waitErr, tail(c.logPath, 10))
		}
	}()
	fmt.Fprintf(lc.spec.log, "bench: node %s pid %d actor %s gossip %s\n", c.name, c.cmd.Process.Pid, c.actor, c.gossip)
	return nil
}

// waitListening waits until addr accepts TCP connections.
func (lc *localCluster) waitListening(ctx context.Context, c *child, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("node %s exited while starting: %v\n%s", c.name, c.waitErr, tail(c.logPath, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s does not listen on %s after %v\n%s", c.name, addr, limit, tail(c.logPath, 20))
		}
	}
}

// waitUp waits until every node's membership, read by a client, lists
// every node up.
func (lc *localCluster) waitUp(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var c *client.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	last := "no answer"
	allUp := map[string]bool{} // node name -> its latest view has every node up
	for {
		for _, ch := range lc.children {
			select {
			case <-ch.exited:
				return fmt.Errorf("node %s exited while starting: %v\n%s", ch.name, ch.waitErr, tail(ch.logPath, 20))
			default:
			}
		}
		if c == nil {
			cc, err := client.New(ctx, client.Config{Seeds: lc.seeds(), RefreshInterval: -1})
			if err == nil {
				c = cc
			} else {
				last = err.Error()
			}
		}
		if c != nil {
			m, err := c.Members(ctx)
			if err == nil {
				up := 0
				for _, x := range m.Members {
					if x.State == ring.Up {
						up++
					}
				}
				// Members asks the up nodes in turn: wait until every
				// node's latest answer lists every node up.
				allUp[m.Node] = up == len(lc.children) && len(m.Members) == len(lc.children)
				ready := 0
				for _, ok := range allUp {
					if ok {
						ready++
					}
				}
				if ready == len(lc.children) {
					return nil
				}
				last = fmt.Sprintf("%s sees %d of %d members up", m.Node, up, len(lc.children))
				if allUp[m.Node] {
					continue // ask the next node at once
				}
			} else {
				last = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the cluster is not up after %v: %s", limit, last)
			}
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// seeds are the nodes' actor addresses.
func (lc *localCluster) seeds() []string {
	out := make([]string, len(lc.children))
	for i, c := range lc.children {
		out[i] = c.actor
	}
	return out
}

// stop stops every child (SIGTERM, SIGKILL after stopGrace), waits for
// them, and removes the data directory. Safe to call more than once.
func (lc *localCluster) stop() {
	lc.once.Do(func() {
		close(lc.stopping)
		var wg sync.WaitGroup
		for _, c := range lc.children {
			if c.cmd == nil || c.exited == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-c.exited:
				case <-time.After(stopGrace):
					fmt.Fprintf(lc.spec.log, "bench: node %s did not stop within %v of SIGTERM: killing it\n", c.name, stopGrace)
					_ = c.cmd.Process.Kill()
					<-c.exited
				}
			}()
		}
		wg.Wait()
		lc.wire = map[string]*wireStats{}
		for _, c := range lc.children {
			if b, err := os.ReadFile(filepath.Join(lc.dir, c.name, wireFile)); err == nil {
				var ws wireStats
				if json.Unmarshal(b, &ws) == nil {
					lc.wire[c.name] = &ws
				}
			}
		}
		if lc.stdinW != nil {
			lc.stdinW.Close()
			lc.stdinR.Close()
		}
		if err := os.RemoveAll(lc.dir); err != nil {
			fmt.Fprintf(lc.spec.log, "bench: remove %s: %v\n", lc.dir, err)
		}
		fmt.Fprintf(lc.spec.log, "bench: %d nodes stopped, %s removed\n", len(lc.children), lc.dir)
	})
}

// freePorts returns count distinct loopback ports that are free for TCP
// and UDP (serf uses both on its gossip port).
func freePorts(count int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for tries := 0; len(out) < count; tries++ {
		if tries > 100*count {
			return nil, errors.New("cannot find free loopback ports")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	for _, l := range lines {
		if l != "" {
			buf.WriteString("    " + l + "\n")
		}
	}
	return buf.String()
}

// runNode is the hidden `_node` subcommand: one node in this process until
// SIGTERM or SIGINT (or EOF on stdin with --stop-on-stdin-eof).
func runNode(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench _node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := node.DefaultConfig("n1")
	name := fs.String("name", "n1", "node name")
	dataDir := fs.String("data-dir", "", "data directory (required)")
	gossip := fs.String("gossip-addr", "", "serf host:port (required)")
	actorAddr := fs.String("actor-addr", "", "actor remoting host:port (required)")
	join := fs.String("join", "", "seed gossip addresses, comma-separated")
	q := fs.Int("partitions", node.DefaultPartitions, "Q")
	n := fs.Int("n", node.DefaultN, "replicas per key")
	r := fs.Int("r", def.R, "default read quorum")
	w := fs.Int("w", def.W, "default write quorum")
	noSync := fs.Bool("no-sync", false, "no fsync per write")
	speculate := fs.Duration("read-speculate-after", def.ReadSpeculateAfter, "reads ask R replicas first, the rest after this delay (0: all at once)")
	durable := fs.String("durable-writes", def.DurableWrites.String(), "which replicas fsync a write before acking: all or one")
	fast := fs.Bool("fast-gossip", false, "sub-second failure detection timings")
	stdinEOF := fs.Bool("stop-on-stdin-eof", false, "stop when stdin reaches EOF (the parent died)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the node's life to this file")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	aeRate := fs.Int("anti-entropy-rate", def.AntiEntropyRate, "anti-entropy repairs, keys per second")
	noAdmission := fs.Bool("no-admission-control", false, "background work at its configured rates whatever the foreground suffers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *gossip == "" || *actorAddr == "" {
		fmt.Fprintln(stderr, "bench _node: --data-dir, --gossip-addr and --actor-addr are required")
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "bench _node: --log-level: %v\n", err)
		return 2
	}
	cfg := def
	cfg.Name, cfg.DataDir, cfg.GossipAddr, cfg.ActorAddr = *name, *dataDir, *gossip, *actorAddr
	cfg.Join = splitList(*join)
	cfg.Partitions, cfg.N, cfg.R, cfg.W = *q, *n, *r, *w
	cfg.NoSync, cfg.FastGossip, cfg.ReadSpeculateAfter = *noSync, *fast, *speculate
	cfg.AntiEntropyRate, cfg.NoAdmissionControl = *aeRate, *noAdmission
	d, err := coordinator.ParseDurability(*durable)
	if err != nil {
		fmt.Fprintf(stderr, "bench _node: --durable-writes: %v\n", err)
		return 2
	}
	cfg.DurableWrites = d
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("node", *name)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "bench _node: --cpuprofile: %v\n", err)
			return 1
		}
		defer stop()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	nd, err := node.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bench _node: %v\n", err)
		return 1
	}
	orphaned := make(chan struct{})
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(orphaned)
		}()
	}
	select {
	case <-ctx.Done():
	case <-orphaned:
		cfg.Logger.Warn("stdin closed (the bench process is gone): stopping")
	}
	nd.Stop()
	wire, commits := &nd.Counters().Wire, &nd.Counters().Commits
	if b, err := json.Marshal(wireStats{Batches: wire.Batches.Load(), Messages: wire.Messages.Load(),
		CommitGroups: commits.Groups.Load(), CommitBatches: commits.Batches.Load()}); err == nil {
		_ = os.WriteFile(filepath.Join(*dataDir, wireFile), b, 0o644)
	}
	return 0
}

// restartWiped stops node c (SIGTERM), deletes its data directory and
// starts it again under the same name, joining the first other node: a
// replaced disk. It returns when the node listens again.
func (lc *localCluster) restartWiped(ctx context.Context, c *child) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	close(c.restarting)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(stopGrace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	if err := os.RemoveAll(filepath.Join(lc.dir, c.name)); err != nil {
		return err
	}
	c.restarting = make(chan struct{})
	if err := lc.spawn(exe, c, true); err != nil {
		return err
	}
	return lc.waitListening(ctx, c, c.actor, 30*time.Second)
}
