package version

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sentinel errors.
var (
	// ErrInvalid marks a set or write that breaks the package's invariants.
	ErrInvalid = errors.New("version: invalid")
	// ErrBadContext marks causal-context bytes that cannot be decoded.
	ErrBadContext = errors.New("version: bad context")
)

// ConflictMode selects how concurrent writes are resolved (the wire's
// messages.ConflictMode, decided by the node's default when a request leaves
// it unset).
type ConflictMode int

const (
	// ModeSiblings keeps concurrent writes as siblings (the default).
	ModeSiblings ConflictMode = iota
	// ModeLWW keeps only the write with the greatest timestamp; concurrent
	// writes are lost.
	ModeLWW
)

func (m ConflictMode) String() string {
	switch m {
	case ModeSiblings:
		return "siblings"
	case ModeLWW:
		return "lww"
	}
	return fmt.Sprintf("ConflictMode(%d)", int(m))
}

// Sibling is one concurrent value with the dot of the write that made it.
type Sibling struct {
	Dot       Dot
	Value     []byte
	Tombstone bool
	// Timestamp is the coordinator's wall time (Unix ns), used by LWW reads.
	Timestamp int64
	// ExpiresAt is when the value expires (Unix ns by the coordinator's
	// clock: Timestamp plus the write's time to live); 0 never. From then
	// on the sibling reads as absent, as a tombstone does.
	ExpiresAt int64
}

// Equal reports the same sibling: dot, tombstone flag, timestamp, expiry
// and value.
func (s Sibling) Equal(o Sibling) bool {
	return s.Dot == o.Dot && s.Tombstone == o.Tombstone && s.Timestamp == o.Timestamp && s.ExpiresAt == o.ExpiresAt && bytes.Equal(s.Value, o.Value)
}

// Expired reports a value whose time to live has run out at nowNs (Unix
// ns).
func (s Sibling) Expired(nowNs int64) bool { return s.ExpiresAt != 0 && nowNs >= s.ExpiresAt }

// Dead reports a sibling a read does not show at nowNs: a tombstone, or an
// expired value.
func (s Sibling) Dead(nowNs int64) bool { return s.Tombstone || s.Expired(nowNs) }

// diedAt is when a dead sibling stopped reading: a tombstone's timestamp,
// an expired value's expiry.
func (s Sibling) diedAt() int64 {
	if s.Tombstone {
		return s.Timestamp
	}
	return s.ExpiresAt
}

// rank orders two siblings that claim the same dot (only possible with
// corrupted or hand-made data) so that merges stay deterministic.
func rank(a, b Sibling) int {
	if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ExpiresAt, b.ExpiresAt); c != 0 {
		return c
	}
	if a.Tombstone != b.Tombstone {
		if a.Tombstone {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Value, b.Value)
}

// Set is a dotted version vector set. The zero value (or nil) is the empty
// set: nothing seen, no siblings. Sets are immutable values: every function
// returns a new Set and never modifies its arguments.
type Set struct {
	clock    Clock
	siblings []Sibling // sorted by dot
}

// Clock returns a copy of the set's causal summary.
func (s *Set) Clock() Clock {
	if s == nil {
		return nil
	}
	return slices.Clone(s.clock)
}

// Siblings returns a copy of the list of concurrent values, tombstones
// included, sorted by dot. The Value bytes are shared: do not modify them.
func (s *Set) Siblings() []Sibling {
	if s == nil {
		return nil
	}
	return slices.Clone(s.siblings)
}

// clk and sibs are the non-copying, nil-safe views used inside the package.
func (s *Set) clk() Clock {
	if s == nil {
		return nil
	}
	return s.clock
}

func (s *Set) sibs() []Sibling {
	if s == nil {
		return nil
	}
	return s.siblings
}

// Len is the number of siblings, tombstones included.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.siblings)
}

// IsEmpty reports a set that has seen nothing.
func (s *Set) IsEmpty() bool { return s == nil || (len(s.clock) == 0 && len(s.siblings) == 0) }

// Context is the causal context a read of s hands to the client: its
// clock (ContextOf).
func (s *Set) Context() Context { return Context{Clock: s.Clock()} }

// New builds a set from a clock and siblings, checking the invariants.
func New(clock Clock, siblings []Sibling) (*Set, error) {
	s := &Set{clock: slices.Clone(clock), siblings: slices.Clone(siblings)}
	for i := range s.siblings {
		if s.siblings[i].Value != nil {
			s.siblings[i].Value = bytes.Clone(s.siblings[i].Value)
		}
	}
	slices.SortFunc(s.clock, func(a, b Entry) int { return cmp.Compare(a.Actor, b.Actor) })
	slices.SortFunc(s.siblings, func(a, b Sibling) int { return compareDots(a.Dot, b.Dot) })
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) validate() error {
	if s == nil {
		return nil
	}
	if err := validateClock(s.clock, ErrInvalid); err != nil {
		return err
	}
	for i, sib := range s.siblings {
		if sib.Dot.Actor == "" || sib.Dot.Counter == 0 {
			return fmt.Errorf("%w: sibling %d has no dot", ErrInvalid, i)
		}
		if i > 0 && s.siblings[i-1].Dot == sib.Dot {
			return fmt.Errorf("%w: two siblings share dot %s:%d", ErrInvalid, sib.Dot.Actor, sib.Dot.Counter)
		}
		if !s.clock.Covers(sib.Dot) {
			return fmt.Errorf("%w: sibling dot %s:%d is not covered by the clock", ErrInvalid, sib.Dot.Actor, sib.Dot.Counter)
		}
		if sib.Tombstone && len(sib.Value) > 0 {
			return fmt.Errorf("%w: tombstone %s:%d carries a value", ErrInvalid, sib.Dot.Actor, sib.Dot.Counter)
		}
		if sib.ExpiresAt < 0 || (sib.Tombstone && sib.ExpiresAt != 0) {
			return fmt.Errorf("%w: sibling %s:%d has expiry %d (a value's expiry is a positive time, a tombstone has none)", ErrInvalid, sib.Dot.Actor, sib.Dot.Counter, sib.ExpiresAt)
		}
	}
	return nil
}

// validateClock checks a sorted clock; kind is the sentinel to wrap.
func validateClock(c Clock, kind error) error {
	for i, e := range c {
		if e.Actor == "" {
			return fmt.Errorf("%w: clock entry %d has an empty actor", kind, i)
		}
		if e.Counter == 0 {
			return fmt.Errorf("%w: clock entry %q has counter 0", kind, e.Actor)
		}
		if i > 0 && c[i-1].Actor >= e.Actor {
			return fmt.Errorf("%w: clock entries not sorted or duplicated at %q", kind, e.Actor)
		}
	}
	return nil
}

// Sync merges two sets: the clock is the join, and a sibling survives if
// both hold it, or if the side that lacks it has not seen its dot.
func Sync(a, b *Set) *Set {
	if a.IsEmpty() {
		return b.orEmpty()
	}
	if b.IsEmpty() {
		return a
	}
	out := &Set{clock: a.clock.Join(b.clock)}
	out.siblings = make([]Sibling, 0, max(len(a.siblings), len(b.siblings)))
	i, j := 0, 0
	for i < len(a.siblings) || j < len(b.siblings) {
		switch {
		case j == len(b.siblings) || (i < len(a.siblings) && compareDots(a.siblings[i].Dot, b.siblings[j].Dot) < 0):
			if !b.clock.Covers(a.siblings[i].Dot) {
				out.siblings = append(out.siblings, a.siblings[i])
			}
			i++
		case i == len(a.siblings) || compareDots(b.siblings[j].Dot, a.siblings[i].Dot) < 0:
			if !a.clock.Covers(b.siblings[j].Dot) {
				out.siblings = append(out.siblings, b.siblings[j])
			}
			j++
		default:
			s := a.siblings[i]
			if rank(b.siblings[j], s) > 0 {
				s = b.siblings[j]
			}
			out.siblings = append(out.siblings, s)
			i, j = i+1, j+1
		}
	}
	return out
}

func (s *Set) orEmpty() *Set {
	if s == nil {
		return &Set{}
	}
	return s
}

// Descends reports whether a has seen everything b has: merging b into a
// would change nothing (Sync(a, b) equals a).
func Descends(a, b *Set) bool {
	if !a.clk().Dominates(b.clk()) {
		return false
	}
	bc := b.clk()
	for _, s := range a.sibs() {
		if !bc.Covers(s.Dot) {
			continue
		}
		t, ok := b.find(s.Dot)
		if !ok {
			return false // b has overwritten s; a has not seen that
		}
		if !s.Equal(t) && rank(t, s) > 0 {
			return false // corrupted data: the merge would pick b's copy
		}
	}
	return true
}

func (s *Set) find(d Dot) (Sibling, bool) {
	if s == nil {
		return Sibling{}, false
	}
	i, ok := slices.BinarySearchFunc(s.siblings, d, func(e Sibling, d Dot) int { return compareDots(e.Dot, d) })
	if !ok {
		return Sibling{}, false
	}
	return s.siblings[i], true
}

// Equal reports equal sets, ignoring clock wall times (pruning metadata).
func Equal(a, b *Set) bool {
	return a.clk().equalCounters(b.clk()) &&
		slices.EqualFunc(a.sibs(), b.sibs(), Sibling.Equal)
}

// Write is a client write as the coordinator sees it.
type Write struct {
	Value     []byte
	Tombstone bool
	// Timestamp is the coordinator's wall time in Unix ns. It is also the
	// write's now: local siblings expired at Timestamp are dropped.
	Timestamp int64
	// TTLNs is the value's time to live in ns: it expires at Timestamp +
	// TTLNs. 0 never expires; a tombstone takes none.
	TTLNs int64
	Mode  ConflictMode
	// Floor: the new dot's counter is strictly above Floor. A vnode passes
	// the last counter it issued under actor, so that dots are unique per
	// actor across all the keys it coordinates.
	Floor uint64
}

// Update applies a client write at the coordinating replica whose actor id
// is actor and whose stored set for the key is local (nil when absent). ctx
// is the client's context (empty for a blind write). nowMs is wall time for
// the clock entry. The result holds the new value as a sibling with a fresh
// dot of actor, above every counter of actor in local, ctx and Floor, plus
// every sibling of local that ctx does not cover and that has not expired
// at w.Timestamp; its clock is local's joined with ctx's clock and the new
// dot. An expired sibling is dropped as if ctx covered it: it reads as
// absent, and the new clock covers its dot, so merges drop it on the other
// replicas too. ctx's loose dots supersede the
// siblings they name but never enter the clock (a clock entry would claim
// every lower counter of their actor). In ModeLWW every sibling of local is
// discarded.
//
// The new clock entry of actor covers every lower counter of actor: the
// caller must hold every version of the key that actor ever issued
// (vnode.Store changes its actor whenever it cannot be sure of that).
func Update(local *Set, ctx Context, w Write, actor string, nowMs int64) (*Set, error) {
	if actor == "" || len(actor) > MaxActorLen {
		return nil, fmt.Errorf("%w: actor id must be 1 to %d bytes, got %d", ErrInvalid, MaxActorLen, len(actor))
	}
	if w.Tombstone && len(w.Value) > 0 {
		return nil, fmt.Errorf("%w: a tombstone carries no value", ErrInvalid)
	}
	var expires int64
	if w.TTLNs != 0 {
		if w.TTLNs < 0 || w.Tombstone || w.Timestamp <= 0 || w.Timestamp > math.MaxInt64-w.TTLNs {
			return nil, fmt.Errorf("%w: ttl %d ns at timestamp %d (a value's ttl is positive and its expiry must fit Unix ns; a tombstone takes none)", ErrInvalid, w.TTLNs, w.Timestamp)
		}
		expires = w.Timestamp + w.TTLNs
	}
	if err := ctx.validate(); err != nil {
		return nil, err
	}
	if w.Mode == ModeLWW {
		ctx.Clock = ctx.Clock.Join(local.clk())
	}
	local = local.orEmpty()
	prev := max(local.clock.Get(actor), ctx.Get(actor), w.Floor)
	if prev == math.MaxUint64 {
		return nil, fmt.Errorf("%w: counter of actor %q would overflow", ErrBadContext, actor)
	}
	counter := prev + 1
	joined := local.clock.Join(ctx.Clock)
	out := &Set{clock: joined.with(actor, counter, nowMs)}
	if len(out.clock) > MaxClockEntries && len(joined) > len(local.clock) {
		return nil, fmt.Errorf("%w: the write would make a clock of %d entries, the limit is %d", ErrBadContext, len(out.clock), MaxClockEntries)
	}
	for _, s := range local.siblings {
		if !ctx.Covers(s.Dot) && !s.Expired(w.Timestamp) {
			out.siblings = append(out.siblings, s)
		}
	}
	var value []byte
	if !w.Tombstone {
		value = append([]byte{}, w.Value...) // the set never aliases the caller's buffer
	}
	out.siblings = append(out.siblings, Sibling{
		Dot: Dot{Actor: actor, Counter: counter}, Value: value, Tombstone: w.Tombstone, Timestamp: w.Timestamp, ExpiresAt: expires,
	})
	slices.SortFunc(out.siblings, func(a, b Sibling) int { return compareDots(a.Dot, b.Dot) })
	return out, nil
}
