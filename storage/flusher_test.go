package storage

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncCounter is an engine that counts the synced writes it takes, and
// fails them while fail is set.
type syncCounter struct {
	Engine
	mu     sync.Mutex
	synced int
	fail   atomic.Bool
}

func (s *syncCounter) Write(b *Batch, opts WriteOptions) error {
	if opts.Sync && s.fail.Load() {
		return errors.New("disk on fire")
	}
	if opts.Sync {
		s.mu.Lock()
		s.synced++
		s.mu.Unlock()
	}
	return s.Engine.Write(b, opts)
}

func (s *syncCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// Many buffered writes share one synced record, written within the
// interval; nothing is written while nothing is dirty.
func TestFlusherGathersDirtyWritesIntoOneSync(t *testing.T) {
	e := &syncCounter{Engine: NewMemory()}
	f := NewFlusher(e, 50*time.Millisecond)
	defer f.Stop()
	time.Sleep(100 * time.Millisecond)
	if n := e.count(); n != 0 {
		t.Fatalf("%d synced writes with nothing dirty", n)
	}
	start := time.Now()
	for range 100 {
		f.Dirty()
	}
	waitFor(t, "a flush", func() bool { return e.count() > 0 })
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("flushed after %v: the interval (50 ms) gathers writes", d)
	}
	time.Sleep(150 * time.Millisecond)
	if n := e.count(); n != 1 || f.Flushes() != 1 {
		t.Fatalf("%d synced writes (Flushes %d) for 100 Dirty in one interval, want 1", n, f.Flushes())
	}
	if _, err := e.Get(KeyspaceMeta, flushKey); err != nil {
		t.Fatalf("the flush record: %v", err)
	}
}

// A failed flush is counted and tried again until it succeeds.
func TestFlusherRetriesAFailedFlush(t *testing.T) {
	e := &syncCounter{Engine: NewMemory()}
	e.fail.Store(true)
	f := NewFlusher(e, 5*time.Millisecond)
	defer f.Stop()
	f.Dirty()
	waitFor(t, "failures", func() bool { return f.Failures() >= 2 })
	e.fail.Store(false)
	waitFor(t, "a flush after the disk healed", func() bool { return f.Flushes() == 1 })
	fails := f.Failures()
	time.Sleep(50 * time.Millisecond)
	if f.Failures() != fails || f.Flushes() != 1 {
		t.Fatalf("kept flushing once clean: %d failures, %d flushes", f.Failures(), f.Flushes())
	}
}

// Stop flushes what is dirty at once, and a nil Flusher does nothing.
func TestFlusherStopFlushesWhatIsDirty(t *testing.T) {
	e := &syncCounter{Engine: NewMemory()}
	f := NewFlusher(e, time.Hour)
	f.Dirty()
	time.Sleep(10 * time.Millisecond) // the goroutine is waiting out the hour
	start := time.Now()
	f.Stop()
	f.Stop()
	if e.count() != 1 || time.Since(start) > time.Second {
		t.Fatalf("Stop: %d synced writes after %v", e.count(), time.Since(start))
	}
	g := NewFlusher(e, time.Hour)
	g.Stop() // nothing dirty: no write
	if e.count() != 1 {
		t.Fatalf("a clean Stop wrote: %d", e.count())
	}
	var none *Flusher
	none.Dirty()
	none.Stop()
}

// A mark taken after a buffered write is covered once a flush that began
// after it succeeded, not by a failed one; a nil Flusher covers all.
func TestFlusherMarkIsCoveredByTheNextSuccessfulFlush(t *testing.T) {
	var none *Flusher
	if none.Mark() != 0 || !none.Covers(5) {
		t.Fatal("a nil Flusher must cover every mark")
	}
	e := &syncCounter{Engine: NewMemory()}
	f := NewFlusher(e, 5*time.Millisecond)
	defer f.Stop()
	m := f.Mark()
	if f.Covers(m) {
		t.Fatalf("mark %d covered before any flush", m)
	}
	e.fail.Store(true)
	f.Dirty()
	waitFor(t, "a failed flush", func() bool { return f.Failures() > 0 })
	if f.Covers(m) {
		t.Fatalf("mark %d covered by a failed flush", m)
	}
	e.fail.Store(false) // the Flusher retries what is dirty
	waitFor(t, "a flush", func() bool { return f.Flushes() > 0 })
	if !f.Covers(m) {
		t.Fatalf("mark %d not covered after flush %d", m, f.Flushes())
	}
	if next := f.Mark(); next <= m || f.Covers(next) {
		t.Fatalf("the next mark %d (after %d) must wait for a later flush", next, m)
	}
}
