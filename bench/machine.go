package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// machine describes where a result was measured.
type machine struct {
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	CPU         string `json:"cpu"`
	OS          string `json:"os"`
}

func machineInfo() machine {
	m := machine{Cores: runtime.NumCPU(), CPU: "unknown", OS: runtime.GOOS + "/" + runtime.GOARCH}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		// "16318480 kB"
		f := strings.Fields(v)
		if len(f) > 0 {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				m.MemoryBytes = kb * 1024
			}
		}
	}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.CPU = v
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc
// file.
func procField(path, name string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// gitCommit is the short commit of the working directory's repository,
// with "-dirty" when tracked files differ from it; "unknown" without git.
func gitCommit() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		commit += "-dirty"
	}
	return commit
}

// startCPUProfile writes a CPU profile of this process to path until the
// returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// cpuTimes are the machine's CPU times from /proc/stat, in clock ticks:
// busy (user, nice, system, irq, softirq, steal) and all.
type cpuTimes struct{ busy, total uint64 }

// readCPUTimes reads the machine's CPU times; zero where /proc/stat is
// not there.
func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, s := range f[1:] {
		n, _ := strconv.ParseUint(s, 10, 64)
		t.total += n
		if i != 3 && i != 4 && i < 8 { // idle and iowait; guest is in user
			t.busy += n
		}
	}
	return t
}

// busySince is the fraction of the machine's CPU time that was busy
// between t and now (0 when unknown).
func (t cpuTimes) busySince() float64 {
	now := readCPUTimes()
	if now.total <= t.total {
		return 0
	}
	return float64(now.busy-t.busy) / float64(now.total-t.total)
}

// cpuPerOp is the machine's CPU time per operation, in microseconds, for
// a run of elapsed with busy its busy fraction.
func cpuPerOp(busy float64, cores int, elapsed time.Duration, ops int64) float64 {
	if ops <= 0 {
		return 0
	}
	return busy * float64(cores) * float64(elapsed.Microseconds()) / float64(ops)
}
