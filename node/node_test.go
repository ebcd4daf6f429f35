package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/internal/testbin"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"google.golang.org/protobuf/proto"
)

type syncBuffer = testbin.SyncBuffer

func testConfig(t *testing.T, name, dir string, join ...string) Config {
	cfg := DefaultConfig(name)
	cfg.DataDir = dir
	cfg.GossipAddr, cfg.ActorAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Join = join
	cfg.Partitions = 16
	cfg.FastGossip, cfg.NoSync = true, true
	if secureAll {
		secure(t, &cfg)
	}
	// Each node logs at debug into a buffer the test prints when it fails
	// (DYNAMO_TEST_LOG=1 prints always).
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("DYNAMO_TEST_LOG") != "" {
			t.Logf("log of %s:\n%s", name, logs.String())
		}
	})
	return cfg
}

type harness struct {
	t *testing.T
	// tweak, when set, adjusts each node's Config before it starts.
	tweak  func(*Config)
	nodes  []*Node
	dirs   []string
	client *remoting.System
	id     uint64
}

func startCluster(t *testing.T, n int, tweak ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, client: startClient(t)}
	if len(tweak) > 0 {
		h.tweak = tweak[0]
	}
	for i := range n {
		h.dirs = append(h.dirs, t.TempDir())
		h.nodes = append(h.nodes, nil)
		h.start(i)
	}
	h.waitMembers(n, n)
	return h
}

func (h *harness) start(i int) {
	h.t.Helper()
	var join []string
	for j, nd := range h.nodes {
		if j != i && nd != nil {
			join = append(join, nd.GossipAddr())
			break
		}
	}
	cfg := testConfig(h.t, fmt.Sprintf("n%d", i+1), h.dirs[i], join...)
	if h.tweak != nil {
		h.tweak(&cfg)
	}
	nd, err := Start(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(nd.Stop)
	h.nodes[i] = nd
}

func (h *harness) stop(i int) {
	h.nodes[i].Stop()
	h.nodes[i] = nil
}

// waitMembers waits until every running node's router sees want members of
// which up are up.
func (h *harness) waitMembers(want, up int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range h.nodes {
		if nd == nil {
			continue
		}
		for {
			// A node that has just started may not have spawned its
			// router yet (its supervisor does, asynchronously): a dead
			// letter then is retried like a view not yet complete.
			h.id++
			env, err := h.trySend(nd, messages.Wrap(h.id, &messages.MembersRequest{}))
			m := env.GetMembersReply()
			ups := 0
			for _, mi := range m.GetMembers() {
				if mi.GetState() == messages.MemberState_MEMBER_STATE_UP {
					ups++
				}
			}
			if err == nil && m.GetError() == nil && len(m.GetMembers()) == want && ups == up {
				break
			}
			if time.Now().After(deadline) {
				h.t.Fatalf("%s sees %d members (%d up), want %d (%d up): %v (last error: %v)", nd.Name(), len(m.GetMembers()), ups, want, up, m, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (h *harness) call(nd *Node, body proto.Message) *messages.Envelope {
	h.t.Helper()
	h.id++
	return h.send(nd, messages.Wrap(h.id, body))
}

func (h *harness) send(nd *Node, env *messages.Envelope) *messages.Envelope {
	h.t.Helper()
	res, err := h.trySend(nd, env)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

// trySend is send that returns the error instead of failing the test.
func (h *harness) trySend(nd *Node, env *messages.Envelope) (*messages.Envelope, error) {
	res, err := h.client.Root().RequestFuture(actor.NewPID(nd.ActorAddr(), remoting.RouterName), env, 5*time.Second).Result()
	if err != nil {
		return nil, fmt.Errorf("request to %s: %w", nd.Name(), err)
	}
	return res.(*messages.Envelope), nil
}

func (h *harness) put(nd *Node, key, value string, ctx []byte, w uint32) *messages.PutReply {
	h.t.Helper()
	return h.call(nd, &messages.PutRequest{Key: []byte(key), Value: []byte(value), Context: ctx, W: w}).GetPutReply()
}

func (h *harness) get(nd *Node, key string, r uint32) *messages.GetReply {
	h.t.Helper()
	return h.call(nd, &messages.GetRequest{Key: []byte(key), R: r}).GetGetReply()
}

func vals(g *messages.GetReply) []string {
	var out []string
	for _, v := range g.GetValues() {
		out = append(out, string(v))
	}
	slices.Sort(out)
	return out
}

// A 3-node cluster over real serf and remoting: put, get and delete through
// any node; one node stopped and R=2/W=2 still work; the node restarted on
// its data directory rejoins and still holds what it stored.
func TestThreeNodeCluster(t *testing.T) {
	h := startCluster(t, 3)
	n1, n2, n3 := h.nodes[0], h.nodes[1], h.nodes[2]
	p := h.put(n1, "cart", "apple", nil, 0)
	if p.GetError() != nil {
		t.Fatal(p.GetError())
	}
	if g := h.get(n2, "cart", 3); !slices.Equal(vals(g), []string{"apple"}) {
		t.Fatalf("get: %v", g)
	}
	// Siblings: the same context through the same coordinator.
	a, b := h.put(n3, "s", "x", nil, 0), h.put(n3, "s", "y", nil, 0)
	if a.GetError() != nil || b.GetError() != nil {
		t.Fatal(a, b)
	}
	if g := h.get(n1, "s", 3); !slices.Equal(vals(g), []string{"x", "y"}) {
		t.Fatalf("blind writes through one coordinator: %v, want siblings x and y", vals(g))
	}

	h.stop(2)
	h.waitMembers(3, 2)
	if p := h.put(n1, "cart", "pear", h.get(n1, "cart", 2).GetContext(), 2); p.GetError() != nil {
		t.Fatalf("W=2 with one node down: %v", p.GetError())
	}
	if g := h.get(n2, "cart", 2); !slices.Equal(vals(g), []string{"pear"}) {
		t.Fatalf("R=2 with one node down: %v", g)
	}
	if d := h.call(n2, &messages.DeleteRequest{Key: []byte("s"), Context: h.get(n2, "s", 2).GetContext()}).GetDeleteReply(); d.GetError() != nil {
		t.Fatalf("delete: %v", d.GetError())
	}

	// Restart n3 on its data directory; the others deliver the hints they
	// kept for it; then stop them: what n3 answers alone comes from its own
	// disk.
	h.start(2)
	h.waitMembers(3, 3)
	deadline := time.Now().Add(10 * time.Second)
	for h.nodes[0].Counters().HintsPending.Load()+h.nodes[1].Counters().HintsPending.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("hints for n3 not delivered within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.stop(0)
	h.stop(1)
	h.waitMembers(3, 1)
	g := h.get(h.nodes[2], "cart", 1)
	if g.GetError() != nil || !g.GetFound() || !slices.Equal(vals(g), []string{"pear"}) {
		t.Fatalf("restarted node alone: %v (it stored apple before it stopped, and got pear by hinted handoff)", g)
	}
	if g := h.get(h.nodes[2], "s", 1); g.GetFound() {
		t.Fatalf("restarted node alone: %v (the delete of s reached it by hinted handoff)", g)
	}
	if w := h.put(h.nodes[2], "cart", "z", nil, 2).GetError(); w.GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM || w.GetNeed() != 2 || w.GetGot() != 1 {
		t.Fatalf("W=2 with two of three down: %v", w)
	}
}

// Five nodes: keys written through random nodes are read through others,
// and each is stored on exactly N=3 nodes.
func TestFiveNodeCluster(t *testing.T) {
	h := startCluster(t, 5)
	for i := range 40 {
		k := fmt.Sprintf("key-%d", i)
		if p := h.put(h.nodes[i%5], k, k, nil, 0); p.GetError() != nil {
			t.Fatalf("%s: %v", k, p.GetError())
		}
	}
	for i := range 40 {
		k := fmt.Sprintf("key-%d", i)
		if g := h.get(h.nodes[(i+2)%5], k, 3); !slices.Equal(vals(g), []string{k}) {
			t.Fatalf("%s: %v", k, g)
		}
		holders := 0
		part := ring.PartitionOf(ring.HashKey([]byte(k)), 16)
		for _, nd := range h.nodes {
			res, err := h.client.Root().RequestFuture(actor.NewPID(nd.ActorAddr(), remoting.VnodeName(part)),
				messages.Wrap(1, &messages.ReplicaGetRequest{Partition: part, Key: []byte(k)}), 2*time.Second).Result()
			if err != nil {
				continue
			}
			if env, ok := res.(*messages.Envelope); ok && env.GetReplicaGetReply().GetFound() {
				holders++
			}
		}
		if holders != 3 {
			t.Fatalf("%s is on %d nodes, want 3", k, holders)
		}
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]func(*Config){
		"--name":        func(c *Config) { c.Name = "" },
		"--gossip-addr": func(c *Config) { c.GossipAddr = "nohost" },
		"--actor-addr":  func(c *Config) { c.ActorAddr = ":99" },
		"--join":        func(c *Config) { c.Join = []string{"127.0.0.1:notaport"} },
		"--actor-addr: \"0.0.0.0:0\" is not an address": func(c *Config) { c.ActorAddr = "0.0.0.0:0" },
		"--partitions":            func(c *Config) { c.Partitions = 100 },
		"--n":                     func(c *Config) { c.N = 17 },
		"--r":                     func(c *Config) { c.N, c.R = 3, 4 },
		"--w":                     func(c *Config) { c.N, c.W = 3, 0 },
		"--weight":                func(c *Config) { c.Weight = 0 },
		"--timeout":               func(c *Config) { c.Timeout = -time.Second },
		"--anti-entropy-interval": func(c *Config) { c.AntiEntropyInterval = 0 },
		"--anti-entropy-rate":     func(c *Config) { c.AntiEntropyRate = 0 },
		"--cache-bytes":           func(c *Config) { c.CacheBytes = -1 },
		"--block-cache-bytes":     func(c *Config) { c.BlockCacheBytes = -1 },
		"--tombstone-grace: must exceed --hint-max-age":    func(c *Config) { c.TombstoneGrace = time.Hour },
		"--prune-min-age: must exceed --hint-max-age":      func(c *Config) { c.PruneMinAge = 3 * time.Hour },
		"--tombstone-grace: must exceed --hint-max-age 5h": func(c *Config) { c.HintMaxAge, c.TombstoneGrace = 5*time.Hour, 4*time.Hour },
		"--tombstone-grace: must be from 1s":               func(c *Config) { c.TombstoneGrace, c.NoHintedHandoff = time.Millisecond, true },
		"--commit-linger: must be from 0 to 100ms":         func(c *Config) { c.CommitLinger = time.Second },
		"--flush-interval: must be from 1ms to 1s":         func(c *Config) { c.FlushInterval = 0 },
		"--default-ttl: ttl 500µs is below":                func(c *Config) { c.DefaultTTL = 500 * time.Microsecond },
		"--bind-addr: want an IP":                          func(c *Config) { c.BindAddr = "eth0" },
		"--advertise-addr: is required with --bind-addr":   func(c *Config) { c.BindAddr = "0.0.0.0" },
		"--advertise-addr: want the IP":                    func(c *Config) { c.BindAddr, c.AdvertiseAddr = "0.0.0.0", "0.0.0.0" },
		"--advertise-addr: needs a fixed port in --actor-addr": func(c *Config) {
			c.AdvertiseAddr, c.GossipAddr, c.ActorAddr = "127.0.0.1", "127.0.0.1:7000", "127.0.0.1:0"
		},
	}
	for flag, mut := range cases {
		cfg := testConfig(t, "x", dir)
		mut(&cfg)
		if _, err := Start(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), strings.TrimSuffix(flag, ":")) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}

func TestListenAddrsFromBindAndAdvertise(t *testing.T) {
	c := Config{GossipAddr: "127.0.0.1:7946", ActorAddr: "127.0.0.1:8946"}
	if gb, ab, ga, aa := c.listenAddrs(); gb != c.GossipAddr || ab != c.ActorAddr || ga != "" || aa != "" {
		t.Fatalf("neither set: %s %s %q %q", gb, ab, ga, aa)
	}
	c.BindAddr, c.AdvertiseAddr = "0.0.0.0", "10.1.2.3"
	if gb, ab, ga, aa := c.listenAddrs(); gb != "0.0.0.0:7946" || ab != "0.0.0.0:8946" || ga != "10.1.2.3:7946" || aa != "10.1.2.3:8946" {
		t.Fatalf("both set: %s %s %s %s", gb, ab, ga, aa)
	}
	c.BindAddr, c.AdvertiseAddr = "::", "fd00::5"
	if gb, _, _, aa := c.listenAddrs(); gb != "[::]:7946" || aa != "[fd00::5]:8946" {
		t.Fatalf("IPv6: %s %s", gb, aa)
	}
}

// Q is fixed per cluster: the data directory remembers it, and a node with
// another Q cannot join.
func TestPartitionsAreFixedPerCluster(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "a", dir)
	cfg.Partitions = 32
	a, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Stop()
	cfg.Partitions = 64
	if _, err := Start(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--partitions") || !strings.Contains(err.Error(), "32") {
		t.Fatalf("restart with another Q: %v", err)
	}
	cfg.Partitions = 0 // use the stored one
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	a, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	bcfg := testConfig(t, "b", t.TempDir(), a.GossipAddr())
	bcfg.Partitions = 16
	if b, err := Start(bcfg); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "32") {
		if b != nil {
			b.Stop()
		}
		t.Fatalf("join with another Q: %v", err)
	}
	// The refused node did not bind its data directory to Q=16: without
	// --partitions it adopts the cluster's Q and N and starts.
	bcfg.Partitions, bcfg.N = 0, 0
	b, err := Start(bcfg)
	if err != nil {
		t.Fatalf("join without --partitions: %v", err)
	}
	defer b.Stop()
	if b.q != 32 || b.n != 3 {
		t.Fatalf("joined with Q=%d N=%d, the cluster has 32 and 3", b.q, b.n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "member refused") {
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not log the refusal:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A seed given as a DNS name joins through what the name resolves to.
func TestJoinThroughASeedsDNSName(t *testing.T) {
	a, err := Start(testConfig(t, "a", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	_, port, _ := net.SplitHostPort(a.GossipAddr())
	b, err := Start(testConfig(t, "b", t.TempDir(), net.JoinHostPort("localhost", port)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for len(a.gossip.Members()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a sees %d members after b joined through localhost:%s", len(a.gossip.Members()), port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A node that left the cluster writes a marker: started again with
// StayLeft it refuses (ErrLeft) and joins nothing; without it, it rejoins
// on its data and the marker goes.
func TestStayLeftKeepsALeftNodeOut(t *testing.T) {
	h := startCluster(t, 3)
	if _, err := h.nodes[2].Leave(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.nodes[2].Left():
	case <-time.After(30 * time.Second):
		t.Fatal("n3 did not leave within 30 s")
	}
	h.nodes[2].Stop()
	marker := filepath.Join(h.dirs[2], leftMarker)
	if !fileExists(marker) {
		t.Fatal("no marker after the leave")
	}
	cfg := testConfig(t, "n3", h.dirs[2], h.nodes[0].GossipAddr())
	cfg.StayLeft = true
	if nd, err := Start(cfg); !errors.Is(err, ErrLeft) {
		if nd != nil {
			nd.Stop()
		}
		t.Fatalf("start with StayLeft after a leave: %v, want ErrLeft", err)
	}
	cfg.StayLeft = false
	nd, err := Start(cfg)
	if err != nil {
		t.Fatalf("start without StayLeft after a leave: %v", err)
	}
	defer nd.Stop()
	if fileExists(marker) {
		t.Fatal("the marker outlived a rejoin")
	}
}
