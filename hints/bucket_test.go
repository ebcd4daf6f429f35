package hints

import (
	"math"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testseed"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestBucketRateAndBurst(t *testing.T) {
	b := NewBucket(10, 5)
	if got := b.Wait(t0); got != 0 {
		t.Fatalf("a new bucket is full: Wait %v", got)
	}
	if got := b.Take(t0, 8); got != 5 {
		t.Fatalf("Take(8) from a full bucket of 5 took %d", got)
	}
	if got := b.Take(t0, 1); got != 0 {
		t.Fatalf("Take from an empty bucket took %d", got)
	}
	if got := b.Wait(t0); got != 100*time.Millisecond {
		t.Fatalf("Wait at 10/s from empty: %v", got)
	}
	if got := b.Wait(at(40 * time.Millisecond)); got != 60*time.Millisecond {
		t.Fatalf("Wait 40ms later: %v", got)
	}
	if got := b.Take(at(50*time.Millisecond), 1); got != 0 {
		t.Fatalf("half a token: took %d", got)
	}
	if got := b.Take(at(100*time.Millisecond), 3); got != 1 {
		t.Fatalf("one token: took %d", got)
	}
	if got := b.Take(at(350*time.Millisecond), 3); got != 2 {
		t.Fatalf("2.5 tokens: took %d", got)
	}
	if got := b.Wait(at(350 * time.Millisecond)); got != 50*time.Millisecond {
		t.Fatalf("Wait with half a token left: %v", got)
	}
	// Idle for an hour: tokens stop at the burst.
	if got := b.Take(at(time.Hour), 100); got != 5 {
		t.Fatalf("after an hour took %d, the burst is 5", got)
	}
	if got := b.Take(at(time.Hour), 1); got != 0 {
		t.Fatalf("took %d beyond the burst", got)
	}
	if got := b.Take(at(time.Hour), 0) + b.Take(at(2*time.Hour), -3); got != 0 {
		t.Fatalf("Take of 0 or fewer tokens took %d", got)
	}
	if got := b.Take(at(2*time.Hour), 5); got != 5 {
		t.Fatalf("Take of nothing lost the tokens: took %d", got)
	}
}

func TestBucketSteadyRate(t *testing.T) {
	b := NewBucket(10, 1)
	now := t0
	taken := 0
	for now.Before(at(10 * time.Second)) {
		taken += b.Take(now, 1)
		now = now.Add(b.Wait(now))
	}
	// One token at t0, then one per 100 ms: 0.1 s .. 9.9 s.
	if taken != 100 {
		t.Fatalf("took %d tokens in 10 s at 10/s with a burst of 1, want 100", taken)
	}
	slow := NewBucket(3, 1)
	slow.Take(t0, 1)
	if got := slow.Wait(t0); got != 333333334*time.Nanosecond {
		t.Fatalf("Wait at 3/s: %v", got)
	}
}

// Whatever the rate and whatever the bucket held, a Take at the time Wait
// names finds a token, and Wait never returns a negative duration.
func TestBucketWaitThenTakeSucceeds(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 200 {
		rate := math.Exp(rng.Float64()*20 - 8) // ~3e-4 to 5e5 per second
		b := NewBucket(rate, 1+rng.IntN(8))
		now := t0
		for range 50 {
			now = now.Add(time.Duration(rng.Int64N(int64(time.Second))))
			b.Take(now, rng.IntN(10))
			w := b.Wait(now)
			if w < 0 {
				t.Fatalf("rate %v: Wait %v", rate, w)
			}
			now = now.Add(w)
			if got := b.Take(now, 1); got != 1 {
				t.Fatalf("rate %v: Take after Wait(%v) took %d", rate, w, got)
			}
		}
	}
}

// At a rate this low the nanosecond rounding of Wait no longer covers the
// floating-point error of the token count (it accrues 3e-18 tokens per
// nanosecond): Take still finds the token Wait promised.
func TestBucketWaitThenTakeAtTinyRate(t *testing.T) {
	b := NewBucket(3.0000000000000004e-09, 1)
	b.Take(t0, 1)
	now := at(3 * time.Hour)
	b.Take(now, 1)
	now = now.Add(b.Wait(now))
	if got := b.Take(now, 1); got != 1 {
		t.Fatalf("Take after Wait took %d", got)
	}
}

// A clock that steps back adds no tokens, takes none away, and does not
// move the bucket's time back (which would credit the gap twice).
func TestBucketClockStepsBack(t *testing.T) {
	b := NewBucket(10, 5)
	if got := b.Take(at(time.Hour), 5); got != 5 {
		t.Fatalf("took %d", got)
	}
	if got := b.Take(t0, 1); got != 0 {
		t.Fatalf("a time before the last took %d", got)
	}
	if got := b.Wait(at(time.Hour - time.Second)); got != time.Second+100*time.Millisecond {
		t.Fatalf("Wait a second before the last time: %v", got)
	}
	if got := b.Take(at(time.Hour+100*time.Millisecond), 5); got != 1 {
		t.Fatalf("100 ms after the latest time took %d, want 1", got)
	}
	if got := b.Take(at(time.Hour+150*time.Millisecond), 5); got != 0 {
		t.Fatalf("the tokens went negative or were credited twice: took %d", got)
	}
	if got := b.Take(at(time.Hour+200*time.Millisecond), 5); got != 1 {
		t.Fatalf("took %d, want 1", got)
	}
}

func TestBucketHugeWait(t *testing.T) {
	b := NewBucket(1e-12, 1)
	b.Take(t0, 1)
	if got := b.Wait(t0); got != math.MaxInt64 {
		t.Fatalf("Wait at 1e-12/s: %v, want the longest duration", got)
	}
}

func TestNewBucketRejectsBadArguments(t *testing.T) {
	for _, c := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewBucket(%v, %d) did not panic", c.rate, c.burst)
				}
			}()
			NewBucket(c.rate, c.burst)
		}()
	}
}

// A scaled bucket accrues at rate*scale from the change on; what accrued
// before keeps the old scale, and Wait follows the scaled rate.
func TestBucketScale(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBucket(100, 100)
	if got := b.Take(t0, 100); got != 100 {
		t.Fatalf("took %d of a full bucket of 100", got)
	}
	b.SetScale(t0.Add(500*time.Millisecond), 0.1) // 50 accrued at full rate
	if got := b.Take(t0.Add(time.Second), 1000); got != 55 {
		t.Fatalf("took %d: want 50 at rate 100 and 5 at rate 10", got)
	}
	if w := b.Wait(t0.Add(time.Second)); w != 100*time.Millisecond {
		t.Fatalf("Wait at a tenth of 100/s: %v, want 100ms", w)
	}
	b.SetScale(t0.Add(time.Second), 5) // clamped to 1
	if got := b.Take(t0.Add(1100*time.Millisecond), 1000); got != 10 {
		t.Fatalf("took %d after scale 1 for 100 ms, want 10", got)
	}
	b.SetScale(t0.Add(1100*time.Millisecond), 0) // clamped above 0: next to nothing accrues
	if got := b.Take(t0.Add(100*time.Second), 1000); got != 0 {
		t.Fatalf("took %d at scale ~0", got)
	}
}
