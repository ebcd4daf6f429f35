package crdt

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Dot names one event of an actor: its Counter-th add (ORSet).
type Dot struct {
	Actor   string
	Counter uint64
}

func (d Dot) String() string { return fmt.Sprintf("%s:%d", d.Actor, d.Counter) }

func compareDots(a, b Dot) int {
	if c := strings.Compare(a.Actor, b.Actor); c != 0 {
		return c
	}
	return cmp.Compare(a.Counter, b.Counter)
}

// ORSet is an observed-remove set of strings, add-wins (an optimized OR-Set
// without tombstones, after Riak's ORSWOT). Each element carries the dots
// of the adds that put it there; the clock records every dot the set has
// seen. A merge keeps a dot that both sides hold, or that one side holds
// and the other has not seen; a dot that one side has seen and no longer
// holds was removed there, and stays removed.
//
// The zero value is an empty set. An ORSet is not safe for concurrent use.
type ORSet struct {
	clock      map[string]uint64
	entries    map[string][]Dot // sorted, never empty
	unreadable [][]byte
}

// NewORSet returns an empty set.
func NewORSet() *ORSet { return &ORSet{} }

func (s *ORSet) init() {
	if s.clock == nil {
		s.clock = map[string]uint64{}
	}
	if s.entries == nil {
		s.entries = map[string][]Dot{}
	}
}

// Add adds elem as actor and returns the add's dot. The add observes (and
// replaces) the element's earlier adds that this set holds; adds of it
// that this set has not seen survive a merge next to it.
func (s *ORSet) Add(actor, elem string) (Dot, error) {
	if err := checkActor(actor); err != nil {
		return Dot{}, err
	}
	if len(elem) > MaxElementLen {
		return Dot{}, fmt.Errorf("%w: element is %d bytes, the limit is %d", ErrInvalid, len(elem), MaxElementLen)
	}
	s.init()
	c := s.clock[actor]
	if c == math.MaxUint64 {
		return Dot{}, fmt.Errorf("%w: actor %q has made 2^64-1 adds", ErrOverflow, actor)
	}
	d := Dot{Actor: actor, Counter: c + 1}
	s.clock[actor] = d.Counter
	s.entries[elem] = []Dot{d}
	return d, nil
}

// Remove removes elem: the adds of it that this set has seen. An add of
// elem concurrent with the remove (one this set has not seen) survives a
// later merge: add wins. It reports whether elem was present.
func (s *ORSet) Remove(elem string) bool {
	if _, ok := s.entries[elem]; !ok {
		return false
	}
	delete(s.entries, elem)
	return true
}

// Contains reports whether elem is in the set.
func (s *ORSet) Contains(elem string) bool {
	_, ok := s.entries[elem]
	return ok
}

// Len is the number of elements.
func (s *ORSet) Len() int { return len(s.entries) }

// Elements returns the elements in ascending order.
func (s *ORSet) Elements() []string { return slices.Sorted(maps.Keys(s.entries)) }

// Dots returns the dots of the adds that keep elem in the set (more than
// one after concurrent adds), in order; nil when elem is absent.
func (s *ORSet) Dots(elem string) []Dot { return slices.Clone(s.entries[elem]) }

// Clock returns every actor's highest dot counter the set has seen, which
// sums up its causal history.
func (s *ORSet) Clock() map[string]uint64 { return maps.Clone(s.clock) }

// Unreadable returns the sibling values a merge could not decode, kept
// verbatim (see the package contract), in ascending byte order.
func (s *ORSet) Unreadable() [][]byte { return cloneBlobs(s.unreadable) }

// DropUnreadable forgets the values Unreadable returns: call it once the
// application has dealt with them.
func (s *ORSet) DropUnreadable() { s.unreadable = nil }

// Clone returns a deep copy.
func (s *ORSet) Clone() *ORSet {
	out := &ORSet{clock: maps.Clone(s.clock), unreadable: cloneBlobs(s.unreadable)}
	if s.entries != nil {
		out.entries = make(map[string][]Dot, len(s.entries))
		for e, ds := range s.entries {
			out.entries[e] = slices.Clone(ds)
		}
	}
	return out
}

// Equal reports whether s and o are the same state (same elements with the
// same dots, same clock, same unreadable values).
func (s *ORSet) Equal(o *ORSet) bool {
	return maps.Equal(s.clock, o.clock) &&
		maps.EqualFunc(s.entries, o.entries, func(a, b []Dot) bool { return slices.Equal(a, b) }) &&
		equalBlobs(s.unreadable, o.unreadable)
}

// Merge makes s the join of s and o (o is unchanged).
func (s *ORSet) Merge(o *ORSet) {
	s.init()
	seenBy := func(c map[string]uint64, d Dot) bool { return c[d.Actor] >= d.Counter }
	merged := make(map[string][]Dot, max(len(s.entries), len(o.entries)))
	for e, mine := range s.entries {
		theirs := o.entries[e]
		var keep []Dot
		for _, d := range mine {
			if slices.Contains(theirs, d) || !seenBy(o.clock, d) {
				keep = append(keep, d)
			}
		}
		for _, d := range theirs {
			if !slices.Contains(mine, d) && !seenBy(s.clock, d) {
				keep = append(keep, d)
			}
		}
		if len(keep) > 0 {
			slices.SortFunc(keep, compareDots)
			merged[e] = keep
		}
	}
	for e, theirs := range o.entries {
		if _, ok := s.entries[e]; ok {
			continue
		}
		var keep []Dot
		for _, d := range theirs {
			if !seenBy(s.clock, d) {
				keep = append(keep, d)
			}
		}
		if len(keep) > 0 {
			merged[e] = keep // already sorted
		}
	}
	s.entries = merged
	for a, c := range o.clock {
		s.clock[a] = max(s.clock[a], c)
	}
	s.unreadable = unionBlobs(s.unreadable, o.unreadable)
}

// Encode returns the set's canonical encoding (see the package contract):
//
//	'S' 1
//	actors:     count, then per actor in byte order: id, highest counter
//	elements:   count, then per element in byte order: element, dot count,
//	            dots in order as (index of the actor above, counter)
//	unreadable: count, then each value in byte order
//
// with every number a uvarint and every string a uvarint length and bytes.
func (s *ORSet) Encode() []byte {
	e := &encoder{b: []byte{typeORSet, format1}}
	actors := slices.Sorted(maps.Keys(s.clock))
	index := make(map[string]uint64, len(actors))
	e.uvarint(uint64(len(actors)))
	for i, a := range actors {
		index[a] = uint64(i)
		e.str(a)
		e.uvarint(s.clock[a])
	}
	elems := s.Elements()
	e.uvarint(uint64(len(elems)))
	for _, el := range elems {
		e.str(el)
		ds := s.entries[el]
		e.uvarint(uint64(len(ds)))
		for _, d := range ds {
			e.uvarint(index[d.Actor])
			e.uvarint(d.Counter)
		}
	}
	e.unreadable(s.unreadable)
	return e.b
}

// DecodeORSet parses an encoding made by Encode. Empty input is the empty
// set. Errors wrap ErrMalformed, ErrUnknownFormat or ErrTooLarge.
func DecodeORSet(b []byte) (*ORSet, error) {
	if len(b) == 0 {
		return NewORSet(), nil
	}
	d, err := newDecoder(b, typeORSet)
	if err != nil {
		return nil, err
	}
	s := NewORSet()
	s.init()
	// Actors: strictly ascending, each with a counter of at least 1.
	na := d.count("actor count", 2)
	actors := make([]string, 0, na)
	for i := range na {
		a := string(d.field("actor id", MaxActorLen))
		c := d.uvarint("actor counter")
		if d.err != nil {
			return nil, d.err
		}
		switch {
		case a == "":
			d.fail("actor id %d is empty", i)
		case i > 0 && actors[i-1] >= a:
			d.fail("actor ids are not in ascending order or repeat (%q after %q)", a, actors[i-1])
		case c == 0:
			d.fail("actor %q has counter 0", a)
		}
		if d.err != nil {
			return nil, d.err
		}
		actors = append(actors, a)
		s.clock[a] = c
	}
	// Elements: strictly ascending, each with dots in strictly ascending
	// order, every dot covered by the clock and held by one element only
	// (a dot is one add).
	ne := d.count("element count", 2)
	seen := map[Dot]bool{}
	prev := ""
	for i := range ne {
		el := string(d.field("element", MaxElementLen))
		nd := d.count("dot count", 2)
		if d.err != nil {
			return nil, d.err
		}
		if i > 0 && prev >= el {
			d.fail("elements are not in ascending order or repeat (%q after %q)", el, prev)
			return nil, d.err
		}
		if nd == 0 {
			d.fail("element %q has no dots", el)
			return nil, d.err
		}
		ds := make([]Dot, 0, nd)
		for j := range nd {
			ai := d.uvarint("dot actor index")
			c := d.uvarint("dot counter")
			if d.err != nil {
				return nil, d.err
			}
			if ai >= uint64(len(actors)) {
				d.fail("dot of %q names actor %d of %d", el, ai, len(actors))
				return nil, d.err
			}
			dot := Dot{Actor: actors[ai], Counter: c}
			switch {
			case c == 0 || c > s.clock[dot.Actor]:
				d.fail("dot %v of %q is not covered by the clock (%d)", dot, el, s.clock[dot.Actor])
			case j > 0 && compareDots(ds[j-1], dot) >= 0:
				d.fail("dots of %q are not in ascending order or repeat", el)
			case seen[dot]:
				d.fail("dot %v is held by two elements", dot)
			}
			if d.err != nil {
				return nil, d.err
			}
			seen[dot] = true
			ds = append(ds, dot)
		}
		s.entries[el] = ds
		prev = el
	}
	s.unreadable = d.unreadable()
	if err := d.end(); err != nil {
		return nil, err
	}
	return s, nil
}

// ORSetFromSiblings merges the siblings of a key (as client.Get or
// client.Update hand them over) into one set. A sibling that does not
// decode is kept verbatim in the result's Unreadable list rather than
// dropped; DecodeORSet on it gives the reason.
func ORSetFromSiblings(siblings [][]byte) *ORSet {
	s := NewORSet()
	for _, b := range siblings {
		x, err := DecodeORSet(b)
		if err != nil {
			s.unreadable = addBlob(s.unreadable, b)
			continue
		}
		s.Merge(x)
	}
	return s
}

// MergeORSets is ORSetFromSiblings encoded: usable as it is as the merge
// argument of client.Update, to resolve a key's siblings into one value.
func MergeORSets(siblings [][]byte) []byte { return ORSetFromSiblings(siblings).Encode() }

// UpdateORSet returns a merge function for client.Update that merges the
// siblings (as MergeORSets) and then applies f to the merged set, so that
// the write both resolves the siblings and makes the change:
//
//	c.Update(ctx, key, crdt.UpdateORSet(func(s *crdt.ORSet) { s.Add(me, "banana") }))
func UpdateORSet(f func(s *ORSet)) func(siblings [][]byte) []byte {
	return func(siblings [][]byte) []byte {
		s := ORSetFromSiblings(siblings)
		f(s)
		return s.Encode()
	}
}
