package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// runFsync measures what fsyncs cost the whole machine, beyond their own
// wait: a CPU-bound load (one hashing goroutine per core) runs alone, then
// beside a second process (this binary, re-executed as _fsync) that
// appends 200 bytes to a file and fsyncs it at a fixed rate, then beside
// the same appends without fsync. The load's loss beside the fsyncs, less
// its loss beside the plain appends, over the rate, is the machine's CPU
// per fsync; a virtual disk's flush can cost far more than its wait.
func runFsync(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench fsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rates := fs.String("rates", "200,500,1000", "fsyncs per second of the second process, comma-separated")
	dur := fs.Duration("duration", 3*time.Second, "length of each measurement")
	dir := fs.String("dir", os.TempDir(), "directory of the file the second process writes (the disk under test)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench fsync [flags]\n\nPrints, for each rate, the throughput of a CPU-bound load beside a process\ndoing that many fsyncs a second, and beside the same writes without fsync,\nboth relative to the load alone, and the machine's CPU per fsync they imply.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var list []int
	for _, r := range splitList(*rates) {
		n, err := strconv.Atoi(r)
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench fsync: --rates: %q is not a positive number\n", r)
			return 2
		}
		list = append(list, n)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench fsync: %v\n", err)
		return 1
	}
	cores := runtime.GOMAXPROCS(0)
	fmt.Fprintf(stdout, "bench fsync: %s; a hashing goroutine per core (%d) for %v, beside a process appending 200 bytes to a file in %s at each rate\n\n", machineInfo().CPU, cores, *dur, *dir)
	fmt.Fprintf(stdout, "%8s  %12s  %14s  %14s\n", "rate/s", "with fsync", "without fsync", "CPU per fsync")
	for _, rate := range list {
		ratio := func(sync bool) (float64, error) {
			alone := spin(cores, *dur)
			cmd := exec.Command(self, "_fsync", strconv.Itoa(rate), dur.String(), *dir, strconv.FormatBool(sync))
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			beside := spin(cores, *dur)
			if err := cmd.Wait(); err != nil {
				return 0, err
			}
			return float64(beside) / float64(alone), nil
		}
		with, err := ratio(true)
		if err != nil {
			fmt.Fprintf(stderr, "bench fsync: %v\n", err)
			return 1
		}
		without, err := ratio(false)
		if err != nil {
			fmt.Fprintf(stderr, "bench fsync: %v\n", err)
			return 1
		}
		perFsync := time.Duration((without - with) * float64(cores) / float64(rate) * float64(time.Second))
		fmt.Fprintf(stdout, "%8d  %12.3f  %14.3f  %14v\n", rate, with, without, perFsync.Round(time.Microsecond))
	}
	return 0
}

// spin runs one hashing goroutine per core for d and returns the hashes
// done.
func spin(cores int, d time.Duration) int64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1024)
			for time.Now().Before(end) {
				for range 100 {
					sha256.Sum256(b)
				}
				n.Add(100)
			}
		}()
	}
	wg.Wait()
	return n.Load()
}

// runFsyncChild is the second process of bench fsync: RATE DURATION DIR
// SYNC. It appends to a file of its own in DIR at RATE a second for
// DURATION, with an fsync after each append when SYNC, and removes it.
func runFsyncChild(args []string, stderr io.Writer) int {
	if len(args) != 4 {
		fmt.Fprintln(stderr, "bench _fsync: want RATE DURATION DIR SYNC")
		return 2
	}
	rate, err1 := strconv.Atoi(args[0])
	dur, err2 := time.ParseDuration(args[1])
	sync, err3 := strconv.ParseBool(args[3])
	if err1 != nil || err2 != nil || err3 != nil || rate < 1 {
		fmt.Fprintf(stderr, "bench _fsync: bad arguments %q\n", args)
		return 2
	}
	f, err := os.CreateTemp(args[2], "bench-fsync-*")
	if err != nil {
		fmt.Fprintf(stderr, "bench _fsync: %v\n", err)
		return 1
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	b := make([]byte, 200)
	start := time.Now()
	for i := 1; time.Since(start) < dur; i++ {
		if _, err := f.Write(b); err != nil {
			fmt.Fprintf(stderr, "bench _fsync: %v\n", err)
			return 1
		}
		if sync {
			if err := f.Sync(); err != nil {
				fmt.Fprintf(stderr, "bench _fsync: %v\n", err)
				return 1
			}
		}
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
	}
	return 0
}
