package storage

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultFlushInterval is how long a buffered write waits at most for the
// fsync that makes it durable (Flusher).
const DefaultFlushInterval = 10 * time.Millisecond

// flushKey is the meta record a Flusher writes: its fsync covers every
// write before it (the engine's journal is written in order).
var flushKey = []byte("flush")

// Flusher makes buffered writes durable in the background: a write made
// without Sync is followed by Dirty, and within the interval the Flusher
// writes one small synced record (KeyspaceMeta "flush"), whose fsync
// covers every write the engine took before it, as the engine's journal
// is written in order. Many buffered writes share one fsync. A flush that
// fails is tried again at the next interval while anything is dirty, and
// counted (Failures). Stop flushes what is dirty and ends the Flusher's
// goroutine. A nil *Flusher buffers nothing: Dirty does nothing.
type Flusher struct {
	e        Engine
	interval time.Duration
	dirty    chan struct{} // one slot: a flush is due
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	seq      uint64 // the flush record's value, owned by the goroutine
	flushes  atomic.Uint64
	failures atomic.Uint64
	begun    atomic.Uint64 // flushes begun, numbered from 1
	synced   atomic.Uint64 // the number of the last flush that succeeded
}

// NewFlusher starts a Flusher of e that flushes within interval of the
// first Dirty (DefaultFlushInterval when interval <= 0).
func NewFlusher(e Engine, interval time.Duration) *Flusher {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	f := &Flusher{e: e, interval: interval, dirty: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// Dirty says that a write was made without Sync: it is flushed within the
// interval.
func (f *Flusher) Dirty() {
	if f == nil {
		return
	}
	select {
	case f.dirty <- struct{}{}:
	default: // a flush is already due
	}
}

// Mark is the number of the next flush to begin. Taken after a write
// without Sync returned and before its Dirty, it is a flush whose record
// follows that write: once Covers(mark), the write is durable. A nil
// Flusher's mark is 0.
func (f *Flusher) Mark() uint64 {
	if f == nil {
		return 0
	}
	return f.begun.Load() + 1
}

// Covers reports whether the flush numbered mark, or a later one, has
// succeeded. A nil Flusher covers everything (it buffers nothing).
func (f *Flusher) Covers(mark uint64) bool {
	return f == nil || f.synced.Load() >= mark
}

// Flushes counts the synced records written; Failures those that failed.
func (f *Flusher) Flushes() uint64  { return f.flushes.Load() }
func (f *Flusher) Failures() uint64 { return f.failures.Load() }

// Stop flushes what is dirty, if anything, and ends the Flusher. It may
// be called more than once.
func (f *Flusher) Stop() {
	if f == nil {
		return
	}
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

func (f *Flusher) run() {
	defer close(f.done)
	timer := time.NewTimer(f.interval)
	timer.Stop()
	for {
		select {
		case <-f.stop:
			select {
			case <-f.dirty:
				f.flush()
			default:
			}
			return
		case <-f.dirty:
		}
		// Gather the writes of one interval into one fsync.
		timer.Reset(f.interval)
		select {
		case <-f.stop:
			timer.Stop()
			f.flush()
			return
		case <-timer.C:
		}
		if !f.flush() {
			f.Dirty() // try again at the next interval
		}
	}
}

// flush writes the synced record; it reports whether it succeeded. It
// first takes a Dirty that came meanwhile: the record covers it.
func (f *Flusher) flush() bool {
	select {
	case <-f.dirty:
	default:
	}
	n := f.begun.Add(1)
	f.seq++
	b := NewBatch()
	b.Put(KeyspaceMeta, flushKey, binary.BigEndian.AppendUint64(nil, f.seq))
	if err := f.e.Write(b, WriteOptions{Sync: true}); err != nil {
		f.failures.Add(1)
		return false
	}
	f.synced.Store(n)
	f.flushes.Add(1)
	return true
}
