package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/status"
)

// fakeKV stands in for a cluster: it answers from fields and records calls.
type fakeKV struct {
	cfg     client.Config
	obj     *client.Object
	putCtx  []byte
	members *client.Membership
	err     error // every call fails with it
	dialErr error

	calls  []string
	ctxs   [][]byte // the context given to each put/delete
	values [][]byte
	opts   []client.Settings
	closed bool
	// listKeys are what List lists.
	listKeys []string
}

func (f *fakeKV) dial(_ context.Context, cfg client.Config) (kvClient, error) {
	f.cfg = cfg
	if f.dialErr != nil {
		return nil, f.dialErr
	}
	return f, nil
}

func (f *fakeKV) Get(_ context.Context, key []byte, opts ...client.Option) (*client.Object, error) {
	f.calls = append(f.calls, "get "+string(key))
	f.opts = append(f.opts, client.SettingsOf(opts...))
	if f.err != nil {
		return nil, f.err
	}
	if f.obj == nil {
		return &client.Object{Key: key}, nil
	}
	return f.obj, nil
}

func (f *fakeKV) Put(_ context.Context, key, value []byte, vctx client.Context, opts ...client.Option) (client.Context, error) {
	f.calls = append(f.calls, "put "+string(key))
	f.opts = append(f.opts, client.SettingsOf(opts...))
	f.ctxs = append(f.ctxs, vctx.Bytes())
	f.values = append(f.values, value)
	return client.ContextFromBytes(f.putCtx), f.err
}

func (f *fakeKV) Delete(_ context.Context, key []byte, vctx client.Context, opts ...client.Option) error {
	f.calls = append(f.calls, "delete "+string(key))
	f.opts = append(f.opts, client.SettingsOf(opts...))
	f.ctxs = append(f.ctxs, vctx.Bytes())
	return f.err
}

func (f *fakeKV) Members(context.Context) (*client.Membership, error) {
	f.calls = append(f.calls, "members")
	return f.members, f.err
}

func (f *fakeKV) Status(_ context.Context, node string) (*client.Membership, error) {
	f.calls = append(f.calls, "status "+node)
	return f.members, f.err
}

func (f *fakeKV) StopNode(_ context.Context, node string, down time.Duration) error {
	f.calls = append(f.calls, fmt.Sprintf("stop %s %s", node, down))
	return f.err
}

func (f *fakeKV) InjectFault(_ context.Context, node string, component client.FaultComponent, partition int) error {
	f.calls = append(f.calls, fmt.Sprintf("fault %s %s %d", node, component, partition))
	return f.err
}

func (f *fakeKV) Leave(_ context.Context, node string) (int, error) {
	f.calls = append(f.calls, "leave "+node)
	return 5, f.err
}

func (f *fakeKV) Remove(_ context.Context, node string) error {
	f.calls = append(f.calls, "remove "+node)
	return f.err
}

func (f *fakeKV) Background(_ context.Context, node string, action client.BackgroundAction) (bool, error) {
	f.calls = append(f.calls, "background "+action.String()+" "+node)
	return action == client.BackgroundPause, f.err
}

func (f *fakeKV) Close() error {
	f.closed = true
	return nil
}

// kv runs one cluster command against f.
func kv(f *fakeKV, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	if args[0] == "ring" {
		code = runRing(args[1:], &out, &errb, f.dial)
	} else {
		code = runKV(args[0], args[1:], &out, &errb, f.dial)
	}
	return out.String(), errb.String(), code
}

func TestGetJSON(t *testing.T) {
	f := &fakeKV{obj: &client.Object{Found: true, Values: [][]byte{[]byte("a"), {0, 0xff, '\n'}}, Context: client.ContextFromBytes([]byte("ctx<1>"))}}
	out, errs, code := kv(f, "get", "--json", "--r", "2", `k"<&>`)
	want := `{"key":"k\"<&>","found":true,"values":["YQ==","AP8K"],"context":"Y3R4PDE+"}` + "\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errs)
	}
	if f.opts[0].R != 2 || f.opts[0].Timeout != time.Second || !f.closed {
		t.Fatalf("options %+v, closed %v", f.opts[0], f.closed)
	}

	f = &fakeKV{obj: &client.Object{Found: false}}
	out, _, code = kv(f, "get", "--json", "gone")
	if code != 0 || out != `{"key":"gone","found":false,"values":[],"context":""}`+"\n" {
		t.Fatalf("not found: exit %d %q", code, out)
	}
	var back getOutput
	if err := json.Unmarshal([]byte(out), &back); err != nil || back.Values == nil {
		t.Fatalf("round trip %+v %v", back, err)
	}
}

func TestGetPlain(t *testing.T) {
	f := &fakeKV{obj: &client.Object{Found: true, Values: [][]byte{[]byte("a"), []byte("b")}, Context: client.ContextFromBytes([]byte("ctx"))}}
	out, errs, code := kv(f, "get", "k")
	if code != 0 || out != "a\nb\ncontext: Y3R4\n" || errs != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
	}
	f = &fakeKV{obj: &client.Object{Found: false, Context: client.ContextFromBytes([]byte("tomb"))}}
	out, errs, code = kv(f, "get", "k")
	if code != 1 || out != "context: dG9tYg==\n" || errs != "dynamo get: \"k\": not found\n" {
		t.Fatalf("not found: exit %d stdout %q stderr %q", code, out, errs)
	}
}

// The context put prints is what --context gives back, byte for byte.
func TestContextRoundTrip(t *testing.T) {
	raw := []byte{0, 1, 2, 0xfe, 0xff, '+', '/'}
	f := &fakeKV{putCtx: raw}
	out, errs, code := kv(f, "put", "--w", "3", "k", "v1")
	if code != 0 || errs != "" || out != base64.StdEncoding.EncodeToString(raw)+"\n" {
		t.Fatalf("put: exit %d %q %q", code, out, errs)
	}
	if f.ctxs[0] != nil || string(f.values[0]) != "v1" || f.opts[0].W != 3 {
		t.Fatalf("blind put sent context %q value %q opts %+v", f.ctxs[0], f.values[0], f.opts[0])
	}
	printed := strings.TrimSpace(out)
	if _, _, code := kv(f, "put", "--context", printed, "--lww", "k", "v2"); code != 0 {
		t.Fatal(code)
	}
	if !bytes.Equal(f.ctxs[1], raw) || !f.opts[1].LWW || f.opts[1].IfAbsent {
		t.Fatalf("put --context sent %q, want %q (opts %+v)", f.ctxs[1], raw, f.opts[1])
	}
	if _, _, code := kv(f, "put", "--if-absent", "k", "v3"); code != 0 || !f.opts[2].IfAbsent {
		t.Fatalf("put --if-absent: exit %d opts %+v", code, f.opts[2])
	}
	f.ctxs, f.opts = f.ctxs[:2], f.opts[:2]
	if _, _, code := kv(f, "delete", "--context", printed, "k"); code != 0 || !bytes.Equal(f.ctxs[2], raw) {
		t.Fatalf("delete --context: exit %d sent %q", code, f.ctxs[2])
	}
	// get's context line feeds --context too.
	f = &fakeKV{obj: &client.Object{Found: true, Values: [][]byte{[]byte("x")}, Context: client.ContextFromBytes(raw)}}
	out, _, _ = kv(f, "get", "k")
	line := out[strings.LastIndex(out, "context: ")+len("context: "):]
	if _, _, code := kv(f, "put", "--context", strings.TrimSpace(line), "k", "y"); code != 0 || !bytes.Equal(f.ctxs[0], raw) {
		t.Fatalf("get's context did not round trip: %q", f.ctxs)
	}
}

func TestDeleteWithoutContextReadsFirst(t *testing.T) {
	f := &fakeKV{obj: &client.Object{Found: true, Values: [][]byte{[]byte("x")}, Context: client.ContextFromBytes([]byte("seen"))}}
	out, errs, code := kv(f, "delete", "--w", "1", "k")
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("exit %d %q %q", code, out, errs)
	}
	if strings.Join(f.calls, ",") != "get k,delete k" || string(f.ctxs[0]) != "seen" || f.opts[1].W != 1 {
		t.Fatalf("calls %v contexts %q opts %+v", f.calls, f.ctxs, f.opts)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fakeKV
		args []string
		code int
		want string
	}{
		{"quorum", &fakeKV{err: &client.QuorumError{Op: client.OpPut, Need: 2, Got: 1}}, []string{"put", "k", "v"}, 1,
			"dynamo put: write quorum: 1 of 2 replicas answered\n"},
		{"node message", &fakeKV{err: &client.QuorumError{Op: client.OpGet, Need: 2, Got: 0, Msg: "read quorum: 0 of 2 replicas answered (3 asked: 3 timed out)"}}, []string{"get", "--json", "k"}, 1,
			"dynamo get: read quorum: 0 of 2 replicas answered (3 asked: 3 timed out)\n"},
		{"invalid", &fakeKV{err: &client.InvalidError{Field: "r", Msg: "r=4 exceeds n=3"}}, []string{"get", "--r", "4", "k"}, 1,
			"dynamo get: r=4 exceeds n=3\n"},
		{"unavailable", &fakeKV{dialErr: fmt.Errorf("%w (membership; tried a:1: refused;\nb:2: refused)", client.ErrUnavailable)}, []string{"members"}, 1,
			"dynamo members: client: no node answered (membership; tried a:1: refused; b:2: refused)\n"},
		{"bad context", &fakeKV{}, []string{"put", "--context", "not base64!", "k", "v"}, 2, ""},
		{"arguments", &fakeKV{}, []string{"put", "k"}, 2, "dynamo put: want KEY VALUE, got 1 argument\n"},
		{"flag after args", &fakeKV{}, []string{"get", "k", "--json"}, 2, "dynamo get: want KEY, got 2 arguments\n"},
		{"unknown flag", &fakeKV{}, []string{"delete", "--x", "k"}, 2, ""},
		{"bad seeds", &fakeKV{}, []string{"get", "--seeds", "nocolon", "k"}, 2, "dynamo get: --seeds: \"nocolon\" is not host:port\n"},
		{"bad timeout", &fakeKV{}, []string{"get", "--timeout", "-1s", "k"}, 2, "dynamo get: --timeout must be positive, got -1s\n"},
		{"members args", &fakeKV{}, []string{"members", "x"}, 2, "dynamo members: takes no arguments, got 1 argument\n"},
	} {
		out, errs, code := kv(tc.f, tc.args...)
		if code != tc.code || strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") || (tc.want != "" && errs != tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %d %q", tc.name, code, errs, tc.code, tc.want)
		}
		if out != "" {
			t.Errorf("%s: stdout %q", tc.name, out)
		}
		if tc.code == 2 && len(tc.f.calls) != 0 {
			t.Errorf("%s: usage error reached the cluster: %v", tc.name, tc.f.calls)
		}
	}
	var out, errb bytes.Buffer
	if code := runKV("put", []string{"-h"}, &out, &errb, (&fakeKV{}).dial); code != 0 || !strings.Contains(out.String(), "usage: dynamo put") || !strings.Contains(out.String(), "-context") {
		t.Fatalf("help: exit %d %q %q", code, out.String(), errb.String())
	}
}

func TestSeedsFlagAndEnv(t *testing.T) {
	f := &fakeKV{members: fakeMembership()}
	t.Setenv(envSeeds, "")
	t.Setenv(envListen, "")
	kv(f, "get", "k")
	if strings.Join(f.cfg.Seeds, ",") != defaultSeeds || f.cfg.ListenAddr != "127.0.0.1:0" || f.cfg.Timeout != time.Second {
		t.Fatalf("defaults: %+v", f.cfg)
	}
	t.Setenv(envSeeds, "10.0.0.1:8946, 10.0.0.2:8946")
	t.Setenv(envListen, "10.0.0.9:7000")
	kv(f, "get", "--timeout", "250ms", "k")
	if strings.Join(f.cfg.Seeds, ",") != "10.0.0.1:8946,10.0.0.2:8946" || f.cfg.ListenAddr != "10.0.0.9:7000" || f.cfg.Timeout != 250*time.Millisecond {
		t.Fatalf("env: %+v", f.cfg)
	}
	kv(f, "members", "--seeds", "127.0.0.1:9000")
	if strings.Join(f.cfg.Seeds, ",") != "127.0.0.1:9000" {
		t.Fatalf("--seeds: %+v", f.cfg)
	}
	if got := listenFor("127.0.0.1:8946"); got != "127.0.0.1:0" {
		t.Fatalf("listen for loopback seed: %s", got)
	}
}

func fakeMembership() *client.Membership {
	return &client.Membership{Node: "b", Addr: "127.0.0.1:2", Partitions: 64, N: 3, R: 2, W: 2, Members: []client.Member{
		{Name: "a", Addr: "127.0.0.1:1", Weight: 1, Zone: "z1", State: ring.Up},
		{Name: "b", Addr: "127.0.0.1:2", Weight: 2, Zone: "z2", State: ring.Up},
		{Name: "c", Addr: "127.0.0.1:3", Weight: 1, Zone: "z3", State: ring.Down},
		{Name: "d", Addr: "127.0.0.1:4", Weight: 1, Zone: "z1", State: ring.Leaving},
	}, Stats: client.NodeStats{Restarts: 3, HintsPending: 40, HintsDelivered: 7, Vnodes: 12, FaultInjection: true}}
}

func TestMembers(t *testing.T) {
	m := fakeMembership()
	r, err := m.Ring()
	if err != nil {
		t.Fatal(err)
	}
	loads := r.Loads()
	f := &fakeKV{members: m}
	out, errs, code := kv(f, "members")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || strings.Join(strings.Fields(lines[0]), " ") != "name addr state weight zone partitions" {
		t.Fatalf("table:\n%s", out)
	}
	for i, x := range m.Members {
		want := fmt.Sprintf("%s %s %s %d %s %d", x.Name, x.Addr, x.State, x.Weight, x.Zone, loads[x.Name])
		if got := strings.Join(strings.Fields(lines[i+1]), " "); got != want {
			t.Errorf("row %q, want %q", got, want)
		}
	}
	if lines[5] != "Q=64 N=3 R=2 W=2 (as seen by b at 127.0.0.1:2)" {
		t.Errorf("footer %q", lines[5])
	}
	if lines[6] != "b: vnodes 12, restarts 3, hints pending 40, hints delivered 7" {
		t.Errorf("stats line %q", lines[6])
	}

	out, _, code = kv(f, "members", "--json")
	var got membersOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	if got.Node != "b" || got.N != 3 || got.Partitions != 64 || len(got.Members) != 4 || got.Members[2].State != "down" || got.Members[1].Partitions != loads["b"] || got.Members[3].Partitions != 0 {
		t.Fatalf("json %+v", got)
	}
	if got.Stats != (status.Stats{Restarts: 3, HintsPending: 40, HintsDelivered: 7, Vnodes: 12, FaultInjection: true}) {
		t.Fatalf("json stats %+v", got.Stats)
	}
	f.calls = nil
	if _, errs, code := kv(f, "members", "--node", "c"); code != 0 || !slices.Equal(f.calls, []string{"status c"}) {
		t.Fatalf("members --node: exit %d %q calls %v", code, errs, f.calls)
	}
}

func TestStatus(t *testing.T) {
	m := fakeMembership()
	m.Stats.AntiEntropyExchanges, m.Stats.AntiEntropyIdentical, m.Stats.AntiEntropyFailures, m.Stats.AntiEntropyKeysRepaired, m.Stats.AntiEntropyBytes = 90, 80, 2, 31, 12345
	m.Stats.HandoffsPending, m.Stats.HandoffsDone, m.Stats.HandoffKeys, m.Stats.HandoffFailures, m.Stats.HandoffBytes = 2, 3, 400, 1, 999
	m.Stats.HandoffInTransit = 7
	m.Stats.ReapPasses, m.Stats.ReapFailures, m.Stats.ReapKeysChecked = 50, 1, 1200
	m.Stats.TombstonesReaped, m.Stats.ClockEntriesPruned, m.Stats.Compactions, m.Stats.CompactionMs = 1000, 30, 4, 250
	r, err := m.Ring()
	if err != nil {
		t.Fatal(err)
	}
	held, _ := r.PartitionsOf("b")
	last := time.Now().Add(-1500 * time.Millisecond)
	m.AntiEntropy = []client.PartitionSync{{Partition: held[1], LastExchange: last, Peer: "a", Exchanges: 4, KeysRepaired: 31}}
	f := &fakeKV{members: m}
	out, errs, code := kv(f, "status", "--node", "b")
	if code != 0 || errs != "" || !slices.Equal(f.calls, []string{"status b"}) {
		t.Fatalf("exit %d %q calls %v", code, errs, f.calls)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5+len(held) {
		t.Fatalf("%d lines for %d partitions held:\n%s", len(lines), len(held), out)
	}
	if lines[0] != "b at 127.0.0.1:2: vnodes 12, keys 0, restarts 3, hints pending 40, hints delivered 7" ||
		lines[1] != "handoff: 2 partitions to hand off (partition 7 in transit), 3 handed off, 400 keys moved, 1 interrupted, 999 bytes" ||
		lines[2] != "anti-entropy: 90 exchanges (80 identical), 2 abandoned, 31 keys repaired, 12345 bytes exchanged" ||
		lines[3] != "reaping: 50 passes (1 abandoned), 1200 keys checked, 1000 tombstones reaped, 30 clock entries pruned, 4 compactions (250 ms)" ||
		strings.Join(strings.Fields(lines[4]), " ") != "partition last exchange peer exchanges keys repaired" {
		t.Fatalf("header:\n%s", out)
	}
	if got := strings.Fields(lines[5]); got[0] != fmt.Sprint(held[0]) || got[1] != "never" {
		t.Fatalf("a partition never compared: %q", lines[5])
	}
	if got := strings.Fields(lines[6]); got[0] != fmt.Sprint(held[1]) || !strings.HasPrefix(got[1], "1.5") || got[3] != "a" || got[4] != "4" || got[5] != "31" {
		t.Fatalf("a partition compared 1.5 s ago with a: %q", lines[6])
	}

	out, _, code = kv(f, "status", "--json")
	var got status.Document
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	ae := got.AntiEntropy
	if got.Reap != (status.Reap{Passes: 50, Failures: 1, KeysChecked: 1200, TombstonesReaped: 1000, ClockEntriesPruned: 30, Compactions: 4, CompactionMs: 250}) {
		t.Fatalf("json reap %+v", got.Reap)
	}
	if got.Handoff != (status.Handoff{Pending: 2, InTransit: 7, Done: 3, Keys: 400, Failures: 1, Bytes: 999}) {
		t.Fatalf("json handoff %+v", got.Handoff)
	}
	if got.Node != "b" || ae.Exchanges != 90 || ae.Identical != 80 || ae.Failures != 2 || ae.KeysRepaired != 31 || ae.Bytes != 12345 ||
		len(ae.Partitions) != len(held) || ae.Partitions[0].LastExchangeMs != 0 ||
		ae.Partitions[1] != (status.Partition{Partition: held[1], LastExchangeMs: last.UnixMilli(), Peer: "a", Exchanges: 4, KeysRepaired: 31}) {
		t.Fatalf("json %+v", got)
	}
	if _, errs, code := kv(f, "status", "x"); code != 2 || errs != "dynamo status: takes no arguments, got 1 argument\n" {
		t.Fatalf("status x: exit %d %q", code, errs)
	}
}

func TestLeaveAndRemove(t *testing.T) {
	f := &fakeKV{members: fakeMembership()}
	out, errs, code := kv(f, "leave", "--node", "c", "--wait=false")
	if code != 0 || errs != "" || out != "c is leaving: handing off 5 partitions\n" || !slices.Equal(f.calls, []string{"leave c"}) {
		t.Fatalf("leave --node c: exit %d %q %q %v", code, out, errs, f.calls)
	}
	// Without --node the node at the seed leaves.
	f.calls = nil
	if _, _, code := kv(f, "leave", "--wait=false"); code != 0 || !slices.Equal(f.calls, []string{"members", "leave b"}) {
		t.Fatalf("leave: exit %d %v", code, f.calls)
	}
	// --wait polls until the node is gone.
	leavePoll = time.Millisecond
	g := &leavingKV{fakeKV: fakeKV{members: fakeMembership()}, statusLeft: 3}
	var o, e bytes.Buffer
	code = runKV("leave", []string{"--node", "b"}, &o, &e, func(context.Context, client.Config) (kvClient, error) { return g, nil })
	if code != 0 || !strings.HasSuffix(o.String(), "b has left the cluster\n") || !strings.Contains(o.String(), "b: 12 partitions still to hand off") {
		t.Fatalf("leave --wait: exit %d %q %q", code, o.String(), e.String())
	}
	f.calls = nil
	out, _, code = kv(f, "remove", "c")
	if code != 0 || !strings.HasPrefix(out, "c removed") || !slices.Equal(f.calls, []string{"remove c"}) {
		t.Fatalf("remove c: exit %d %q %v", code, out, f.calls)
	}
	if _, errs, code := kv(f, "remove"); code != 2 || !strings.Contains(errs, "want the name") {
		t.Fatalf("remove without a name: exit %d %q", code, errs)
	}
	f.err = &client.InvalidError{Field: "node", Msg: "b is alive"}
	if _, errs, code := kv(f, "remove", "b"); code != 1 || !strings.Contains(errs, "b is alive") {
		t.Fatalf("remove of a live node: exit %d %q", code, errs)
	}
}

// leavingKV answers Status for the leaving node statusLeft times, then
// lists members without it.
type leavingKV struct {
	fakeKV
	statusLeft int
}

func (g *leavingKV) Status(ctx context.Context, node string) (*client.Membership, error) {
	if g.statusLeft--; g.statusLeft >= 0 {
		return g.fakeKV.Status(ctx, node)
	}
	return nil, client.ErrUnavailable
}

func (g *leavingKV) Members(context.Context) (*client.Membership, error) {
	m := *g.members
	m.Members = slices.DeleteFunc(slices.Clone(m.Members), func(x client.Member) bool { return x.Name == "b" })
	return &m, nil
}

func TestDebugCrash(t *testing.T) {
	f := &fakeKV{members: fakeMembership()}
	out, errs, code := kv(f, "debug", "crash", "--node", "b", "--component", "vnode", "--partition", "5")
	if code != 0 || errs != "" || out != "crash of vnode requested on b\n" || !slices.Equal(f.calls, []string{"fault b vnode 5"}) {
		t.Fatalf("exit %d out %q err %q calls %v", code, out, errs, f.calls)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"debug"}, "dynamo debug: want a subcommand: crash, stop, disk or corrupt\n"},
		{[]string{"debug", "stop", "--for", "1s"}, "dynamo debug: --node is required\n"},
		{[]string{"debug", "crash", "--component", "router"}, "dynamo debug: --node is required\n"},
		{[]string{"debug", "crash", "--node", "b"}, "dynamo debug: --component is required\n"},
		{[]string{"debug", "crash", "--node", "b", "--component", "vnode"}, "dynamo debug: --partition is required with --component vnode\n"},
	} {
		f := &fakeKV{}
		if _, errs, code := kv(f, tc.args...); code != 2 || errs != tc.want || len(f.calls) != 0 {
			t.Errorf("%v: exit %d %q calls %v", tc.args, code, errs, f.calls)
		}
	}
	f = &fakeKV{err: &client.InvalidError{Field: "component", Msg: "fault injection is off on this node (start the agent with --allow-fault-injection)"}}
	if _, errs, code := kv(f, "debug", "crash", "--node", "b", "--component", "router"); code != 1 || !strings.Contains(errs, "--allow-fault-injection") {
		t.Fatalf("refused: exit %d %q", code, errs)
	}
}

func TestDebugStop(t *testing.T) {
	f := &fakeKV{members: fakeMembership()}
	out, errs, code := kv(f, "debug", "stop", "--node", "b", "--for", "3s")
	if code != 0 || errs != "" || out != "b stops now and starts again in 3s\n" || !slices.Equal(f.calls, []string{"stop b 3s"}) {
		t.Fatalf("exit %d out %q err %q calls %v", code, out, errs, f.calls)
	}
	f = &fakeKV{err: &client.ServerError{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Msg: "only nodes of `dynamo dev` can be stopped"}}
	if _, errs, code := kv(f, "debug", "stop", "--node", "b"); code != 1 || !strings.Contains(errs, "dynamo dev") {
		t.Fatalf("refused: exit %d %q", code, errs)
	}
}

func TestRingFromCluster(t *testing.T) {
	m := fakeMembership()
	r, _ := m.Ring()
	f := &fakeKV{members: m}
	out, errs, code := kv(f, "ring", "--key", "cart:42")
	pl := r.PreferenceList(r.Partition([]byte("cart:42")))
	if code != 0 || !strings.Contains(out, "primaries: "+strings.Join(pl[:3], " ")+"\n") || !strings.Contains(out, "fallbacks: "+strings.Join(pl[3:], " ")+"\n") {
		t.Fatalf("exit %d %q %q (want %v)", code, out, errs, pl)
	}
	out, _, code = kv(f, "ring")
	if code != 0 || !strings.Contains(out, "balance") || !strings.Contains(out, "z2") {
		t.Fatalf("loads: %q", out)
	}
	f = &fakeKV{members: m}
	if _, errs, code := kv(f, "ring", "--n", "2"); code != 2 || !strings.Contains(errs, "give --members") || len(f.calls) != 0 {
		t.Fatalf("--n without --members: exit %d %q %v", code, errs, f.calls)
	}
	// With --members the ring stays offline.
	if _, _, code := kv(f, "ring", "--members", "a,b,c"); code != 0 || len(f.calls) != 0 {
		t.Fatalf("offline ring called the cluster: %v", f.calls)
	}
	f = &fakeKV{dialErr: fmt.Errorf("%w (membership; tried 127.0.0.1:8946: refused)", client.ErrUnavailable)}
	if _, errs, code := kv(f, "ring"); code != 1 || errs != "dynamo ring: client: no node answered (membership; tried 127.0.0.1:8946: refused)\n" {
		t.Fatalf("unreachable: exit %d %q", code, errs)
	}
}

func TestBackgroundCommand(t *testing.T) {
	f := &fakeKV{members: fakeMembership()}
	out, errs, code := kv(f, "background", "--node", "c", "pause")
	if code != 0 || errs != "" || out != "c: background work paused\n" || !slices.Equal(f.calls, []string{"background pause c"}) {
		t.Fatalf("background --node c pause: exit %d %q %q %v", code, out, errs, f.calls)
	}
	// Without --node, the node at the seed.
	f.calls = nil
	if out, _, code := kv(f, "background", "resume"); code != 0 || out != "b: background work running\n" || !slices.Equal(f.calls, []string{"members", "background resume b"}) {
		t.Fatalf("background resume: exit %d %q %v", code, out, f.calls)
	}
	f.calls = nil
	if _, _, code := kv(f, "background", "status"); code != 0 || !slices.Equal(f.calls, []string{"members", "background status b"}) {
		t.Fatalf("background status: exit %d %v", code, f.calls)
	}
	for _, args := range [][]string{{"background"}, {"background", "stop"}, {"background", "pause", "resume"}} {
		if _, errs, code := kv(f, args...); code != 2 || errs == "" {
			t.Fatalf("%v: exit %d %q, want a usage error", args, code, errs)
		}
	}
	f.err = errors.New("boom")
	if _, errs, code := kv(f, "background", "--node", "c", "pause"); code != 1 || !strings.Contains(errs, "boom") {
		t.Fatalf("a failing request: exit %d %q", code, errs)
	}
}

// Status shows the keys held, vnodes still building their Merkle trees,
// and background work held back by admission control, in text and JSON.
func TestStatusShowsTreesAndAdmission(t *testing.T) {
	m := fakeMembership()
	m.Stats.Keys, m.Stats.TreesBuilding, m.Stats.TreesLoaded, m.Stats.TreesBuilt = 500, 3, 9, 4
	m.Stats.BackgroundHeld, m.Stats.ForegroundMeanMs, m.Stats.ForegroundBaselineMs = 0.75, 4.1, 3.9
	f := &fakeKV{members: m}
	out, errs, code := kv(f, "status", "--node", "b")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d %q", code, errs)
	}
	for _, want := range []string{
		"b at 127.0.0.1:2: vnodes 12, keys 500, restarts 3",
		"\n3 vnodes are building their Merkle trees (they serve; anti-entropy waits for them)\n",
		"\nbackground work at 25% of its rates: client requests take 4.10 ms on average, 3.90 ms without background work (admission control)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = kv(f, "status", "--json")
	var got status.Document
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if st := got.Stats; st.Keys != 500 || st.TreesBuilding != 3 || st.TreesLoaded != 9 || st.TreesBuilt != 4 ||
		st.BackgroundHeld != 0.75 || st.ForegroundMeanMs != 4.1 || st.ForegroundBaselineMs != 3.9 {
		t.Fatalf("json stats %+v", st)
	}
}

// fakeLister lists keys from a slice; its cursor is the index to resume at.
type fakeLister struct {
	keys []string
	i    int
	err  error
}

func (l *fakeLister) Next() bool {
	if l.i >= len(l.keys) {
		return false
	}
	l.i++
	return true
}
func (l *fakeLister) Key() []byte { return []byte(l.keys[l.i-1]) }
func (l *fakeLister) Err() error  { return l.err }
func (l *fakeLister) Cursor() string {
	if l.i >= len(l.keys) && l.err == nil {
		return ""
	}
	return fmt.Sprint("at", l.i)
}

func (f *fakeKV) List(_ context.Context, o client.ListOptions) keyLister {
	f.calls = append(f.calls, fmt.Sprintf("list prefix=%q cursor=%q page=%d", o.Prefix, o.Cursor, o.PageSize))
	return &fakeLister{keys: f.listKeys, err: f.err}
}

func TestKeysCommand(t *testing.T) {
	f := &fakeKV{listKeys: []string{"a", "b", "c"}}
	out, errs, code := kv(f, "keys", "--prefix", "u:", "--page-size", "2")
	if code != 0 || errs != "" || out != "a\nb\nc\n" || f.calls[0] != `list prefix="u:" cursor="" page=2` {
		t.Fatalf("keys: exit %d %q %q calls %v", code, out, errs, f.calls)
	}
	f.calls = nil
	out, _, code = kv(f, "keys", "--limit", "2", "--cursor", "xyz")
	if code != 0 || out != "a\nb\ncursor: at2\n" || f.calls[0] != `list prefix="" cursor="xyz" page=1000` {
		t.Fatalf("keys --limit: exit %d %q calls %v", code, out, f.calls)
	}
	if out, _, code = kv(f, "keys", "--limit", "3"); code != 0 || out != "a\nb\nc\n" {
		t.Fatalf("keys --limit at the end: exit %d %q (no cursor once complete)", code, out)
	}
	f = &fakeKV{listKeys: []string{"a"}, err: errors.New("no replica of partition 7 answered")}
	if out, errs, code = kv(f, "keys"); code != 1 || out != "a\n" || !strings.Contains(errs, "--cursor at1") {
		t.Fatalf("failing listing: exit %d %q %q", code, out, errs)
	}
	if _, errs, code = kv(f, "keys", "extra"); code != 2 || !strings.Contains(errs, "takes no arguments") {
		t.Fatalf("keys with an argument: exit %d %q", code, errs)
	}
}

func (f *fakeKV) Export(_ context.Context, w io.Writer, progress func(client.BackupProgress)) (uint64, error) {
	f.calls = append(f.calls, "export")
	if f.err != nil {
		return 0, f.err
	}
	_, err := w.Write([]byte("EXPORT"))
	progress(client.BackupProgress{Partition: 0, Partitions: 1, Keys: 3, Bytes: 6})
	return 3, err
}

func (f *fakeKV) Import(_ context.Context, r io.ReadSeeker, progress func(client.BackupProgress)) (uint64, error) {
	b, _ := io.ReadAll(r)
	f.calls = append(f.calls, "import "+string(b))
	if f.err != nil {
		return 1, f.err
	}
	progress(client.BackupProgress{Keys: 3, Bytes: int64(len(b))})
	return 3, nil
}

func TestExportImportCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.dyn")
	f := &fakeKV{}
	out, errs, code := kv(f, "export", "--out", file)
	if code != 0 || out != "exported 3 keys to "+file+"\n" || !strings.Contains(errs, "exported 3 keys, 6 bytes (partition 1 of 1)") {
		t.Fatalf("export: exit %d %q %q", code, out, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "EXPORT" {
		t.Fatalf("the export file: %q %v", b, err)
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial file is left: %v", err)
	}
	out, _, code = kv(f, "import", file)
	if code != 0 || out != "imported 3 keys from "+file+"\n" || f.calls[len(f.calls)-1] != "import EXPORT" {
		t.Fatalf("import: exit %d %q calls %v", code, out, f.calls)
	}
	if _, errs, code := kv(f, "export"); code != 2 || !strings.Contains(errs, "--out FILE is required") {
		t.Fatalf("export without --out: exit %d %q", code, errs)
	}
	if _, errs, code := kv(f, "import", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Fatalf("import of a missing file: exit %d %q", code, errs)
	}
	failing := &fakeKV{err: errors.New("backup: at byte 99: record checksum mismatch")}
	if _, errs, code := kv(failing, "export", "--out", filepath.Join(dir, "b2")); code != 1 || !strings.Contains(errs, "checksum") {
		t.Fatalf("a failing export: exit %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "b2.partial")); !os.IsNotExist(err) {
		t.Fatal("a failed export left its partial file")
	}
	if _, errs, code := kv(failing, "import", file); code != 1 || !strings.Contains(errs, "at byte 99") || !strings.Contains(errs, "1 keys imported before") {
		t.Fatalf("a failing import: exit %d %q", code, errs)
	}
}

// put --ttl sets the option (0 included, overriding the node's default;
// unset leaves the default); get prints each value's expiry.
func TestPutTTLAndGetExpiry(t *testing.T) {
	f := &fakeKV{}
	for _, args := range [][]string{{"put", "--ttl", "90s", "k", "v"}, {"put", "--ttl", "0", "k", "v"}, {"put", "k", "v"}} {
		if _, errs, code := kv(f, args...); code != 0 {
			t.Fatalf("%v: exit %d %q", args, code, errs)
		}
	}
	if f.opts[0].TTL == nil || *f.opts[0].TTL != 90*time.Second || f.opts[1].TTL == nil || *f.opts[1].TTL != 0 || f.opts[2].TTL != nil {
		t.Fatalf("ttls %v %v %v, want 90s, 0 and unset", f.opts[0].TTL, f.opts[1].TTL, f.opts[2].TTL)
	}
	if _, errs, code := kv(f, "put", "--ttl", "soon", "k", "v"); code != 2 || !strings.Contains(errs, "ttl") {
		t.Fatalf("bad --ttl: exit %d %q", code, errs)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	f = &fakeKV{obj: &client.Object{Found: true, Values: [][]byte{[]byte("a"), []byte("b")}, Expires: []time.Time{{}, at}, Context: client.ContextFromBytes([]byte("ctx"))}}
	out, errs, code := kv(f, "get", "k")
	if code != 0 || out != "a\nb\ncontext: Y3R4\nexpires: 2030-01-02T03:04:05.006Z (value 2)\n" || errs != "" {
		t.Fatalf("get: exit %d stdout %q stderr %q", code, out, errs)
	}
	out, _, _ = kv(f, "get", "--json", "k")
	if !strings.Contains(out, `"expires":["","2030-01-02T03:04:05.006Z"]`) {
		t.Fatalf("get --json: %q", out)
	}
}
