package actors

import (
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
type Background struct{ paused atomic.Bool }

// Pause stops background work; Resume lets it run again. Each reports
// whether it changed the state.
func (b *Background) Pause() bool  { return b.paused.CompareAndSwap(false, true) }
func (b *Background) Resume() bool { return b.paused.CompareAndSwap(true, false) }

// Paused reports whether background work is paused.
func (b *Background) Paused() bool { return b != nil && b.paused.Load() }

// pausedPoll is how often paused work looks whether it may go on.
const pausedPoll = 100 * time.Millisecond

// take takes up to n tokens from bucket at now, none while paused; when it
// got none, wait is how long to wait before trying again.
func (b *Background) take(bucket *hints.Bucket, now time.Time, n int) (got int, wait time.Duration) {
	if b.Paused() {
		return 0, pausedPoll
	}
	if got = bucket.Take(now, n); got == 0 {
		wait = max(bucket.Wait(now), time.Millisecond)
	}
	return got, wait
}
