package main

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
)

// Deletes reclaim space, measured with real agents:
// keys of 100-byte values are written, then deleted with their put's
// context; after --tombstone-grace the reap passes delete the tombstones on
// every primary, the vnodes compact their partitions' storage ranges, and
// the data directories shrink back to what they held before the writes,
// give or take 10% of what the keys took (what stays is goleveldb's
// bookkeeping: its text LOG and its MANIFEST, which grow by a line per
// compaction, and one small table). DYNAMO_REAP_KEYS sets the number of keys: 5,000 by default
// (part of the end-to-end tests), 100000 for the measurement
// (DYNAMO_REAP_KEYS=100000 go test -count=1 -timeout 30m -run
// TestE2EDeletesReclaimSpace -v ./cmd/dynamo/). Hinted handoff is off so
// that a 5 s grace is allowed (it must otherwise exceed the hint max age);
// every node is up throughout, so no hint would be written anyway.
func TestE2EDeletesReclaimSpace(t *testing.T) {
	keys := envCount(t, "DYNAMO_REAP_KEYS", 5000)
	const grace = 5 * time.Second
	e := newE2EWith(t, 3, []string{"--no-hinted-handoff", "--tombstone-grace", grace.String(), "--log-level", "info"})
	c := e.client()
	names := []string{"e1", "e2", "e3"}
	time.Sleep(2 * time.Second) // serf snapshots and the first exchanges settle
	empty, emptyFiles := e.dirBytes(), e.dirListing()
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("files before the writes:\n%sfiles at the end:\n%s", emptyFiles, e.dirListing())
		}
	}()

	ctxs := make([]client.Context, keys)
	attempts := make([]atomic.Int32, keys)
	rng := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte('a' + rng.IntN(26)) // not compressible to nothing
	}
	start := time.Now()
	if failed := parallel(keys, 32, func(i int) error {
		first := attempts[i].Add(1) == 1
		cx, err := c.Put(context.Background(), keyOf("reclaim", i), value, client.Context{})
		if err == nil && first {
			ctxs[i] = cx // else a failed attempt may have written a sibling: see the deletes
		}
		return err
	}); failed != "" {
		t.Fatalf("puts: %s", failed)
	}
	wrote := time.Since(start)
	written := e.dirBytes()
	start = time.Now()
	if failed := parallel(keys, 32, func(i int) error {
		cx := ctxs[i]
		if cx.IsZero() {
			// The put was retried: a first attempt may have been applied
			// too, as a sibling; delete what a read sees.
			obj, err := c.Get(context.Background(), keyOf("reclaim", i), client.R(3))
			if err != nil {
				return err
			}
			cx = obj.Context
		}
		return c.Delete(context.Background(), keyOf("reclaim", i), cx)
	}); failed != "" {
		t.Fatalf("deletes: %s", failed)
	}
	deleted := time.Now()
	full := e.dirBytes()
	t.Logf("%d keys: written in %v, deleted in %v; data directories: empty %s, after the writes %s, after the deletes %s",
		keys, wrote.Round(time.Millisecond), deleted.Sub(start).Round(time.Millisecond), mib(empty), mib(written), mib(full))

	var reaped, compactions, compactMs uint64
	var last time.Time
	took := waitFor(t, time.Duration(max(2, keys/10000))*2*time.Minute, "tombstones reaped and what the keys took back to within 10%", func() (bool, string) {
		reaped, compactions, compactMs = 0, 0, 0
		for _, n := range names {
			st, err := stats(c, n)
			if err != nil {
				return false, err.Error()
			}
			reaped += st.TombstonesReaped
			compactions += st.Compactions
			compactMs += st.CompactionMs
		}
		now := e.dirBytes()
		state := fmt.Sprintf("%d of %d tombstones reaped, %d compactions (%d ms), directories %s", reaped, 3*keys, compactions, compactMs, mib(now))
		if time.Since(last) >= 10*time.Second {
			last = time.Now()
			t.Logf("%v after the deletes: %s", time.Since(deleted).Round(time.Second), state)
		}
		return reaped == uint64(3*keys) && now-empty <= (full-empty)/10, state
	})
	final := e.dirBytes()
	t.Logf("reclaimed %v after the last delete (grace %v): %d tombstones reaped, %d compactions taking %d ms; directories %s (empty %s, full %s: %.2f%% of what the keys took left; goleveldb's text LOG %s of it)",
		took.Round(100*time.Millisecond), grace, reaped, compactions, compactMs, kib(final), kib(empty), kib(full),
		100*float64(final-empty)/float64(max(1, full-empty)), kib(e.dirBytesOf("LOG")))
	for i := 0; i < keys; i += max(1, keys/100) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		obj, err := c.Get(ctx, keyOf("reclaim", i), client.R(3))
		cancel()
		if err != nil || obj.Found || !obj.Context.IsZero() {
			t.Fatalf("%s after the reap: %+v %v, want not found and no context left", keyOf("reclaim", i), obj, err)
		}
	}
}

// parallel runs op for 0..n-1 on conc goroutines, each up to 5 times; it
// returns the first failures, or "" when none failed.
func parallel(n, conc int, op func(i int) error) string {
	var next atomic.Int64
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				err := op(i)
				for attempt := 1; err != nil && attempt < 5; attempt++ {
					// --fast-gossip on a loaded machine: a node may be
					// seen failed for a moment.
					time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
					err = op(i)
				}
				if err != nil {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%d: %v", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf("%d failed: %s", len(failed), firstFew(failed))
}

// dirBytes is the size of every agent's data directory.
func (e *e2e) dirBytes() int64 {
	var n int64
	for _, a := range e.agents {
		_ = filepath.WalkDir(a.dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					n += info.Size()
				}
			}
			return nil
		})
	}
	return n
}

// dirListing lists every file of the agents' data directories with its
// size.
func (e *e2e) dirListing() string {
	var b strings.Builder
	for _, a := range e.agents {
		_ = filepath.WalkDir(a.dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					rel, _ := filepath.Rel(filepath.Dir(a.dir), path)
					fmt.Fprintf(&b, "  %-40s %9d\n", rel, info.Size())
				}
			}
			return nil
		})
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10)) }

// dirBytesOf is the size of the agents' files named name.
func (e *e2e) dirBytesOf(name string) int64 {
	var n int64
	for _, a := range e.agents {
		_ = filepath.WalkDir(a.dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == name {
				if info, err := d.Info(); err == nil {
					n += info.Size()
				}
			}
			return nil
		})
	}
	return n
}
