package crdt

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
)

// Counter is a PN-counter: for each actor, the total of its increments (P)
// and of its decrements (N), each only growing. Its value is the sum of
// the Ps minus the sum of the Ns; a merge takes each actor's larger P and
// larger N, so every actor's changes count exactly once whatever the order
// and number of merges.
//
// The zero value is a counter at 0. A Counter is not safe for concurrent
// use.
type Counter struct {
	counts     map[string]pn
	unreadable [][]byte
}

type pn struct{ p, n uint64 }

// NewCounter returns a counter at 0.
func NewCounter() *Counter { return &Counter{} }

// Increment adds delta (negative to decrement) as actor. It fails with
// ErrOverflow when the actor's total increments or decrements would pass
// 2^64-1, and leaves the counter unchanged.
func (c *Counter) Increment(actor string, delta int64) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if delta == 0 {
		return nil
	}
	if c.counts == nil {
		c.counts = map[string]pn{}
	}
	x := c.counts[actor]
	if delta > 0 {
		sum, carry := bits.Add64(x.p, uint64(delta), 0)
		if carry != 0 {
			return fmt.Errorf("%w: actor %q's increments pass 2^64-1", ErrOverflow, actor)
		}
		x.p = sum
	} else {
		// -delta overflows for math.MinInt64: compute the magnitude in
		// uint64.
		mag := uint64(-(delta + 1)) + 1
		sum, carry := bits.Add64(x.n, mag, 0)
		if carry != 0 {
			return fmt.Errorf("%w: actor %q's decrements pass 2^64-1", ErrOverflow, actor)
		}
		x.n = sum
	}
	c.counts[actor] = x
	return nil
}

// Value returns the counter's value. When it does not fit an int64 (many
// actors near the limits), it returns the nearest int64 and an error
// wrapping ErrOverflow.
func (c *Counter) Value() (int64, error) {
	// The sums are kept in 128 bits: each high word gains at most one carry
	// per actor, so it cannot overflow, and their difference is exact.
	var ph, pl, nh, nl uint64
	for _, x := range c.counts {
		var carry uint64
		pl, carry = bits.Add64(pl, x.p, 0)
		ph += carry
		nl, carry = bits.Add64(nl, x.n, 0)
		nh += carry
	}
	lo, borrow := bits.Sub64(pl, nl, 0)
	hi, _ := bits.Sub64(ph, nh, borrow)
	switch {
	case hi == 0 && lo <= math.MaxInt64:
		return int64(lo), nil
	case hi == math.MaxUint64 && lo >= 1<<63:
		return int64(lo), nil // two's complement: lo - 2^64
	case int64(hi) >= 0:
		return math.MaxInt64, fmt.Errorf("%w: the value is above %d", ErrOverflow, int64(math.MaxInt64))
	}
	return math.MinInt64, fmt.Errorf("%w: the value is below %d", ErrOverflow, int64(math.MinInt64))
}

// Actors returns the ids of the actors that changed the counter, in order.
func (c *Counter) Actors() []string { return slices.Sorted(maps.Keys(c.counts)) }

// Unreadable returns the sibling values a merge could not decode, kept
// verbatim (see the package contract), in ascending byte order.
func (c *Counter) Unreadable() [][]byte { return cloneBlobs(c.unreadable) }

// DropUnreadable forgets the values Unreadable returns.
func (c *Counter) DropUnreadable() { c.unreadable = nil }

// Clone returns a deep copy.
func (c *Counter) Clone() *Counter {
	return &Counter{counts: maps.Clone(c.counts), unreadable: cloneBlobs(c.unreadable)}
}

// Equal reports whether c and o are the same state.
func (c *Counter) Equal(o *Counter) bool {
	return maps.Equal(c.counts, o.counts) && equalBlobs(c.unreadable, o.unreadable)
}

// Merge makes c the join of c and o (o is unchanged).
func (c *Counter) Merge(o *Counter) {
	if c.counts == nil && len(o.counts) > 0 {
		c.counts = make(map[string]pn, len(o.counts))
	}
	for a, y := range o.counts {
		x := c.counts[a]
		c.counts[a] = pn{p: max(x.p, y.p), n: max(x.n, y.n)}
	}
	c.unreadable = unionBlobs(c.unreadable, o.unreadable)
}

// Encode returns the counter's canonical encoding:
//
//	'C' 1
//	actors:     count, then per actor in byte order: id, P, N (not both 0)
//	unreadable: count, then each value in byte order
//
// with every number a uvarint and every string a uvarint length and bytes.
func (c *Counter) Encode() []byte {
	e := &encoder{b: []byte{typeCounter, format1}}
	actors := c.Actors()
	e.uvarint(uint64(len(actors)))
	for _, a := range actors {
		e.str(a)
		e.uvarint(c.counts[a].p)
		e.uvarint(c.counts[a].n)
	}
	e.unreadable(c.unreadable)
	return e.b
}

// DecodeCounter parses an encoding made by Encode. Empty input is a
// counter at 0. Errors wrap ErrMalformed, ErrUnknownFormat or ErrTooLarge.
func DecodeCounter(b []byte) (*Counter, error) {
	c := NewCounter()
	if len(b) == 0 {
		return c, nil
	}
	d, err := newDecoder(b, typeCounter)
	if err != nil {
		return nil, err
	}
	na := d.count("actor count", 4)
	if na > 0 {
		c.counts = make(map[string]pn, na)
	}
	prev := ""
	for i := range na {
		a := string(d.field("actor id", MaxActorLen))
		x := pn{p: d.uvarint("increments"), n: d.uvarint("decrements")}
		if d.err != nil {
			return nil, d.err
		}
		switch {
		case a == "":
			d.fail("actor id %d is empty", i)
		case i > 0 && prev >= a:
			d.fail("actor ids are not in ascending order or repeat (%q after %q)", a, prev)
		case x.p == 0 && x.n == 0:
			// An actor that changed nothing is not encoded.
			d.fail("actor %q has no increments and no decrements", a)
		}
		if d.err != nil {
			return nil, d.err
		}
		c.counts[a] = x
		prev = a
	}
	c.unreadable = d.unreadable()
	if err := d.end(); err != nil {
		return nil, err
	}
	return c, nil
}

// CounterFromSiblings merges the siblings of a key into one counter. A
// sibling that does not decode is kept verbatim in the result's Unreadable
// list rather than dropped; DecodeCounter on it gives the reason.
func CounterFromSiblings(siblings [][]byte) *Counter {
	c := NewCounter()
	for _, b := range siblings {
		x, err := DecodeCounter(b)
		if err != nil {
			c.unreadable = addBlob(c.unreadable, b)
			continue
		}
		c.Merge(x)
	}
	return c
}

// MergeCounters is CounterFromSiblings encoded: usable as it is as the
// merge argument of client.Update.
func MergeCounters(siblings [][]byte) []byte { return CounterFromSiblings(siblings).Encode() }

// UpdateCounter returns a merge function for client.Update that merges the
// siblings (as MergeCounters) and then applies f to the merged counter.
func UpdateCounter(f func(c *Counter)) func(siblings [][]byte) []byte {
	return func(siblings [][]byte) []byte {
		c := CounterFromSiblings(siblings)
		f(c)
		return c.Encode()
	}
}
