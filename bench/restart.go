package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// `bench restart` measures how soon a node answers after a start on a
// large data directory: after a clean stop (its vnodes load the Merkle
// trees they persisted) and after SIGKILL (they serve while they build
// them from scans). The directory is written directly through the
// storage engine (the objects a replica would hold for keyName(0..keys-1)),
// so that millions of keys take a minute rather than hours of puts; a
// later run with the same --dir and --keys reuses it.

const restartUsage = `usage: bench restart [flags]

Starts one node (N=R=W=1) on a data directory holding --keys keys, and
times each start until a read and a write of a key in every partition
have been answered, then until every vnode has its Merkle tree: first
start (every tree built), after SIGTERM (trees loaded), after SIGKILL
(trees built while serving), --rounds times each.`

type restartConfig struct {
	keys, partitions, valueBytes, rounds int
	dir                                  string
}

func runRestart(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench restart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, restartUsage); fs.PrintDefaults() }
	var c restartConfig
	fs.IntVar(&c.keys, "keys", 1_000_000, "keys in the data directory")
	fs.IntVar(&c.partitions, "partitions", 64, "Q")
	fs.IntVar(&c.valueBytes, "value-bytes", 100, "value size, bytes")
	fs.IntVar(&c.rounds, "rounds", 3, "restarts of each kind")
	fs.StringVar(&c.dir, "dir", "", "data directory, kept for reuse (default: a temporary one, removed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.keys < 1 || c.rounds < 1 || c.valueBytes < 1 || ring.ValidatePartitions(c.partitions) != nil {
		fmt.Fprintln(stderr, "bench restart: --keys, --rounds and --value-bytes must be positive, --partitions a power of two in 8..1024")
		return 2
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "dynamo-restart-")
		if err != nil {
			fmt.Fprintln(stderr, "bench restart:", err)
			return 1
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	if err := restart(c, stdout); err != nil {
		fmt.Fprintln(stderr, "bench restart:", err)
		return 1
	}
	return 0
}

func restart(c restartConfig, out io.Writer) error {
	fmt.Fprintf(out, "bench restart: %s; %d keys, %d-byte values, Q %d, one node (N=R=W=1, fsync on)\n", machineInfo().CPU, c.keys, c.valueBytes, c.partitions)
	if err := generate(c, out); err != nil {
		return err
	}
	probes := probeKeys(c.keys, c.partitions)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	nd := &restartNode{exe: exe, dir: c.dir, q: c.partitions,
		gossip: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), actor: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
	defer nd.kill()
	step := func(label string, then func() error) error {
		m, err := nd.measure(probes)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		fmt.Fprintf(out, "%-14s answered a read and a write in each of the %d partitions after %6.2f s; every tree ready after %6.2f s (%d loaded, %d built)\n",
			label, c.partitions, m.serving.Seconds(), m.trees.Seconds(), m.loaded, m.built)
		return then()
	}
	kill := func() error { nd.kill(); return nil }
	if err := step("start", nd.stop); err != nil {
		return err
	}
	// The probes' writes reach every partition, so a start after SIGKILL
	// finds no tree it may load.
	for range c.rounds {
		if err := step("after SIGTERM", kill); err != nil {
			return err
		}
		if err := step("after SIGKILL", nd.stop); err != nil {
			return err
		}
	}
	return nil
}

// restartNode is the node process under test.
type restartNode struct {
	exe, dir      string
	q             int
	gossip, actor string
	cmd           *exec.Cmd
	exited        chan struct{}
}

type restartTimes struct {
	serving, trees time.Duration
	loaded, built  uint64
}

// measure starts the node and times it: until every probe key has been
// read (found) and written, and until no vnode builds a tree.
func (n *restartNode) measure(probes []probe) (restartTimes, error) {
	var m restartTimes
	logf, err := os.OpenFile(filepath.Join(n.dir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return m, err
	}
	defer logf.Close()
	n.cmd = exec.Command(n.exe, "_node", "--name", "r1", "--data-dir", filepath.Join(n.dir, "r1"),
		"--gossip-addr", n.gossip, "--actor-addr", n.actor, "--partitions", strconv.Itoa(n.q), "--n", "1", "--r", "1", "--w", "1")
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := n.cmd.Start(); err != nil {
		return m, err
	}
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(n.cmd, n.exited)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var c *client.Client
	for c == nil {
		cc, err := client.New(ctx, client.Config{Seeds: []string{n.actor}, RefreshInterval: -1})
		if err == nil {
			c = cc
			break
		}
		select {
		case <-n.exited:
			return m, fmt.Errorf("the node exited (log in %s)", filepath.Join(n.dir, "node.log"))
		case <-ctx.Done():
			return m, fmt.Errorf("no client: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	defer c.Close()
	left := slices.Clone(probes)
	value := make([]byte, 100)
	for len(left) > 0 {
		var next []probe
		for _, p := range left {
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			obj, err := c.Get(rctx, p.read, client.R(1))
			if err == nil && obj.Found {
				_, err = c.Put(rctx, p.write, value, client.Context{}, client.W(1))
			} else if err == nil {
				err = errors.New("not found")
			}
			rcancel()
			if err != nil {
				next = append(next, p)
			}
		}
		left = next
		if ctx.Err() != nil {
			return m, fmt.Errorf("%d partitions still unanswered: %w", len(left), ctx.Err())
		}
		if len(left) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	m.serving = time.Since(start)
	for {
		st, err := c.Status(ctx, "r1")
		if err == nil && st.Stats.TreesBuilding == 0 && int(st.Stats.TreesLoaded+st.Stats.TreesBuilt) >= n.q {
			m.trees, m.loaded, m.built = time.Since(start), st.Stats.TreesLoaded, st.Stats.TreesBuilt
			return m, nil
		}
		if ctx.Err() != nil {
			return m, fmt.Errorf("trees not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *restartNode) stop() error {
	if n.cmd == nil {
		return nil
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		n.cmd = nil
		return nil
	case <-time.After(2 * time.Minute):
		n.kill()
		return errors.New("the node did not stop within 2 minutes of SIGTERM")
	}
}

func (n *restartNode) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
	n.cmd = nil
}

// probe is a key known to be stored in one partition and a key of the
// same partition to write.
type probe struct{ read, write []byte }

func probeKeys(keys, q int) []probe {
	out := make([]probe, q)
	found := 0
	for i := 0; i < keys && found < q; i++ {
		k := keyName(i)
		p := ring.PartitionOf(ring.HashKey(k), q)
		if out[p].read == nil {
			out[p].read = k
			found++
		}
	}
	for i := 0; found < 2*q; i++ {
		k := fmt.Appendf(nil, "restart-probe-%d", i)
		p := ring.PartitionOf(ring.HashKey(k), q)
		if out[p].write == nil && out[p].read != nil {
			out[p].write = k
			found++
		}
	}
	return slices.DeleteFunc(out, func(p probe) bool { return p.read == nil })
}

// generate writes the objects of keyName(0..keys-1) into dir/r1/db, in
// key order, unless dir/keys says it holds them already.
func generate(c restartConfig, out io.Writer) error {
	marker := filepath.Join(c.dir, "keys")
	want := fmt.Sprintf("%d %d %d", c.keys, c.partitions, c.valueBytes)
	if b, err := os.ReadFile(marker); err == nil && string(b) == want {
		fmt.Fprintf(out, "bench restart: reusing %s\n", c.dir)
		return nil
	}
	if err := os.RemoveAll(filepath.Join(c.dir, "r1")); err != nil {
		return err
	}
	start := time.Now()
	// Sort by object key: partition, segment, then key (keyName is zero
	// padded, so numeric order is byte order).
	order := make([]uint64, c.keys)
	for i := range order {
		h := ring.HashKey(keyName(i))
		order[i] = uint64(ring.PartitionOf(h, c.partitions))<<48 | uint64(ring.SegmentOf(h, c.partitions))<<32 | uint64(i)
	}
	slices.Sort(order)
	e, err := storage.OpenLevelDB(filepath.Join(c.dir, "r1", "db"), storage.DefaultLevelDBConfig())
	if err != nil {
		return err
	}
	defer e.Close()
	actor := version.ActorID("r1", 1)
	rng := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, c.valueBytes)
	b := storage.NewBatch()
	for n, o := range order {
		i := int(uint32(o))
		for j := 0; j < len(value); j += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(value[j:], w[:])
		}
		set, err := version.Update(nil, version.Context{}, version.Write{Value: value, Timestamp: int64(i) + 1}, actor, 1)
		if err != nil {
			return err
		}
		raw, err := version.Marshal(set)
		if err != nil {
			return err
		}
		b.Put(storage.KeyspaceData, storage.ObjectKey(uint32(o>>48), uint16(o>>32), keyName(i)), raw)
		if b.Len() == 10_000 || n == len(order)-1 {
			if err := e.Write(b, storage.WriteOptions{}); err != nil {
				return err
			}
			b = storage.NewBatch()
		}
		if (n+1)%1_000_000 == 0 {
			fmt.Fprintf(out, "bench restart: %d keys written in %.0f s\n", n+1, time.Since(start).Seconds())
		}
	}
	if err := storage.Compact(e, storage.KeyspaceData, storage.Range{}); err != nil {
		return err
	}
	if err := e.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "bench restart: %d keys written and compacted in %.0f s\n", c.keys, time.Since(start).Seconds())
	return os.WriteFile(marker, []byte(want), 0o644)
}
