package crdt

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func sampleSet(t testing.TB) *ORSet {
	s := NewORSet()
	for _, op := range []struct{ actor, elem string }{
		{"phone", "banana"}, {"phone", "apple"}, {"laptop", "milk"}, {"laptop", "banana"},
	} {
		if _, err := s.Add(op.actor, op.elem); err != nil {
			t.Fatal(err)
		}
	}
	o := NewORSet()
	if _, err := o.Add("tablet", "banana"); err != nil {
		t.Fatal(err)
	}
	s.Merge(o) // banana held by two concurrent adds
	s.Remove("apple")
	return s
}

func TestORSetEncodingIsCanonical(t *testing.T) {
	s := sampleSet(t)
	b := s.Encode()
	// Built in another order, the same state encodes the same.
	o := NewORSet()
	if _, err := o.Add("tablet", "banana"); err != nil {
		t.Fatal(err)
	}
	o.Merge(sampleSet(t))
	if !bytes.Equal(o.Encode(), b) {
		t.Fatalf("equal states encode differently:\n%x\n%x", o.Encode(), b)
	}
	d, err := DecodeORSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(s) || !bytes.Equal(d.Encode(), b) {
		t.Fatal("round trip changed the set")
	}
	if got := d.Elements(); strings.Join(got, ",") != "banana,milk" {
		t.Fatalf("elements %v", got)
	}
	if got := d.Dots("banana"); len(got) != 2 || got[0] != (Dot{"laptop", 2}) || got[1] != (Dot{"tablet", 1}) {
		t.Fatalf("dots of banana %v", got)
	}
	// Empty input is the empty set; the empty set's encoding is 5 bytes.
	e, err := DecodeORSet(nil)
	if err != nil || e.Len() != 0 {
		t.Fatalf("empty input: %v %v", e, err)
	}
	if got := NewORSet().Encode(); !bytes.Equal(got, []byte{'S', 1, 0, 0, 0}) {
		t.Fatalf("empty set encodes as %x", got)
	}
}

func TestDecodeORSetRefusesMalformedInput(t *testing.T) {
	good := sampleSet(t).Encode()
	cases := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"one byte", []byte{'S'}, ErrMalformed, "header"},
		{"counter", NewCounter().Encode(), ErrMalformed, "a counter, not an OR-Set"},
		{"other type", []byte("hello"), ErrUnknownFormat, "first byte"},
		{"newer format", []byte{'S', 2, 0, 0, 0}, ErrUnknownFormat, "format 2"},
		{"truncated", good[:len(good)-1], ErrMalformed, "truncated"},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed, "after the end"},
		{"non-minimal varint", []byte{'S', 1, 0x80, 0x00, 0, 0}, ErrMalformed, "not minimal"},
		{"huge count", []byte{'S', 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed, "cannot fit"},
		{"empty actor", []byte{'S', 1, 1, 0, 1, 0, 0}, ErrMalformed, "empty"},
		{"zero counter", []byte{'S', 1, 1, 1, 'a', 0, 0, 0}, ErrMalformed, "counter 0"},
		{"actors out of order", []byte{'S', 1, 2, 1, 'b', 1, 1, 'a', 1, 0, 0}, ErrMalformed, "ascending"},
		{"dot not covered", []byte{'S', 1, 1, 1, 'a', 1, 1, 1, 'x', 1, 0, 2, 0}, ErrMalformed, "not covered"},
		{"dot of unknown actor", []byte{'S', 1, 1, 1, 'a', 1, 1, 1, 'x', 1, 1, 1, 0}, ErrMalformed, "names actor 1"},
		{"element without dots", []byte{'S', 1, 1, 1, 'a', 1, 1, 1, 'x', 0, 0}, ErrMalformed, "no dots"},
		{"dot held twice", []byte{'S', 1, 1, 1, 'a', 1, 2, 1, 'x', 1, 0, 1, 1, 'y', 1, 0, 1, 0}, ErrMalformed, "two elements"},
		{"elements out of order", []byte{'S', 1, 1, 1, 'a', 2, 2, 1, 'y', 1, 0, 1, 1, 'x', 1, 0, 2, 0}, ErrMalformed, "ascending"},
		{"empty unreadable", []byte{'S', 1, 0, 0, 1, 0, 0}, ErrMalformed, "empty"},
		{"too large", make([]byte, MaxEncodedSize+1), ErrTooLarge, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := DecodeORSet(c.in)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) || s != nil {
				t.Fatalf("DecodeORSet(%x) = %v, %v; want an error wrapping %v saying %q", c.in[:min(len(c.in), 24)], s, err, c.want, c.msg)
			}
		})
	}
	// An element too long, built by hand.
	long := []byte{'S', 1, 1, 1, 'a', 1, 1}
	long = append(long, 0x81, 0x20) // 4097
	long = append(long, bytes.Repeat([]byte{'x'}, 4097)...)
	long = append(long, 1, 0, 1, 0)
	if _, err := DecodeORSet(long); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "limit is 4096") {
		t.Fatalf("long element: %v", err)
	}
}

func TestDecodeCounterRefusesMalformedInput(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want error
	}{
		{[]byte{'C'}, ErrMalformed},
		{NewORSet().Encode(), ErrMalformed},
		{[]byte{'C', 9, 0, 0}, ErrUnknownFormat},
		{[]byte{'C', 1, 1, 1, 'a', 0, 0, 0}, ErrMalformed},               // neither P nor N
		{[]byte{'C', 1, 2, 1, 'b', 1, 0, 1, 'a', 1, 0, 0}, ErrMalformed}, // order
		{[]byte{'C', 1, 0, 0, 7}, ErrMalformed},                          // trailing
	} {
		if _, err := DecodeCounter(c.in); !errors.Is(err, c.want) {
			t.Errorf("DecodeCounter(%x): %v, want %v", c.in, err, c.want)
		}
	}
}

func TestAddRefusesBadArguments(t *testing.T) {
	s := NewORSet()
	if _, err := s.Add("", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty actor: %v", err)
	}
	if _, err := s.Add(strings.Repeat("a", 256), "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("long actor: %v", err)
	}
	if _, err := s.Add("a", strings.Repeat("x", MaxElementLen+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long element: %v", err)
	}
	s.clock = map[string]uint64{"a": math.MaxUint64}
	if _, err := s.Add("a", "x"); !errors.Is(err, ErrOverflow) {
		t.Errorf("counter at the limit: %v", err)
	}
	if s.Contains("x") {
		t.Error("a refused add changed the set")
	}
}

// A sibling that does not decode is kept, verbatim, through any number of
// merges, until the application drops it.
func TestMergeKeepsUnreadableSiblings(t *testing.T) {
	cart := NewORSet()
	if _, err := cart.Add("phone", "banana"); err != nil {
		t.Fatal(err)
	}
	garbage := []byte("written by someone else")
	newer := []byte{'S', 2, 'f', 'u', 't', 'u', 'r', 'e'}
	merged := MergeORSets([][]byte{garbage, cart.Encode(), newer, garbage})
	s, err := DecodeORSet(merged)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Contains("banana") {
		t.Fatal("the readable sibling's content is missing")
	}
	un := s.Unreadable()
	if len(un) != 2 || !bytes.Equal(un[0], newer) || !bytes.Equal(un[1], garbage) {
		t.Fatalf("unreadable %q", un)
	}
	if _, err := DecodeORSet(un[0]); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("the reason is not recoverable: %v", err)
	}
	// Carried by later merges and updates.
	other := NewORSet()
	if _, err := other.Add("laptop", "milk"); err != nil {
		t.Fatal(err)
	}
	again := UpdateORSet(func(s *ORSet) {
		if _, err := s.Add("phone", "eggs"); err != nil {
			t.Fatal(err)
		}
	})([][]byte{merged, other.Encode()})
	s, err = DecodeORSet(again)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Unreadable()) != 2 || strings.Join(s.Elements(), ",") != "banana,eggs,milk" {
		t.Fatalf("after another merge: %v, unreadable %q", s.Elements(), s.Unreadable())
	}
	s.DropUnreadable()
	if len(s.Unreadable()) != 0 || len(s.Encode()) >= len(again) {
		t.Fatal("DropUnreadable kept them")
	}
	// Counters do the same.
	c := CounterFromSiblings([][]byte{garbage, NewCounter().Encode()})
	if len(c.Unreadable()) != 1 {
		t.Fatalf("counter unreadable %q", c.Unreadable())
	}
}

func TestCounterValueAndLimits(t *testing.T) {
	c := NewCounter()
	for _, step := range []struct {
		actor string
		delta int64
	}{{"a", 5}, {"b", -3}, {"a", 2}, {"b", 0}, {"c", -10}} {
		if err := c.Increment(step.actor, step.delta); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.Value(); err != nil || v != -6 {
		t.Fatalf("value %d, %v", v, err)
	}
	if got := c.Actors(); strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("actors %v", got)
	}
	if err := c.Increment("", 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty actor: %v", err)
	}
	// Extremes: MinInt64 as a delta, totals at 2^64-1, values beyond int64.
	x := NewCounter()
	if err := x.Increment("a", math.MinInt64); err != nil {
		t.Fatal(err)
	}
	if v, err := x.Value(); err != nil || v != math.MinInt64 {
		t.Fatalf("MinInt64: %d %v", v, err)
	}
	if err := x.Increment("a", -1); err != nil {
		t.Fatal(err)
	}
	if v, err := x.Value(); !errors.Is(err, ErrOverflow) || v != math.MinInt64 {
		t.Fatalf("below MinInt64: %d %v", v, err)
	}
	y := NewCounter()
	for _, a := range []string{"a", "b"} {
		if err := y.Increment(a, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		if err := y.Increment(a, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
	}
	if err := y.Increment("a", 2); !errors.Is(err, ErrOverflow) {
		t.Fatalf("past 2^64-1: %v", err)
	}
	if v, err := y.Value(); !errors.Is(err, ErrOverflow) || v != math.MaxInt64 {
		t.Fatalf("above MaxInt64: %d %v", v, err)
	}
	// The sums are exact beyond 64 bits: P = (2^64-1) + 1 and N = 2^64-1
	// give 1.
	z := NewCounter()
	for _, step := range []struct {
		actor string
		delta int64
	}{{"a", math.MaxInt64}, {"a", math.MaxInt64}, {"a", 1}, {"b", 1}, {"c", math.MinInt64}, {"c", -math.MaxInt64}} {
		if err := z.Increment(step.actor, step.delta); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := z.Value(); err != nil || v != 1 {
		t.Fatalf("128-bit sums: %d %v", v, err)
	}
	d, err := DecodeCounter(c.Encode())
	if err != nil || !d.Equal(c) {
		t.Fatalf("round trip: %v", err)
	}
}
