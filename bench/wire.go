package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
)

// `bench wire` prices the transport the design card fixes: the messages of
// a put or a get between a client and 3 node processes over protoactor
// remoting, with no storage, no versions and no ring: what the transport
// costs in dynamo's message pattern, a reference point for the rest of a
// request. A put is a PutRequest to a node, a ReplicaPutRequest from it to
// each of the other two, their acks, and the PutReply after the first ack
// (W 2 counting the node's own copy); a get is a GetRequest, one
// ReplicaGetRequest to another node (R 2), its reply and the GetReply. The
// envelopes are dynamo's own, with the value in a version set as a put
// carries it. --vs olric then runs the same workload against Olric.

// wireConfig is a bench wire run.
type wireConfig struct {
	load loadConfig
	// spawn: each request is coordinated by an actor spawned for it, as
	// dynamo's are, instead of by the node's one actor.
	spawn bool
	// futures: the client waits on a protoactor future per request, as
	// dynamo's client does, instead of one reply actor for all.
	futures bool
	// profileDir: when set, each node process writes a CPU profile there.
	profileDir string
	// batch (puts only): each message carries this many requests, as a
	// perfect coalescing layer would pack them (the client's to a node,
	// the node's to each replica, their acks and the reply), sent by
	// concurrency/batch workers so that as many requests are in flight.
	batch int
	// coalesce, above 0: every process sends its remote messages through
	// a coalescing layer (wirecoalesce.go) with that many batches
	// unacknowledged per destination.
	coalesce int
}

// wireNodeName is the node actor of a wire node process.
const wireNodeName = "wire"

// wireReadyLimit is how long a wire node process has to print "ready".
const wireReadyLimit = 30 * time.Second

func runWire(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench wire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workload := fs.String("workload", "put", "put or get")
	keys := fs.Int("keys", 100000, "number of distinct keys")
	valueSize := fs.Int("value-size", 100, "value size, bytes")
	concurrency := fs.Int("concurrency", 50, "workers, each with one request in flight")
	duration := fs.Duration("duration", 8*time.Second, "how long the measured run lasts")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	spawn := fs.Bool("spawn", false, "a coordinator actor spawned per request on the node, as dynamo's")
	futures := fs.Bool("futures", false, "the client waits on a future per request, as dynamo's client")
	batch := fs.Int("batch", 1, "put only: requests per message, as a perfect coalescing layer would pack them; concurrency/batch workers")
	coalesce := fs.Int("coalesce", 0, "W above 0: every process sends through a coalescing layer: a message goes at once when fewer than W batches to its process are unacknowledged, else in the batch sent at the next ack")
	profDir := fs.String("cpuprofile-nodes", "", "each node process writes a CPU profile of its life to DIR/wire-<port>.cpu.pprof")
	vs := fs.String("vs", "", "olric: run the same workload against 3 Olric members after, on the same cores")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench wire [flags]\n\nThe messages of a put or a get (dynamo's envelopes, N 3, R/W 2) between one\nclient and 3 node processes over protoactor remoting, with nothing else: what\nthe transport costs in dynamo's message pattern on these cores.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *batch < 1 || *batch > *concurrency || (*batch > 1 && *workload != "put") {
		fmt.Fprintf(stderr, "bench wire: --batch must be 1..--concurrency, and 1 unless --workload put; got %d\n", *batch)
		return 2
	}
	if *coalesce < 0 || (*coalesce > 0 && *batch > 1) {
		fmt.Fprintf(stderr, "bench wire: --coalesce must be 0 or more, and 0 with --batch; got %d\n", *coalesce)
		return 2
	}
	if *workload != "put" && *workload != "get" {
		fmt.Fprintf(stderr, "bench wire: --workload must be put or get, got %q\n", *workload)
		return 2
	}
	largs := []string{"--workload", *workload, "--keys", strconv.Itoa(*keys), "--value-size", strconv.Itoa(*valueSize),
		"--concurrency", strconv.Itoa(*concurrency), "--duration", duration.String(), "--seed", strconv.FormatUint(*seed, 10)}
	if *vs != "" {
		largs = append(largs, "--vs", *vs)
	}
	lc, err := parseLoad(largs, stderr)
	if err != nil {
		return 2
	}
	for _, peer := range lc.Vs {
		if peer != peerOlric {
			fmt.Fprintf(stderr, "bench wire: --vs knows olric only, got %q\n", peer)
			return 2
		}
	}
	cfg := wireConfig{load: lc, spawn: *spawn, futures: *futures, profileDir: *profDir, batch: *batch, coalesce: *coalesce}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	olricBin := ""
	if lc.vs(peerOlric) {
		if olricBin, err = buildOlric(ctx, stderr); err != nil {
			fmt.Fprintf(stderr, "bench wire: %v\n", err)
			return 1
		}
	}
	res, err := wire(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench wire: %v\n", err)
		return 1
	}
	m := machineInfo()
	fmt.Fprintf(stdout, "wire %s: 3 node processes and 1 client on loopback, protoactor remoting, spawn %v, futures %v, coalesce window %d, %d requests in flight, %d per message, %d-byte values, %v, seed %d\nmachine: %d cores, %s\n\n",
		lc.Workload, cfg.spawn, cfg.futures, cfg.coalesce, lc.Concurrency/cfg.batch*cfg.batch, cfg.batch, lc.ValueSize, lc.Duration, lc.Seed, m.Cores, m.CPU)
	printTable(stdout, []opResult{res.op})
	if res.busy > 0 {
		fmt.Fprintf(stdout, "machine CPU %.0f%% busy, %.0f µs of CPU per %s\n", 100*res.busy, res.cpuPerOp, lc.Workload)
	}
	if cfg.coalesce > 0 {
		fmt.Fprintf(stdout, "client: %d messages in %d batches (%.2f a batch)\n", res.messages, res.batches, float64(res.messages)/float64(max(res.batches, 1)))
	}
	if lc.vs(peerOlric) {
		fmt.Fprintf(stderr, "bench: running the same workload against %d Olric members\n", olricMembers)
		o, err := runOlric(ctx, lc, olricBin, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "bench wire: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nOlric %s, the same workload:\n", o.Version)
		printTable(stdout, []opResult{o.Total})
		if o.Total.OpsPerS > 0 {
			fmt.Fprintf(stdout, "wire / Olric: %.3f\n", res.op.OpsPerS/o.Total.OpsPerS)
		}
	}
	return 0
}

// wireResult is a wire run: the requests, and what the client's
// outboxes sent when coalescing.
type wireResult struct {
	op                opResult
	messages, batches uint64
	// busy is the machine's busy fraction during the run, cpuPerOp its
	// CPU time per request in microseconds.
	busy, cpuPerOp float64
}

// wire starts the 3 node processes, drives them and stops them.
func wire(ctx context.Context, cfg wireConfig, log io.Writer) (res wireResult, err error) {
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return res, err
	}
	addrs := make([]string, len(ports))
	for i, p := range ports {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(p)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return res, err
	}
	defer stdinR.Close()
	var cmds []*exec.Cmd
	defer func() {
		stdinW.Close() // the children stop at EOF
		for _, c := range cmds {
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(stopGrace):
				_ = c.Process.Kill()
				<-done
			}
		}
	}()
	for i, a := range addrs {
		var peers []string
		for j, b := range addrs {
			if j != i {
				peers = append(peers, b)
			}
		}
		cmd := exec.CommandContext(ctx, self, "_wire", a, strings.Join(peers, ","), strconv.Itoa(cfg.load.ValueSize), strconv.FormatBool(cfg.spawn), cfg.profileDir, strconv.Itoa(cfg.coalesce))
		cmd.Stdin = stdinR
		cmd.Stderr = log
		out, err := cmd.StdoutPipe()
		if err != nil {
			return res, err
		}
		// Its own process group: a Ctrl-C reaches the bench only, which
		// then stops the nodes (their profiles are written whole).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return res, err
		}
		cmds = append(cmds, cmd)
		ready := make(chan error, 1)
		go func() {
			r := bufio.NewReader(out)
			line, err := r.ReadString('\n')
			if err == nil && strings.TrimSpace(line) != "ready" {
				err = fmt.Errorf("printed %q", line)
			}
			ready <- err
			_, _ = io.Copy(io.Discard, r)
		}()
		select {
		case err := <-ready:
			if err != nil {
				return res, fmt.Errorf("wire node %s did not start: %w", a, err)
			}
		case <-time.After(wireReadyLimit):
			return res, fmt.Errorf("wire node %s did not start within %v", a, wireReadyLimit)
		}
	}
	sys, err := remoting.StartSystem(remoting.SystemConfig{Addr: "127.0.0.1:0", QueueSize: remoting.DefaultSystemConfig().QueueSize})
	if err != nil {
		return res, err
	}
	defer sys.Stop()
	cl := newWireClient(sys, addrs, cfg)
	// Warm the connections up before measuring.
	for i := range 200 {
		if err := cl.do(i%cfg.load.Keys, rand.New(rand.NewPCG(1, uint64(i)))); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
	}
	stats := newOpStats()
	deadline := time.Now().Add(cfg.load.Duration)
	start, cpu0 := time.Now(), readCPUTimes()
	var wg sync.WaitGroup
	for w := range cfg.load.Concurrency / cfg.batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.load.Seed, uint64(w)))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				err := cl.do(rng.IntN(cfg.load.Keys), rng)
				for range cfg.batch {
					stats.record(time.Since(t), err, true)
				}
			}
		}()
	}
	wg.Wait()
	h, errs, notFound, lastErr := stats.snapshot()
	if lastErr != nil {
		fmt.Fprintf(log, "bench wire: last error: %v\n", lastErr)
	}
	elapsed := time.Since(start)
	res.busy = cpu0.busySince()
	res.op = summarize(cfg.load.Workload, h, errs, notFound, elapsed)
	res.cpuPerOp = cpuPerOp(res.busy, runtime.NumCPU(), elapsed, res.op.Count)
	res.messages, res.batches = cl.link.messages.Load(), cl.link.batches.Load()
	return res, nil
}

// wireClient sends the workload's requests and waits for their replies.
type wireClient struct {
	sys     *remoting.System
	link    *wireLink
	nodes   []*actor.PID
	cfg     wireConfig
	value   []byte
	self    *actor.PID // the reply actor, unless cfg.futures
	next    atomic.Uint64
	mu      sync.Mutex
	waiting map[uint64]chan struct{}
}

func newWireClient(sys *remoting.System, addrs []string, cfg wireConfig) *wireClient {
	c := &wireClient{sys: sys, cfg: cfg, value: make([]byte, cfg.load.ValueSize), waiting: map[uint64]chan struct{}{},
		link: newWireLink(sys.Root(), sys.Address(), cfg.coalesce)}
	if cfg.coalesce > 0 {
		if _, err := remoting.SpawnNamed(sys.Root(), muxProps(c.link), wireMuxName); err != nil {
			panic(err) // a fresh system has no actor of that name
		}
	}
	for _, a := range addrs {
		c.nodes = append(c.nodes, actor.NewPID(a, wireNodeName))
	}
	if !cfg.futures {
		c.self = sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			env, ok := ctx.Message().(*messages.Envelope)
			if !ok {
				return
			}
			c.mu.Lock()
			ch := c.waiting[env.GetRequestId()]
			delete(c.waiting, env.GetRequestId())
			c.mu.Unlock()
			if ch != nil {
				ch <- struct{}{}
			}
		}))
	}
	return c
}

// do sends one request for key k to a node and waits for its reply.
func (c *wireClient) do(k int, rng *rand.Rand) error {
	id := c.next.Add(1)
	key := []byte(fmt.Sprintf("key-%08d", k))
	env := messages.Wrap(id, &messages.GetRequest{Key: key})
	switch {
	case c.cfg.batch > 1:
		// A batch of puts travels as a merge of import kind (the bench's
		// own convention; a replica's merge is of write kind).
		b := &messages.ReplicaMergeRequest{Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_IMPORT}
		for i := range c.cfg.batch {
			k := key
			if i > 0 {
				k = []byte(fmt.Sprintf("key-%08d", rng.IntN(c.cfg.load.Keys)))
			}
			b.Items = append(b.Items, &messages.KeySet{Key: k, Set: &messages.VersionSet{Siblings: []*messages.Sibling{{Value: c.value}}}})
		}
		env = messages.Wrap(id, b)
	case c.cfg.load.Workload == "put":
		env = messages.Wrap(id, &messages.PutRequest{Key: key, Value: c.value, W: 2, TimeoutMs: 1000})
	}
	node := c.nodes[rng.IntN(len(c.nodes))]
	if c.cfg.futures {
		f := actor.NewFuture(c.sys.Actors, c.cfg.load.Timeout)
		c.link.send(node, env, f.PID())
		res, err := f.Result()
		if err != nil {
			return err
		}
		if r, ok := res.(*messages.Envelope); !ok || r.GetRequestId() != id {
			return fmt.Errorf("unexpected reply %T", res)
		}
		return nil
	}
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	c.link.send(node, env, c.self)
	t := time.NewTimer(c.cfg.load.Timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return fmt.Errorf("request %d: %w", id, context.DeadlineExceeded)
	}
}

// runWireChild is a node process of bench wire: ADDR PEERS VALUE-SIZE
// SPAWN PROFILE-DIR (empty: no profile) COALESCE (the window; 0: none). It prints "ready" once its node actor is up and stops at EOF on
// stdin.
func runWireChild(args []string, stdout, stderr io.Writer) int {
	if len(args) != 6 {
		fmt.Fprintln(stderr, "bench _wire: want ADDR PEERS VALUE-SIZE SPAWN PROFILE-DIR COALESCE")
		return 2
	}
	size, err1 := strconv.Atoi(args[2])
	spawn, err2 := strconv.ParseBool(args[3])
	coalesce, err3 := strconv.Atoi(args[5])
	if err1 != nil || err2 != nil || err3 != nil || coalesce < 0 {
		fmt.Fprintf(stderr, "bench _wire: bad arguments %q\n", args)
		return 2
	}
	sys, err := remoting.StartSystem(remoting.SystemConfig{Addr: args[0], QueueSize: remoting.DefaultSystemConfig().QueueSize})
	if err != nil {
		fmt.Fprintf(stderr, "bench _wire: %v\n", err)
		return 1
	}
	defer sys.Stop()
	if dir := args[4]; dir != "" {
		_, port, _ := net.SplitHostPort(args[0])
		stop, err := startCPUProfile(filepath.Join(dir, "wire-"+port+".cpu.pprof"))
		if err != nil {
			fmt.Fprintf(stderr, "bench _wire: %v\n", err)
			return 1
		}
		defer stop()
	}
	// The node's actors run on the worker pool, as a dynamo node's
	// request-path actors do.
	n := &wireNode{value: make([]byte, size), spawn: spawn, pending: map[uint64]*wireRequest{}, name: args[0], pool: sys.Pool,
		link: newWireLink(sys.Root(), sys.Address(), coalesce)}
	if _, err := remoting.SpawnNamed(sys.Root(), muxProps(n.link, actor.WithDispatcher(sys.Pool)), wireMuxName); err != nil {
		fmt.Fprintf(stderr, "bench _wire: %v\n", err)
		return 1
	}
	if coalesce > 0 {
		defer func() {
			fmt.Fprintf(stderr, "bench: wire node %s sent %d messages in %d batches\n", args[0], n.link.messages.Load(), n.link.batches.Load())
		}()
	}
	for _, p := range strings.Split(args[1], ",") {
		n.peers = append(n.peers, actor.NewPID(p, wireNodeName))
	}
	if _, err := remoting.SpawnNamed(sys.Root(), actor.PropsFromProducer(func() actor.Actor { return n }, actor.WithDispatcher(sys.Pool)), wireNodeName); err != nil {
		fmt.Fprintf(stderr, "bench _wire: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// wireNode is a wire node's actor: it coordinates requests (itself, or by
// a spawned actor each) and answers replica requests.
type wireNode struct {
	pool    actor.Dispatcher
	link    *wireLink
	name    string
	peers   []*actor.PID
	value   []byte
	spawn   bool
	next    uint64
	pending map[uint64]*wireRequest
}

// wireRequest is a request being coordinated.
type wireRequest struct {
	client *actor.PID
	id     uint64
	put    bool
	batch  int // puts in the request when it is a batch, else 0
	acks   int
}

func (n *wireNode) Receive(ctx actor.Context) {
	env, ok := ctx.Message().(*messages.Envelope)
	if !ok {
		return
	}
	switch {
	case env.GetPut() != nil || env.GetGet() != nil:
		n.next++
		if n.spawn {
			req, id := &wireRequest{client: ctx.Sender(), id: env.GetRequestId(), put: env.GetPut() != nil}, n.next
			ctx.Spawn(actor.PropsFromFunc(func(c actor.Context) {
				switch m := c.Message().(type) {
				case *actor.Started:
					n.fanOut(c, req, env, id)
				case *messages.Envelope:
					if n.answer(c, req, m) {
						c.Stop(c.Self())
					}
				}
			}, actor.WithDispatcher(n.pool)))
			return
		}
		req := &wireRequest{client: ctx.Sender(), id: env.GetRequestId(), put: env.GetPut() != nil}
		n.pending[n.next] = req
		n.fanOut(ctx, req, env, n.next)
	case env.GetReplicaMerge().GetKind() == messages.ReplicaPutKind_REPLICA_PUT_KIND_IMPORT:
		b := env.GetReplicaMerge()
		if n.spawn {
			// The coordinators a node would spawn, one per put; the
			// coalescing layer carries their messages.
			for range b.GetItems() {
				ctx.Spawn(actor.PropsFromFunc(func(c actor.Context) {
					if _, ok := c.Message().(*actor.Started); ok {
						c.Stop(c.Self())
					}
				}, actor.WithDispatcher(n.pool)))
			}
		}
		n.next++
		req := &wireRequest{client: ctx.Sender(), id: env.GetRequestId(), put: true, batch: len(b.GetItems())}
		n.pending[n.next] = req
		out := &messages.ReplicaMergeRequest{Partition: 1, Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE}
		for _, it := range b.GetItems() {
			set := n.set(n.next)
			set.Siblings[0].Value = it.GetSet().GetSiblings()[0].GetValue()
			out.Items = append(out.Items, &messages.KeySet{Key: it.GetKey(), Set: set})
		}
		for _, peer := range n.peers {
			n.link.send(peer, messages.Wrap(n.next, out), ctx.Self())
		}
	case env.GetReplicaMerge() != nil:
		n.link.send(ctx.Sender(), messages.Wrap(env.GetRequestId(), &messages.ReplicaMergeReply{Partition: 1, Node: n.name, Changed: uint32(len(env.GetReplicaMerge().GetItems()))}), nil)
	case env.GetReplicaPut() != nil:
		n.link.send(ctx.Sender(), messages.Wrap(env.GetRequestId(), &messages.ReplicaPutReply{Partition: env.GetReplicaPut().GetPartition(), Node: n.name, Changed: true}), nil)
	case env.GetReplicaGet() != nil:
		n.link.send(ctx.Sender(), messages.Wrap(env.GetRequestId(), &messages.ReplicaGetReply{Partition: env.GetReplicaGet().GetPartition(), Node: n.name, Found: true, Set: n.set(1)}), nil)
	default:
		req := n.pending[env.GetRequestId()]
		if req != nil && n.answer(ctx, req, env) {
			delete(n.pending, env.GetRequestId())
		}
	}
}

// set is a version set of one sibling holding the node's value.
func (n *wireNode) set(counter uint64) *messages.VersionSet {
	return &messages.VersionSet{
		Clock:    []*messages.ClockEntry{{Actor: n.name + "@1", Counter: counter, UpdatedMs: time.Now().UnixMilli()}},
		Siblings: []*messages.Sibling{{Dot: &messages.Dot{Actor: n.name + "@1", Counter: counter}, Value: n.value, TimestampNs: time.Now().UnixNano()}},
	}
}

// fanOut sends a request's replica requests, numbered id: a put to both
// peers, a get to one.
func (n *wireNode) fanOut(ctx actor.Context, req *wireRequest, env *messages.Envelope, id uint64) {
	if req.put {
		p := env.GetPut()
		set := n.set(id)
		set.Siblings[0].Value = p.GetValue()
		out := messages.Wrap(id, &messages.ReplicaPutRequest{Partition: 1, Key: p.GetKey(), Set: set, Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE})
		for _, peer := range n.peers {
			n.link.send(peer, out, ctx.Self())
		}
		return
	}
	n.link.send(n.peers[id%uint64(len(n.peers))], messages.Wrap(id, &messages.ReplicaGetRequest{Partition: 1, Key: env.GetGet().GetKey()}), ctx.Self())
}

// answer counts a replica's reply and answers the client at the first;
// it reports whether the request is done (every reply in).
func (n *wireNode) answer(ctx actor.Context, req *wireRequest, reply *messages.Envelope) bool {
	req.acks++
	if req.acks == 1 {
		var out *messages.Envelope
		switch {
		case req.batch > 0:
			out = messages.Wrap(req.id, &messages.ReplicaMergeReply{Node: n.name, Changed: uint32(req.batch)})
		case req.put:
			out = messages.Wrap(req.id, &messages.PutReply{Context: []byte(n.name), Acked: 2})
		default:
			out = messages.Wrap(req.id, &messages.GetReply{Found: true, Values: [][]byte{n.value}, Context: []byte(n.name)})
		}
		n.link.send(req.client, out, nil)
	}
	return !req.put || req.acks == len(n.peers)
}
