package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/internal/testbin"
)

// Pure parts: flags, the operation mix, key choice, histogram summaries.

func TestLoadFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--workload", "Z"}, "--workload"},
		{[]string{"--r", "4"}, "--r"},
		{[]string{"--w", "3", "--n", "2"}, "--w"},
		{[]string{"--value-size", "0"}, "--value-size"},
		{[]string{"--value-size", "2000000"}, "--value-size"},
		{[]string{"--keys", "0"}, "--keys"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--clients", "3", "--concurrency", "2"}, "--clients"},
		{[]string{"--dist", "pareto"}, "--dist"},
		{[]string{"--nodes", "2"}, "--n"},
		{[]string{"--nodes", "17", "--n", "3"}, "--nodes"},
		{[]string{"--partitions", "100"}, "--partitions"},
		{[]string{"--seeds", "127.0.0.1:1", "--nodes", "3"}, "--seeds"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--ops", "-1"}, "--ops"},
		{[]string{"--timeout", "2m"}, "--timeout"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"load"}, tc.args...), &out, &errb)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, errb.String())
			continue
		}
		if !strings.Contains(errb.String(), tc.flag+" ") && !strings.Contains(errb.String(), tc.flag+":") {
			t.Errorf("%v: the error does not name %s: %q", tc.args, tc.flag, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %q", tc.args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"load", "--bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bogus") {
		t.Errorf("unknown flag: exit %d, stderr %q", code, errb.String())
	}
}

func TestLoadFlagsDurationAndOps(t *testing.T) {
	parse := func(args ...string) loadConfig {
		t.Helper()
		c, err := parseLoad(args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return c
	}
	// Neither: the default duration.
	c := parse()
	if c.Ops != 0 || c.Duration != 30*time.Second || c.Nodes != 3 || c.Workload != "A" || c.Seed == 0 || !c.Fsync {
		t.Fatalf("defaults: %+v", c)
	}
	// Both: --ops wins.
	c = parse("--duration", "5s", "--ops", "100", "--workload", "f", "--seed", "7", "--fsync=false")
	if c.Ops != 100 || c.Duration != 0 || c.Workload != "F" || c.Seed != 7 || c.Fsync {
		t.Fatalf("--ops with --duration: %+v", c)
	}
	c = parse("--duration", "5s")
	if c.Ops != 0 || c.Duration != 5*time.Second {
		t.Fatalf("--duration: %+v", c)
	}
	// --seeds: no local cluster; R and W are checked against the cluster.
	c = parse("--seeds", "127.0.0.1:8946, 127.0.0.1:8947", "--r", "5")
	if c.Nodes != 0 || len(c.Seeds) != 2 || c.R != 5 {
		t.Fatalf("--seeds: %+v", c)
	}
	// 0 is the cluster's default quorum.
	c = parse("--r", "0", "--w", "0", "--nodes", "1", "--n", "1")
	if c.R != 0 || c.W != 0 {
		t.Fatalf("quorum 0: %+v", c)
	}
}

func TestWorkloadMix(t *testing.T) {
	const steps = 10000
	for _, w := range workloads {
		counts := map[opKind]int{}
		for i := range steps {
			counts[w.pick(float64(i)/steps)]++
		}
		total := 0
		for _, m := range w.mix {
			total += m.percent
			if got := counts[m.op]; got != m.percent*steps/100 {
				t.Errorf("workload %s: %s picked %d of %d, want %d%%", w.name, m.op, got, steps, m.percent)
			}
		}
		if total != 100 || len(counts) != len(w.mix) {
			t.Errorf("workload %s: weights add up to %d, ops picked %v", w.name, total, counts)
		}
		if w.pick(0.9999999) != w.mix[len(w.mix)-1].op {
			t.Errorf("workload %s: the top of the range does not pick the last op", w.name)
		}
	}
	for name, want := range map[string][]opKind{"a": {opRead, opUpdate}, "B": {opRead, opUpdate}, "c": {opRead}, "F": {opRead, opRMW}, "PUT": {opPut}, "get": {opGet}} {
		w, err := findWorkload(name)
		if err != nil || fmt.Sprint(w.ops()) != fmt.Sprint(want) {
			t.Errorf("workload %q: %v %v, want ops %v", name, w.ops(), err, want)
		}
	}
	if _, err := findWorkload("D"); err == nil || !strings.Contains(err.Error(), "A, B, C, F, put, get") {
		t.Errorf("unknown workload: %v", err)
	}
	if !workloads[0].writes() || workloads[2].writes() {
		t.Error("writes(): A writes, C does not")
	}
}

func TestKeyChoosers(t *testing.T) {
	const keys, draws = 1000, 200_000
	for _, dist := range []string{distUniform, distZipfian} {
		kc, err := newKeyChooser(dist, keys, workerRand(42, 0))
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, keys)
		for range draws {
			k := kc.next()
			if k < 0 || k >= keys {
				t.Fatalf("%s: key %d out of [0, %d)", dist, k, keys)
			}
			counts[k]++
		}
		top := float64(counts[0]) / draws
		switch dist {
		case distUniform:
			// Every key about draws/keys = 200 times.
			for k, n := range counts {
				if n < 100 || n > 320 {
					t.Fatalf("uniform: key %d drawn %d times of %d", k, n, draws)
				}
			}
		case distZipfian:
			// P(0) = 1/H(1000, 1.01) ≈ 0.135; key 0 is the hottest,
			// then key 1 about half as often.
			if top < 0.12 || top > 0.15 {
				t.Fatalf("zipfian: key 0 drawn %.3f of the time", top)
			}
			if r := float64(counts[1]) / float64(counts[0]); r < 0.45 || r > 0.55 {
				t.Fatalf("zipfian: key 1 / key 0 = %.3f", r)
			}
			if counts[keys-1] > counts[0]/100 {
				t.Fatalf("zipfian: the last key drawn %d times, the first %d", counts[keys-1], counts[0])
			}
		}
	}
	if _, err := newKeyChooser("pareto", 10, workerRand(1, 0)); err == nil {
		t.Fatal("unknown distribution accepted")
	}
	// One key: both distributions always pick it.
	for _, dist := range []string{distUniform, distZipfian} {
		kc, _ := newKeyChooser(dist, 1, workerRand(1, 0))
		for range 100 {
			if k := kc.next(); k != 0 {
				t.Fatalf("%s over 1 key: %d", dist, k)
			}
		}
	}
	// The same seed and worker choose the same keys.
	a, _ := newKeyChooser(distZipfian, keys, workerRand(9, 3))
	b, _ := newKeyChooser(distZipfian, keys, workerRand(9, 3))
	for range 1000 {
		if a.next() != b.next() {
			t.Fatal("same seed, different keys")
		}
	}
	if string(keyName(42)) != "key-00000042" {
		t.Fatalf("keyName(42) = %q", keyName(42))
	}
}

func TestSummaryAndTable(t *testing.T) {
	h := newHist()
	for us := int64(1); us <= 10000; us++ {
		_ = h.RecordValue(us) // 1 µs .. 10 ms, uniform
	}
	errs := [numErrKinds]int64{errQuorum: 2, errTimeout: 1}
	r := summarize("read", h, errs, 5, 2*time.Second)
	if r.Count != 10000 || r.Errors != 3 || r.ByKind["quorum"] != 2 || r.ByKind["timeout"] != 1 || r.ByKind["unavailable"] != 0 || r.NotFound != 5 {
		t.Fatalf("counts: %+v", r)
	}
	if r.OpsPerS != 5000 {
		t.Fatalf("ops/s = %v, want 5000 (ok ops over elapsed)", r.OpsPerS)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > want*0.002+0.001 {
			t.Errorf("%s = %v ms, want about %v", name, got, want)
		}
	}
	near("p50", r.P50Ms, 5)
	near("p95", r.P95Ms, 9.5)
	near("p99", r.P99Ms, 9.9)
	near("p99.9", r.P999Ms, 9.99)
	near("max", r.MaxMs, 10)
	near("mean", r.MeanMs, 5)
	if !(r.P50Ms <= r.P95Ms && r.P95Ms <= r.P99Ms && r.P99Ms <= r.P999Ms && r.P999Ms <= r.MaxMs) {
		t.Fatalf("percentiles out of order: %+v", r)
	}
	empty := summarize("update", newHist(), [numErrKinds]int64{}, 0, time.Second)
	if empty.Count != 0 || empty.P99Ms != 0 || empty.OpsPerS != 0 {
		t.Fatalf("empty: %+v", empty)
	}

	var buf bytes.Buffer
	r.LastErr = "read quorum: 1 of 2 replicas answered"
	printTable(&buf, []opResult{r, empty})
	out := buf.String()
	for _, want := range []string{"op", "count", "errors", "ops/s", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms",
		"read", "10000", "5000", fmtMs(r.P50Ms), fmtMs(r.P95Ms), fmtMs(r.P99Ms), fmtMs(r.P999Ms), fmtMs(r.MaxMs), "update",
		"read errors: quorum 2 timeout 1 unavailable 0 other 0 (last: read quorum: 1 of 2 replicas answered)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`update +0 +0 +0 +- +- +- +- +-`).MatchString(out) {
		t.Errorf("an op without results does not show dashes:\n%s", out)
	}
	if strings.Contains(out, "update errors") {
		t.Errorf("an op without errors has an errors line:\n%s", out)
	}

	for ms, want := range map[float64]string{0.1234: "0.123", 2.5: "2.500", 12.345: "12.35", 999.99: "999.99", 1234.5: "1234.5"} {
		if got := fmtMs(ms); got != want {
			t.Errorf("fmtMs(%v) = %q, want %q", ms, got, want)
		}
	}
	if got := progressLine(3*time.Second, 1234.4, 2, 2500); !strings.HasPrefix(got, "\r") || !strings.Contains(got, "1234 ops/s") || !strings.Contains(got, "errors 2") || !strings.Contains(got, "p99 2.500 ms") {
		t.Errorf("progress line %q", got)
	}
}

func TestRecorder(t *testing.T) {
	rec := newRecorder([]opKind{opRead, opUpdate})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				rec.stats[opRead].record(time.Duration(i+1)*time.Microsecond, nil, true)
				var err error
				if w == 0 && i < 3 {
					err = &client.QuorumError{Op: client.OpPut, Need: 2, Got: 1}
				}
				rec.stats[opUpdate].record(time.Millisecond, err, true)
			}
		}()
	}
	wg.Wait()
	ok, failed := rec.totals()
	if ok != 1997 || failed != 3 {
		t.Fatalf("totals %d ok %d failed", ok, failed)
	}
	rows := rec.results(time.Second)
	if len(rows) != 3 || rows[0].Op != "read" || rows[1].Op != "update" || rows[2].Op != "total" {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Count != 1000 || rows[1].Count != 997 || rows[1].ByKind["quorum"] != 3 || rows[2].Count != 1997 || rows[2].Errors != 3 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[1].LastErr == "" {
		t.Fatal("no last error")
	}
	if rec.merged().TotalCount() != 1997 {
		t.Fatal("merged histogram")
	}
	// A zero duration is recorded as the histogram's lowest value.
	rec.stats[opRead].record(0, nil, false)
	if rows := rec.results(time.Second); rows[0].Count != 1001 || rows[0].NotFound != 1 {
		t.Fatalf("zero duration: %+v", rows[0])
	}
}

func TestClassify(t *testing.T) {
	for err, want := range map[error]errKind{
		&client.QuorumError{Op: client.OpGet, Need: 2, Got: 1}:    errQuorum,
		fmt.Errorf("wrapped: %w", client.ErrQuorum):               errQuorum,
		fmt.Errorf("%w: x", client.ErrTimeout):                    errTimeout,
		context.DeadlineExceeded:                                  errTimeout,
		fmt.Errorf("%w the get (a: b)", client.ErrUnavailable):    errUnavailable,
		errors.New("boom"):                                        errOther,
		&client.InvalidError{Field: "value", Msg: "too large"}:    errOther,
		fmt.Errorf("x: %w", &client.QuorumError{Need: 3, Got: 2}): errQuorum,
	} {
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %s, want %s", err, errKindNames[got], errKindNames[want])
		}
	}
}

func TestMachineInfo(t *testing.T) {
	m := machineInfo()
	if m.Cores < 1 {
		t.Fatalf("%+v", m)
	}
	if _, err := os.Stat("/proc/meminfo"); err == nil && m.MemoryBytes < 1<<20 {
		t.Fatalf("memory from /proc/meminfo: %+v", m)
	}
	if c := gitCommit(); c == "" {
		t.Fatal("empty commit")
	}
}

// Real runs: `bench load` as a process, with its own node processes. The
// race detector does not allow several protoactor systems in one process
// (the library races), so the nodes are never started in the test.

// benchBin is this command, built once per test run.
var benchBin = testbin.New(".", "bench")

// TestMain removes the binary benchBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	benchBin.Remove()
	os.Exit(code)
}

// benchBinary builds this command once per test run.
func benchBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real node processes: skipped in -short mode")
	}
	return benchBin.Path(t)
}

// benchRun is a running `bench load` process whose stderr is watched line
// by line.
type benchRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr []string
	lines  chan string // every stderr line, also kept in stderr
	exited chan struct{}
	err    error
}

func startBench(t *testing.T, args ...string) *benchRun {
	t.Helper()
	b := &benchRun{t: t, lines: make(chan string, 1000), exited: make(chan struct{})}
	b.cmd = exec.Command(benchBinary(t), append([]string{"load"}, args...)...)
	b.cmd.Stdout = &b.stdout
	pipe, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.mu.Lock()
			b.stderr = append(b.stderr, sc.Text())
			b.mu.Unlock()
			select {
			case b.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		<-scanned
		b.err = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-b.exited:
		default:
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	return b
}

// waitFor waits for a stderr line containing s.
func (b *benchRun) waitFor(s string, limit time.Duration) {
	b.t.Helper()
	timeout := time.After(limit)
	for {
		select {
		case l := <-b.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-b.exited:
			b.t.Fatalf("bench exited (%v) before printing %q:\n%s", b.err, s, b.stderrText())
		case <-timeout:
			b.t.Fatalf("no %q on stderr after %v:\n%s", s, limit, b.stderrText())
		}
	}
}

// wait waits for the exit and returns the exit code.
func (b *benchRun) wait(limit time.Duration) int {
	b.t.Helper()
	select {
	case <-b.exited:
	case <-time.After(limit):
		b.t.Fatalf("bench still running after %v:\n%s", limit, b.stderrText())
	}
	var ee *exec.ExitError
	if errors.As(b.err, &ee) {
		return ee.ExitCode()
	}
	if b.err != nil {
		b.t.Fatal(b.err)
	}
	return 0
}

func (b *benchRun) stderrText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.stderr, "\n")
}

var (
	pidLine = regexp.MustCompile(`node n\d+ pid (\d+) `)
	dirLine = regexp.MustCompile(`data in (\S+)`)
)

// children are the node PIDs and the data directory the bench reported.
func (b *benchRun) children() (pids []int, dir string) {
	b.t.Helper()
	text := b.stderrText()
	for _, m := range pidLine.FindAllStringSubmatch(text, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	if m := dirLine.FindStringSubmatch(text); m != nil {
		dir = m[1]
	}
	return pids, dir
}

// alive reports whether process pid runs (a zombie, exited but not yet
// reaped by whoever adopted it, does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, serr := os.Stat("/proc/self/stat"); serr != nil {
			return syscall.Kill(pid, 0) == nil // no /proc
		}
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	f := strings.Fields(rest)
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// assertGone checks that no node process and no data directory remain,
// waiting up to limit for the processes to exit.
func (b *benchRun) assertGone(nodes int, limit time.Duration) {
	b.t.Helper()
	pids, dir := b.children()
	if len(pids) != nodes || dir == "" {
		b.t.Fatalf("bench reported pids %v and data dir %q, want %d nodes:\n%s", pids, dir, nodes, b.stderrText())
	}
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				b.t.Fatalf("node process %d is still running:\n%s", pid, b.stderrText())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		os.RemoveAll(dir)
		b.t.Fatalf("data directory %s remains (%v)", dir, err)
	}
}

func TestLoadRunsAgainstLocalNodes(t *testing.T) {
	b := startBench(t, "--nodes", "3", "--workload", "A", "--keys", "2000", "--ops", "3000", "--concurrency", "8",
		"--json", "--fsync=false", "--seed", "11")
	if code := b.wait(90 * time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, b.stderrText())
	}
	b.assertGone(3, 0)

	dec := json.NewDecoder(bytes.NewReader(b.stdout.Bytes()))
	var rep struct {
		Config struct {
			Workload    string `json:"workload"`
			Keys        int    `json:"keys"`
			ValueSize   int    `json:"value_size"`
			Concurrency int    `json:"concurrency"`
			N, R, W     int
			Nodes       int    `json:"nodes"`
			Dist        string `json:"dist"`
			Ops         int    `json:"ops"`
			Seed        uint64 `json:"seed"`
		} `json:"config"`
		Machine struct {
			Cores       int   `json:"cores"`
			MemoryBytes int64 `json:"memory_bytes"`
		} `json:"machine"`
		Commit  string `json:"commit"`
		Preload *struct {
			Keys   int   `json:"keys"`
			Errors int64 `json:"errors"`
		} `json:"preload"`
		ElapsedS    float64      `json:"elapsed_s"`
		MaxSiblings int          `json:"max_siblings_sampled"`
		Results     []opResult   `json:"results"`
		Total       opResult     `json:"total"`
		NodeMemory  []nodeMemory `json:"node_memory"`
	}
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, b.stdout.String())
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("more than one JSON object on stdout:\n%s", b.stdout.String())
	}
	c := rep.Config
	if c.Workload != "A" || c.Keys != 2000 || c.ValueSize != 100 || c.Concurrency != 8 || c.N != 3 || c.R != 2 || c.W != 2 ||
		c.Nodes != 3 || c.Dist != "uniform" || c.Ops != 3000 || c.Seed != 11 {
		t.Fatalf("config %+v", c)
	}
	if rep.Machine.Cores < 1 || rep.Commit == "" || rep.ElapsedS <= 0 {
		t.Fatalf("machine %+v, commit %q, elapsed %v", rep.Machine, rep.Commit, rep.ElapsedS)
	}
	if rep.Preload == nil || rep.Preload.Keys != 2000 || rep.Preload.Errors != 0 {
		t.Fatalf("preload %+v", rep.Preload)
	}
	if len(rep.Results) != 2 || rep.Results[0].Op != "read" || rep.Results[1].Op != "update" {
		t.Fatalf("results %+v", rep.Results)
	}
	var done, errs int64
	for _, r := range append(rep.Results, rep.Total) {
		if !(0 < r.P50Ms && r.P50Ms <= r.P95Ms && r.P95Ms <= r.P99Ms && r.P99Ms <= r.P999Ms && r.P999Ms <= r.MaxMs) {
			t.Errorf("%s: percentiles out of order: %+v", r.Op, r)
		}
		if r.Errors != 0 {
			t.Errorf("%s: %d errors (%v, last %q)", r.Op, r.Errors, r.ByKind, r.LastErr)
		}
		if r.OpsPerS <= 0 {
			t.Errorf("%s: ops/s %v", r.Op, r.OpsPerS)
		}
	}
	for _, r := range rep.Results {
		done += r.Count
		errs += r.Errors
		if r.Count < 1000 { // 50% of 3000, give or take
			t.Errorf("%s: only %d ops of 3000", r.Op, r.Count)
		}
	}
	if done+errs != 3000 || rep.Total.Count != done || rep.Total.Errors != errs {
		t.Fatalf("counts: %d ok + %d errors, total %+v; want 3000", done, errs, rep.Total)
	}
	if rep.Results[0].NotFound != 0 {
		t.Errorf("%d reads found no value after the preload", rep.Results[0].NotFound)
	}
	// Writes carry the newest context seen: a key holds one value, two
	// when two workers happened to write it at the same time.
	if rep.MaxSiblings < 1 || rep.MaxSiblings > 2 {
		t.Errorf("keys hold up to %d siblings after the run, want 1", rep.MaxSiblings)
	}
	// Each node's memory and disk, read while it ran: a Go process with
	// actors and leveldb is megabytes, never zero or terabytes.
	if len(rep.NodeMemory) != 3 {
		t.Fatalf("node memory of %d nodes: %+v", len(rep.NodeMemory), rep.NodeMemory)
	}
	for _, m := range rep.NodeMemory {
		if m.RSSBytes < 1<<20 || m.RSSBytes > 8<<30 || m.PeakRSSBytes < m.RSSBytes || m.DiskBytes < 2000*100 {
			t.Errorf("node %s memory %+v", m.Name, m)
		}
	}
}

// Ctrl-C in the middle of a run: the results so far are printed, the nodes
// stop and their data goes.
func TestLoadInterruptStopsNodes(t *testing.T) {
	b := startBench(t, "--nodes", "3", "--workload", "put", "--keys", "1000", "--duration", "60s", "--concurrency", "4", "--fsync=false")
	b.waitFor("members", 60*time.Second)
	time.Sleep(time.Second)
	if err := b.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(30 * time.Second); code != 1 {
		t.Fatalf("exit %d after SIGINT, want 1:\n%s", code, b.stderrText())
	}
	b.assertGone(3, 0)
	if out := b.stdout.String(); !strings.Contains(out, "INTERRUPTED") || !strings.Contains(out, "put") {
		t.Fatalf("no partial results on stdout:\n%s", out)
	}
	if !strings.Contains(b.stderrText(), "interrupted") {
		t.Fatalf("stderr does not say interrupted:\n%s", b.stderrText())
	}
}

// A bench killed outright (SIGKILL: no clean-up) still leaves no node
// running: they stop when their stdin, a pipe from the bench, closes.
func TestLoadKilledLeavesNoNodes(t *testing.T) {
	b := startBench(t, "--nodes", "2", "--n", "2", "--workload", "put", "--keys", "1000", "--duration", "60s", "--concurrency", "2", "--fsync=false")
	b.waitFor("members", 60*time.Second)
	pids, dir := b.children()
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.wait(10 * time.Second)
	if len(pids) != 2 {
		t.Fatalf("pids %v", pids)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("node process %d outlived the killed bench", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestMachineCPU(t *testing.T) {
	if got := cpuPerOp(0.5, 2, time.Second, 1000); got != 1000 {
		t.Fatalf("half of 2 cores for 1 s over 1,000 ops: %v µs each, want 1000", got)
	}
	if got := cpuPerOp(0.5, 2, time.Second, 0); got != 0 {
		t.Fatalf("no ops: %v, want 0", got)
	}
	t0 := readCPUTimes()
	if t0.total == 0 {
		t.Skip("no /proc/stat here")
	}
	// Keep a core busy: the fraction must be above 0 and at most 1.
	end := time.Now().Add(200 * time.Millisecond)
	for x := 0; time.Now().Before(end); x++ {
		_ = x * x
	}
	if b := t0.busySince(); b <= 0 || b > 1 {
		t.Fatalf("busy fraction %v over a busy 200 ms, want in (0, 1]", b)
	}
}
