package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisResult is redis-benchmark's answer for the same key count, value
// size and concurrency as the dynamo run, on the same machine right after
// it: the reference point the issue states throughput against.
type redisResult struct {
	Version  string  `json:"version"`
	Requests int     `json:"requests_per_test"`
	SetOpsPS float64 `json:"set_ops_per_sec"`
	SetP99Ms float64 `json:"set_p99_ms"`
	GetOpsPS float64 `json:"get_ops_per_sec"`
	GetP99Ms float64 `json:"get_p99_ms"`
	// Ratio is dynamo's total ops/s over Redis's for the same operations:
	// puts against SET, gets against GET, a mix against the mean of both
	// weighted by the mix.
	Ratio float64 `json:"ratio"`
}

// runRedis starts a throwaway redis-server (no persistence, loopback, a
// free port), runs redis-benchmark against it and stops it.
func runRedis(ctx context.Context, cfg loadConfig, requests int) (*redisResult, error) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("--vs-redis needs redis-server and redis-benchmark on PATH (Debian: apt-get install redis-server): %w", err)
	}
	benchmark, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil, fmt.Errorf("--vs-redis needs redis-benchmark on PATH (Debian: apt-get install redis-tools): %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(ports[0])
	srv := exec.CommandContext(ctx, server, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	defer func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("redis-server did not listen on 127.0.0.1:%s within 10 s", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.CommandContext(ctx, benchmark, "-h", "127.0.0.1", "-p", port, "-c", strconv.Itoa(cfg.Concurrency),
		"-d", strconv.Itoa(cfg.ValueSize), "-r", strconv.Itoa(cfg.Keys), "-n", strconv.Itoa(requests), "-t", "set,get", "--csv").Output()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark: %w", err)
	}
	res, err := parseRedisCSV(out)
	if err != nil {
		return nil, err
	}
	res.Requests = requests
	if v, err := exec.CommandContext(ctx, server, "--version").Output(); err == nil {
		res.Version = strings.TrimSpace(string(v))
	}
	return res, nil
}

// parseRedisCSV reads redis-benchmark --csv (Redis 7: test, rps,
// avg/min/p50/p95/p99/max latency in ms).
func parseRedisCSV(out []byte) (*redisResult, error) {
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark --csv output: %w", err)
	}
	res := &redisResult{}
	col := map[string]int{}
	for i, row := range rows {
		if i == 0 {
			for j, name := range row {
				col[name] = j
			}
			if _, ok := col["rps"]; !ok {
				return nil, fmt.Errorf("redis-benchmark --csv header %q has no rps column", row)
			}
			continue
		}
		num := func(name string) float64 {
			j, ok := col[name]
			if !ok || j >= len(row) {
				return 0
			}
			v, _ := strconv.ParseFloat(row[j], 64)
			return v
		}
		switch row[0] {
		case "SET":
			res.SetOpsPS, res.SetP99Ms = num("rps"), num("p99_latency_ms")
		case "GET":
			res.GetOpsPS, res.GetP99Ms = num("rps"), num("p99_latency_ms")
		}
	}
	if res.SetOpsPS == 0 || res.GetOpsPS == 0 {
		return nil, fmt.Errorf("redis-benchmark --csv output lacks SET or GET:\n%s", out)
	}
	return res, nil
}

// redisRatio is dynamo's throughput over Redis's for the workload's mix:
// Redis's time per operation is its GET time for a read, SET time for a
// write, and both for a read-modify-write (timed as one operation here).
func redisRatio(rep *loadReport, r *redisResult) float64 {
	var weighted, total float64
	for _, m := range rep.Config.wl.mix {
		t := 1 / r.SetOpsPS
		switch m.op {
		case opRead, opGet:
			t = 1 / r.GetOpsPS
		case opRMW:
			t = 1/r.GetOpsPS + 1/r.SetOpsPS
		}
		weighted += float64(m.percent) * t
		total += float64(m.percent)
	}
	if total == 0 {
		return 0
	}
	return rep.Total.OpsPerS * weighted / total
}
