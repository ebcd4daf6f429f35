package storage

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCommitLinger is how long a Committer under load lets a group
// gather after the previous group's start (Committer).
const DefaultCommitLinger = 5 * time.Millisecond

// maxGroupBytes bounds the keys and values of one group; a batch larger
// than it is a group of its own.
const maxGroupBytes = 4 << 20

// Committer writes the batches its callers submit to an Engine in groups,
// in submission order: each group is one Engine.Write of its batches
// appended (one journal record, and one fsync when any of them asks for
// Sync). On this project's machines an fsync costs the whole machine far
// more CPU than the write it covers, so the fewer the better:
//
//   - A batch submitted to an idle Committer (nothing queued when the last
//     group ended) is written at once: a lone write waits for nothing.
//   - Under load (batches queued when a group ends) the next group starts
//     Linger after the previous one started, so that it gathers more,
//     unless a caller waits for it (Write, Barrier): a vnode blocked on a
//     write is not kept waiting for others to gather.
//
// Batches stay atomic and ordered: a group applies them in the order they
// were submitted, so a later write of a key is never overtaken by an
// earlier one. A group's error is the error of each of its batches (storage
// may then hold any of them, as after a failed Engine.Write).
//
// One goroutine, started by NewCommitter and ended by Close, does the
// writes; Submit never blocks.
type Committer struct {
	e      Engine
	linger time.Duration

	mu     sync.Mutex
	queue  []submission
	closed bool
	wake   chan struct{} // one slot: the queue is not empty
	urgent chan struct{} // one slot: a caller waits on a queued write
	done   chan struct{} // closed when the goroutine ends

	stats *CommitStats
}

// CommitStats counts a Committer's groups and the batches they held: their
// ratio is how many writes each storage write and fsync served.
type CommitStats struct {
	Groups, Batches atomic.Uint64
}

type submission struct {
	b      *Batch // nil: a barrier, nothing to write
	sync   bool
	urgent bool // a caller waits for it: no linger
	done   func(error)
}

// NewCommitter starts a Committer of e. linger is the least time between
// the starts of two groups under load: 0 writes each group as soon as the
// previous one ended; below 0 means DefaultCommitLinger. stats, if not
// nil, receives its counters.
func NewCommitter(e Engine, linger time.Duration, stats *CommitStats) *Committer {
	if linger < 0 {
		linger = DefaultCommitLinger
	}
	if stats == nil {
		stats = &CommitStats{}
	}
	c := &Committer{e: e, linger: linger, wake: make(chan struct{}, 1), urgent: make(chan struct{}, 1), done: make(chan struct{}), stats: stats}
	go c.run()
	return c
}

// Submit queues b to be written with opts, and calls done with the outcome
// once it is written (nil: b is applied, and durable when opts.Sync), on
// the Committer's goroutine. done must not block and must not call the
// Committer. A batch with an error (Batch.Put of a bad argument) and a
// Submit after Close are refused at once: done runs on the caller's
// goroutine before Submit returns. The Committer owns b until done runs.
func (c *Committer) Submit(b *Batch, opts WriteOptions, done func(error)) {
	if err := checkBatch(b); err != nil {
		done(err)
		return
	}
	c.submit(submission{b: b, sync: opts.Sync, done: done})
}

// Write submits b and waits for its outcome; its group starts without
// the linger.
func (c *Committer) Write(b *Batch, opts WriteOptions) error {
	if err := checkBatch(b); err != nil {
		return err
	}
	ch := make(chan error, 1)
	c.submit(submission{b: b, sync: opts.Sync, urgent: true, done: func(err error) { ch <- err }})
	return <-ch
}

// Barrier returns once every batch submitted before it has been written
// (or refused) and its done has run; the group it waits for starts
// without the linger.
func (c *Committer) Barrier() {
	ch := make(chan error, 1)
	c.submit(submission{urgent: true, done: func(error) { ch <- nil }})
	<-ch
}

func (c *Committer) submit(s submission) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if s.b == nil {
			<-c.done // a barrier: what was queued before Close is written first
		}
		s.done(ErrClosed)
		return
	}
	c.queue = append(c.queue, s)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if s.urgent {
		select {
		case c.urgent <- struct{}{}:
		default:
		}
	}
}

// Close writes what is queued, then ends the goroutine; later Submits are
// refused with ErrClosed. It may be called more than once.
func (c *Committer) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	for _, ch := range []chan struct{}{c.wake, c.urgent} { // urgent: no linger
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	<-c.done
}

func (c *Committer) run() {
	defer close(c.done)
	var lastStart time.Time
	loaded := false // batches were queued when the last group ended
	for {
		<-c.wake
		if loaded && c.linger > 0 {
			if d := time.Until(lastStart.Add(c.linger)); d > 0 && !c.hasUrgent() {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-c.urgent:
				}
				t.Stop()
			}
		}
		select { // taken below with the group, or by the next wait
		case <-c.urgent:
		default:
		}
		c.mu.Lock()
		group := c.take()
		closed := c.closed && len(c.queue) == 0
		c.mu.Unlock()
		if len(group) > 0 {
			lastStart = time.Now()
			c.write(group)
		}
		c.mu.Lock()
		loaded = len(c.queue) > 0
		closed = closed || (c.closed && !loaded)
		c.mu.Unlock()
		if loaded {
			select {
			case c.wake <- struct{}{}:
			default:
			}
		} else if closed {
			return
		}
	}
}

// hasUrgent reports whether a queued submission has a caller waiting.
func (c *Committer) hasUrgent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.queue {
		if s.urgent {
			return true
		}
	}
	return false
}

// take removes the next group from the queue: batches in order while
// their bytes stay within maxGroupBytes (at least one). c.mu is held.
func (c *Committer) take() []submission {
	n, size := 0, 0
	for n < len(c.queue) {
		if b := c.queue[n].b; b != nil {
			if n > 0 && size+len(b.data) > maxGroupBytes {
				break
			}
			size += len(b.data)
		}
		n++
	}
	group := make([]submission, n)
	copy(group, c.queue)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return group
}

// write writes a group as one Engine.Write and hands each member the
// outcome.
func (c *Committer) write(group []submission) {
	var (
		first  *Batch
		merged *Batch
		sync   bool
		count  int
	)
	for _, s := range group {
		if s.b == nil {
			continue
		}
		count++
		sync = sync || s.sync
		switch {
		case first == nil:
			first = s.b
		case merged == nil:
			merged = NewBatch()
			merged.Append(first)
			merged.Append(s.b)
		default:
			merged.Append(s.b)
		}
	}
	var err error
	if first != nil {
		b := first
		if merged != nil {
			b = merged
		}
		err = c.e.Write(b, WriteOptions{Sync: sync})
		c.stats.Groups.Add(1)
		c.stats.Batches.Add(uint64(count))
	}
	for _, s := range group {
		if s.b == nil {
			s.done(nil)
		} else {
			s.done(err)
		}
	}
}
