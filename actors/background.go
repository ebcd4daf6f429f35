package actors

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/dynamokv/dynamo/hints"
)

// Background is a node's switch for its background work: hint delivery
// (and hand-over), handoffs, anti-entropy exchanges and reap passes.
// Paused, that work takes no rate tokens, so what is in progress stops at
// its next batch, and the Merkle syncer starts no job; client requests,
// the replication of writes and read repair go on. Safe for concurrent
// use; a nil *Background is never paused.
//
// Between full rate and paused, SetShare scales the rates background work
// takes tokens at (the node's admission controller sets it from what its
// foreground requests suffer).
type Background struct {
	paused atomic.Bool
	// held is math.Float64bits of the share of their rates background work
	// may not use now: 0 (the zero value) is full rate.
	held atomic.Uint64
}

// SetShare sets the share of their configured rates background work may
// use, clamped to 0..1; 0 holds it off as Pause does, without showing as
// paused.
func (b *Background) SetShare(s float64) {
	if !(s > 0) {
		s = 0
	}
	b.held.Store(math.Float64bits(1 - min(s, 1)))
}

// Share is the share SetShare set (1 for a nil *Background).
func (b *Background) Share() float64 {
	if b == nil {
		return 1
	}
	return 1 - math.Float64frombits(b.held.Load())
}

// Pause stops background work; Resume lets it run again. Each reports
// whether it changed the state.
func (b *Background) Pause() bool  { return b.paused.CompareAndSwap(false, true) }
func (b *Background) Resume() bool { return b.paused.CompareAndSwap(true, false) }

// Paused reports whether background work is paused.
func (b *Background) Paused() bool { return b != nil && b.paused.Load() }

// pausedPoll is how often paused work looks whether it may go on, and
// heldPoll how often work held off by a share of 0 does.
const (
	pausedPoll = 100 * time.Millisecond
	heldPoll   = 20 * time.Millisecond
)

// take takes up to n tokens from bucket at now, none while paused; when it
// got none, wait is how long to wait before trying again.
func (b *Background) take(bucket *hints.Bucket, now time.Time, n int) (got int, wait time.Duration) {
	if b.Paused() {
		return 0, pausedPoll
	}
	s := b.Share()
	bucket.SetScale(now, s) // nothing accrues while held off
	if s <= 0 {
		return 0, heldPoll
	}
	if got = bucket.Take(now, n); got == 0 {
		wait = max(bucket.Wait(now), time.Millisecond)
	}
	return got, wait
}
