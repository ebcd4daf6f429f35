package chaos

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

// Config is one run.
type Config struct {
	// Binary is the dynamo binary (built from ./cmd/dynamo). Required.
	Binary string
	// Dir holds the agents' data and the reports. Required.
	Dir string
	// Nodes is the cluster size. Default 5.
	Nodes int
	// Clients add items concurrently. Default 10.
	Clients int
	// Carts is how many carts they add to. Default 5.
	Carts int
	// Duration of the workload under faults. Default 60 s.
	Duration time.Duration
	// Fault and Calm shape the schedule (see PlanConfig). Defaults 6 s, 4 s.
	Fault, Calm time.Duration
	// Quiet bounds the wait for convergence after the final heal.
	// Default 30 s.
	Quiet time.Duration
	// Seed draws the schedule and the clients' choices.
	Seed uint64
	// LWW runs the cluster in last-write-wins mode (the control: it must
	// lose adds).
	LWW bool
	// NoPartitions keeps every node on loopback and injects process faults
	// only. Without it, a run as root with the ip command gives each node
	// a network namespace and adds network partitions to the faults.
	NoPartitions bool
	// Log receives progress lines. Optional.
	Log io.Writer
}

func (c *Config) defaults() {
	c.Nodes = cmp.Or(c.Nodes, 5)
	c.Clients = cmp.Or(c.Clients, 10)
	c.Carts = cmp.Or(c.Carts, 5)
	c.Duration = cmp.Or(c.Duration, time.Minute)
	c.Fault = cmp.Or(c.Fault, 6*time.Second)
	c.Calm = cmp.Or(c.Calm, 4*time.Second)
	c.Quiet = cmp.Or(c.Quiet, 30*time.Second)
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Report is a run's account: configuration, schedule as carried out,
// operation counts, convergence and the checker's verdict.
type Report struct {
	Seed     uint64        `json:"seed"`
	Nodes    int           `json:"nodes"`
	Clients  int           `json:"clients"`
	Carts    int           `json:"carts"`
	Duration time.Duration `json:"duration_ns"`
	LWW      bool          `json:"lww"`
	// Faults are the kinds this run could inject; Partitions says why
	// there were no network partitions, if there were none.
	Faults     []string `json:"faults"`
	Partitions string   `json:"partitions"`
	// Timeline is the nemesis as carried out.
	Timeline []string `json:"timeline"`
	// Converged is how long after the final heal every replica was
	// identical (0 with Result showing divergence if it never was).
	Converged time.Duration `json:"converged_ns"`
	Result    Result        `json:"result"`
}

// Text renders the report for people.
func (r *Report) Text() string {
	var b strings.Builder
	mode := "siblings"
	if r.LWW {
		mode = "last-write-wins (control)"
	}
	fmt.Fprintf(&b, "chaos run: seed %d, %d nodes, %d clients, %d carts, %v, %s\n", r.Seed, r.Nodes, r.Clients, r.Carts, r.Duration, mode)
	fmt.Fprintf(&b, "faults: %s (network partitions: %s)\n", strings.Join(r.Faults, ", "), r.Partitions)
	b.WriteString("nemesis timeline:\n")
	for _, l := range r.Timeline {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	res := r.Result
	fmt.Fprintf(&b, "adds: %d attempted, %d acknowledged, %d failed, %d unknown (%d failed or unknown adds present anyway)\n",
		res.Attempted, res.Acked, res.Failed, res.Unknown, res.RecoveredFailed)
	if r.Converged > 0 {
		fmt.Fprintf(&b, "replicas identical %v after the final heal\n", r.Converged.Round(time.Millisecond))
	}
	list := func(name string, s []string) {
		fmt.Fprintf(&b, "%s: %d", name, len(s))
		if len(s) > 0 {
			fmt.Fprintf(&b, " (%s", strings.Join(s[:min(len(s), 10)], "; "))
			if len(s) > 10 {
				b.WriteString("; ...")
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	list("acknowledged adds lost", res.Lost)
	list("unexpected items", res.Unexpected)
	list("acknowledged adds never read", res.NeverRead)
	list("carts read differently through different replicas", res.Inconsistent)
	list("carts whose replicas differ", res.Diverged)
	list("partitions whose Merkle roots differ", res.RootsDiffer)
	list("final reads that failed", res.ReadErrors)
	verdict := "VALID"
	if !res.OK() {
		verdict = "INVALID"
	}
	fmt.Fprintf(&b, "verdict: %s\n", verdict)
	return b.String()
}

// agent is one dynamo agent process.
type agent struct {
	name, dir, gossip, actor string
	cmd                      *exec.Cmd
	exited                   chan struct{}
}

type cluster struct {
	cfg         Config
	net         *network // nil: loopback, no partitions
	agents      []*agent
	mu          sync.Mutex // guards agents' cmd and the fault state below
	killed      map[int]bool
	paused      map[int]bool
	partitioned bool
}

// Run starts the cluster, runs the workload under the nemesis, heals,
// waits for convergence, checks, writes report.txt and report.json into
// cfg.Dir, stops every agent, and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Binary == "" || cfg.Dir == "" {
		return nil, errors.New("chaos: Binary and Dir are required")
	}
	c := &cluster{cfg: cfg, killed: map[int]bool{}, paused: map[int]bool{}}
	faults := []FaultKind{Kill, Pause}
	partitions := "off (NoPartitions)"
	if !cfg.NoPartitions {
		if err := netnsAvailable(); err != nil {
			partitions = "unavailable: " + err.Error() + "; process faults only"
		} else if c.net, err = setupNetwork(cfg.Nodes); err != nil {
			partitions = "unavailable: " + err.Error() + "; process faults only"
		} else {
			defer c.net.teardown()
			faults = append(faults, Partition)
			partitions = "on (a network namespace per node, blackhole routes)"
		}
	}
	plan, err := Plan(cfg.Seed, PlanConfig{Nodes: cfg.Nodes, Duration: cfg.Duration, Fault: cfg.Fault, Calm: cfg.Calm, Faults: faults})
	if err != nil {
		return nil, err
	}
	defer c.stopAll()
	if err := c.start(); err != nil {
		return nil, err
	}
	var cl *client.Client
	for deadline := time.Now().Add(30 * time.Second); ; {
		ccfg := client.Config{Seeds: c.seeds(), Timeout: time.Second}
		if c.net != nil {
			ccfg.ListenAddr = c.net.host + ":0" // reachable from the namespaces
		}
		if cl, err = client.New(ctx, ccfg); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("chaos: client: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer cl.Close()
	if err := c.waitUp(ctx, cl, cfg.Nodes, 30*time.Second); err != nil {
		return nil, err
	}
	rep := &Report{Seed: cfg.Seed, Nodes: cfg.Nodes, Clients: cfg.Clients, Carts: cfg.Carts, Duration: cfg.Duration, LWW: cfg.LWW,
		Partitions: partitions}
	for _, f := range faults {
		rep.Faults = append(rep.Faults, f.String())
	}
	fmt.Fprintf(cfg.Log, "chaos: %d agents up; %d clients for %v; schedule of %d events (seed %d)\n", cfg.Nodes, cfg.Clients, cfg.Duration, len(plan), cfg.Seed)

	// Workload and nemesis.
	var hist history
	wctx, stopWork := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(wctx, cl, i, cfg, &hist)
		}()
	}
	start := time.Now()
	for _, e := range plan {
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(e.At))):
		}
		if ctx.Err() != nil {
			break
		}
		line := e.String() + c.apply(e)
		rep.Timeline = append(rep.Timeline, line)
		fmt.Fprintf(cfg.Log, "chaos: %s\n", line)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(start.Add(cfg.Duration))):
	}
	stopWork()
	wg.Wait()
	healed := time.Now()
	rep.Timeline = append(rep.Timeline, Event{At: healed.Sub(start), Heal: true}.String()+c.apply(Event{Heal: true})+" (final)")
	if err := c.waitUp(ctx, cl, cfg.Nodes, 30*time.Second); err != nil {
		return nil, err
	}

	// Quiet period: until every replica is identical, at most Quiet.
	adds := hist.adds()
	var final Final
	for {
		final = c.finalReads(ctx, cl)
		if len(final.Diverged) == 0 && len(final.RootsDiffer) == 0 && len(final.ReadErrors) == 0 {
			rep.Converged = max(time.Since(healed), time.Millisecond)
			break
		}
		if time.Since(healed) > cfg.Quiet || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	rep.Result = Check(adds, final)
	fmt.Fprint(cfg.Log, rep.Text())
	if err := rep.write(cfg.Dir); err != nil {
		return rep, err
	}
	return rep, nil
}

func (r *Report) write(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.txt"), []byte(r.Text()), 0o644)
}

// history records the adds of every client.
type history struct {
	mu  sync.Mutex
	all []Add
}

func (h *history) record(a Add) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, a)
}

func (h *history) adds() []Add {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.all)
}

// cartKey is cart i's key.
func cartKey(i int) string { return fmt.Sprintf("cart-%d", i) }

// items decodes a cart value: its items, one per line.
func items(v []byte) []string {
	var out []string
	for _, s := range strings.Split(string(v), "\n") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// work is one client: read a cart, merge its siblings by set union, add a
// unique item, write with the read's context; record the outcome.
func work(ctx context.Context, cl *client.Client, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+1))
	for n := 0; ctx.Err() == nil; n++ {
		cart := cartKey(rng.IntN(cfg.Carts))
		item := fmt.Sprintf("c%d-%d", id, n)
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		obj, err := cl.Get(rctx, []byte(cart), client.R(2))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
			}
			continue // nothing attempted
		}
		set := map[string]bool{item: true}
		for _, v := range obj.Values {
			for _, it := range items(v) {
				set[it] = true
			}
		}
		merged := make([]string, 0, len(set))
		for it := range set {
			merged = append(merged, it)
		}
		slices.Sort(merged)
		// The write is not cut short by the end of the run: its outcome
		// must be known.
		wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cl.Put(wctx, []byte(cart), []byte(strings.Join(merged, "\n")), obj.Context, client.W(2))
		cancel()
		out := Acked
		switch {
		case err == nil:
		case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			out = Unknown
		default:
			out = Failed
		}
		h.record(Add{Cart: cart, Item: item, Outcome: out})
		if err != nil && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// finalReads reads every cart's replica on each of its owners, compares
// their versions, and compares every partition's Merkle roots.
func (c *cluster) finalReads(ctx context.Context, cl *client.Client) Final {
	f := Final{Reads: map[string]map[string][]string{}}
	m, err := cl.Members(ctx)
	if err != nil {
		f.ReadErrors = append(f.ReadErrors, "membership: "+err.Error())
		return f
	}
	r, err := m.Ring()
	if err != nil {
		f.ReadErrors = append(f.ReadErrors, "ring: "+err.Error())
		return f
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range c.cfg.Carts {
		key := cartKey(i)
		f.Reads[key] = map[string][]string{}
		digests := map[[32]byte][]string{}
		for _, owner := range r.Owners(r.Partition([]byte(key))) {
			rep, err := cl.ReplicaOf(rctx, owner, []byte(key))
			if err != nil {
				f.ReadErrors = append(f.ReadErrors, fmt.Sprintf("%s on %s: %v", key, owner, err))
				continue
			}
			var its []string
			for _, v := range rep.Values {
				its = append(its, items(v)...)
			}
			f.Reads[key][owner] = its
			digests[rep.Digest] = append(digests[rep.Digest], owner)
		}
		// And once through the cluster at R=N.
		obj, err := cl.Get(rctx, []byte(key), client.R(m.N))
		if err != nil {
			f.ReadErrors = append(f.ReadErrors, fmt.Sprintf("%s at R=%d: %v", key, m.N, err))
		} else {
			var its []string
			for _, v := range obj.Values {
				its = append(its, items(v)...)
			}
			f.Reads[key][fmt.Sprintf("R=%d", m.N)] = its
		}
		if len(digests) > 1 {
			var parts []string
			for d, nodes := range digests {
				parts = append(parts, fmt.Sprintf("%v:%s", nodes, hex.EncodeToString(d[:4])))
			}
			slices.Sort(parts)
			f.Diverged = append(f.Diverged, key+" "+strings.Join(parts, " "))
		}
	}
	for p := range uint32(r.Config().Partitions) {
		roots := map[string][]string{}
		for _, owner := range r.Owners(p) {
			root, err := cl.MerkleRoot(rctx, owner, p)
			if err != nil {
				f.ReadErrors = append(f.ReadErrors, fmt.Sprintf("Merkle root of partition %d on %s: %v", p, owner, err))
				continue
			}
			roots[hex.EncodeToString(root)] = append(roots[hex.EncodeToString(root)], owner)
		}
		if len(roots) > 1 {
			f.RootsDiffer = append(f.RootsDiffer, fmt.Sprintf("partition %d: %v", p, roots))
		}
	}
	return f
}

// start launches every agent; each names all the others as seeds.
func (c *cluster) start() error {
	for i := range c.cfg.Nodes {
		var gossip, actor string
		var err error
		if c.net != nil {
			gossip, actor = c.net.ips[i]+":7946", c.net.ips[i]+":8946"
		} else if gossip, err = freeAddr(); err == nil {
			actor, err = freeAddr()
		}
		if err != nil {
			return err
		}
		c.agents = append(c.agents, &agent{name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(c.cfg.Dir, fmt.Sprintf("n%d", i+1)), gossip: gossip, actor: actor})
	}
	for i := range c.agents {
		if err := c.launch(i); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) launch(i int) error {
	a := c.agents[i]
	var seeds []string
	for j, o := range c.agents {
		if j != i {
			seeds = append(seeds, o.gossip)
		}
	}
	args := []string{"agent", "--name", a.name, "--data-dir", a.dir, "--gossip-addr", a.gossip, "--actor-addr", a.actor, "--http-addr", "",
		"--join", strings.Join(seeds, ","), "--partitions", "16", "--fast-gossip",
		"--hint-interval", "1s", "--hint-rate", "20000", "--aae-interval", "20ms", "--aae-rate", "20000"}
	if c.cfg.LWW {
		args = append(args, "--lww")
	}
	cmd := exec.Command(c.cfg.Binary, args...)
	if c.net != nil {
		cmd = c.net.command(i, c.cfg.Binary, args...)
	}
	// Each agent logs to <Dir>/<name>.log, across restarts.
	logf, err := os.OpenFile(filepath.Join(c.cfg.Dir, a.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("chaos: start %s: %w", a.name, err)
	}
	a.cmd, a.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); logf.Close(); close(done) }(a.exited)
	return nil
}

// apply carries out an event and says how it went.
func (c *cluster) apply(e Event) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Heal {
		var notes []string
		if c.partitioned {
			if err := c.net.heal(); err != nil {
				notes = append(notes, err.Error())
			}
			c.partitioned = false
		}
		for i := range c.agents {
			if c.paused[i] {
				_ = c.agents[i].cmd.Process.Signal(syscall.SIGCONT)
				delete(c.paused, i)
			}
			if c.killed[i] {
				if err := c.launch(i); err != nil {
					notes = append(notes, err.Error())
				}
				delete(c.killed, i)
			}
		}
		if len(notes) > 0 {
			return " (" + strings.Join(notes, "; ") + ")"
		}
		return ""
	}
	if e.Fault == Partition {
		if err := c.net.block(e.Blocked); err != nil {
			return " (" + err.Error() + ")"
		}
		c.partitioned = true
		return fmt.Sprintf(" (%d pairs cut)", len(e.Blocked))
	}
	var names []string
	for _, i := range e.Nodes {
		a := c.agents[i]
		names = append(names, a.name)
		switch e.Fault {
		case Kill:
			_ = a.cmd.Process.Kill()
			<-a.exited
			c.killed[i] = true
		case Pause:
			_ = a.cmd.Process.Signal(syscall.SIGSTOP)
			c.paused[i] = true
		}
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// stopAll stops every agent: SIGCONT, SIGTERM, SIGKILL after 10 s.
func (c *cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.agents {
		if a.cmd == nil {
			continue
		}
		select {
		case <-a.exited:
			continue
		default:
		}
		_ = a.cmd.Process.Signal(syscall.SIGCONT)
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
	}
}

func (c *cluster) seeds() []string {
	var s []string
	for _, a := range c.agents {
		s = append(s, a.actor)
	}
	return s
}

// waitUp waits until a membership read shows want members up.
func (c *cluster) waitUp(ctx context.Context, cl *client.Client, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if m, err := cl.Members(ctx); err == nil {
			up := 0
			for _, x := range m.Members {
				if x.State == ring.Up {
					up++
				}
			}
			if up == want {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("chaos: %d members not up within %v", want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
