package version

import (
	"cmp"
	"slices"
)

// Dot names one write: the Counter-th write coordinated by Actor.
type Dot struct {
	Actor   string
	Counter uint64
}

func compareDots(a, b Dot) int {
	if c := cmp.Compare(a.Actor, b.Actor); c != 0 {
		return c
	}
	return cmp.Compare(a.Counter, b.Counter)
}

// Entry is one version-vector entry. UpdatedMs is the wall time (Unix ms)
// at which the coordinator issued Counter; it is used only for pruning.
type Entry struct {
	Actor     string
	Counter   uint64
	UpdatedMs int64
}

// Clock is a version vector sorted by actor, with no duplicate actors and no
// zero counters. The zero value is the empty clock.
type Clock []Entry

// Get returns the counter of actor (0 when absent).
func (c Clock) Get(actor string) uint64 {
	if i, ok := slices.BinarySearchFunc(c, actor, func(e Entry, a string) int { return cmp.Compare(e.Actor, a) }); ok {
		return c[i].Counter
	}
	return 0
}

// Covers reports whether the clock has seen dot d.
func (c Clock) Covers(d Dot) bool { return c.Get(d.Actor) >= d.Counter }

// Dominates reports whether c >= o pointwise.
func (c Clock) Dominates(o Clock) bool {
	for _, e := range o {
		if c.Get(e.Actor) < e.Counter {
			return false
		}
	}
	return true
}

// Join is the pointwise maximum. For equal counters the later UpdatedMs is
// kept, so Join is commutative, associative and idempotent.
func (c Clock) Join(o Clock) Clock {
	out := make(Clock, 0, max(len(c), len(o)))
	i, j := 0, 0
	for i < len(c) || j < len(o) {
		switch {
		case j == len(o) || (i < len(c) && c[i].Actor < o[j].Actor):
			out = append(out, c[i])
			i++
		case i == len(c) || o[j].Actor < c[i].Actor:
			out = append(out, o[j])
			j++
		default:
			a, b := c[i], o[j]
			if b.Counter > a.Counter || (b.Counter == a.Counter && b.UpdatedMs > a.UpdatedMs) {
				a = b
			}
			out = append(out, a)
			i, j = i+1, j+1
		}
	}
	return out
}

// with returns a copy of c where actor's entry is set to counter at nowMs.
func (c Clock) with(actor string, counter uint64, nowMs int64) Clock {
	out := slices.Clone(c)
	i, ok := slices.BinarySearchFunc(out, actor, func(e Entry, a string) int { return cmp.Compare(e.Actor, a) })
	e := Entry{Actor: actor, Counter: counter, UpdatedMs: nowMs}
	if ok {
		out[i] = e
		return out
	}
	return slices.Insert(out, i, e)
}

// equalCounters compares actors and counters, ignoring UpdatedMs.
func (c Clock) equalCounters(o Clock) bool {
	return slices.EqualFunc(c, o, func(a, b Entry) bool { return a.Actor == b.Actor && a.Counter == b.Counter })
}
