package hints

import (
	"fmt"
	"math"
	"time"
)

// slack absorbs floating-point error in the token count, so that a Take
// at the instant Wait named always finds its token.
const slack = 1e-9

// Bucket is a token bucket: tokens accrue at a fixed rate up to a burst,
// and each delivery takes one. It is pure: the caller passes the time in.
// A time earlier than one already seen adds nothing (the clock stepped
// back), and the bucket keeps the later time. It is not safe for
// concurrent use.
type Bucket struct {
	rate   float64 // tokens per second at scale 1
	scale  float64 // share of rate accruing now (SetScale), 0 < scale <= 1
	burst  float64
	tokens float64
	last   time.Time // when tokens was last brought up to date; zero before the first call
}

// NewBucket returns a full bucket that accrues rate tokens per second
// (positive and finite) and holds at most burst (at least 1). It panics on
// other values, which are programming errors.
func NewBucket(rate float64, burst int) *Bucket {
	if !(rate > 0) || math.IsInf(rate, 0) {
		panic(fmt.Sprintf("hints: NewBucket: rate %v is not a positive finite number", rate))
	}
	if burst < 1 {
		panic(fmt.Sprintf("hints: NewBucket: burst %d is below 1", burst))
	}
	return &Bucket{rate: rate, scale: 1, burst: float64(burst), tokens: float64(burst)}
}

// SetScale makes tokens accrue from now at rate*s per second (0 < s <= 1;
// other values are clamped): what accrued before now keeps the old scale.
func (b *Bucket) SetScale(now time.Time, s float64) {
	if !(s > 0) {
		s = math.SmallestNonzeroFloat64
	}
	s = min(s, 1)
	if s == b.scale {
		return
	}
	b.tokens = b.available(now)
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	b.scale = s
}

// available returns the tokens the bucket holds at now.
func (b *Bucket) available(now time.Time) float64 {
	if b.last.IsZero() || !now.After(b.last) {
		return b.tokens
	}
	return min(b.burst, b.tokens+b.rate*b.scale*now.Sub(b.last).Seconds())
}

// Take takes up to n tokens available at now and returns how many it took
// (0..n).
func (b *Bucket) Take(now time.Time, n int) int {
	b.tokens = b.available(now)
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if n <= 0 {
		return 0
	}
	took := min(n, int(math.Floor(b.tokens+slack)))
	if took <= 0 {
		return 0
	}
	b.tokens = max(0, b.tokens-float64(took))
	return took
}

// Wait returns how long from now until at least one token is available,
// 0 if one is.
func (b *Bucket) Wait(now time.Time) time.Duration {
	need := 1 - b.available(now)
	if need <= slack {
		return 0
	}
	ns := math.Ceil(need / (b.rate * b.scale) * float64(time.Second))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	d := time.Duration(ns)
	if !b.last.IsZero() && now.Before(b.last) {
		// Tokens accrue only from the latest time seen.
		gap := b.last.Sub(now)
		if d > math.MaxInt64-gap {
			return math.MaxInt64
		}
		d += gap
	}
	return d
}
