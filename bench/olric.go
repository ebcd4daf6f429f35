package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// `--vs olric` runs the same workload against a cluster of 3 Olric members
// (github.com/buraksezer/olric, an embeddable distributed cache with
// quorums) on the same cores, right after the dynamo run. The program that
// runs a member or drives the load is the nested module bench/olric, so
// that Olric's dependencies stay out of dynamo's go.mod. Go cannot embed
// files of another module, so olric.txtar holds a copy of its source
// (go.mod, go.sum and the non-test .go files), kept current by
// TestOlricArchiveIsCurrent; the bench writes it to a temporary directory,
// builds it with `go build` once and keeps the binary in the user cache
// directory under a hash of the archive.

//go:generate go test -run ^TestOlricArchiveIsCurrent$ . -update-olric

//go:embed olric.txtar
var olricArchive []byte

// The Olric cluster: fixed, as the comparison states it.
const (
	olricMembers     = 3
	olricReplicas    = 3
	olricReadQuorum  = 2
	olricWriteQuorum = 2
	// olricReadyLimit is how long a member has to print "ready".
	olricReadyLimit = 60 * time.Second
)

// olricResult is the Olric run, as the load program reports it plus the
// cluster's settings and the ratios.
type olricResult struct {
	Version     string         `json:"version"` // Olric's ReleaseVersion, "0.5.7"
	Module      string         `json:"module"`  // "github.com/buraksezer/olric v0.5.7"
	GoVersion   string         `json:"go_version"`
	Members     int            `json:"members"`
	Partitions  int            `json:"partitions"`
	Replicas    int            `json:"replicas"`
	ReadQuorum  int            `json:"read_quorum"`
	WriteQuorum int            `json:"write_quorum"`
	PoolSize    int            `json:"pool_size"` // the client's connections per member
	FormSeconds float64        `json:"form_seconds"`
	Preload     *preloadResult `json:"preload,omitempty"`
	ElapsedS    float64        `json:"elapsed_s"`
	Results     []opResult     `json:"results"`
	Total       opResult       `json:"total"`
	// Ratio is dynamo's total ops/s over Olric's: both ran the same mix.
	Ratio float64 `json:"ratio"`
	// OpRatios is dynamo's ops/s over Olric's per operation of the mix.
	OpRatios map[string]float64 `json:"op_ratios,omitempty"`
}

// parseOlricOutput reads the load program's stdout: one JSON object on its
// last non-empty line.
func parseOlricOutput(out []byte) (*olricResult, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return nil, errors.New("the Olric load program printed nothing")
	}
	var r olricResult
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return nil, fmt.Errorf("the Olric load program's output: %w: %q", err, last)
	}
	if r.Version == "" || len(r.Results) == 0 || r.Total.Op == "" {
		return nil, fmt.Errorf("the Olric load program's output lacks its version or results: %q", last)
	}
	return &r, nil
}

// olricRatio is dynamo's throughput over Olric's. Both ran the same mix
// with the same workers, so it is the ratio of the totals; OpRatios are the
// same per operation.
func olricRatio(rep *loadReport, o *olricResult) (float64, map[string]float64) {
	ratios := map[string]float64{}
	for _, d := range rep.Results {
		for _, r := range o.Results {
			if r.Op == d.Op && r.OpsPerS > 0 {
				ratios[d.Op] = round(d.OpsPerS/r.OpsPerS, 3)
			}
		}
	}
	if o.Total.OpsPerS == 0 {
		return 0, ratios
	}
	return rep.Total.OpsPerS / o.Total.OpsPerS, ratios
}

// olricArgs are the load program's flags for the run cfg describes.
func olricArgs(cfg loadConfig, addrs []string) []string {
	var mix []string
	for _, m := range cfg.wl.mix {
		mix = append(mix, fmt.Sprintf("%s:%d", m.op, m.percent))
	}
	args := []string{"load", "--addrs", strings.Join(addrs, ","), "--members", strconv.Itoa(olricMembers),
		"--replicas", strconv.Itoa(olricReplicas), "--mix", strings.Join(mix, ","),
		"--keys", strconv.Itoa(cfg.Keys), "--value-size", strconv.Itoa(cfg.ValueSize),
		"--concurrency", strconv.Itoa(cfg.Concurrency), "--seed", strconv.FormatUint(cfg.Seed, 10),
		"--dist", cfg.Dist, "--timeout", cfg.Timeout.String(),
		"--preload=" + strconv.FormatBool(cfg.wl.preload && cfg.Preload)}
	if cfg.Ops > 0 {
		args = append(args, "--ops", strconv.FormatInt(cfg.Ops, 10))
	} else {
		args = append(args, "--duration", cfg.Duration.String())
	}
	return args
}

// archiveFile is one file of a txtar archive.
type archiveFile struct {
	name string
	data []byte
}

// parseArchive reads the txtar format: a comment, then files, each after a
// "-- name --" line.
func parseArchive(b []byte) ([]archiveFile, error) {
	var files []archiveFile
	for len(b) > 0 {
		line := b
		rest := []byte(nil)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, rest = b[:i], b[i+1:]
		}
		if name, ok := archiveMarker(line); ok {
			files = append(files, archiveFile{name: name})
		} else if len(files) > 0 {
			f := &files[len(files)-1]
			f.data = append(f.data, b[:len(b)-len(rest)]...)
		}
		b = rest
	}
	if len(files) == 0 {
		return nil, errors.New("the embedded Olric source archive holds no file")
	}
	for _, f := range files {
		if f.name != filepath.Base(f.name) || f.name == "." || f.name == ".." {
			return nil, fmt.Errorf("the embedded Olric source archive holds a bad file name %q", f.name)
		}
	}
	return files, nil
}

func archiveMarker(line []byte) (string, bool) {
	s := string(line)
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	return strings.TrimSpace(s[3 : len(s)-3]), true
}

// formatArchive writes files in the txtar format after comment.
func formatArchive(comment string, files []archiveFile) []byte {
	var b bytes.Buffer
	b.WriteString(comment)
	for _, f := range files {
		fmt.Fprintf(&b, "-- %s --\n", f.name)
		b.Write(f.data)
		if len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// olricBinaryPath is where the built load program is kept: the user cache
// directory (the temporary directory without one), under a hash of the
// embedded source, so that a changed source builds a new binary.
func olricBinaryPath() string {
	sum := sha256.Sum256(olricArchive)
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "dynamo-bench", "olric-"+hex.EncodeToString(sum[:8]), "olric-bench")
}

// buildOlric returns the path of the Olric peer program, building it first
// when the cache does not have it.
func buildOlric(ctx context.Context, log io.Writer) (string, error) {
	bin := olricBinaryPath()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	const needs = "--vs olric builds its Olric peer program (the nested module bench/olric) with `go build`: it needs Go on PATH, and the module proxy (GOPROXY) or a module cache that already holds github.com/buraksezer/olric and its dependencies"
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%s: %w", needs, err)
	}
	files, err := parseArchive(olricArchive)
	if err != nil {
		return "", err
	}
	src, err := os.MkdirTemp("", "dynamo-bench-olric-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(src, f.name), f.data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Errorf("the Olric peer's cache directory: %w", err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	defer os.Remove(tmp)
	fmt.Fprintf(log, "bench: building the Olric peer program (once; kept in %s)\n", filepath.Dir(bin))
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%s; `go build` in a copy of it failed: %w\n%s", needs, err, lastLines(out, 20))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "bench: built the Olric peer program in %.0f s\n", time.Since(start).Seconds())
	return bin, nil
}

// lastLines returns the last n lines of out, indented.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// olricMember is one member process.
type olricMember struct {
	name       string
	addr       string // Olric's protocol
	memberlist string // gossip
	logPath    string
	cmd        *exec.Cmd
	stdin      io.WriteCloser // closing it stops the member
	ready      chan struct{}  // closed when it printed "ready"
	exited     chan struct{}  // closed when it exited
	waitErr    error
}

// olricCluster is the member processes of one run.
type olricCluster struct {
	bin     string
	dir     string
	log     io.Writer
	members []*olricMember
	once    sync.Once
}

// startOlricCluster starts the members and waits until each said it is
// ready: the first founds the cluster, the others join it. On error every
// process started is stopped.
func startOlricCluster(ctx context.Context, bin string, log io.Writer) (oc *olricCluster, err error) {
	dir, err := os.MkdirTemp("", "dynamo-bench-olric-")
	if err != nil {
		return nil, err
	}
	oc = &olricCluster{bin: bin, dir: dir, log: log}
	defer func() {
		if err != nil {
			oc.stop()
			oc = nil
		}
	}()
	ports, err := freePorts(2 * olricMembers)
	if err != nil {
		return oc, err
	}
	for i := range olricMembers {
		oc.members = append(oc.members, &olricMember{
			name:       fmt.Sprintf("m%d", i+1),
			addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			memberlist: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
			logPath:    filepath.Join(dir, fmt.Sprintf("m%d.log", i+1)),
		})
	}
	fmt.Fprintf(log, "bench: starting %d Olric member processes (replicas %d, read/write quorum %d/%d), logs in %s\n",
		olricMembers, olricReplicas, olricReadQuorum, olricWriteQuorum, dir)
	for i, m := range oc.members {
		if err := oc.spawn(m, i > 0); err != nil {
			return oc, err
		}
		if i == 0 {
			if err := oc.waitReady(ctx, m); err != nil {
				return oc, err
			}
		}
	}
	for _, m := range oc.members[1:] {
		if err := oc.waitReady(ctx, m); err != nil {
			return oc, err
		}
	}
	return oc, nil
}

func (oc *olricCluster) spawn(m *olricMember, join bool) error {
	args := []string{"member", "--addr", m.addr, "--memberlist-addr", m.memberlist,
		"--replicas", strconv.Itoa(olricReplicas), "--read-quorum", strconv.Itoa(olricReadQuorum),
		"--write-quorum", strconv.Itoa(olricWriteQuorum), "--log", m.logPath, "--stop-on-stdin-eof"}
	if join {
		args = append(args, "--peers", oc.members[0].memberlist)
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	m.cmd = exec.Command(oc.bin, args...)
	m.cmd.Stderr = logf
	// Killed with the bench, even by SIGKILL; its own process group, so
	// that a Ctrl-C reaches the bench only, which stops the members.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		return err
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("starting olric member %s: %w", m.name, err)
	}
	m.ready, m.exited = make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && strings.TrimSpace(sc.Text()) == "ready" {
				said = true
				close(m.ready)
			}
		}
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()
	fmt.Fprintf(oc.log, "bench: Olric member %s pid %d addr %s memberlist %s\n", m.name, m.cmd.Process.Pid, m.addr, m.memberlist)
	return nil
}

func (oc *olricCluster) waitReady(ctx context.Context, m *olricMember) error {
	select {
	case <-m.ready:
		return nil
	case <-m.exited:
		return fmt.Errorf("olric member %s exited while starting: %v\n%s", m.name, m.waitErr, tail(m.logPath, 20))
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(olricReadyLimit):
		return fmt.Errorf("olric member %s not ready after %v\n%s", m.name, olricReadyLimit, tail(m.logPath, 20))
	}
}

func (oc *olricCluster) addrs() []string {
	out := make([]string, len(oc.members))
	for i, m := range oc.members {
		out[i] = m.addr
	}
	return out
}

// stop kills every member (in memory: nothing to save; Olric's graceful
// shutdown takes 5 s), waits for them and removes the log directory. Safe
// to call more than once.
func (oc *olricCluster) stop() {
	oc.once.Do(func() {
		var wg sync.WaitGroup
		for _, m := range oc.members {
			if m.exited == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = m.stdin.Close()
				_ = m.cmd.Process.Kill()
				<-m.exited
			}()
		}
		wg.Wait()
		if err := os.RemoveAll(oc.dir); err != nil {
			fmt.Fprintf(oc.log, "bench: remove %s: %v\n", oc.dir, err)
		}
		fmt.Fprintf(oc.log, "bench: %d Olric members stopped\n", len(oc.members))
	})
}

// runOlric starts the Olric cluster with bin (the built peer program), runs
// the load program against it with cfg's workload and stops the cluster.
func runOlric(ctx context.Context, cfg loadConfig, bin string, log io.Writer) (*olricResult, error) {
	oc, err := startOlricCluster(ctx, bin, log)
	if err != nil {
		return nil, err
	}
	defer oc.stop()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, olricArgs(cfg, oc.addrs())...)
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, log)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := ""
		for _, m := range oc.members {
			select {
			case <-m.exited:
				msg += fmt.Sprintf("\nOlric member %s exited: %v\n%s", m.name, m.waitErr, tail(m.logPath, 10))
			default:
			}
		}
		return nil, fmt.Errorf("the Olric load program: %w\n%s%s", err, lastLines(stderr.Bytes(), 10), msg)
	}
	res, err := parseOlricOutput(stdout.Bytes())
	if err != nil {
		return nil, err
	}
	res.ReadQuorum, res.WriteQuorum = olricReadQuorum, olricWriteQuorum
	return res, nil
}

// printOlric writes the Olric run and the comparison, side by side.
func printOlric(w io.Writer, rep *loadReport, o *olricResult) {
	fmt.Fprintf(w, "\nOlric %s (%s; %s): %d member processes on the same cores, in memory, %d partitions, replicas %d, read/write quorum %d/%d (sync replication, read repair); Olric's Go cluster client, %d workers, %d connections per member\n",
		o.Version, o.Module, o.GoVersion, o.Members, o.Partitions, o.Replicas, o.ReadQuorum, o.WriteQuorum, rep.Config.Concurrency, o.PoolSize)
	if p := o.Preload; p != nil {
		fmt.Fprintf(w, "preload: %d keys in %.1f s (%.0f keys/s), %d errors\n", p.Keys, p.Seconds, p.KeysPerS, p.Errors)
	}
	fmt.Fprintf(w, "elapsed %.2f s\n\n", o.ElapsedS)
	rows := o.Results
	if len(rows) > 1 {
		rows = append(rows[:len(rows):len(rows)], o.Total)
	}
	printTable(w, rows)
	fmt.Fprintln(w)
	dyn := rep.Results
	if len(dyn) > 1 {
		dyn = append(dyn[:len(dyn):len(dyn)], rep.Total)
	}
	fmt.Fprintf(w, "%-6s  %13s  %12s  %14s  %13s  %12s\n", "op", "dynamo ops/s", "Olric ops/s", "dynamo / Olric", "dynamo p99 ms", "Olric p99 ms")
	for _, d := range dyn {
		var r *opResult
		for i := range rows {
			if rows[i].Op == d.Op {
				r = &rows[i]
			}
		}
		if r == nil {
			continue
		}
		ratio := "-"
		if r.OpsPerS > 0 {
			ratio = fmt.Sprintf("%.3f", d.OpsPerS/r.OpsPerS)
		}
		p99 := func(x opResult) string {
			if x.Count == 0 {
				return "-"
			}
			return fmtMs(x.P99Ms)
		}
		fmt.Fprintf(w, "%-6s  %13.0f  %12.0f  %14s  %13s  %12s\n", d.Op, d.OpsPerS, r.OpsPerS, ratio, p99(d), p99(*r))
	}
	fmt.Fprintf(w, "dynamo / Olric throughput for this mix: %.3f\n", o.Ratio)
}
