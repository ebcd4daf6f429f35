package storage

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestObjectKeyLayout(t *testing.T) {
	got := ObjectKey(0x01020304, 0x0506, []byte("key"))
	if want := []byte{1, 2, 3, 4, 5, 6, 'k', 'e', 'y'}; !bytes.Equal(got, want) {
		t.Fatalf("ObjectKey = %x, want %x", got, want)
	}
}

func TestObjectKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		partition uint32
		segment   uint16
		key       string
	}{
		{0, 0, ""},
		{0, 0, "k"},
		{1, 2, "hello"},
		{0xffffffff, 0xffff, "\xff\xff"},
		{0x80000000, 0x8000, "\x00"},
	} {
		k := ObjectKey(tc.partition, tc.segment, []byte(tc.key))
		p, s, key, err := ParseObjectKey(k)
		if err != nil || p != tc.partition || s != tc.segment || string(key) != tc.key {
			t.Errorf("ParseObjectKey(ObjectKey(%#x, %#x, %q)) = %#x, %#x, %q, %v",
				tc.partition, tc.segment, tc.key, p, s, key, err)
		}
	}
}

func TestParseObjectKeyShort(t *testing.T) {
	for n := range objectKeyPrefixLen {
		_, _, _, err := ParseObjectKey(make([]byte, n))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseObjectKey of %d bytes: %v, want ErrInvalid", n, err)
		}
	}
	if _, _, _, err := ParseObjectKey(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseObjectKey(nil): %v, want ErrInvalid", err)
	}
}

func TestPrefixRange(t *testing.T) {
	for _, tc := range []struct {
		prefix, start, limit string
		nilLimit             bool
	}{
		{prefix: "ab", start: "ab", limit: "ac"},
		{prefix: "a\xff", start: "a\xff", limit: "b"},
		{prefix: "a\xfe\xff\xff", start: "a\xfe\xff\xff", limit: "a\xff"},
		{prefix: "\x00", start: "\x00", limit: "\x01"},
		{prefix: "\xff\xff", start: "\xff\xff", nilLimit: true},
		{prefix: "", start: "", nilLimit: true},
	} {
		r := PrefixRange([]byte(tc.prefix))
		if string(r.Start) != tc.start || (r.Limit == nil) != tc.nilLimit || string(r.Limit) != tc.limit {
			t.Errorf("PrefixRange(%x) = %x..%x (nil limit %v), want %x..%x (nil limit %v)",
				tc.prefix, r.Start, r.Limit, r.Limit == nil, tc.start, tc.limit, tc.nilLimit)
		}
	}

	prefix := []byte("ab")
	r := PrefixRange(prefix)
	prefix[0], prefix[1] = 'x', 'x'
	if string(r.Start) != "ab" || string(r.Limit) != "ac" {
		t.Fatalf("PrefixRange aliases its argument: %q..%q", r.Start, r.Limit)
	}
}

func TestPartitionRange(t *testing.T) {
	for _, p := range []uint32{0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff} {
		r := PartitionRange(p)
		for _, s := range []uint16{0, 1, 0xffff} {
			for _, key := range []string{"", "k", "\xff\xff\xff"} {
				if k := ObjectKey(p, s, []byte(key)); !r.contains(k) {
					t.Errorf("PartitionRange(%#x) lacks %x", p, k)
				}
				if p > 0 {
					if k := ObjectKey(p-1, s, []byte(key)); r.contains(k) {
						t.Errorf("PartitionRange(%#x) contains %x", p, k)
					}
				}
				if p < 0xffffffff {
					if k := ObjectKey(p+1, s, []byte(key)); r.contains(k) {
						t.Errorf("PartitionRange(%#x) contains %x", p, k)
					}
				}
			}
		}
	}
	if r := PartitionRange(0xffffffff); r.Limit != nil {
		t.Errorf("PartitionRange(0xffffffff).Limit = %x, want nil", r.Limit)
	}
}

func TestSegmentRange(t *testing.T) {
	for _, tc := range []struct {
		partition   uint32
		first, last uint16
	}{
		{0, 0, 0},
		{5, 10, 20},
		{5, 0, 0xffff},
		{5, 0xffff, 0xffff},
		{0xffffffff, 0xfff0, 0xffff},
		{0xffffffff, 0, 0},
	} {
		r := SegmentRange(tc.partition, tc.first, tc.last)
		in := func(p uint32, s uint16, key string) bool { return r.contains(ObjectKey(p, s, []byte(key))) }
		for _, key := range []string{"", "k", "\xff\xff"} {
			for _, s := range []uint16{tc.first, tc.last, tc.first + (tc.last-tc.first)/2} {
				if !in(tc.partition, s, key) {
					t.Errorf("SegmentRange(%#x, %#x, %#x) lacks segment %#x key %q", tc.partition, tc.first, tc.last, s, key)
				}
			}
			if tc.first > 0 && in(tc.partition, tc.first-1, key) {
				t.Errorf("SegmentRange(%#x, %#x, %#x) contains segment %#x", tc.partition, tc.first, tc.last, tc.first-1)
			}
			if tc.last < 0xffff && in(tc.partition, tc.last+1, key) {
				t.Errorf("SegmentRange(%#x, %#x, %#x) contains segment %#x", tc.partition, tc.first, tc.last, tc.last+1)
			}
			if tc.partition < 0xffffffff && in(tc.partition+1, 0, key) {
				t.Errorf("SegmentRange(%#x, %#x, %#x) contains the next partition", tc.partition, tc.first, tc.last)
			}
			if tc.partition > 0 && in(tc.partition-1, 0xffff, key) {
				t.Errorf("SegmentRange(%#x, %#x, %#x) contains the previous partition", tc.partition, tc.first, tc.last)
			}
		}
	}
	if r := SegmentRange(0xffffffff, 3, 0xffff); r.Limit != nil {
		t.Errorf("SegmentRange(0xffffffff, 3, 0xffff).Limit = %x, want nil", r.Limit)
	}
	if r := SegmentRange(7, 0xffff, 0xffff); !bytes.Equal(r.Limit, []byte{0, 0, 0, 8}) {
		t.Errorf("SegmentRange(7, 0xffff, 0xffff).Limit = %x, want 00000008", r.Limit)
	}
	r := SegmentRange(7, 9, 8)
	if r.validate() != nil || r.contains(ObjectKey(7, 8, nil)) || r.contains(ObjectKey(7, 9, nil)) {
		t.Errorf("SegmentRange(7, 9, 8) = %x..%x, want a valid empty range", r.Start, r.Limit)
	}
}

// TestKeyRangesScan checks the key helpers against real engines, at the
// extreme partitions and segments.
func TestKeyRangesScan(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		partitions := []uint32{0, 1, 0xfffffffe, 0xffffffff}
		segments := []uint16{0, 1, 0x7fff, 0xfffe, 0xffff}
		b := NewBatch()
		for _, p := range partitions {
			for _, s := range segments {
				for _, key := range []string{"a", "\xff"} {
					b.Put(KeyspaceData, ObjectKey(p, s, []byte(key)), fmt.Appendf(nil, "%d/%d/%s", p, s, key))
				}
			}
		}
		b.Put(KeyspaceHints, []byte{0}, []byte("a hint, not an object"))
		if err := e.Write(b, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		check := func(what string, r Range, want func(p uint32, s uint16) bool) {
			t.Helper()
			var expect []kv
			for _, p := range partitions {
				for _, s := range segments {
					if want(p, s) {
						for _, key := range []string{"a", "\xff"} {
							expect = append(expect, kv{string(ObjectKey(p, s, []byte(key))), fmt.Sprintf("%d/%d/%s", p, s, key)})
						}
					}
				}
			}
			wantKVs(t, what, mustScan(t, e, KeyspaceData, r), expect...)
		}
		for _, p := range partitions {
			check(fmt.Sprintf("partition %#x", p), PartitionRange(p), func(q uint32, _ uint16) bool { return q == p })
			check(fmt.Sprintf("partition %#x segments 1..0xfffe", p), SegmentRange(p, 1, 0xfffe),
				func(q uint32, s uint16) bool { return q == p && s >= 1 && s <= 0xfffe })
			check(fmt.Sprintf("partition %#x segment 0xffff", p), SegmentRange(p, 0xffff, 0xffff),
				func(q uint32, s uint16) bool { return q == p && s == 0xffff })
			check(fmt.Sprintf("partition %#x segment 0", p), SegmentRange(p, 0, 0),
				func(q uint32, s uint16) bool { return q == p && s == 0 })
		}
	})
}
