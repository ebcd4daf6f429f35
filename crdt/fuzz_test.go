package crdt

import (
	"bytes"
	"testing"
)

// FuzzDecodeORSet: the decoder never panics; what it accepts is canonical
// (encodes back to the same bytes) and merges with itself to itself; the
// sibling merge of anything never panics and keeps what it cannot read.
func FuzzDecodeORSet(f *testing.F) {
	f.Add(sampleSet(f).Encode())
	f.Add(NewORSet().Encode())
	f.Add([]byte{})
	f.Add([]byte("hello"))
	f.Add([]byte{'S', 1, 1, 1, 'a', 1, 1, 1, 'x', 1, 0, 1, 1, 1, 'z'})
	f.Add(NewCounter().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeORSet(b)
		if err != nil {
			if s != nil {
				t.Fatal("a set returned with an error")
			}
			m, err2 := DecodeORSet(MergeORSets([][]byte{b}))
			if err2 != nil || len(m.Unreadable()) != 1 || !bytes.Equal(m.Unreadable()[0], b) {
				t.Fatalf("an unreadable sibling was not kept: %v", err2)
			}
			return
		}
		if len(b) > 0 && !bytes.Equal(s.Encode(), b) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", b, s.Encode())
		}
		c := s.Clone()
		c.Merge(s)
		if !c.Equal(s) {
			t.Fatal("merge with itself changed the set")
		}
		if got := MergeORSets([][]byte{b, b}); !bytes.Equal(got, s.Encode()) {
			t.Fatal("MergeORSets of a sibling twice is not the sibling")
		}
	})
}

// FuzzDecodeCounter: as FuzzDecodeORSet, for counters.
func FuzzDecodeCounter(f *testing.F) {
	c := NewCounter()
	_ = c.Increment("a", 7)
	_ = c.Increment("b", -3)
	f.Add(c.Encode())
	f.Add(NewCounter().Encode())
	f.Add([]byte{})
	f.Add([]byte{'C', 1, 1, 1, 'a', 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCounter(b)
		if err != nil {
			if c != nil {
				t.Fatal("a counter returned with an error")
			}
			return
		}
		if len(b) > 0 && !bytes.Equal(c.Encode(), b) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", b, c.Encode())
		}
		_, _ = c.Value() // never panics, whatever the totals
		m := c.Clone()
		m.Merge(c)
		if !m.Equal(c) {
			t.Fatal("merge with itself changed the counter")
		}
	})
}
