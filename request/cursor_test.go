package request

import (
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []struct {
		p     uint32
		after []byte
	}{{0, nil}, {7, []byte("user:ada")}, {1023, []byte{0, 0xff, '/', '+'}}} {
		p, after, err := DecodeCursor(EncodeCursor(c.p, c.after))
		if err != nil || p != c.p || string(after) != string(c.after) {
			t.Fatalf("%d %q: got %d %q %v", c.p, c.after, p, after, err)
		}
	}
	if p, after, err := DecodeCursor(""); p != 0 || after != nil || err != nil {
		t.Fatal("the empty cursor is not the start")
	}
	for _, bad := range []string{"%%%", "AAA", "=="} {
		if _, _, err := DecodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
