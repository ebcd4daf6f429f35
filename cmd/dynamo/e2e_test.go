package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/internal/testbin"
)

// The end-to-end tests run real `dynamo agent` processes on loopback and
// drive them through the Go client and the CLI binary.

// dynamoBin is the dynamo command, built once per test run.
var dynamoBin = testbin.New(".", "dynamo")

// TestMain removes the built command.
func TestMain(m *testing.M) {
	code := m.Run()
	dynamoBin.Remove()
	os.Exit(code)
}

// binary builds the dynamo command once per test run.
func binary(t *testing.T) string { return dynamoBin.Path(t) }

// freeRun returns the first of n consecutive loopback ports free for TCP
// and UDP.
func freeRun(t *testing.T, n int) int { return testbin.FreeRun(t, n) }

// envCount is the positive number in the environment variable name, or def
// when it is unset.
func envCount(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q is not a positive number", name, s)
	}
	return n
}

// freePort returns a loopback port free for TCP and UDP.
func freePort(t *testing.T) int { return freeRun(t, 1) }

type agent struct {
	name       string
	dir        string
	gossip     string
	actor      string
	http       string // the HTTP API's host:port
	cmd        *exec.Cmd
	out        *syncBuf // the agent writes it while tests read it
	exited     chan struct{}
	exitErr    error
	cleanupSet bool
	// flags are extra agent flags for this agent only, after e2e.flags.
	flags []string
	// paused is set while the agent is SIGSTOPped (see pause).
	paused bool
}

type e2e struct {
	t      *testing.T
	bin    string
	agents []*agent
	// flags are extra agent flags for every agent.
	flags []string
	// env is extra environment of every CLI command (cli).
	env []string
}

func newE2E(t *testing.T, n int) *e2e {
	t.Helper()
	return newE2EWith(t, n, nil)
}

// newE2EWith starts n agents, each with the extra flags (for every agent)
// and perAgent[i] (for agent i, when given), and waits until all are up.
func newE2EWith(t *testing.T, n int, flags []string, perAgent ...[]string) *e2e {
	t.Helper()
	return newE2EEnv(t, n, flags, nil, perAgent...)
}

// newE2EEnv is newE2EWith whose CLI commands (cli) also get env.
func newE2EEnv(t *testing.T, n int, flags, env []string, perAgent ...[]string) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real processes: skipped in -short mode")
	}
	e := &e2e{t: t, bin: binary(t), flags: flags, env: env}
	base := t.TempDir()
	for i := range n {
		a := &agent{
			name:   fmt.Sprintf("e%d", i+1),
			dir:    filepath.Join(base, fmt.Sprintf("e%d", i+1)),
			gossip: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			actor:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			http:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		}
		if i < len(perAgent) {
			a.flags = perAgent[i]
		}
		e.agents = append(e.agents, a)
		e.start(i)
	}
	e.waitUp(n)
	return e
}

func (e *e2e) start(i int) {
	e.t.Helper()
	a := e.agents[i]
	args := []string{"agent", "--name", a.name, "--data-dir", a.dir, "--gossip-addr", a.gossip,
		"--actor-addr", a.actor, "--http-addr", a.http, "--partitions", "16", "--fast-gossip", "--log-level", "debug"}
	if i > 0 {
		args = append(args, "--join", e.agents[0].gossip)
	} else if a.cmd != nil {
		args = append(args, "--join", e.agents[1].gossip)
	}
	args = append(append(args, e.flags...), a.flags...)
	a.cmd = exec.Command(e.bin, args...)
	a.out = &syncBuf{}
	a.paused = false
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	a.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		a.exitErr = cmd.Wait()
		close(done)
	}(a.cmd, a.exited)
	if !a.cleanupSet {
		a.cleanupSet = true
		e.t.Cleanup(func() {
			e.stop(i)
			if e.t.Failed() {
				e.t.Logf("output of %s:\n%s", a.name, a.out.String())
			}
		})
	}
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after 10 s).
func (e *e2e) stop(i int) {
	a := e.agents[i]
	select {
	case <-a.exited:
		return
	default:
	}
	e.cont(i) // a stopped (SIGSTOP) process would not handle SIGTERM
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		if a.exitErr != nil {
			e.t.Errorf("%s exited with %v after SIGTERM", a.name, a.exitErr)
		}
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
		e.t.Errorf("%s did not stop within 10 s of SIGTERM", a.name)
	}
}

// kill sends SIGKILL (a crash: no shutdown, peers see the node failed)
// and waits for the process to exit.
func (e *e2e) kill(i int) {
	e.t.Helper()
	a := e.agents[i]
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Kill()
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		e.t.Fatalf("%s did not exit within 10 s of SIGKILL", a.name)
	}
	a.paused = false
}

// pause freezes agent i with SIGSTOP (a hung process: its sockets stay
// open, nothing answers). A cleanup sends SIGCONT, so the agent can stop.
func (e *e2e) pause(i int) {
	e.t.Helper()
	a := e.agents[i]
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		e.t.Fatalf("SIGSTOP %s: %v", a.name, err)
	}
	a.paused = true
	e.t.Cleanup(func() { e.cont(i) })
}

// cont resumes agent i after pause (SIGCONT; a no-op otherwise).
func (e *e2e) cont(i int) {
	a := e.agents[i]
	if !a.paused {
		return
	}
	select {
	case <-a.exited:
	default:
		_ = a.cmd.Process.Signal(syscall.SIGCONT)
	}
	a.paused = false
}

func (e *e2e) seeds() []string {
	var s []string
	for _, a := range e.agents {
		s = append(s, a.actor)
	}
	return s
}

// cli runs the dynamo binary with args and returns stdout, stderr and the
// exit code.
func (e *e2e) cli(args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(append(os.Environ(), "DYNAMO_SEEDS="+strings.Join(e.seeds(), ",")), e.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// waitUp waits until `dynamo members` through every running agent lists up
// members.
func (e *e2e) waitUp(up int) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range e.agents {
		select {
		case <-a.exited:
			continue
		default:
		}
		for {
			out, _, code := e.cli("members", "--json", "--seeds", a.actor)
			if code == 0 && strings.Count(out, `"state":"up"`) == up {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("%s does not see %d members up: %s", a.name, up, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (e *e2e) client() *client.Client {
	e.t.Helper()
	return e.clientOf(e.seeds()...)
}

// clientOf returns a Go client with only the given seed addresses (it
// still learns the other members from the membership).
func (e *e2e) clientOf(seeds ...string) *client.Client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Seeds: seeds})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

type getJSON struct {
	Key     string   `json:"key"`
	Found   bool     `json:"found"`
	Values  []string `json:"values"`
	Context string   `json:"context"`
}

func (e *e2e) getJSON(key string, extra ...string) getJSON {
	e.t.Helper()
	out, errOut, code := e.cli(append(append([]string{"get", "--json"}, extra...), key)...)
	if code != 0 {
		e.t.Fatalf("dynamo get %s: exit %d: %s", key, code, errOut)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		e.t.Fatalf("dynamo get --json printed more than one line: %q", out)
	}
	var g getJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		e.t.Fatalf("dynamo get --json: %v in %q", err, out)
	}
	return g
}

func decoded(t *testing.T, vals []string) []string {
	t.Helper()
	var out []string
	for _, v := range vals {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("value %q is not standard base64: %v", v, err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func TestE2EThreeAgents(t *testing.T) {
	e := newE2E(t, 3)
	c := e.client()
	ctx := context.Background()

	// CLI: put prints the new context, get --json prints one exact object.
	out, errOut, code := e.cli("put", "greeting", "hello")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("dynamo put: exit %d, out %q, err %q", code, out, errOut)
	}
	g := e.getJSON("greeting")
	if g.Key != "greeting" || !g.Found || !slices.Equal(decoded(t, g.Values), []string{"hello"}) || g.Context == "" {
		t.Fatalf("get --json: %+v", g)
	}
	if g := e.getJSON("nothing-here"); g.Found || g.Values == nil || len(g.Values) != 0 {
		t.Fatalf("absent key: %+v (values must be [], found false)", g)
	}
	// Delete with the read's context through the CLI.
	if _, errOut, code := e.cli("delete", "--context", g.Context, "greeting"); code != 0 {
		t.Fatalf("dynamo delete: %s", errOut)
	}
	if g := e.getJSON("greeting"); g.Found {
		t.Fatalf("after delete: %+v", g)
	}

	// Client: two writes with the same context become siblings; a write
	// with the merged context resolves them.
	base, err := c.Put(ctx, []byte("cart"), []byte("v0"), client.Context{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, []byte("cart"), []byte("milk"), base); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, []byte("cart"), []byte("eggs"), base); err != nil {
		t.Fatal(err)
	}
	obj, err := c.Get(ctx, []byte("cart"), client.R(3))
	if err != nil || !obj.Found {
		t.Fatal(obj, err)
	}
	if got := strs(obj.Values); !slices.Equal(got, []string{"eggs", "milk"}) {
		t.Fatalf("siblings %v, want eggs and milk (no lost update)", got)
	}
	if _, err := c.Update(ctx, []byte("cart"), func(sib [][]byte) []byte { return bytes.Join(sortedBytes(sib), []byte(",")) }); err != nil {
		t.Fatal(err)
	}
	if obj, _ := c.Get(ctx, []byte("cart"), client.R(3)); !slices.Equal(strs(obj.Values), []string{"eggs,milk"}) {
		t.Fatalf("after Update: %v", strs(obj.Values))
	}

	// R above N is refused before anything is sent.
	if _, err := c.Get(ctx, []byte("cart"), client.R(4)); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("R=4: %v", err)
	}
	if _, errOut, code := e.cli("get", "--r", "4", "cart"); code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "r") {
		t.Fatalf("dynamo get --r 4: exit %d, stderr %q", code, errOut)
	}

	// One node stopped (SIGTERM): R=2 and W=2 still succeed.
	e.stop(2)
	e.waitUp(2)
	if _, err := c.Put(ctx, []byte("k2"), []byte("v"), client.Context{}, client.W(2)); err != nil {
		t.Fatalf("W=2 with one node down: %v", err)
	}
	if obj, err := c.Get(ctx, []byte("k2"), client.R(2)); err != nil || !slices.Equal(strs(obj.Values), []string{"v"}) {
		t.Fatalf("R=2 with one node down: %v %v", obj, err)
	}

	// Two of three stopped: W=2 fails with a quorum error naming 1 of 2,
	// within the deadline.
	e.stop(1)
	e.waitUp(1)
	start := time.Now()
	_, err = c.Put(ctx, []byte("k3"), []byte("v"), client.Context{}, client.W(2), client.Timeout(500*time.Millisecond))
	var qe *client.QuorumError
	if !errors.As(err, &qe) || qe.Need != 2 || qe.Got != 1 || !errors.Is(err, client.ErrQuorum) {
		t.Fatalf("W=2 with two of three down: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("quorum failure took %v", d)
	}
	if _, errOut, code := e.cli("put", "--w", "2", "k3", "v"); code == 0 || !strings.Contains(errOut, "1 of 2") {
		t.Fatalf("dynamo put with two down: exit %d, stderr %q", code, errOut)
	}

	// Restart the stopped nodes on their data directories: e3 alone (the
	// others stopped again) still serves what it stored before.
	e.start(1)
	e.start(2)
	e.waitUp(3)
	e.stop(0)
	e.stop(1)
	e.waitUp(1)
	g = e.getJSON("cart", "--r", "1")
	if !slices.Equal(decoded(t, g.Values), []string{"eggs,milk"}) {
		t.Fatalf("restarted e3 alone: %+v", g)
	}
}

func strs(b [][]byte) []string {
	var out []string
	for _, v := range b {
		out = append(out, string(v))
	}
	slices.Sort(out)
	return out
}

func sortedBytes(b [][]byte) [][]byte {
	out := slices.Clone(b)
	slices.SortFunc(out, bytes.Compare)
	return out
}

// `dynamo dev` starts a working local cluster in one command, prints its
// addresses and an example, and stops cleanly on Ctrl-C (SIGINT).
func TestE2EDevCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes: skipped in -short mode")
	}
	bin := binary(t)
	gp, ap, hp := freeRun(t, 3), freeRun(t, 3), freeRun(t, 3)
	cmd := exec.Command(bin, "dev", "--nodes", "3", "--gossip-port", strconv.Itoa(gp), "--actor-port", strconv.Itoa(ap), "--http-port", strconv.Itoa(hp))
	var out syncBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "try, from another terminal") {
		if time.Now().After(deadline) {
			t.Fatalf("dynamo dev did not become ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	seed := fmt.Sprintf("127.0.0.1:%d", ap)
	if !strings.Contains(out.String(), "--seeds "+seed) {
		t.Fatalf("dynamo dev output does not name the seed %s:\n%s", seed, out.String())
	}
	e := &e2e{t: t, bin: bin, agents: []*agent{{actor: seed}}}
	deadline = time.Now().Add(15 * time.Second)
	for {
		if o, _, code := e.cli("members", "--json", "--seeds", seed); code == 0 && strings.Count(o, `"state":"up"`) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dev cluster members not up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, errOut, code := e.cli("put", "--seeds", seed, "greeting", "hello"); code != 0 {
		t.Fatalf("put: %s", errOut)
	}
	if g := e.getJSON("greeting", "--seeds", seed); !slices.Equal(decoded(t, g.Values), []string{"hello"}) {
		t.Fatalf("get: %+v", g)
	}
	// The HTTP API of every dev node reads what the CLI wrote.
	for i := range 3 {
		u := fmt.Sprintf("http://127.0.0.1:%d/kv/greeting", hp+i)
		if !strings.Contains(out.String(), fmt.Sprintf("http://127.0.0.1:%d/", hp+i)) {
			t.Fatalf("dynamo dev output does not name the HTTP address of node %d:\n%s", i+1, out.String())
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello" {
			t.Fatalf("GET %s: %d %q", u, resp.StatusCode, b)
		}
	}
	// A dev node stops on request and comes back on its data.
	if o, errOut, code := e.cli("debug", "stop", "--seeds", seed, "--node", "dev3", "--for", "1s"); code != 0 || !strings.Contains(o, "dev3 stops now") {
		t.Fatalf("debug stop: exit %d %s %s", code, o, errOut)
	}
	for _, want := range []string{"dev3 stopped (debug stop)", "dev3 is back"} {
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("dynamo dev never said %q:\n%s", want, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		o, _, code := e.cli("get", "--json", "--seeds", fmt.Sprintf("127.0.0.1:%d", ap+2), "--r", "3", "greeting")
		if code == 0 && strings.Contains(o, `"found":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev3 does not serve reads after its restart: %s", o)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dynamo dev exited with %v after Ctrl-C:\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dynamo dev did not stop within 10 s of Ctrl-C")
	}
}

type syncBuf = testbin.SyncBuffer
