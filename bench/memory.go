package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// nodeMemory is one local node process's memory and disk use at the end of
// a run (--nodes only).
type nodeMemory struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// RSSBytes is the resident set at the end (VmRSS), PeakRSSBytes the
	// most it ever was (VmHWM); DiskBytes the size of its data directory.
	RSSBytes     int64 `json:"rss_bytes"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	DiskBytes    int64 `json:"disk_bytes"`
	// Wire is what the node received over remoting during its life
	// (batches and the messages in them), read when it stopped.
	Wire *wireStats `json:"remoting,omitempty"`
}

// wireStats is a node's remoting.WireStats, as the bench node writes it
// to wireFile in its data directory when it stops.
type wireStats struct {
	Batches  uint64 `json:"batches_received"`
	Messages uint64 `json:"messages_received"`
	// CommitGroups and CommitBatches are the node's storage write groups
	// and the vnode writes they held (storage.CommitStats).
	CommitGroups  uint64 `json:"commit_groups"`
	CommitBatches uint64 `json:"commit_batches"`
}

// wireFile is the file, in a bench node's data directory, its remoting
// counters are written to when it stops.
const wireFile = "bench-remoting.json"

// procMemory reads VmRSS and VmHWM of pid from /proc.
func procMemory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 1 {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			rss = kb * 1024
		} else {
			peak = kb * 1024
		}
	}
	return rss, peak, sc.Err()
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, ierr := d.Info(); ierr == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// memory reports each running node's memory and disk use.
func (lc *localCluster) memory() []nodeMemory {
	var out []nodeMemory
	for _, c := range lc.children {
		if c.cmd == nil || c.cmd.Process == nil {
			continue
		}
		nm := nodeMemory{Name: c.name, PID: c.cmd.Process.Pid, DiskBytes: dirBytes(filepath.Join(lc.dir, c.name))}
		nm.RSSBytes, nm.PeakRSSBytes, _ = procMemory(nm.PID)
		out = append(out, nm)
	}
	return out
}
