package storage

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseObjectKey(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5})
	f.Add(ObjectKey(0, 0, nil))
	f.Add(ObjectKey(0xffffffff, 0xffff, []byte("key")))
	f.Fuzz(func(t *testing.T, k []byte) {
		p, s, key, err := ParseObjectKey(k)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || len(k) >= objectKeyPrefixLen {
				t.Fatalf("ParseObjectKey(%x): %v", k, err)
			}
			return
		}
		if got := ObjectKey(p, s, key); !bytes.Equal(got, k) {
			t.Fatalf("ObjectKey(ParseObjectKey(%x)) = %x", k, got)
		}
	})
}

func FuzzDecodeIdentity(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{2, 0, 0})
	f.Add(encodeIdentity(Identity{"node-1", 42}))
	f.Add(encodeIdentity(Identity{"", 42}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 'n'})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := decodeIdentity(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeIdentity(%x): %v, want ErrCorrupt", b, err)
			}
			return
		}
		if got := encodeIdentity(id); !bytes.Equal(got, b) {
			t.Fatalf("encode(decode(%x)) = %x", b, got)
		}
	})
}
