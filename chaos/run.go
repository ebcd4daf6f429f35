package chaos

import (
	"bufio"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/internal/netns"
	"github.com/dynamokv/dynamo/ring"
)

// Config is one run.
type Config struct {
	// Binary is the dynamo binary (built from ./cmd/dynamo). Required.
	Binary string
	// Dir holds the agents' data and the reports. Required.
	Dir string
	// Nodes is the cluster size (the spare of Join not counted). Default 5.
	Nodes int
	// Clients are the read-merge-write cart clients. Default 6; -1 for
	// none.
	Clients int
	// OwnWriters are the own-context cart writers (see ownWorker).
	// Default 3; -1 for none.
	OwnWriters int
	// BlindWriters write items to the carts with no context. Default 3;
	// -1 for none.
	BlindWriters int
	// Carts is how many carts they all write. Default 5.
	Carts int
	// QuietCarts are carts only the blind writers (one write in three) and
	// one slow read-merge-write client (every 8-16 s) write, so that
	// siblings stay unmerged for seconds (see slowMerger). Default 5; -1
	// for none.
	QuietCarts int
	// Registers are the delete-and-re-add clients, each owning
	// RegisterKeys registers. Defaults 3 and 3; Registers -1 for none.
	Registers, RegisterKeys int
	// Fresh are the read-your-writes clients: each writes new keys and
	// reads each back at once (see freshWorker). Default 2; -1 for none.
	Fresh int
	// Duration of the workload under faults. Default 60 s.
	Duration time.Duration
	// Fault and Calm shape the schedule (see PlanConfig). Defaults 6 s, 4 s.
	Fault, Calm time.Duration
	// Faults are the kinds to draw from. Default every kind (AllFaults);
	// Partition is left out where network namespaces are not available.
	Faults []FaultKind
	// LeaveWait bounds the wait, at a heal, for a leaving node to finish
	// handing off and exit before it is killed. Default 30 s.
	LeaveWait time.Duration
	// AntiEntropyInterval is the agents' --anti-entropy-interval: their
	// anti-entropy sweep period. A node that regains a partition it
	// dropped (Leave, Join) compares it with every peer at once; the
	// period bounds how long a node keeps a corrupt object (Corrupt)
	// before a sweep repairs it. Default 250 ms.
	AntiEntropyInterval time.Duration
	// Quiet bounds the wait for convergence after the final heal.
	// Default 30 s.
	Quiet time.Duration
	// Seed draws the schedule and the clients' choices.
	Seed uint64
	// LWW runs the cluster in last-write-wins mode (the control: it must
	// lose adds).
	LWW bool
	// NoPartitions keeps every node on loopback and injects no network
	// partitions. Without it, a run as root with the ip command gives each
	// node a network namespace and partitions are among the faults.
	NoPartitions bool
	// Log receives progress lines. Optional.
	Log io.Writer
}

func (c *Config) defaults() {
	c.Nodes = cmp.Or(c.Nodes, 5)
	c.Clients = max(cmp.Or(c.Clients, 6), 0)
	c.OwnWriters = max(cmp.Or(c.OwnWriters, 3), 0)
	c.BlindWriters = max(cmp.Or(c.BlindWriters, 3), 0)
	c.Registers = max(cmp.Or(c.Registers, 3), 0)
	c.RegisterKeys = cmp.Or(c.RegisterKeys, 3)
	c.Fresh = max(cmp.Or(c.Fresh, 2), 0)
	c.Carts = cmp.Or(c.Carts, 5)
	c.QuietCarts = max(cmp.Or(c.QuietCarts, 5), 0)
	c.Duration = cmp.Or(c.Duration, time.Minute)
	c.Fault = cmp.Or(c.Fault, 6*time.Second)
	c.Calm = cmp.Or(c.Calm, 4*time.Second)
	c.LeaveWait = cmp.Or(c.LeaveWait, 30*time.Second)
	c.Quiet = cmp.Or(c.Quiet, 30*time.Second)
	c.AntiEntropyInterval = cmp.Or(c.AntiEntropyInterval, 250*time.Millisecond)
	if len(c.Faults) == 0 {
		c.Faults = AllFaults
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// ringPartitions is the ring's Q in every run.
const ringPartitions = 16

// Report is a run's account: configuration, schedule as carried out,
// operation counts, convergence and the checker's verdict.
type Report struct {
	Seed     uint64        `json:"seed"`
	Nodes    int           `json:"nodes"`
	Clients  int           `json:"clients"`
	Own      int           `json:"own_context_writers"`
	Blind    int           `json:"blind_writers"`
	Carts    int           `json:"carts"`
	Quiet    int           `json:"quiet_carts"`
	Regs     int           `json:"register_clients"`
	RegKeys  int           `json:"registers_each"`
	Fresh    int           `json:"fresh_clients"`
	Duration time.Duration `json:"duration_ns"`
	LWW      bool          `json:"lww"`
	// Faults are the kinds this run could inject; Partitions says why
	// there were no network partitions, if there were none.
	Faults     []string `json:"faults"`
	Partitions string   `json:"partitions"`
	// Timeline is the nemesis as carried out (times are when each step
	// was carried out).
	Timeline []string `json:"timeline"`
	// LostWhen counts the lost acknowledged adds by when they were
	// acknowledged: during which fault, or in the calm after which.
	LostWhen map[string]int `json:"lost_when"`
	// Converged is how long after the final heal every replica was
	// identical (0 with Result showing divergence if it never was).
	Converged time.Duration `json:"converged_ns"`
	// Reaped and Pruned sum the nodes' tombstones reaped and clock
	// entries pruned, as their counters stood at the end (each counts
	// from its node's last start: lower bounds).
	Reaped uint64 `json:"tombstones_reaped"`
	Pruned uint64 `json:"clock_entries_pruned"`
	// Rests are the registers' rests past the tombstone grace, after a
	// delete or an expired put, each with the owners that still stored
	// the key when it woke.
	Rests []Rest `json:"rests"`
	// ExpiryExcused counts the reads during the run that missed their
	// client's own acknowledged put when it may have expired (not stale).
	ExpiryExcused int    `json:"reads_excused_by_expiry"`
	Result        Result `json:"result"`
}

// Text renders the report for people.
func (r *Report) Text() string {
	var b strings.Builder
	mode := "siblings"
	if r.LWW {
		mode = "last-write-wins (control)"
	}
	fmt.Fprintf(&b, "chaos run: seed %d, %d nodes, %v, %s\n", r.Seed, r.Nodes, r.Duration, mode)
	fmt.Fprintf(&b, "workload: %d carts written by %d read-merge-write clients, %d own-context writers and %d blind writers; %d quiet carts (blind writers, one slow merger); %d delete-and-re-add clients with %d registers each; %d read-your-writes clients of fresh keys\n",
		r.Carts, r.Clients, r.Own, r.Blind, r.Quiet, r.Regs, r.RegKeys, r.Fresh)
	fmt.Fprintf(&b, "faults: %s (network partitions: %s)\n", strings.Join(r.Faults, ", "), r.Partitions)
	b.WriteString("nemesis timeline:\n")
	for _, l := range r.Timeline {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	res := r.Result
	fmt.Fprintf(&b, "cart adds: %d attempted, %d acknowledged, %d failed, %d unknown (%d failed or unknown adds present anyway), %d acknowledged lost\n",
		res.Attempted, res.Acked, res.Failed, res.Unknown, res.RecoveredFailed, len(res.Lost))
	for _, w := range Workloads {
		if f := res.ByWorkload[w]; f != nil && f.Attempted > 0 {
			fmt.Fprintf(&b, "  %-16s %d attempted, %d acknowledged, %d failed, %d unknown, %d acknowledged lost\n", w.String()+":", f.Attempted, f.Acked, f.Failed, f.Unknown, f.Lost)
		}
	}
	if len(r.LostWhen) > 0 {
		b.WriteString("  lost adds by when they were acknowledged:")
		for _, k := range slices.Sorted(maps.Keys(r.LostWhen)) {
			fmt.Fprintf(&b, " %s: %d;", k, r.LostWhen[k])
		}
		b.WriteString("\n")
	}
	reg := res.Registers
	fmt.Fprintf(&b, "registers (delete and re-add) and fresh keys: %d writes (%d puts, %d deletes): %d acknowledged, %d failed, %d unknown\n",
		reg.Ops, reg.Puts, reg.Deletes, reg.Acked, reg.Failed, reg.Unknown)
	e := reg.Expiry
	fmt.Fprintf(&b, "expiry: %d puts with a time to live, %d acknowledged; at the final reads %d of these had certainly expired (checked absent), %d were certainly live and superseded by nothing (checked present), %d undecided (expiry near the reads)\n",
		e.Puts, e.Acked, e.CheckedExpired, e.CheckedLive, e.Undecided)
	for _, fam := range slices.Sorted(maps.Keys(reg.ExpiryByFamily)) {
		name := map[string]string{"reg": "registers", "fresh": "fresh keys"}[fam]
		e := reg.ExpiryByFamily[fam]
		fmt.Fprintf(&b, "  %-16s %d puts with a time to live, %d acknowledged, %d checked expired, %d checked live, %d undecided\n",
			cmp.Or(name, fam)+":", e.Puts, e.Acked, e.CheckedExpired, e.CheckedLive, e.Undecided)
	}
	fmt.Fprintf(&b, "  %d expiries read through the cluster checked against their puts'; %d reads during the run missed their own client's put when it may have expired (not stale)\n",
		reg.ExpiriesChecked, r.ExpiryExcused)
	rested := map[string][2]int{}
	for _, x := range r.Rests {
		n := rested[x.After]
		n[0]++
		if x.Reaped() {
			n[1]++
		}
		rested[x.After] = n
	}
	fmt.Fprintf(&b, "registers rested past the tombstone grace and written again: %d after a delete (%d reaped on every owner read), %d after an expired put (%d reaped on every owner read)\n",
		rested["delete"][0], rested["delete"][1], rested["expiry"][0], rested["expiry"][1])
	if r.Converged > 0 {
		fmt.Fprintf(&b, "replicas identical %v after the final heal\n", r.Converged.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "background work (counters since each node's last start): %d tombstones reaped, %d clock entries pruned\n", r.Reaped, r.Pruned)
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
	list("acknowledged register puts lost", reg.Lost)
	list("register values resurrected", reg.Resurrected)
	list("expired register values that came back (read after they had certainly expired)", reg.Expired)
	list("register values read with an expiry their put does not explain", reg.WrongExpiry)
	list("unexpected register values", reg.Unexpected)
	var stale, heldStale []string
	for _, s := range reg.StaleReads {
		stale = append(stale, s.String())
		if s.NotFound && len(s.Holders) > 0 {
			heldStale = append(heldStale, s.String())
		}
	}
	list("stale reads (missed their own client's acknowledged put; not a failure)", stale)
	list("  of which \"not found\" while a primary held the value, checked right after (a fallback's not-found outvoting it?)", heldStale)
	list("reads that answered \"not found\" for a put acknowledged by W primaries, no membership change in between (a failure)", reg.MissedAcked)
	list("register values that survived a write made with a stale read's context (not a failure)", reg.StaleSurvivors)
	list("keys read differently through different replicas", append(slices.Clone(res.Inconsistent), reg.Inconsistent...))
	list("keys whose replicas differ", res.Diverged)
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
	exitedAt                 time.Time // set before exited is closed
}

type cluster struct {
	cfg    Config
	net    *netns.Network // nil: loopback, no partitions
	agents []*agent       // cfg.Nodes, then the spare when Join is a fault
	cl     *client.Client
	rc     *ringCache

	mu          sync.Mutex // guards agents' cmd and the fault state below
	killed      map[int]bool
	paused      map[int]bool
	partitioned bool
	disk        map[int]bool
	corrupting  *corrupter
	leaving     map[int]time.Time // nodes asked to leave, and when
	spareIn     bool
	// faults are the faults carried out, for the attribution of losses.
	faults []window
}

// window is a fault as carried out: from..to (to 0 while it lasts).
type window struct {
	from, to time.Duration
	name     string
}

// Run starts the cluster, runs the workload under the nemesis, heals,
// waits for convergence, checks, writes report.txt and report.json into
// cfg.Dir, stops every agent, and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Binary == "" || cfg.Dir == "" {
		return nil, errors.New("chaos: Binary and Dir are required")
	}
	c := &cluster{cfg: cfg, killed: map[int]bool{}, paused: map[int]bool{}, disk: map[int]bool{}, leaving: map[int]time.Time{}}
	var faults []FaultKind
	partitions := "off (NoPartitions)"
	if !slices.Contains(cfg.Faults, Partition) {
		partitions = "off (not among the faults)"
	}
	spare := slices.Contains(cfg.Faults, Join)
	total := cfg.Nodes
	if spare {
		total++
	}
	for _, k := range cfg.Faults {
		if k != Partition {
			faults = append(faults, k)
			continue
		}
		if cfg.NoPartitions {
			continue
		}
		if err := netns.Available(); err != nil {
			partitions = "unavailable: " + err.Error() + "; no partitions"
		} else if c.net, err = netns.Setup(total, 0); err != nil {
			partitions = "unavailable: " + err.Error() + "; no partitions"
		} else {
			defer c.net.Teardown()
			faults = append(faults, Partition)
			partitions = "on (a network namespace per node, blackhole routes)"
		}
	}
	plan, err := Plan(cfg.Seed, PlanConfig{Nodes: cfg.Nodes, Duration: cfg.Duration, Fault: cfg.Fault, Calm: cfg.Calm, Faults: faults})
	if err != nil {
		return nil, err
	}
	defer c.stopAll()
	if err := c.start(total); err != nil {
		return nil, err
	}
	var cl *client.Client
	for deadline := time.Now().Add(30 * time.Second); ; {
		ccfg := client.Config{Seeds: c.seeds(), Timeout: time.Second}
		if c.net != nil {
			ccfg.ListenAddr = c.net.Host() + ":0" // reachable from the namespaces
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
	c.cl = cl
	if err := c.waitUp(ctx, cfg.Nodes, 30*time.Second); err != nil {
		return nil, err
	}
	c.rc = newRingCache(ctx, cl)
	defer c.rc.close()
	rep := &Report{Seed: cfg.Seed, Nodes: cfg.Nodes, Clients: cfg.Clients, Own: cfg.OwnWriters, Blind: cfg.BlindWriters, Carts: cfg.Carts, Quiet: cfg.QuietCarts,
		Regs: cfg.Registers, RegKeys: cfg.RegisterKeys, Fresh: cfg.Fresh, Duration: cfg.Duration, LWW: cfg.LWW, Partitions: partitions}
	for _, f := range faults {
		rep.Faults = append(rep.Faults, f.String())
	}
	fmt.Fprintf(cfg.Log, "chaos: %d agents up; %d+%d+%d cart clients, %d register clients and %d fresh-key clients for %v; schedule of %d events (seed %d)\n",
		cfg.Nodes, cfg.Clients, cfg.OwnWriters, cfg.BlindWriters, cfg.Registers, cfg.Fresh, cfg.Duration, len(plan), cfg.Seed)

	// Workload and nemesis.
	hist := newHistory()
	wctx, stopWork := context.WithCancel(ctx)
	var wg sync.WaitGroup
	spawn := func(n int, f func(id int)) {
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); f(i) }()
		}
	}
	spawn(cfg.Clients, func(i int) { mergeWorker(wctx, cl, i, cfg, hist) })
	spawn(cfg.OwnWriters, func(i int) { ownWorker(wctx, cl, i, cfg, hist) })
	spawn(cfg.BlindWriters, func(i int) { blindWorker(wctx, cl, i, cfg, hist) })
	spawn(cfg.Registers, func(i int) { registerWorker(wctx, cl, c.rc, i, cfg, hist) })
	spawn(cfg.Fresh, func(i int) { freshWorker(wctx, cl, c.rc, i, cfg, hist) })
	if cfg.QuietCarts > 0 && cfg.BlindWriters > 0 {
		spawn(1, func(int) { slowMerger(wctx, cl, cfg, hist) })
	}
	// A step that takes time (a heal waiting for a leave to finish or a
	// node to rejoin, a join) shifts the rest of the schedule, so that
	// every fault lasts as long as planned; a fault that would not end
	// before Duration is left out.
	var late time.Duration
	for i, e := range plan {
		due := e.At + late
		if !e.Heal && due+e.Length > cfg.Duration {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(hist.start.Add(due))):
		}
		if ctx.Err() != nil {
			break
		}
		e.At = hist.since()
		line := e.String() + c.apply(ctx, i, e)
		if took := hist.since() - e.At; took > 100*time.Millisecond {
			late += took
			line += fmt.Sprintf(" [took %v]", took.Round(100*time.Millisecond))
		}
		rep.Timeline = append(rep.Timeline, line)
		fmt.Fprintf(cfg.Log, "chaos: %s\n", line)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(hist.start.Add(cfg.Duration))):
	}
	stopWork()
	wg.Wait()
	healAt := hist.since()
	line := Event{At: healAt, Heal: true}.String() + c.apply(ctx, len(plan), Event{At: healAt, Heal: true}) + " (final)"
	rep.Timeline = append(rep.Timeline, line)
	fmt.Fprintf(cfg.Log, "chaos: %s\n", line)
	healed := time.Now()
	if err := c.waitUp(ctx, cfg.Nodes, 60*time.Second); err != nil {
		return nil, err
	}

	// Quiet period: until every replica is identical, at most Quiet.
	adds := hist.adds()
	regs, stale := hist.registers()
	var final Final
	var fresh []string
	for _, op := range regs {
		if strings.HasPrefix(op.Key, "fresh-") {
			fresh = append(fresh, op.Key)
		}
	}
	for {
		final = c.finalReads(ctx, cl, fresh, hist)
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
	rep.Result.Registers = CheckRegisters(regs, stale, final)
	rep.Result.Registers.MissedAcked = MissedAcked(stale, c.churn())
	rep.Rests, rep.ExpiryExcused = hist.expiry()
	for _, a := range c.agents {
		if m, err := cl.Status(ctx, a.name); err == nil {
			rep.Reaped += m.Stats.TombstonesReaped
			rep.Pruned += m.Stats.ClockEntriesPruned
		}
	}
	rep.LostWhen = c.attribute(adds, rep.Result)
	fmt.Fprint(cfg.Log, rep.Text())
	if err := rep.write(cfg.Dir); err != nil {
		return rep, err
	}
	if err := writeHistory(cfg.Dir, adds, regs, stale, rep.Rests); err != nil {
		return rep, err
	}
	return rep, nil
}

// writeHistory writes every recorded write, stale read and rest, one JSON
// object a line, as history.jsonl beside the report.
func writeHistory(dir string, adds []Add, regs []RegOp, stale []StaleRead, rests []Rest) error {
	f, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, a := range adds {
		_ = enc.Encode(struct {
			Type string `json:"type"`
			Add
		}{"add", a})
	}
	for _, op := range regs {
		_ = enc.Encode(struct {
			Type string `json:"type"`
			RegOp
		}{"register", op})
	}
	for _, s := range stale {
		_ = enc.Encode(struct {
			Type string `json:"type"`
			StaleRead
		}{"stale read", s})
	}
	for _, r := range rests {
		_ = enc.Encode(struct {
			Type string `json:"type"`
			Rest
		}{"rest", r})
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// attribute counts the lost acknowledged adds by the fault during which,
// or in the calm after which, they were acknowledged.
func (c *cluster) attribute(adds []Add, res Result) map[string]int {
	lost := map[string]bool{}
	for _, l := range res.Lost {
		lost[l[:strings.IndexByte(l, ' ')]] = true
	}
	out := map[string]int{}
	for _, a := range adds {
		if a.Outcome != Acked || !lost[a.Cart+"/"+a.Item] {
			continue
		}
		when := "before any fault"
		for _, w := range c.faults {
			if w.from > a.At {
				break
			}
			if w.to == 0 || a.At < w.to {
				when = "during " + w.name
			} else {
				when = "after " + w.name
			}
		}
		out[when]++
	}
	return out
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

// finalReads reads every cart's and register's replica on each of its
// owners and once at R=N through the cluster, compares the replicas'
// versions, reads each fresh key at R=N, and compares every partition's
// Merkle roots. For each register and fresh key it notes when it was read
// and the expiries the read at R=N gave its values (h's times).
func (c *cluster) finalReads(ctx context.Context, cl *client.Client, fresh []string, h *history) Final {
	f := Final{Reads: map[string]map[string][]string{}, Registers: map[string]map[string][]string{},
		Windows: map[string][2]time.Duration{}, Expires: map[string]map[string][]time.Duration{}}
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
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// expiries are obj's values' expiries, one per item.
	expiries := func(obj *client.Object) []time.Duration {
		exps := []time.Duration{}
		for i, v := range obj.Values {
			var e time.Duration
			if i < len(obj.Expires) && !obj.Expires[i].IsZero() {
				e = obj.Expires[i].Sub(h.start)
			}
			for range items(v) {
				exps = append(exps, e)
			}
		}
		return exps
	}
	readKey := func(key string) map[string][]string {
		out := map[string][]string{}
		from := h.since()
		defer func() { f.Windows[key] = [2]time.Duration{from, h.since()} }()
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
			out[owner] = its
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
			out[fmt.Sprintf("R=%d", m.N)] = its
			f.Expires[key] = map[string][]time.Duration{fmt.Sprintf("R=%d", m.N): expiries(obj)}
		}
		if len(digests) > 1 {
			var parts []string
			for d, nodes := range digests {
				parts = append(parts, fmt.Sprintf("%v:%s", nodes, hex.EncodeToString(d[:4])))
			}
			slices.Sort(parts)
			f.Diverged = append(f.Diverged, key+" "+strings.Join(parts, " "))
		}
		return out
	}
	for _, key := range cartKeys(c.cfg) {
		f.Reads[key] = readKey(key)
	}
	for i := range c.cfg.Registers {
		for j := range c.cfg.RegisterKeys {
			f.Registers[registerKey(i, j)] = readKey(registerKey(i, j))
		}
	}
	for _, key := range fresh {
		from := h.since()
		obj, err := cl.Get(rctx, []byte(key), client.R(m.N))
		if err != nil {
			f.ReadErrors = append(f.ReadErrors, fmt.Sprintf("%s at R=%d: %v", key, m.N, err))
			continue
		}
		f.Windows[key] = [2]time.Duration{from, h.since()}
		var its []string
		for _, v := range obj.Values {
			its = append(its, items(v)...)
		}
		f.Registers[key] = map[string][]string{fmt.Sprintf("R=%d", m.N): its}
		f.Expires[key] = map[string][]time.Duration{fmt.Sprintf("R=%d", m.N): expiries(obj)}
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

// start makes total agents (the cluster's, then the spare) and launches
// the cluster's; each names all the others as seeds.
func (c *cluster) start(total int) error {
	for i := range total {
		var gossip, actor string
		var err error
		if c.net != nil {
			gossip, actor = c.net.IP(i)+":7946", c.net.IP(i)+":8946"
		} else if gossip, err = freeAddr(); err == nil {
			actor, err = freeAddr()
		}
		if err != nil {
			return err
		}
		c.agents = append(c.agents, &agent{name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(c.cfg.Dir, fmt.Sprintf("n%d", i+1)), gossip: gossip, actor: actor})
	}
	for i := range c.cfg.Nodes {
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
		"--join", strings.Join(seeds, ","), "--partitions", strconv.Itoa(ringPartitions), "--fast-gossip",
		"--hint-interval", "1s", "--hint-rate", "20000", "--anti-entropy-interval", c.cfg.AntiEntropyInterval.String(), "--anti-entropy-rate", "20000",
		// Short bounds, so that a run hands hints over, reaps the
		// registers' tombstones and prunes clocks while faults go on
		// (faults last seconds, the grace well above them).
		"--hint-max-age", "3s", "--tombstone-grace", "20s", "--prune-min-age", "20s",
		"--allow-fault-injection"} // disk and corrupt faults
	if c.cfg.LWW {
		args = append(args, "--lww")
	}
	cmd := exec.Command(c.cfg.Binary, args...)
	if c.net != nil {
		cmd = c.net.Command(i, c.cfg.Binary, args...)
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
	go func(done chan struct{}) { _ = cmd.Wait(); logf.Close(); a.exitedAt = time.Now(); close(done) }(a.exited)
	return nil
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

// waitUp waits until a membership read shows want members up and none
// down or leaving.
func (c *cluster) waitUp(ctx context.Context, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if m, err := c.cl.Members(ctx); err == nil {
			up := 0
			for _, x := range m.Members {
				if x.State == ring.Up {
					up++
				}
			}
			if up == want && len(m.Members) == want {
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

// churnSettle is how long after a join or leave fault's heal its handoffs
// may still move the partitions it changed.
const churnSettle = 30 * time.Second

// churn returns the windows in which membership changed: the join and
// leave faults, from their start to churnSettle after their heal (or the
// end of the run).
func (c *cluster) churn() [][2]time.Duration {
	var out [][2]time.Duration
	for _, w := range c.faults {
		if !strings.HasPrefix(w.name, "join") && !strings.Contains(w.name, "leave") {
			continue
		}
		to := w.to
		if to == 0 {
			to = 1 << 62
		}
		out = append(out, [2]time.Duration{w.from, to + churnSettle})
	}
	return out
}
