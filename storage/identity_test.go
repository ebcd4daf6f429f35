package storage

import (
	"bytes"
	"errors"
	"github.com/dynamokv/dynamo/version"
	"strings"
	"testing"
)

// epochs returns a newEpoch function yielding epoch and a counter of its
// calls.
func epochs(epoch uint64) (func() uint64, *int) {
	calls := new(int)
	return func() uint64 { *calls++; return epoch }, calls
}

func TestLoadIdentityFreshThenStored(t *testing.T) {
	dir := t.TempDir()
	l := openTestLevelDB(t, dir)
	newEpoch, calls := epochs(0x2a)
	id, created, err := LoadIdentity(l, "node-1", newEpoch)
	if err != nil || !created || id != (Identity{"node-1", 0x2a}) || *calls != 1 {
		t.Fatalf("fresh LoadIdentity = %+v, %v, %v (newEpoch calls %d)", id, created, err, *calls)
	}
	raw, err := l.Get(KeyspaceMeta, identityKey)
	if err != nil || !bytes.Equal(raw, encodeIdentity(id)) {
		t.Fatalf("stored identity = %x, %v", raw, err)
	}

	id, created, err = LoadIdentity(l, "node-1", newEpoch)
	if err != nil || created || id != (Identity{"node-1", 0x2a}) || *calls != 1 {
		t.Fatalf("second LoadIdentity = %+v, %v, %v (newEpoch calls %d)", id, created, err, *calls)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLevelDB(t, dir)
	defer l.Close()
	id, created, err = LoadIdentity(l, "node-1", newEpoch)
	if err != nil || created || id.Epoch != 0x2a || *calls != 1 {
		t.Fatalf("LoadIdentity after reopen = %+v, %v, %v", id, created, err)
	}
}

func TestLoadIdentityWrongNode(t *testing.T) {
	e := NewMemory()
	defer e.Close()
	newEpoch, _ := epochs(7)
	if _, _, err := LoadIdentity(e, "alpha", newEpoch); err != nil {
		t.Fatal(err)
	}
	_, created, err := LoadIdentity(e, "beta", newEpoch)
	if err == nil || created || !strings.Contains(err.Error(), `"alpha"`) || !strings.Contains(err.Error(), `"beta"`) {
		t.Fatalf("LoadIdentity with another name = %v, %v; want an error naming both", created, err)
	}
	if id, _, err := LoadIdentity(e, "alpha", newEpoch); err != nil || id.Name != "alpha" {
		t.Fatalf("stored identity changed: %+v, %v", id, err)
	}
}

func TestLoadIdentityCorrupt(t *testing.T) {
	valid := encodeIdentity(Identity{"n", 1})
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"empty", []byte{}},
		{"unknown format", append([]byte{2}, valid[1:]...)},
		{"format 0", append([]byte{0}, valid[1:]...)},
		{"short header", valid[:5]},
		{"truncated name", valid[:len(valid)-1]},
		{"trailing byte", append(bytes.Clone(valid), 'x')},
		{"zero epoch", encodeIdentity(Identity{"n", 0})},
		{"empty name", encodeIdentity(Identity{"", 1})},
		{"invalid UTF-8", encodeIdentity(Identity{"\xff", 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewMemory()
			defer e.Close()
			mustPut(t, e, KeyspaceMeta, string(identityKey), string(tc.raw))
			newEpoch, calls := epochs(9)
			_, created, err := LoadIdentity(e, "n", newEpoch)
			if !errors.Is(err, ErrCorrupt) || created || *calls != 0 {
				t.Fatalf("LoadIdentity = %v, %v (newEpoch calls %d), want ErrCorrupt", created, err, *calls)
			}
			wantGet(t, e, KeyspaceMeta, string(identityKey), string(tc.raw)) // left for an operator to inspect
		})
	}
}

func TestLoadIdentityStorageErrors(t *testing.T) {
	// A failing read must not be mistaken for a fresh directory.
	mem := NewMemory()
	defer mem.Close()
	newEpoch, calls := epochs(5)
	_, created, err := LoadIdentity(NewFaulty(mem, FailOps(errDisk, OpGet)), "n", newEpoch)
	if !errors.Is(err, errDisk) || created || *calls != 0 {
		t.Fatalf("LoadIdentity with failing reads = %v, %v (newEpoch calls %d)", created, err, *calls)
	}
	wantNotFound(t, mem, KeyspaceMeta, string(identityKey))

	_, created, err = LoadIdentity(NewFaulty(mem, FailOps(ErrNoSpace, OpWrite)), "n", newEpoch)
	if !errors.Is(err, ErrNoSpace) || created {
		t.Fatalf("LoadIdentity with failing writes = %v, %v", created, err)
	}
	wantNotFound(t, mem, KeyspaceMeta, string(identityKey))

	closed := NewMemory()
	closed.Close()
	if _, _, err := LoadIdentity(closed, "n", newEpoch); !errors.Is(err, ErrClosed) {
		t.Fatalf("LoadIdentity on a closed engine = %v", err)
	}
}

func TestLoadIdentityInvalid(t *testing.T) {
	e := NewMemory()
	defer e.Close()
	newEpoch, _ := epochs(1)
	zero, _ := epochs(0)
	for _, tc := range []struct {
		what     string
		name     string
		newEpoch func() uint64
	}{
		{"empty name", "", newEpoch},
		{"invalid UTF-8 name", "\xff", newEpoch},
		{"long name", strings.Repeat("n", 1<<16), newEpoch},
		{"nil newEpoch", "n", nil},
		{"zero epoch", "n", zero},
	} {
		if _, _, err := LoadIdentity(e, tc.name, tc.newEpoch); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.what, err)
		}
	}
	wantNotFound(t, e, KeyspaceMeta, string(identityKey))
}

func TestIdentityEncodingRoundTrip(t *testing.T) {
	for _, id := range []Identity{
		{"n", 1},
		{"node-with-a-long-name.example.com:7946", 0xffffffffffffffff},
		{strings.Repeat("é", maxNameLen/2), 12345},
	} {
		got, err := decodeIdentity(encodeIdentity(id))
		if err != nil || got != id {
			t.Errorf("decode(encode(%q, %d)) = %q, %d, %v", id.Name, id.Epoch, got.Name, got.Epoch, err)
		}
	}
	if got := encodeIdentity(Identity{"ab", 0x0102030405060708}); !bytes.Equal(got, []byte{1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 2, 'a', 'b'}) {
		t.Errorf("encoding = %x", got)
	}
}

// The longest name leaves room for a vnode's actor id (name, "@", 16 hex
// digits) within the 255 bytes version accepts.
func TestNameFitsActorIDs(t *testing.T) {
	e := NewMemory()
	defer e.Close()
	long := strings.Repeat("n", maxNameLen)
	if _, _, err := LoadIdentity(e, long, func() uint64 { return ^uint64(0) }); err != nil {
		t.Fatal(err)
	}
	if n := len(version.ActorID(long, ^uint64(0))); n > version.MaxActorLen {
		t.Fatalf("an actor id of the longest name is %d bytes, version accepts %d", n, version.MaxActorLen)
	}
	if _, _, err := LoadIdentity(NewMemory(), long+"x", func() uint64 { return 1 }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a name over the limit: %v", err)
	}
}

func TestErrIteratorSecondCloseIsErrClosed(t *testing.T) {
	e := NewMemory()
	it := e.NewIterator(Keyspace('?'), Range{})
	if err := it.Close(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("first Close = %v, want the iterator's ErrInvalid", err)
	}
	if err := it.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}
