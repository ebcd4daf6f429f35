package hints

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/storage"
)

func TestHintKeyLayout(t *testing.T) {
	k := hintKey("n3", 5, []byte("key"))
	if want := []byte("\x02n3\x00\x00\x00\x05key"); !bytes.Equal(k, want) {
		t.Fatalf("hintKey = %q, want %q", k, want)
	}
	owner, p, key, err := parseHintKey(k)
	if err != nil || owner != "n3" || p != 5 || string(key) != "key" {
		t.Fatalf("parseHintKey = %q %d %q %v", owner, p, key, err)
	}
	long := strings.Repeat("\xff", maxOwnerLen)
	if owner, p, key, err := parseHintKey(hintKey(long, 1<<31, []byte{0})); err != nil || owner != long || p != 1<<31 || !bytes.Equal(key, []byte{0}) {
		t.Fatalf("longest owner: %q %d %q %v", owner, p, key, err)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 0, 0, 0, 0, 1}, {2, 'n', '3', 0, 0, 0, 5}, {9, 'n', '3', 0, 0, 0, 5, 'k'}} {
		if _, _, _, err := parseHintKey(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("parseHintKey(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}

// An owner whose name extends another's ("n1", "n10", "n1\x00") never
// falls in the other's prefix range: the length byte comes first.
func TestOwnerPrefixesDoNotMix(t *testing.T) {
	names := []string{"n", "n1", "n10", "n1\x00", "n1\xff", "n2"}
	for _, a := range names {
		r := storage.PrefixRange(ownerPrefix(a))
		for _, b := range names {
			for _, k := range []string{"\x00", "a", "\xff\xff"} {
				key := hintKey(b, 0xffffffff, []byte(k))
				in := bytes.Compare(key, r.Start) >= 0 && (r.Limit == nil || bytes.Compare(key, r.Limit) < 0)
				if in != (a == b) {
					t.Errorf("hint of %q, key %q: in the range of %q = %v", b, k, a, in)
				}
			}
		}
	}
}
