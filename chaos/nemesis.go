package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/ring"
)

// Disk fault shape: each failing write returns its error after 20-50 ms,
// long after the other replicas' acks (a few ms): the write is
// acknowledged although its coordinator's own commit failed.
const (
	diskDelayMin = 20 * time.Millisecond
	diskDelayMax = 50 * time.Millisecond
)

// apply carries out event e (the i-th of the schedule) and says how it
// went.
func (c *cluster) apply(ctx context.Context, i int, e Event) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Heal {
		return c.heal(ctx, e.At)
	}
	name := e.Fault.String()
	var out string
	switch e.Fault {
	case Partition:
		if err := c.net.Block(e.Blocked); err != nil {
			return " (" + err.Error() + ")"
		}
		c.partitioned = true
		out = fmt.Sprintf(" (%d pairs cut)", len(e.Blocked))
		name = "partition " + e.Shape
	case Join:
		spare := len(c.agents) - 1
		if c.spareIn || spare < c.cfg.Nodes {
			return " (no spare)"
		}
		if err := c.launch(spare); err != nil {
			return " (" + err.Error() + ")"
		}
		c.spareIn = true
		out = " (" + c.agents[spare].name + " joins"
		if err := c.awaitUp(ctx, []string{c.agents[spare].name}, 20*time.Second); err != nil {
			out += "; " + err.Error()
		}
		out += ")"
		name = "join " + c.agents[spare].name
	default:
		out = " (" + c.nodeFault(ctx, i, e.Fault, e.Nodes, e.Length)
		name += " " + c.names(e.Nodes)
		if e.With != 0 {
			if e.WithAfter > 0 {
				pause(ctx, e.WithAfter)
			}
			out += " + " + c.nodeFault(ctx, i, e.With, e.WithNodes, e.Length-e.WithAfter)
			name += fmt.Sprintf(" + %s %s", e.With, c.names(e.WithNodes))
		}
		out += ")"
	}
	c.faults = append(c.faults, window{from: e.At, name: fmt.Sprintf("%s @%v", name, e.At.Round(time.Second))})
	return out
}

// nodeFault injects a fault of kind on nodes (kill, pause, disk, corrupt,
// leave) and says how it went.
func (c *cluster) nodeFault(ctx context.Context, i int, kind FaultKind, nodes []int, length time.Duration) string {
	if kind == Corrupt {
		c.corrupting = c.corrupt(ctx, i, nodes)
		return "corrupt " + c.names(nodes)
	}
	var notes []string
	for _, n := range nodes {
		a := c.agents[n]
		switch kind {
		case Kill:
			_ = a.cmd.Process.Kill()
			<-a.exited
			c.killed[n] = true
		case Pause:
			_ = a.cmd.Process.Signal(syscall.SIGSTOP)
			c.paused[n] = true
		case Disk:
			fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := c.cl.FailDiskWrites(fctx, a.name, length+5*time.Second, diskDelayMin, diskDelayMax)
			cancel()
			if err != nil {
				notes = append(notes, err.Error())
			} else {
				c.disk[n] = true
			}
		case Leave:
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			parts, err := c.cl.Leave(lctx, a.name)
			cancel()
			if err != nil {
				notes = append(notes, err.Error())
			} else {
				notes = append(notes, fmt.Sprintf("%s hands off %d partitions", a.name, parts))
			}
			c.leaving[n] = time.Now()
		}
	}
	out := kind.String() + " " + c.names(nodes)
	if len(notes) > 0 {
		out += "; " + strings.Join(notes, "; ")
	}
	return out
}

func (c *cluster) names(nodes []int) string {
	var s []string
	for _, n := range nodes {
		s = append(s, c.agents[n].name)
	}
	return strings.Join(s, ", ")
}

// heal ends every fault: partitions, pauses, kills, disk faults and
// corruption first, then the membership changes (a leave needs every
// owner up): a leaving node is waited for (at most LeaveWait, then
// killed) and started again on its data, and the spare leaves.
func (c *cluster) heal(ctx context.Context, at time.Duration) string {
	var notes []string
	if n := len(c.faults); n > 0 && c.faults[n-1].to == 0 {
		c.faults[n-1].to = at
	}
	if c.partitioned {
		if err := c.net.Heal(); err != nil {
			notes = append(notes, err.Error())
		}
		c.partitioned = false
	}
	var restarted []string
	for i, a := range c.agents {
		if c.paused[i] {
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
			delete(c.paused, i)
		}
		if c.killed[i] {
			if err := c.launch(i); err != nil {
				notes = append(notes, err.Error())
			} else {
				restarted = append(restarted, a.name)
			}
			delete(c.killed, i)
		}
		if c.disk[i] {
			fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			if err := c.cl.FailDiskWrites(fctx, a.name, 0, 0, 0); err != nil {
				notes = append(notes, fmt.Sprintf("%s: disk writes fail until the fault expires: %v", a.name, err))
			}
			cancel()
			delete(c.disk, i)
		}
	}
	if c.corrupting != nil {
		notes = append(notes, c.corrupting.stop())
		c.corrupting = nil
	}
	for i, since := range c.leaving {
		a := c.agents[i]
		notes = append(notes, c.awaitExit(a, since, "left")+" and rejoins on its data")
		if err := c.launch(i); err != nil {
			notes = append(notes, err.Error())
		} else {
			restarted = append(restarted, a.name)
		}
		delete(c.leaving, i)
	}
	// The next fault must not meet a node still starting (a minority
	// down at most).
	if len(restarted) > 0 {
		if err := c.awaitUp(ctx, restarted, 20*time.Second); err != nil {
			notes = append(notes, err.Error())
		}
	}
	if c.spareIn {
		a := c.agents[len(c.agents)-1]
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.cl.Leave(lctx, a.name)
		cancel()
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: leave: %v", a.name, err))
		}
		note := c.awaitExit(a, time.Now(), "left")
		if strings.Contains(note, "killed") {
			note += "; " + c.remove(ctx, a.name)
		}
		notes = append(notes, note)
		c.spareIn = false
	}
	if len(notes) > 0 {
		return " (" + strings.Join(notes, "; ") + ")"
	}
	return ""
}

// awaitUp waits until the membership shows every node of names up.
func (c *cluster) awaitUp(ctx context.Context, names []string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := c.cl.Members(mctx)
		cancel()
		if err == nil {
			up := 0
			for _, x := range m.Members {
				if x.State == ring.Up && slices.Contains(names, x.Name) {
					up++
				}
			}
			if up == len(names) {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not up within %v", strings.Join(names, ", "), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitExit waits for a leaving agent to exit, at most LeaveWait, and
// kills it if it does not.
func (c *cluster) awaitExit(a *agent, since time.Time, what string) string {
	select {
	case <-a.exited:
		return fmt.Sprintf("%s %s %v after it was asked", a.name, what, a.exitedAt.Sub(since).Round(100*time.Millisecond))
	case <-time.After(c.cfg.LeaveWait):
		_ = a.cmd.Process.Kill()
		<-a.exited
		return fmt.Sprintf("%s had not %s after %v: killed", a.name, what, time.Since(since).Round(100*time.Millisecond))
	}
}

// remove takes a killed spare out of the ring, retrying while the others
// do not see it failed yet.
func (c *cluster) remove(ctx context.Context, name string) string {
	deadline := time.Now().Add(20 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := c.cl.Remove(rctx, name)
		cancel()
		if err == nil {
			return name + " removed"
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("%s not removed: %v", name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// corrupter overwrites stored objects with garbage on some nodes until
// stopped: every 30-150 ms, one node's copy of a cart it holds (six times
// in eight), of a register it holds (once in eight) or of three random
// keys of one of its partitions.
type corrupter struct {
	cancel context.CancelFunc
	done   chan struct{}
	sent   atomic.Int64
	errs   atomic.Int64
	mu     sync.Mutex
	last   string // last error
}

func (c *cluster) corrupt(ctx context.Context, i int, nodes []int) *corrupter {
	ctx, cancel := context.WithCancel(ctx)
	k := &corrupter{cancel: cancel, done: make(chan struct{})}
	rng := rand.New(rand.NewPCG(c.cfg.Seed, uint64(i)+0xc0))
	names := make([]string, len(nodes))
	for j, n := range nodes {
		names[j] = c.agents[n].name
	}
	keys := cartKeys(c.cfg)
	var regs []string
	for a := range c.cfg.Registers {
		for j := range c.cfg.RegisterKeys {
			regs = append(regs, registerKey(a, j))
		}
	}
	go func() {
		defer close(k.done)
		for ctx.Err() == nil {
			pause(ctx, time.Duration(30+rng.IntN(121))*time.Millisecond)
			node := names[rng.IntN(len(names))]
			var err error
			fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
			var key string
			switch x := rng.IntN(8); {
			case x < 6:
				key = keys[rng.IntN(len(keys))]
			case x == 6 && len(regs) > 0:
				key = regs[rng.IntN(len(regs))]
			}
			if key != "" {
				if !slices.Contains(c.rc.owners(key), node) {
					fcancel()
					continue
				}
				err = c.cl.CorruptKey(fctx, node, []byte(key))
			} else if ps := c.rc.partitionsOf(node); len(ps) > 0 {
				err = c.cl.CorruptPartition(fctx, node, ps[rng.IntN(len(ps))], 3)
			} else {
				fcancel()
				continue
			}
			fcancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				k.errs.Add(1)
				k.mu.Lock()
				k.last = err.Error()
				k.mu.Unlock()
				continue
			}
			k.sent.Add(1)
		}
	}()
	return k
}

// stop ends the corruption and says how much was asked for.
func (k *corrupter) stop() string {
	k.cancel()
	<-k.done
	s := fmt.Sprintf("%d corruptions done", k.sent.Load())
	if n := k.errs.Load(); n > 0 {
		k.mu.Lock()
		s += fmt.Sprintf(", %d refused (last: %s)", n, k.last)
		k.mu.Unlock()
	}
	return s
}
