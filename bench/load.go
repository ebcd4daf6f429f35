package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/node"
	"github.com/dynamokv/dynamo/ring"
)

// Limits of the load flags.
const (
	maxValueSize   = 1 << 20 // the nodes' limit
	maxConcurrency = 10_000
	maxNodes       = 16
	maxTimeout     = time.Minute
	// preloadWorkers is the least concurrency of the preload.
	preloadWorkers = 128
	// siblingSample is how many keys are read after a run that wrote, to
	// report the most siblings a key holds.
	siblingSample = 10
)

// loadConfig is what `bench load` runs, from its flags.
type loadConfig struct {
	Workload    string   `json:"workload"`
	Keys        int      `json:"keys"`
	ValueSize   int      `json:"value_size"`
	Concurrency int      `json:"concurrency"`
	Clients     int      `json:"clients"`
	N           int      `json:"n"`
	R           int      `json:"r"`
	W           int      `json:"w"`
	Nodes       int      `json:"nodes"`
	Seeds       []string `json:"seeds,omitempty"`
	Partitions  int      `json:"partitions,omitempty"`
	Fsync       bool     `json:"fsync"`
	// DurableWrites is the local nodes' --durable-writes: all or one.
	DurableWrites string `json:"durable_writes"`
	durable       coordinator.Durability
	// Speculate is the local nodes' --read-speculate-after, and the
	// clients' with ClientReads.
	Speculate    time.Duration `json:"-"`
	SpeculateStr string        `json:"read_speculate_after,omitempty"`
	Dist         string        `json:"dist"`
	Duration     time.Duration `json:"-"`
	DurationStr  string        `json:"duration,omitempty"`
	Ops          int64         `json:"ops,omitempty"`
	Seed         uint64        `json:"seed"`
	Preload      bool          `json:"preload"`
	LWW          bool          `json:"lww,omitempty"`
	ClientReads  bool          `json:"client_reads,omitempty"`
	Timeout      time.Duration `json:"-"`
	TimeoutMs    int64         `json:"timeout_ms"`
	// Vs are the peers run after the dynamo run on the same cores
	// (--vs), in order.
	Vs []string `json:"vs,omitempty"`
	// Refill: the last local node's data directory is wiped after the
	// preload and the node restarted as the measured run begins.
	Refill bool `json:"refill,omitempty"`
	// AntiEntropyRate and NoAdmissionControl are the local nodes'
	// --anti-entropy-rate (0: default) and --no-admission-control.
	AntiEntropyRate    int  `json:"anti_entropy_rate,omitempty"`
	NoAdmissionControl bool `json:"no_admission_control,omitempty"`

	json         bool
	vsRedis      bool // --vs-redis: "redis" is in Vs
	progress     bool
	listenAddr   string
	fastGossip   bool
	cpuProfile   string
	profileNodes string
	wl           workload
}

func loadUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, `usage: bench load [flags]

Drives a dynamo cluster with a YCSB-style workload and reports throughput and
latency percentiles (HDR histograms, 1 µs to 60 s, 3 significant digits).

Without --seeds it starts its own cluster of --nodes real node processes
(this binary, re-executed) on loopback, in a temporary directory removed at
exit. --concurrency workers each issue one request at a time for --duration,
or until --ops requests were issued (--ops wins when both are given).

Workloads:`)
	for _, wl := range workloads {
		fmt.Fprintf(w, "  %-4s %s\n", wl.name, wl.desc)
	}
	fmt.Fprintln(w, `
Keys are key-00000000 .. key-<keys-1>. Workloads that read load every key
first (not measured; --preload=false skips it). Writes send the newest causal
context the bench has seen for the key (from its own last get or put), as a
read-before-write client would, so keys do not pile up siblings; --lww makes
them last-write-wins instead. --dist zipfian picks key i with probability
proportional to 1/(i+1)^1.01 (math/rand's Zipf; YCSB uses 0.99, which
math/rand does not allow), seeded by --seed.

A progress line (ops/s over the last second, errors, p99 so far) goes to
stderr when it is a terminal (never with --json unless --progress). --json
prints one JSON object on stdout and nothing else.

--vs runs peers after the dynamo run, on the same cores (the local nodes are
stopped first), and reports dynamo's throughput over each's:
  redis  redis-benchmark against a local redis-server (no persistence) with
         the same keys, value size and concurrency (--vs-redis is short for it)
  olric  a cluster of 3 Olric member processes (github.com/buraksezer/olric
         v0.5.7; in memory, replicas 3, read/write quorum 2/2, sync
         replication) driven through Olric's Go cluster client with the same
         workload, keys, value size, workers, length, seed and preload. Its
         program (the module bench/olric) is built with go build on first use
         and kept in the user cache directory: that needs Go on PATH and the
         module proxy or a module cache that holds Olric.

Flags:`)
	fs.PrintDefaults()
}

// parseLoad parses and checks the flags; an error names the flag at fault.
func parseLoad(args []string, stderr io.Writer) (loadConfig, error) {
	var c loadConfig
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Workload, "workload", "A", "A, B, C, F, put or get (see above)")
	fs.IntVar(&c.Keys, "keys", 100_000, "number of distinct keys")
	fs.IntVar(&c.ValueSize, "value-size", 100, "value size, bytes (1 to 1 MiB)")
	fs.IntVar(&c.Concurrency, "concurrency", 50, "workers, each with one request in flight")
	fs.IntVar(&c.Clients, "clients", 1, "Go clients the workers share, round-robin (each its own actor system and connections)")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long the measured run lasts")
	fs.Int64Var(&c.Ops, "ops", 0, "stop after this many requests instead (wins over --duration)")
	fs.IntVar(&c.N, "n", 3, "replicas per key of the local cluster (--nodes); ignored with --seeds")
	fs.IntVar(&c.R, "r", 2, "read quorum of each get; 0: the cluster's default")
	fs.IntVar(&c.W, "w", 2, "write quorum of each put; 0: the cluster's default")
	fs.IntVar(&c.Nodes, "nodes", 0, "start a local cluster of this many node processes (default 3 when --seeds is not given)")
	seeds := fs.String("seeds", "", "comma-separated actor addresses of a running cluster's nodes, instead of --nodes")
	fs.IntVar(&c.Partitions, "partitions", 64, "Q of the local cluster (power of two, 8..1024)")
	fs.BoolVar(&c.Fsync, "fsync", true, "local cluster: fsync every write (production durability); --fsync=false passes NoSync")
	fs.StringVar(&c.DurableWrites, "durable-writes", "all", "local cluster: the nodes' --durable-writes, all or one (one: the coordinator's copy is fsynced before the answer, the others within 10 ms)")
	fs.DurationVar(&c.Speculate, "read-speculate-after", node.DefaultReadSpeculateAfter, "the local nodes' --read-speculate-after, and the clients' with --client-reads (0: reads ask every replica at once)")
	fs.BoolVar(&c.fastGossip, "fast-gossip", false, "local cluster: sub-second failure detection timings")
	fs.StringVar(&c.Dist, "dist", distUniform, "key distribution: uniform or zipfian (s=1.01, key 0 hottest)")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed for operations and keys (0: from the clock; printed)")
	fs.BoolVar(&c.Preload, "preload", true, "write every key before a workload that reads (not measured)")
	fs.BoolVar(&c.LWW, "lww", false, "last-write-wins requests instead of causal contexts and siblings")
	fs.BoolVar(&c.ClientReads, "client-reads", false, "the clients coordinate gets themselves (client.Config.CoordinateReads) instead of a node")
	fs.DurationVar(&c.Timeout, "timeout", time.Second, "request deadline sent to the nodes")
	vs := fs.String("vs", "", "comma-separated `LIST` of peers to run after the dynamo run, on the same cores, and compare with: redis (redis-benchmark against a local redis-server, no persistence, same keys, value size and concurrency), olric (a cluster of 3 Olric member processes, replicas 3, read/write quorum 2/2, in memory, with the same workload through Olric's Go client; built with go build on first use)")
	fs.BoolVar(&c.vsRedis, "vs-redis", false, "shorthand for --vs redis")
	fs.BoolVar(&c.Refill, "refill", false, "local cluster with --n equal to --nodes: after the preload, wipe the last node's data directory and restart it as the measured run begins; report when anti-entropy has refilled it (it holds every key)")
	fs.IntVar(&c.AntiEntropyRate, "anti-entropy-rate", 0, "local cluster: the nodes' --anti-entropy-rate, keys per second (0: their default)")
	fs.BoolVar(&c.NoAdmissionControl, "no-admission-control", false, "local cluster: the nodes' --no-admission-control (background work at its configured rates whatever the foreground suffers)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object on stdout instead of the table")
	fs.BoolVar(&c.progress, "progress", false, "show the progress line even when stderr is not a terminal or with --json")
	fs.StringVar(&c.listenAddr, "listen-addr", "127.0.0.1:0", "the clients' own remoting address; the nodes must reach it")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (the clients) to this file")
	fs.StringVar(&c.profileNodes, "cpuprofile-nodes", "", "local cluster: each node writes a CPU profile of its life to DIR/<name>.cpu.pprof")
	fs.Usage = func() { loadUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Seeds = splitList(*seeds)
	vsList, err := parseVs(*vs, c.vsRedis)
	if err != nil {
		return c, err
	}
	c.Vs = vsList
	wl, err := findWorkload(c.Workload)
	if err != nil {
		return c, fmt.Errorf("--workload: %v", err)
	}
	c.wl, c.Workload = wl, wl.name
	switch {
	case c.Keys < 1:
		return c, fmt.Errorf("--keys must be at least 1, got %d", c.Keys)
	case c.Keys > 100_000_000:
		return c, fmt.Errorf("--keys must be at most 100000000, got %d", c.Keys)
	case c.ValueSize < 1 || c.ValueSize > maxValueSize:
		return c, fmt.Errorf("--value-size must be from 1 to %d bytes, got %d", maxValueSize, c.ValueSize)
	case c.Concurrency < 1 || c.Concurrency > maxConcurrency:
		return c, fmt.Errorf("--concurrency must be from 1 to %d, got %d", maxConcurrency, c.Concurrency)
	case c.Clients < 1 || c.Clients > c.Concurrency:
		return c, fmt.Errorf("--clients must be from 1 to --concurrency (%d), got %d", c.Concurrency, c.Clients)
	case c.Ops < 0:
		return c, fmt.Errorf("--ops must not be negative, got %d", c.Ops)
	case c.Ops == 0 && c.Duration <= 0:
		return c, fmt.Errorf("--duration must be positive, got %v", c.Duration)
	case c.Timeout <= 0 || c.Timeout > maxTimeout:
		return c, fmt.Errorf("--timeout must be above 0 and at most %v, got %v", maxTimeout, c.Timeout)
	case c.Dist != distUniform && c.Dist != distZipfian:
		return c, fmt.Errorf("--dist must be uniform or zipfian, got %q", c.Dist)
	case c.R < 0:
		return c, fmt.Errorf("--r must not be negative, got %d", c.R)
	case c.W < 0:
		return c, fmt.Errorf("--w must not be negative, got %d", c.W)
	}
	if len(c.Seeds) > 0 {
		if c.Nodes != 0 {
			return c, errors.New("--seeds and --nodes exclude each other: run against a cluster or start one")
		}
		if c.profileNodes != "" {
			return c, errors.New("--cpuprofile-nodes needs a local cluster (--nodes), not --seeds")
		}
		// N, and so the limit of R and W, is the cluster's: checked
		// once connected.
		c.N, c.Partitions = 0, 0
	} else {
		if c.Nodes == 0 {
			c.Nodes = 3
		}
		switch {
		case c.Nodes < 1 || c.Nodes > maxNodes:
			return c, fmt.Errorf("--nodes must be from 1 to %d, got %d", maxNodes, c.Nodes)
		case c.N < 1 || c.N > ring.MaxN:
			return c, fmt.Errorf("--n must be from 1 to %d, got %d", ring.MaxN, c.N)
		case c.N > c.Nodes:
			return c, fmt.Errorf("--n %d exceeds --nodes %d: each key needs n distinct nodes", c.N, c.Nodes)
		case c.R > c.N:
			return c, fmt.Errorf("--r %d exceeds --n %d", c.R, c.N)
		case c.W > c.N:
			return c, fmt.Errorf("--w %d exceeds --n %d", c.W, c.N)
		}
		if err := ring.ValidatePartitions(c.Partitions); err != nil {
			return c, fmt.Errorf("--partitions: %v", err)
		}
	}
	if c.Refill && (len(c.Seeds) > 0 || c.N != c.Nodes || !c.wl.preload || !c.Preload) {
		return c, errors.New("--refill needs a local cluster whose --n equals --nodes (every node holds every key), and a preload")
	}
	if c.AntiEntropyRate < 0 {
		return c, fmt.Errorf("--anti-entropy-rate must not be negative, got %d", c.AntiEntropyRate)
	}
	if c.durable, err = coordinator.ParseDurability(c.DurableWrites); err != nil {
		return c, fmt.Errorf("--durable-writes: %v", err)
	}
	if c.Speculate < 0 {
		return c, fmt.Errorf("--read-speculate-after %v is negative", c.Speculate)
	}
	if len(c.Seeds) == 0 {
		c.SpeculateStr = c.Speculate.String()
	}
	if c.Ops > 0 {
		c.Duration = 0
	} else {
		c.DurationStr = c.Duration.String()
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	c.TimeoutMs = c.Timeout.Milliseconds()
	return c, nil
}

// loadReport is the --json output.
type loadReport struct {
	Config    loadConfig     `json:"config"`
	Machine   machine        `json:"machine"`
	Commit    string         `json:"commit"`
	GoVersion string         `json:"go_version"`
	Started   string         `json:"started"`
	Preload   *preloadResult `json:"preload,omitempty"`
	ElapsedS  float64        `json:"elapsed_s"`
	// MachineBusy is the fraction of the machine's CPU time that was busy
	// during the measured run (every process, the nodes' and the
	// clients'); CPUPerOpUs is that CPU time over the operations, in
	// microseconds. 0 where /proc/stat is not there.
	MachineBusy float64 `json:"machine_busy"`
	CPUPerOpUs  float64 `json:"cpu_per_op_us"`
	Interrupted bool    `json:"interrupted,omitempty"`
	// MaxSiblings is the most values a key held among a few keys read
	// after a run that wrote (the hottest under zipfian); -1 when not
	// checked.
	MaxSiblings int        `json:"max_siblings_sampled"`
	Results     []opResult `json:"results"`
	Total       opResult   `json:"total"`
	// NodeMemory is each local node's memory and disk use at the end
	// (--nodes only).
	NodeMemory []nodeMemory `json:"node_memory,omitempty"`
	// Redis is the --vs redis reference run.
	Redis *redisResult `json:"redis,omitempty"`
	// Olric is the --vs olric run.
	Olric *olricResult `json:"olric,omitempty"`
	// Refill is how the wiped node refilled (--refill).
	Refill *refillResult `json:"refill,omitempty"`
}

type preloadResult struct {
	Keys     int     `json:"keys"`
	Seconds  float64 `json:"seconds"`
	KeysPerS float64 `json:"keys_per_sec"`
	Errors   int64   `json:"errors"`
}

func runLoad(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseLoad(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !strings.Contains(err.Error(), "flag provided but not defined") && !strings.Contains(err.Error(), "invalid value") {
			fmt.Fprintf(stderr, "bench load: %v\n", err)
		}
		return 2
	}
	if cfg.cpuProfile != "" {
		stop, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "bench load: --cpuprofile: %v\n", err)
			return 1
		}
		defer stop()
	}
	// The first SIGINT or SIGTERM ends the run (or its preparation);
	// the nodes are stopped and removed either way.
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	rep, err := load(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench load: %v\n", err)
		return 1
	}
	if cfg.json {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
	} else {
		printReport(stdout, rep)
	}
	if rep.Interrupted {
		fmt.Fprintln(stderr, "bench load: interrupted")
		return 1
	}
	return 0
}

// load runs the benchmark: cluster, clients, preload, measured run.
func load(ctx context.Context, cfg loadConfig, log io.Writer) (*loadReport, error) {
	rep := &loadReport{Config: cfg, Machine: machineInfo(), Commit: gitCommit(), GoVersion: runtime.Version(),
		Started: time.Now().UTC().Format(time.RFC3339), MaxSiblings: -1}
	fmt.Fprintf(log, "bench: seed %d\n", cfg.Seed)
	var olricBin string
	if cfg.vs(peerOlric) {
		// Built (or found in the cache) before anything is measured: a
		// build failure shows at once, and the build's CPU does not
		// overlap a run.
		var err error
		if olricBin, err = buildOlric(ctx, log); err != nil {
			return nil, err
		}
	}
	seeds := cfg.Seeds
	var lc *localCluster
	if cfg.Nodes > 0 {
		var err error
		lc, err = startLocalCluster(ctx, clusterSpec{nodes: cfg.Nodes, partitions: cfg.Partitions, n: cfg.N, r: cfg.R, w: cfg.W,
			noSync: !cfg.Fsync, speculate: cfg.Speculate, durable: cfg.durable, fastGossip: cfg.fastGossip, profileDir: cfg.profileNodes,
			aeRate: cfg.AntiEntropyRate, noAdmission: cfg.NoAdmissionControl, log: log})
		if err != nil {
			return nil, err
		}
		defer lc.stop()
		seeds = lc.seeds()
	}
	clients := make([]*client.Client, 0, cfg.Clients)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range cfg.Clients {
		c, err := client.New(ctx, client.Config{Seeds: seeds, ListenAddr: cfg.listenAddr, Timeout: cfg.Timeout, CoordinateReads: cfg.ClientReads, ReadSpeculateAfter: cfg.Speculate})
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	m, err := clients[0].Members(ctx)
	if err != nil {
		return nil, err
	}
	if len(cfg.Seeds) > 0 {
		switch {
		case cfg.R > m.N:
			return nil, fmt.Errorf("--r %d exceeds the cluster's n %d", cfg.R, m.N)
		case cfg.W > m.N:
			return nil, fmt.Errorf("--w %d exceeds the cluster's n %d", cfg.W, m.N)
		}
		rep.Config.N, rep.Config.Partitions, rep.Config.Nodes = m.N, m.Partitions, len(m.Members)
	}
	if rep.Config.R == 0 {
		rep.Config.R = m.R
	}
	if rep.Config.W == 0 {
		rep.Config.W = m.W
	}
	fmt.Fprintf(log, "bench: %d members (%s answered), n/r/w %d/%d/%d, Q %d\n", len(m.Members), m.Node, m.N, rep.Config.R, rep.Config.W, m.Partitions)

	g := newGenerator(cfg, clients)
	if cfg.wl.preload && cfg.Preload {
		fmt.Fprintf(log, "bench: preloading %d keys\n", cfg.Keys)
		p, err := g.preload(ctx)
		if err != nil {
			return nil, err
		}
		rep.Preload = p
		fmt.Fprintf(log, "bench: preloaded %d keys in %.1f s (%.0f keys/s, %d errors)\n", p.Keys, p.Seconds, p.KeysPerS, p.Errors)
	}
	var refilled func() *refillResult
	if cfg.Refill {
		if refilled, err = startRefill(ctx, lc, clients[0], cfg.Keys, log); err != nil {
			return nil, err
		}
	}
	showProgress := cfg.progress || (!cfg.json && isTerminal(log))
	cpu0 := readCPUTimes()
	elapsed := g.run(ctx, log, showProgress)
	busy := cpu0.busySince()
	if refilled != nil {
		rep.Refill = refilled()
	}
	rep.ElapsedS = round(elapsed.Seconds(), 3)
	rep.Interrupted = ctx.Err() != nil
	rows := g.rec.results(elapsed)
	rep.Results = rows
	rep.Total = rows[len(rows)-1]
	rep.MachineBusy = round(busy, 3)
	rep.CPUPerOpUs = round(cpuPerOp(busy, rep.Machine.Cores, elapsed, rep.Total.Count), 1)
	if len(rows) > 1 {
		rep.Results = rows[:len(rows)-1]
	} else {
		rep.Total.Op = "total"
	}
	if !rep.Interrupted && !cfg.LWW && cfg.wl.writes() {
		rep.MaxSiblings = g.maxSiblings(ctx)
	}
	if lc != nil {
		rep.NodeMemory = lc.memory()
		lc.stop() // before Redis runs on the same cores
		for i := range rep.NodeMemory {
			rep.NodeMemory[i].Wire = lc.wire[rep.NodeMemory[i].Name]
		}
	}
	for _, peer := range cfg.Vs {
		if rep.Interrupted {
			break
		}
		switch peer {
		case peerRedis:
			// As many requests per Redis test as the run made, at least
			// 100k, so that Redis runs for a comparable time.
			fmt.Fprintf(log, "bench: running redis-benchmark with the same keys, value size and concurrency\n")
			r, err := runRedis(ctx, cfg, int(max(100_000, rep.Total.Count*4)))
			if err != nil {
				return nil, err
			}
			r.Ratio = round(redisRatio(rep, r), 3)
			rep.Redis = r
		case peerOlric:
			fmt.Fprintf(log, "bench: running the same workload against %d Olric members\n", olricMembers)
			o, err := runOlric(ctx, cfg, olricBin, log)
			if err != nil {
				return nil, err
			}
			ratio, byOp := olricRatio(rep, o)
			o.Ratio, o.OpRatios = round(ratio, 3), byOp
			rep.Olric = o
		}
	}
	return rep, nil
}

// The peers --vs knows.
const (
	peerRedis = "redis"
	peerOlric = "olric"
)

var knownPeers = []string{peerRedis, peerOlric}

// parseVs reads --vs: a comma-separated list of known peers, each once, in
// the order given; --vs-redis adds redis.
func parseVs(list string, vsRedis bool) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range splitList(list) {
		if p = strings.ToLower(strings.TrimSpace(p)); p == "" {
			continue
		}
		if !slices.Contains(knownPeers, p) {
			return nil, fmt.Errorf("--vs: unknown peer %q (allowed: %s)", p, strings.Join(knownPeers, ", "))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if vsRedis && !seen[peerRedis] {
		out = append(out, peerRedis)
	}
	return out, nil
}

// vs reports whether peer runs after the dynamo run.
func (c loadConfig) vs(peer string) bool { return slices.Contains(c.Vs, peer) }

// writes reports whether the workload writes.
func (w workload) writes() bool {
	for _, m := range w.mix {
		if m.op == opUpdate || m.op == opRMW || m.op == opPut {
			return true
		}
	}
	return false
}

// generator issues the requests of a run.
type generator struct {
	cfg     loadConfig
	clients []*client.Client
	keys    [][]byte
	// contexts[i] is the newest causal context seen for key i.
	contexts []atomic.Pointer[client.Context]
	rec      *recorder
	template []byte // random bytes values start from
	issued   atomic.Int64
}

func newGenerator(cfg loadConfig, clients []*client.Client) *generator {
	g := &generator{cfg: cfg, clients: clients, keys: make([][]byte, cfg.Keys),
		contexts: make([]atomic.Pointer[client.Context], cfg.Keys), rec: newRecorder(cfg.wl.ops())}
	for i := range g.keys {
		g.keys[i] = keyName(i)
	}
	r := workerRand(cfg.Seed, -1)
	g.template = make([]byte, cfg.ValueSize)
	for i := range g.template {
		g.template[i] = byte(r.IntN(256))
	}
	return g
}

func (g *generator) readOpts() []client.Option {
	o := []client.Option{client.R(g.cfg.R), client.Timeout(g.cfg.Timeout)}
	if g.cfg.LWW {
		o = append(o, client.LWW())
	}
	return o
}

func (g *generator) writeOpts() []client.Option {
	o := []client.Option{client.W(g.cfg.W), client.Timeout(g.cfg.Timeout)}
	if g.cfg.LWW {
		o = append(o, client.LWW())
	}
	return o
}

// value is a fresh value: the template with seq in its first bytes (a
// request may still be queued after its call returns, so values are never
// reused).
func (g *generator) value(seq uint64) []byte {
	v := make([]byte, len(g.template))
	copy(v, g.template)
	if len(v) >= 8 {
		binary.LittleEndian.PutUint64(v, seq)
	}
	return v
}

func (g *generator) remember(k int, vctx client.Context) {
	if !vctx.IsZero() {
		g.contexts[k].Store(&vctx)
	}
}

func (g *generator) context(k int) client.Context {
	if p := g.contexts[k].Load(); p != nil {
		return *p
	}
	return client.Context{}
}

// do performs one operation on key k; found is false for a read of an
// absent key.
func (g *generator) do(ctx context.Context, c *client.Client, op opKind, k int, seq uint64) (found bool, err error) {
	key := g.keys[k]
	switch op {
	case opRead, opGet:
		obj, err := c.Get(ctx, key, g.readOpts()...)
		if err != nil {
			return false, err
		}
		g.remember(k, obj.Context)
		return obj.Found, nil
	case opUpdate, opPut:
		vctx, err := c.Put(ctx, key, g.value(seq), g.context(k), g.writeOpts()...)
		if err != nil {
			return false, err
		}
		g.remember(k, vctx)
		return true, nil
	case opRMW:
		obj, err := c.Get(ctx, key, g.readOpts()...)
		if err != nil {
			return false, err
		}
		vctx, err := c.Put(ctx, key, g.value(seq), obj.Context, g.writeOpts()...)
		if err != nil {
			return false, err
		}
		g.remember(k, vctx)
		return obj.Found, nil
	}
	return false, fmt.Errorf("unknown operation %d", op)
}

// preload writes every key once, with many workers, and is not measured.
// A key that fails is retried twice.
func (g *generator) preload(ctx context.Context) (*preloadResult, error) {
	workers := min(max(g.cfg.Concurrency, preloadWorkers), g.cfg.Keys)
	var next atomic.Int64
	var failed atomic.Int64
	var lastErr atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := g.clients[w%len(g.clients)]
			for {
				k := int(next.Add(1) - 1)
				if k >= g.cfg.Keys || ctx.Err() != nil {
					return
				}
				var err error
				for range 3 {
					if _, err = g.do(ctx, c, opPut, k, uint64(k)); err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					lastErr.Store(&err)
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("preload interrupted: %w", ctx.Err())
	}
	el := time.Since(start)
	p := &preloadResult{Keys: g.cfg.Keys, Seconds: round(el.Seconds(), 2), KeysPerS: round(float64(g.cfg.Keys)/el.Seconds(), 1), Errors: failed.Load()}
	if p.Errors > int64(g.cfg.Keys)/100 {
		return nil, fmt.Errorf("preload: %d of %d keys failed (last: %v)", p.Errors, g.cfg.Keys, *lastErr.Load())
	}
	return p, nil
}

// run is the measured run; it returns its elapsed time. It ends early when
// ctx ends (operations cut short by that are not counted).
func (g *generator) run(ctx context.Context, log io.Writer, progress bool) time.Duration {
	cfg := g.cfg
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := workerRand(cfg.Seed, w)
			keys, _ := newKeyChooser(cfg.Dist, cfg.Keys, r) // the flag was checked
			c := g.clients[w%len(g.clients)]
			for {
				if ctx.Err() != nil {
					return
				}
				seq := g.issued.Add(1)
				if cfg.Ops > 0 {
					if seq > cfg.Ops {
						return
					}
				} else if !time.Now().Before(end) {
					return
				}
				op := cfg.wl.pick(r.Float64())
				k := keys.next()
				t0 := time.Now()
				found, err := g.do(ctx, c, op, k, uint64(seq))
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return // interrupted: not a result
				}
				g.rec.stats[op].record(d, err, found)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if progress {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		lastOK, lastT := int64(0), start
	loop:
		for {
			select {
			case <-done:
				break loop
			case now := <-tick.C:
				ok, failed := g.rec.totals()
				rate := float64(ok-lastOK) / now.Sub(lastT).Seconds()
				lastOK, lastT = ok, now
				fmt.Fprint(log, progressLine(now.Sub(start), rate, failed, g.rec.merged().ValueAtQuantile(99)))
			}
		}
		fmt.Fprintln(log)
	}
	<-done
	return time.Since(start)
}

// maxSiblings reads the first keys (the hottest under zipfian) and returns
// the most values one holds; -1 when none could be read.
func (g *generator) maxSiblings(ctx context.Context) int {
	most := -1
	for k := range min(siblingSample, g.cfg.Keys) {
		obj, err := g.clients[0].Get(ctx, g.keys[k], g.readOpts()...)
		if err == nil {
			most = max(most, len(obj.Values))
		}
	}
	return most
}

// printReport writes the human-readable report.
func printReport(w io.Writer, rep *loadReport) {
	c := rep.Config
	var mix []string
	for _, m := range c.wl.mix {
		mix = append(mix, fmt.Sprintf("%d%% %s", m.percent, m.op))
	}
	where := fmt.Sprintf("%d local node processes (Q %d, fsync %v, durable writes %v, read-speculate-after %v)", c.Nodes, c.Partitions, c.Fsync, c.durable, c.Speculate)
	if len(c.Seeds) > 0 {
		where = fmt.Sprintf("cluster of %d members at %s (Q %d)", c.Nodes, strings.Join(c.Seeds, ","), c.Partitions)
	}
	length := c.DurationStr
	if c.Ops > 0 {
		length = fmt.Sprintf("%d ops", c.Ops)
	}
	clients := "client(s)"
	if c.ClientReads {
		clients = "client(s) coordinating reads"
	}
	fmt.Fprintf(w, "workload %s (%s), %d keys %s, %d-byte values, %d workers on %d %s, n/r/w %d/%d/%d, %s, %s, seed %d\n",
		c.Workload, strings.Join(mix, ", "), c.Keys, c.Dist, c.ValueSize, c.Concurrency, c.Clients, clients, c.N, c.R, c.W, where, length, c.Seed)
	fmt.Fprintf(w, "machine: %d cores, %.1f GiB, %s; commit %s; %s; %s\n", rep.Machine.Cores, float64(rep.Machine.MemoryBytes)/(1<<30),
		rep.Machine.CPU, rep.Commit, rep.GoVersion, rep.Started)
	if p := rep.Preload; p != nil {
		fmt.Fprintf(w, "preload: %d keys in %.1f s (%.0f keys/s), %d errors\n", p.Keys, p.Seconds, p.KeysPerS, p.Errors)
	}
	if r := rep.Refill; r != nil {
		state := fmt.Sprintf("held all %d keys %.1f s after its restart", r.Keys, r.Seconds)
		if !r.Complete {
			state = fmt.Sprintf("held %d of %d keys when the bench stopped waiting, %.1f s after its restart", r.Held, r.Keys, r.Seconds)
		}
		fmt.Fprintf(w, "refill: %s wiped and restarted as the run began; %s (anti-entropy rate %s, admission control %v)\n",
			r.Node, state, r.Rate, !c.NoAdmissionControl)
		if !c.NoAdmissionControl {
			var parts []string
			for _, name := range slices.Sorted(maps.Keys(r.HeldDuringRun)) {
				parts = append(parts, fmt.Sprintf("%s %.0f%%", name, 100*r.HeldDuringRun[name]))
			}
			fmt.Fprintf(w, "refill: background rates held back during the run, mean: %s\n", strings.Join(parts, ", "))
		}
	}
	fmt.Fprintf(w, "elapsed %.2f s", rep.ElapsedS)
	if rep.MaxSiblings >= 0 {
		fmt.Fprintf(w, "; at most %d sibling(s) on the %d first keys afterwards", rep.MaxSiblings, siblingSample)
	}
	if rep.Interrupted {
		fmt.Fprint(w, "; INTERRUPTED")
	}
	if rep.MachineBusy > 0 {
		fmt.Fprintf(w, "; machine CPU %.0f%% busy, %.0f µs of CPU per op", 100*rep.MachineBusy, rep.CPUPerOpUs)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	rows := rep.Results
	if len(rows) > 1 {
		rows = append(rows[:len(rows):len(rows)], rep.Total)
	}
	printTable(w, rows)
	if len(rep.NodeMemory) > 0 {
		fmt.Fprintln(w)
		for _, m := range rep.NodeMemory {
			fmt.Fprintf(w, "node %s: RSS %.1f MiB (peak %.1f MiB), data directory %.1f MiB", m.Name,
				float64(m.RSSBytes)/(1<<20), float64(m.PeakRSSBytes)/(1<<20), float64(m.DiskBytes)/(1<<20))
			if ws := m.Wire; ws != nil && ws.Batches > 0 {
				fmt.Fprintf(w, "; received %d messages in %d batches (%.2f a batch)", ws.Messages, ws.Batches, float64(ws.Messages)/float64(ws.Batches))
			}
			if ws := m.Wire; ws != nil && ws.CommitGroups > 0 {
				fmt.Fprintf(w, "; %d storage writes in %d groups (%.2f a group)", ws.CommitBatches, ws.CommitGroups, float64(ws.CommitBatches)/float64(ws.CommitGroups))
			}
			fmt.Fprintln(w)
		}
	}
	if r := rep.Redis; r != nil {
		fmt.Fprintf(w, "\nredis-benchmark (%s, %d requests per test, same cores): SET %.0f/s p99 %.3f ms, GET %.0f/s p99 %.3f ms\n",
			r.Version, r.Requests, r.SetOpsPS, r.SetP99Ms, r.GetOpsPS, r.GetP99Ms)
		fmt.Fprintf(w, "dynamo / Redis throughput for this mix: %.3f\n", r.Ratio)
	}
	if o := rep.Olric; o != nil {
		printOlric(w, rep, o)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
