package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"google.golang.org/protobuf/proto"
)

// fakeCluster is a set of fake nodes on a remoting.MemoryNetwork, each
// serving a fake router that answers membership and serves keys from one
// shared map. The client under test reaches them through the network's
// transports, so these tests run under the race detector (remoting_test.go
// runs fake nodes over real remoting).
type fakeCluster struct {
	n       int
	nodes   []*fakeNode
	net     *remoting.MemoryNetwork
	clients int

	mu      sync.Mutex
	data    map[string]*entry
	lastPut *messages.PutRequest
}

type entry struct {
	values  [][]byte
	version int
}

type fakeNode struct {
	name    string
	cl      *fakeCluster
	address string
	stop    func() // stops a node over real remoting; nil on the network

	mu  sync.Mutex
	got []string // "get k", "put k", "delete k", "members"
	// override, when set, answers instead of the store; nil means no answer.
	override func(body proto.Message) proto.Message
	timeouts []uint32 // timeout_ms of each key request
}

func startCluster(t *testing.T, size, n int) *fakeCluster {
	t.Helper()
	cl := &fakeCluster{n: n, data: map[string]*entry{}, net: remoting.NewMemoryNetwork()}
	for i := range size {
		node := &fakeNode{name: fmt.Sprintf("n%d", i), cl: cl, address: fmt.Sprintf("10.0.0.%d:8946", i+1)}
		cl.net.Serve(node.address, remoting.RouterName, node.handle)
		cl.nodes = append(cl.nodes, node)
	}
	return cl
}

// halt makes the node unreachable, as a process that died: its
// connections drop and nothing answers there.
func (n *fakeNode) halt() {
	if n.stop != nil { // over real remoting (remoting_test.go)
		n.stop()
		return
	}
	n.cl.net.Drop(n.address)
}

// stopRouter removes the node's router: requests to it are dead letters.
func (n *fakeNode) stopRouter() { n.cl.net.Unserve(n.address, remoting.RouterName) }

// membersReply is the fake's membership: every node up, Q=64.
func (n *fakeNode) membersReply() *messages.MembersReply {
	r := &messages.MembersReply{Node: n.name, Partitions: 64, N: uint32(n.cl.n), R: 1, W: 1,
		Stats: &messages.NodeStats{Restarts: uint64(len(n.name)), HintsPending: 2, Vnodes: 9}}
	for _, x := range n.cl.nodes {
		r.Members = append(r.Members, &messages.MemberInfo{Name: x.name, Addr: x.addr(), Weight: 1, State: messages.MemberState_MEMBER_STATE_UP})
	}
	return r
}

func (n *fakeNode) addr() string { return n.address }

func (n *fakeNode) requests() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

func (n *fakeNode) setOverride(f func(proto.Message) proto.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.override = f
}

func hang(proto.Message) proto.Message { return nil }

// handle serves one envelope to the node's router (a remoting.Handler).
func (n *fakeNode) handle(env *messages.Envelope, respond func(*messages.Envelope)) {
	body, err := messages.Open(env)
	if err != nil {
		respond(messages.Unsupported(env))
		return
	}
	n.mu.Lock()
	override := n.override
	switch b := body.(type) {
	case *messages.MembersRequest:
		n.got = append(n.got, "members")
	case *messages.GetRequest:
		n.got = append(n.got, "get "+string(b.GetKey()))
		n.timeouts = append(n.timeouts, b.GetTimeoutMs())
	case *messages.PutRequest:
		n.got = append(n.got, "put "+string(b.GetKey()))
		n.timeouts = append(n.timeouts, b.GetTimeoutMs())
	case *messages.FaultRequest:
		n.got = append(n.got, "fault "+b.GetComponent())
	case *messages.DeleteRequest:
		n.got = append(n.got, "delete "+string(b.GetKey()))
		n.timeouts = append(n.timeouts, b.GetTimeoutMs())
	case *messages.GetManyRequest:
		n.got = append(n.got, fmt.Sprintf("get many %d", len(b.GetKeys())))
		n.timeouts = append(n.timeouts, b.GetTimeoutMs())
	}
	n.mu.Unlock()
	var reply proto.Message
	if override != nil {
		reply = override(body)
	} else {
		reply = n.serve(body)
	}
	if reply != nil {
		respond(messages.Wrap(env.GetRequestId(), reply))
	}
}

func (n *fakeNode) serve(body proto.Message) proto.Message {
	if b, ok := body.(*messages.GetManyRequest); ok {
		out := &messages.GetManyReply{}
		for _, k := range b.GetKeys() {
			out.Replies = append(out.Replies, n.serve(&messages.GetRequest{Key: k}).(*messages.GetReply))
		}
		return out
	}
	cl := n.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	switch b := body.(type) {
	case *messages.MembersRequest:
		return n.membersReply()
	case *messages.GetRequest:
		e := cl.data[string(b.GetKey())]
		if e == nil {
			return &messages.GetReply{}
		}
		return &messages.GetReply{Found: len(e.values) > 0, Values: e.values, Context: fmt.Appendf(nil, "v%d", e.version)}
	case *messages.PutRequest:
		cl.lastPut = b
		e := cl.data[string(b.GetKey())]
		if e == nil {
			e = &entry{}
			cl.data[string(b.GetKey())] = e
		}
		if len(b.GetContext()) > 0 && string(b.GetContext()) == fmt.Sprintf("v%d", e.version) {
			e.values = nil // the context covers every sibling
		}
		e.values = append(e.values, b.GetValue())
		e.version++
		return &messages.PutReply{Context: fmt.Appendf(nil, "v%d", e.version)}
	case *messages.FaultRequest:
		if b.GetComponent() != "router" {
			return &messages.FaultReply{Node: n.name, Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
				Field: "component", Message: "fault injection is off on this node (start the agent with --allow-fault-injection)"}}
		}
		return &messages.FaultReply{Node: n.name}
	case *messages.DeleteRequest:
		if e := cl.data[string(b.GetKey())]; e != nil {
			e.values = nil
			e.version++
		}
		return &messages.DeleteReply{}
	}
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED}
}

// byAddr finds the node at addr.
func (cl *fakeCluster) byName(name string) *fakeNode {
	for _, n := range cl.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// keyRequests lists, per node name, the key requests it received.
func (cl *fakeCluster) keyRequests() map[string][]string {
	out := map[string][]string{}
	for _, n := range cl.nodes {
		for _, r := range n.requests() {
			if r != "members" {
				out[n.name] = append(out[n.name], r)
			}
		}
	}
	return out
}

// prefs is the preference list of key, computed independently of the client.
func (cl *fakeCluster) prefs(t *testing.T, key string) []string {
	t.Helper()
	var ms []ring.Member
	for _, n := range cl.nodes {
		ms = append(ms, ring.Member{Name: n.name, Weight: 1})
	}
	r, err := ring.New(ring.Config{Partitions: 64, N: cl.n}, ms)
	if err != nil {
		t.Fatal(err)
	}
	return r.PreferenceList(r.Partition([]byte(key)))
}

// keyWithPrimary returns a key whose first primary is node.
func (cl *fakeCluster) keyWithPrimary(t *testing.T, node string) string {
	t.Helper()
	for i := 0; ; i++ {
		k := fmt.Sprintf("key-%d", i)
		if cl.prefs(t, k)[0] == node {
			return k
		}
	}
}

// config is a client configuration on the cluster's network (a transport
// of its own).
func (cl *fakeCluster) config(seeds ...string) Config {
	cfg := DefaultConfig()
	cfg.Seeds = seeds
	if cl.net != nil {
		cl.clients++
		cfg.Transport = cl.net.Transport(fmt.Sprintf("10.0.1.%d:7000", cl.clients))
	}
	return cfg
}

func (cl *fakeCluster) newClient(t *testing.T, seeds ...string) *Client {
	t.Helper()
	cfg := cl.config(seeds...)
	cfg.Timeout = 300 * time.Millisecond
	cfg.RefreshInterval = -1
	if os.Getenv("CLIENT_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedPorts counts the addresses closedPort gave out.
var closedPorts atomic.Int64

// closedPort is an address nothing serves on any network: a probe of it is
// refused.
func closedPort(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("10.0.9.%d:8946", closedPorts.Add(1))
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestMembershipFromSeed(t *testing.T) {
	cl := startCluster(t, 3, 2)
	dead := closedPort(t)
	start := time.Now()
	c := cl.newClient(t, dead, cl.nodes[1].addr())
	if d := time.Since(start); d > time.Second {
		t.Errorf("a refused seed cost %v", d)
	}
	m, err := c.Members(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 2 || m.Partitions != 64 || m.R != 1 || len(m.Members) != 3 {
		t.Fatalf("membership %+v", m)
	}
	for i, x := range m.Members {
		if x.Name != cl.nodes[i].name || x.Addr != cl.nodes[i].addr() || x.State != ring.Up || x.Weight != 1 {
			t.Errorf("member %d: %+v", i, x)
		}
	}
	if len(cl.nodes[1].requests()) == 0 {
		t.Error("the live seed was not asked")
	}
	if _, err := m.Ring(); err != nil {
		t.Fatal(err)
	}
}

func TestRequestsGoToTheKeysFirstPrimary(t *testing.T) {
	cl := startCluster(t, 3, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	for i := range 24 {
		key := fmt.Sprintf("k%d", i)
		if _, err := c.Put(ctx, []byte(key), []byte("v"), Context{}); err != nil {
			t.Fatal(err)
		}
		obj, err := c.Get(ctx, []byte(key))
		if err != nil || !obj.Found || string(obj.Values[0]) != "v" {
			t.Fatalf("get %s: %+v %v", key, obj, err)
		}
		if err := c.Delete(ctx, []byte(key), obj.Context); err != nil {
			t.Fatal(err)
		}
		primary := cl.prefs(t, key)[0]
		want := []string{"put " + key, "get " + key, "delete " + key}
		got := cl.byName(primary).requests()
		if len(got) < 3 || !slices.Equal(got[len(got)-3:], want) {
			t.Fatalf("%s: primary %s got %v, want %v last", key, primary, got, want)
		}
	}
	total := 0
	for _, reqs := range cl.keyRequests() {
		total += len(reqs)
	}
	if total != 24*3 {
		t.Fatalf("%d key requests for 72 calls: %v", total, cl.keyRequests())
	}
}

func TestFailover(t *testing.T) {
	ctx := bg(t)
	t.Run("stopped node", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr(), cl.nodes[1].addr(), cl.nodes[2].addr())
		key := cl.keyWithPrimary(t, "n1")
		if _, err := c.Put(ctx, []byte(key), []byte("v1"), Context{}); err != nil {
			t.Fatal(err)
		}
		cl.nodes[1].halt()
		start := time.Now()
		for i := range 5 {
			if _, err := c.Put(ctx, []byte(key), fmt.Appendf(nil, "v%d", i+2), Context{}); err != nil {
				t.Fatal(err)
			}
			if obj, err := c.Get(ctx, []byte(key)); err != nil || !obj.Found {
				t.Fatalf("get after failover: %+v %v", obj, err)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("10 requests with the primary stopped took %v", d)
		}
		second := cl.prefs(t, key)[1]
		if n := len(cl.byName(second).requests()); n < 10 {
			t.Errorf("second in preference list %s got %v", second, cl.byName(second).requests())
		}
	})
	t.Run("silent node", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr())
		key := cl.keyWithPrimary(t, "n2")
		cl.nodes[2].setOverride(hang)
		start := time.Now()
		if _, err := c.Put(ctx, []byte(key), []byte("v"), Context{}, Timeout(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
			t.Errorf("failover after silence took %v", d)
		}
		if got := cl.byName(cl.prefs(t, key)[1]).requests(); !slices.Contains(got, "put "+key) {
			t.Fatalf("next node got %v", got)
		}
		// The silent node is now suspect: the next request skips it.
		before := len(cl.nodes[2].requests())
		if _, err := c.Get(ctx, []byte(key)); err != nil {
			t.Fatal(err)
		}
		if after := cl.nodes[2].requests(); len(after) != before && after[len(after)-1] != "members" {
			t.Errorf("suspect node asked again: %v", after)
		}
	})
	t.Run("no router", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr())
		key := cl.keyWithPrimary(t, "n2")
		cl.nodes[2].stopRouter()
		start := time.Now()
		if _, err := c.Put(ctx, []byte(key), []byte("v"), Context{}, Timeout(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("dead letter failover took %v", d)
		}
	})
	t.Run("connection lost mid-request", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr())
		key := cl.keyWithPrimary(t, "n1")
		if _, err := c.Get(ctx, []byte("warm-up-"+key)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, []byte(key), []byte("v"), Context{}); err != nil { // connects to n1
			t.Fatal(err)
		}
		cl.nodes[1].setOverride(hang)
		time.AfterFunc(100*time.Millisecond, cl.nodes[1].halt)
		start := time.Now()
		if _, err := c.Get(ctx, []byte(key), Timeout(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("failover on a dropped connection took %v", d)
		}
	})
	t.Run("unavailable answer", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr())
		key := cl.keyWithPrimary(t, "n0")
		cl.nodes[0].setOverride(func(proto.Message) proto.Message {
			return &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "node is starting"}}
		})
		obj, err := c.Get(ctx, []byte(key))
		if err != nil || obj == nil {
			t.Fatalf("get: %v", err)
		}
	})
	t.Run("every node down", func(t *testing.T) {
		cl := startCluster(t, 3, 2)
		c := cl.newClient(t, cl.nodes[0].addr())
		for _, n := range cl.nodes {
			n.halt()
		}
		start := time.Now()
		_, err := c.Get(ctx, []byte("k"))
		if !errors.Is(err, ErrUnavailable) || time.Since(start) > 2*time.Second {
			t.Fatalf("after %v: %v", time.Since(start), err)
		}
		for _, n := range cl.nodes {
			if !strings.Contains(err.Error(), n.addr()) {
				t.Errorf("error does not name %s: %v", n.addr(), err)
			}
		}
	})
}

func TestTypedErrors(t *testing.T) {
	cl := startCluster(t, 3, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	setAll := func(f func(proto.Message) proto.Message) {
		for _, n := range cl.nodes {
			n.setOverride(f)
		}
	}

	setAll(func(proto.Message) proto.Message {
		return &messages.PutReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_QUORUM, Message: "write quorum: 1 of 2 replicas answered", Need: 2, Got: 1}}
	})
	_, err := c.Put(ctx, []byte("k"), []byte("v"), Context{})
	var qe *QuorumError
	if !errors.As(err, &qe) || !errors.Is(err, ErrQuorum) || qe.Need != 2 || qe.Got != 1 || qe.Op != OpPut || err.Error() != "write quorum: 1 of 2 replicas answered" {
		t.Fatalf("quorum: %#v", err)
	}
	if n := len(cl.keyRequests()); n != 1 {
		t.Fatalf("a quorum error was retried elsewhere: %v", cl.keyRequests())
	}

	setAll(func(proto.Message) proto.Message {
		return &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "r", Message: "r=3 exceeds n=2"}}
	})
	_, err = c.Get(ctx, []byte("k"))
	var ie *InvalidError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Field != "r" || err.Error() != "r=3 exceeds n=2" {
		t.Fatalf("invalid: %#v", err)
	}

	setAll(func(proto.Message) proto.Message {
		return &messages.PutReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TOO_LARGE, Field: "value", Message: "value is 2000000 bytes, the limit is 1048576", Need: 1048576, Got: 2000000}}
	})
	_, err = c.Put(ctx, []byte("k"), []byte("v"), Context{})
	if !errors.As(err, &ie) || ie.Field != "value" || ie.Code != messages.ErrorCode_ERROR_CODE_TOO_LARGE {
		t.Fatalf("too large: %#v", err)
	}

	setAll(func(proto.Message) proto.Message {
		return &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TIMEOUT, Message: "deadline passed"}}
	})
	_, err = c.Get(ctx, []byte("k"))
	var se *ServerError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &se) || se.Code != messages.ErrorCode_ERROR_CODE_TIMEOUT {
		t.Fatalf("timeout: %#v", err)
	}

	setAll(func(proto.Message) proto.Message {
		return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "protocol 1 does not know this request"}
	})
	err = c.Delete(ctx, []byte("k"), Context{})
	if !errors.As(err, &se) || se.Code != messages.ErrorCode_ERROR_CODE_UNSUPPORTED || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("unsupported: %#v", err)
	}

	var sentIfAbsent atomic.Bool
	setAll(func(m proto.Message) proto.Message {
		sentIfAbsent.Store(m.(*messages.PutRequest).GetIfAbsent())
		return &messages.PutReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_EXISTS, Message: `vnode: the key holds a value: an if-absent put of "k" is refused`}}
	})
	_, err = c.Put(ctx, []byte("k"), []byte("v"), Context{}, IfAbsent())
	if !errors.Is(err, ErrExists) || !errors.As(err, &se) || !sentIfAbsent.Load() || !strings.HasPrefix(err.Error(), "exists: ") {
		t.Fatalf("exists: %#v (if_absent sent: %v)", err, sentIfAbsent.Load())
	}
	if n := len(cl.keyRequests()); n != 1 {
		t.Fatalf("an EXISTS answer was retried elsewhere: %v", cl.keyRequests())
	}

	setAll(func(proto.Message) proto.Message { return &messages.DeleteReply{} })
	_, err = c.Get(ctx, []byte("k"))
	if !errors.As(err, &se) || se.Code != messages.ErrorCode_ERROR_CODE_INTERNAL {
		t.Fatalf("wrong reply type: %#v", err)
	}
}

func TestLocalValidationSendsNothing(t *testing.T) {
	cl := startCluster(t, 2, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	for name, tc := range map[string]struct {
		call  func() error
		field string
	}{
		"r above n":  {func() error { _, err := c.Get(ctx, []byte("k"), R(3)); return err }, "r"},
		"w above n":  {func() error { _, err := c.Put(ctx, []byte("k"), nil, Context{}, W(3)); return err }, "w"},
		"negative w": {func() error { return c.Delete(ctx, []byte("k"), Context{}, W(-1)) }, "w"},
		"empty key":  {func() error { _, err := c.Get(ctx, nil); return err }, "key"},
		"timeout":    {func() error { _, err := c.Get(ctx, []byte("k"), Timeout(-time.Second)); return err }, "timeout"},
		"nil merge":  {func() error { _, err := c.Update(ctx, []byte("k"), nil); return err }, "merge"},
		"update w": {func() error {
			_, err := c.Update(ctx, []byte("k"), func([][]byte) []byte { return nil }, W(9))
			return err
		}, "w"},
	} {
		err := tc.call()
		var ie *InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Field != tc.field {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := c.Get(ctx, []byte("k"), R(3))
	if err.Error() != "r=3 exceeds n=2" {
		t.Errorf("message %q", err)
	}
	if reqs := cl.keyRequests(); len(reqs) != 0 {
		t.Fatalf("requests sent: %v", reqs)
	}
}

func TestUpdateMergesSiblingsWithTheReadsContext(t *testing.T) {
	cl := startCluster(t, 2, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	var seen [][]byte
	merge := func(s [][]byte) []byte {
		seen = s
		return bytes.Join(s, []byte("+"))
	}
	if _, err := c.Update(ctx, []byte("cart"), merge); err != nil {
		t.Fatal(err)
	}
	if seen != nil {
		t.Fatalf("merge of a missing key got %q", seen)
	}
	for _, v := range []string{"a", "b"} {
		if _, err := c.Put(ctx, []byte("cart"), []byte(v), Context{}); err != nil {
			t.Fatal(err)
		}
	}
	read, err := c.Get(ctx, []byte("cart"))
	if err != nil || len(read.Values) != 3 {
		t.Fatalf("siblings: %+v %v", read, err)
	}
	newCtx, err := c.Update(ctx, []byte("cart"), merge, W(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || string(seen[1]) != "a" || string(seen[2]) != "b" {
		t.Fatalf("merge got %q", seen)
	}
	cl.mu.Lock()
	put := cl.lastPut
	cl.mu.Unlock()
	if !bytes.Equal(put.GetContext(), read.Context.Bytes()) || put.GetW() != 2 || string(put.GetValue()) != "++a+b"[1:] && string(put.GetValue()) != "+a+b" {
		t.Fatalf("update wrote %v with context %q, read context %q", put, put.GetContext(), read.Context)
	}
	after, err := c.Get(ctx, []byte("cart"))
	if err != nil || len(after.Values) != 1 || !bytes.Equal(after.Context.Bytes(), newCtx.Bytes()) {
		t.Fatalf("after update: %+v %v (new context %q)", after, err, newCtx)
	}
}

func TestContextBoundsTheCall(t *testing.T) {
	cl := startCluster(t, 2, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	for _, n := range cl.nodes {
		n.setOverride(hang)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, []byte("k"), Timeout(10*time.Second))
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("returned after %v", d)
	}
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	// The node was given a deadline that lets it answer before ctx ends.
	n := cl.nodes[0]
	for _, x := range cl.nodes {
		if len(x.requests()) > 1 {
			n = x
		}
	}
	n.mu.Lock()
	ms := n.timeouts[0]
	n.mu.Unlock()
	if ms == 0 || ms >= 200 {
		t.Errorf("node deadline %d ms under a 200 ms context", ms)
	}

	// Cancel.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := c.Put(ctx2, []byte("k"), nil, Context{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}

	// Close while a call waits.
	time.AfterFunc(50*time.Millisecond, func() { _ = c.Close() })
	if _, err := c.Get(context.Background(), []byte("k"), Timeout(10*time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed mid-call: %v", err)
	}
	if _, err := c.Get(context.Background(), []byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNoSeedAnswers(t *testing.T) {
	cl := startCluster(t, 2, 1)
	a, b := closedPort(t), closedPort(t)
	cfg := cl.config(a, b)
	start := time.Now()
	_, err := New(bg(t), cfg)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused seeds took %v", d)
	}

	// A seed that never answers: the context bounds New.
	cl.nodes[0].setOverride(hang)
	cfg = cl.config(cl.nodes[0].addr())
	cfg.Timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = New(ctx, cfg)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent seed: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("silent seed took %v under a 300 ms context", d)
	}

	// A node without a router answers with a dead letter.
	cl.nodes[1].stopRouter()
	cfg = cl.config(cl.nodes[1].addr())
	_, err = New(bg(t), cfg)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "dead letter") {
		t.Fatalf("no router: %v", err)
	}

	for _, bad := range []Config{{}, {Seeds: []string{"nocolon"}}, {Seeds: []string{"127.0.0.1:1"}, Timeout: -1}} {
		if _, err := New(bg(t), bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// Status and InjectFault go to the member named, whatever the routing.
func TestStatusAndInjectFaultAddressANamedNode(t *testing.T) {
	cl := startCluster(t, 3, 3)
	c := cl.newClient(t, cl.nodes[0].addr())
	target := cl.nodes[2]
	m, err := c.Status(bg(t), target.name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Node != target.name || m.Addr != target.addr() || m.Stats != (NodeStats{Restarts: uint64(len(target.name)), HintsPending: 2, Vnodes: 9, HandoffInTransit: -1}) {
		t.Fatalf("status %+v", m)
	}
	if err := c.InjectFault(bg(t), target.name, FaultRouter, 0); err != nil {
		t.Fatal(err)
	}
	if got := target.requests(); got[len(got)-1] != "fault router" {
		t.Fatalf("requests on %s: %v", target.name, got)
	}
	var ie *InvalidError
	if err := c.InjectFault(bg(t), target.name, FaultVnode, 3); !errors.As(err, &ie) || ie.Field != "component" || !strings.Contains(err.Error(), "--allow-fault-injection") {
		t.Fatalf("refused fault: %v", err)
	}
	if _, err := c.Status(bg(t), "nobody"); !errors.As(err, &ie) || ie.Field != "node" || !strings.Contains(err.Error(), `"nobody"`) {
		t.Fatalf("unknown node: %v", err)
	}
	if err := c.InjectFault(bg(t), target.name, FaultVnode, -1); !errors.As(err, &ie) || ie.Field != "partition" {
		t.Fatalf("negative partition: %v", err)
	}
}

// Close ends a read the client coordinates itself, even when its replicas
// never answer: the call returns ErrClosed at once, and Close waits for the
// read's collector, which stops too (not at the read's 30 s deadline).
func TestCloseEndsACoordinatedRead(t *testing.T) {
	cl := startCluster(t, 3, 3)
	for _, nd := range cl.nodes {
		nd.setOverride(func(body proto.Message) proto.Message {
			if _, ok := body.(*messages.MembersRequest); ok {
				r := nd.membersReply()
				r.Mode = messages.ConflictMode_CONFLICT_MODE_SIBLINGS
				return r
			}
			return nil // never answers a key request
		})
		for p := range uint32(64) { // vnodes that never answer
			cl.net.Serve(nd.addr(), remoting.VnodeName(p), func(*messages.Envelope, func(*messages.Envelope)) {})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := cl.config(cl.nodes[0].addr())
	cfg.Timeout, cfg.RefreshInterval, cfg.ReadSpeculateAfter, cfg.CoordinateReads = 30*time.Second, 0, 0, true
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range cl.nodes { // connect to every replica
		if _, err := c.Status(ctx, nd.name); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), []byte("k"))
		got <- err
	}()
	time.Sleep(300 * time.Millisecond) // the replica reads are out
	closed := make(chan struct{})
	began := time.Now()
	go func() { c.Close(); close(closed) }()
	select {
	case err := <-got:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("the read ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end when the client closed")
	}
	select {
	case <-closed:
		t.Logf("Close took %v", time.Since(began))
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: it waits for a collector that does not stop")
	}
}
