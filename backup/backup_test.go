package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/dynamokv/dynamo/version"
)

func sets(t *testing.T, n int) ([][]byte, []*version.Set) {
	t.Helper()
	var keys [][]byte
	var out []*version.Set
	for i := range n {
		s, err := version.Update(nil, version.Context{}, version.Write{Value: []byte(fmt.Sprint("v", i)), Timestamp: int64(i)}, "a@1", 1)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // a concurrent sibling
			o, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("other"), Timestamp: 1}, "b@2", 1)
			s = version.Sync(s, o)
		}
		if i%5 == 0 { // a tombstone over everything
			s, _ = version.Update(s, version.ContextOf(s), version.Write{Tombstone: true, Timestamp: 9}, "a@1", 2)
		}
		keys = append(keys, []byte(fmt.Sprint("key-", i)))
		out = append(out, s)
	}
	return keys, out
}

func export(t *testing.T, keys [][]byte, ss []*version.Set) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Partitions: 64, CreatedMs: 1234})
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if err := w.Write(keys[i], ss[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	keys, ss := sets(t, 40)
	b := export(t, keys, ss)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header() != (Header{Partitions: 64, CreatedMs: 1234}) {
		t.Fatalf("header %+v", r.Header())
	}
	for i := 0; ; i++ {
		k, s, err := r.Next()
		if err == io.EOF {
			if i != len(keys) {
				t.Fatalf("%d records, want %d", i, len(keys))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(k) != string(keys[i]) || !version.Descends(s, ss[i]) || !version.Descends(ss[i], s) || s.Len() != ss[i].Len() {
			t.Fatalf("record %d: %q %v, want %q %v", i, k, s, keys[i], ss[i])
		}
	}
	if _, n, err := Verify(bytes.NewReader(export(t, nil, nil))); err != nil || n != 0 {
		t.Fatalf("an empty export: %d %v", n, err)
	}
}

// Every flipped byte and every truncation is refused with an offset, and
// so are extra bytes after the end.
func TestDamageIsRefused(t *testing.T) {
	keys, ss := sets(t, 6)
	b := export(t, keys, ss)
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0x10
		_, _, err := Verify(bytes.NewReader(d))
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := range len(b) {
		_, _, err := Verify(bytes.NewReader(b[:n]))
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, _, err := Verify(bytes.NewReader(append(bytes.Clone(b), 0))); !errors.Is(err, ErrFormat) {
		t.Fatalf("a byte after the end: %v", err)
	}
}
