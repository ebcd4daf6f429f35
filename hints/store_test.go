package hints

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// write returns the set a coordinator makes for a blind write of v.
func write(t *testing.T, actor, v string) *version.Set {
	t.Helper()
	return update(t, nil, actor, v)
}

// update returns the set a coordinator with local makes for a write of v
// with local's context: it supersedes local.
func update(t *testing.T, local *version.Set, actor, v string) *version.Set {
	t.Helper()
	s, err := version.Update(local, local.Context(), version.Write{Value: []byte(v), Timestamp: 1}, actor, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func values(s *version.Set) []string {
	live, _ := s.Live(version.ModeSiblings, 0)
	var out []string
	for _, l := range live {
		out = append(out, string(l.Value))
	}
	return out
}

func open(t *testing.T, e storage.Engine) *Store {
	t.Helper()
	s, err := Open(e, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openLevelDB(t *testing.T, dir string) *storage.LevelDB {
	t.Helper()
	db, err := storage.OpenLevelDB(dir, storage.DefaultLevelDBConfig())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func put(t *testing.T, s *Store, owner string, p uint32, key string, set *version.Set) bool {
	t.Helper()
	wrote, err := s.Put(owner, p, []byte(key), set)
	if err != nil {
		t.Fatal(err)
	}
	return wrote
}

func get(t *testing.T, s *Store, owner string, p uint32, key string) *version.Set {
	t.Helper()
	set, err := s.Get(owner, p, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// all pages through owner's hints limit at a time.
func all(t *testing.T, s *Store, owner string, limit int) []Hint {
	t.Helper()
	var out []Hint
	var pos Position
	for {
		batch, next, err := s.Next(owner, pos, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > limit {
			t.Fatalf("Next returned %d hints, limit %d", len(batch), limit)
		}
		if len(batch) == 0 {
			if next.Partition != pos.Partition || !bytes.Equal(next.Key, pos.Key) {
				t.Fatalf("Next at the end moved the position from %v to %v", pos, next)
			}
			return out
		}
		if !after(next, pos) {
			t.Fatalf("Next did not advance: from %v to %v", pos, next)
		}
		out = append(out, batch...)
		pos = next
	}
}

// after reports whether position a is after b.
func after(a, b Position) bool {
	if a.Partition != b.Partition {
		return a.Partition > b.Partition
	}
	return bytes.Compare(a.Key, b.Key) > 0
}

// ids names hints as "owner/partition/key" for comparisons.
func ids(hs []Hint) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s/%d/%q", h.Owner, h.Partition, h.Key))
	}
	return out
}

func owners(s *Store) string { return fmt.Sprint(s.Owners()) }

// countWrites wraps an engine and counts Write calls.
func countWrites(e storage.Engine) (storage.Engine, *int) {
	n := new(int)
	return storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, _ storage.Keyspace) error {
		if op == storage.OpWrite {
			*n++
		}
		return nil
	})), n
}

func TestRoundTrip(t *testing.T) {
	for _, engine := range []string{"memory", "leveldb"} {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			var e storage.Engine = storage.NewMemory()
			if engine == "leveldb" {
				e = openLevelDB(t, dir)
			}
			reopen := func() {
				if engine == "leveldb" {
					if err := e.Close(); err != nil {
						t.Fatal(err)
					}
					e = openLevelDB(t, dir)
				}
			}
			s := open(t, e)
			if s.Len() != 0 || len(s.Owners()) != 0 {
				t.Fatalf("empty store: Len %d Owners %v", s.Len(), s.Owners())
			}
			if got := get(t, s, "n1", 3, "a"); got != nil {
				t.Fatalf("absent hint: %v", got)
			}
			sa, sb, sc := write(t, "x@1", "va"), write(t, "x@1", "vb"), write(t, "y@1", "vc")
			put(t, s, "n1", 3, "a", sa)
			put(t, s, "n1", 1, "b", sb)
			put(t, s, "n2", 3, "a", sc)
			if !version.Equal(get(t, s, "n1", 3, "a"), sa) || !version.Equal(get(t, s, "n1", 1, "b"), sb) || !version.Equal(get(t, s, "n2", 3, "a"), sc) {
				t.Fatal("Get does not return what Put stored")
			}
			if got := get(t, s, "n1", 3, "b"); got != nil {
				t.Fatalf("hint of another key: %v", got)
			}
			if s.Len() != 3 || owners(s) != "[{n1 2} {n2 1}]" {
				t.Fatalf("Len %d Owners %s", s.Len(), owners(s))
			}
			hs := all(t, s, "n1", 10)
			if fmt.Sprint(ids(hs)) != `[n1/1/"b" n1/3/"a"]` {
				t.Fatalf("Next: %v", ids(hs))
			}
			for _, h := range hs {
				raw, err := e.Get(storage.KeyspaceHints, hintKey(h.Owner, h.Partition, h.Key))
				if err != nil || h.Digest != sha256.Sum256(raw) {
					t.Fatalf("hint %s: digest is not the stored bytes' (err %v)", ids([]Hint{h}), err)
				}
			}
			if !version.Equal(hs[0].Set, sb) || !version.Equal(hs[1].Set, sa) {
				t.Fatal("Next returned other sets than Put stored")
			}
			if ok, err := s.Delete(hs[0]); !ok || err != nil {
				t.Fatalf("Delete: %v %v", ok, err)
			}
			if ok, err := s.Delete(hs[0]); ok || err != nil {
				t.Fatalf("second Delete: %v %v", ok, err)
			}
			if st := s.Stats(); st.Hints != 2 || st.Stored != 3 || st.Deleted != 1 || st.Corrupt != 0 {
				t.Fatalf("stats %+v", st)
			}

			reopen()
			s = open(t, e)
			if s.Len() != 2 || owners(s) != "[{n1 1} {n2 1}]" {
				t.Fatalf("after reopen: Len %d Owners %s", s.Len(), owners(s))
			}
			if get(t, s, "n1", 1, "b") != nil || !version.Equal(get(t, s, "n1", 3, "a"), sa) || !version.Equal(get(t, s, "n2", 3, "a"), sc) {
				t.Fatal("hints after reopen differ")
			}
			for _, h := range append(all(t, s, "n1", 1), all(t, s, "n2", 1)...) {
				if ok, err := s.Delete(h); !ok || err != nil {
					t.Fatalf("Delete %v: %v %v", ids([]Hint{h}), ok, err)
				}
			}
			if s.Len() != 0 || len(s.Owners()) != 0 {
				t.Fatalf("after deleting all: Len %d Owners %v", s.Len(), s.Owners())
			}
			reopen()
			if s = open(t, e); s.Len() != 0 {
				t.Fatalf("after deleting all and reopening: Len %d", s.Len())
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPutMerges(t *testing.T) {
	e, writes := countWrites(storage.NewMemory())
	s := open(t, e)

	a, b := write(t, "a@1", "a"), write(t, "b@1", "b")
	if !put(t, s, "n1", 0, "k", a) || !put(t, s, "n1", 0, "k", b) {
		t.Fatal("Put of a new or concurrent set wrote nothing")
	}
	got := get(t, s, "n1", 0, "k")
	if fmt.Sprint(values(got)) != "[a b]" || !version.Equal(got, version.Sync(a, b)) {
		t.Fatalf("concurrent sets: %v, want siblings [a b]", values(got))
	}
	before := *writes
	if put(t, s, "n1", 0, "k", a) || put(t, s, "n1", 0, "k", version.Sync(a, b)) || *writes != before {
		t.Fatal("putting a set the hint already descends wrote")
	}

	v1 := write(t, "a@1", "v1")
	v2 := update(t, v1, "a@1", "v2")
	if !put(t, s, "n1", 0, "j", v2) {
		t.Fatal("Put of a new key wrote nothing")
	}
	before = *writes
	if put(t, s, "n1", 0, "j", v1) || *writes != before {
		t.Fatal("putting an older set wrote")
	}
	if got := get(t, s, "n1", 0, "j"); !version.Equal(got, v2) {
		t.Fatalf("older set changed the hint: %v", values(got))
	}
	v3 := update(t, v2, "a@1", "v3")
	if !put(t, s, "n1", 0, "j", v3) || fmt.Sprint(values(get(t, s, "n1", 0, "j"))) != "[v3]" {
		t.Fatal("a newer set did not replace the hint")
	}
	empty, err := version.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if put(t, s, "n1", 0, "e", empty) || get(t, s, "n1", 0, "e") != nil {
		t.Fatal("an empty set was stored")
	}
	if s.Len() != 2 || owners(s) != "[{n1 2}]" {
		t.Fatalf("merging into existing keys changed the count: Len %d Owners %s", s.Len(), owners(s))
	}
	if st := s.Stats(); st.Stored != 4 {
		t.Fatalf("Stored %d, want 4", st.Stored)
	}
}

func TestDeleteOnlyIfUnchanged(t *testing.T) {
	c := newClock() // the stored value holds the time: pinned, so a hint put again is identical
	s := openAt(t, storage.NewMemory(), c)
	v1 := write(t, "a@1", "v1")
	put(t, s, "n1", 4, "k", v1)
	hs := all(t, s, "n1", 10)
	if len(hs) != 1 {
		t.Fatalf("%d hints", len(hs))
	}
	old := hs[0]
	v2 := update(t, v1, "a@1", "v2")
	put(t, s, "n1", 4, "k", v2) // a newer write arrives while old is being delivered
	if ok, err := s.Delete(old); ok || err != nil {
		t.Fatalf("Delete of a hint merged again after it was read: %v %v", ok, err)
	}
	if got := get(t, s, "n1", 4, "k"); !version.Equal(got, v2) || s.Len() != 1 {
		t.Fatalf("the newer hint is gone: %v, Len %d", got, s.Len())
	}
	cur := all(t, s, "n1", 10)[0]
	if cur.Digest == old.Digest {
		t.Fatal("a merged hint kept its digest")
	}
	if ok, err := s.Delete(cur); !ok || err != nil {
		t.Fatalf("Delete of the current hint: %v %v", ok, err)
	}
	if get(t, s, "n1", 4, "k") != nil || s.Len() != 0 || len(s.Owners()) != 0 {
		t.Fatal("Delete of the current hint left it")
	}
	// A hint deleted and put again with the same set has the same digest:
	// deleting it with the old Hint is right, its content is the same.
	put(t, s, "n1", 4, "k", v2)
	if ok, _ := s.Delete(cur); !ok {
		t.Fatal("Delete of an identical hint failed")
	}
	if st := s.Stats(); st.Deleted != 2 || st.Hints != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Put again later, the same set is another stored version (its time
	// differs): the old Hint does not delete it (one more, idempotent,
	// delivery at worst).
	c.advance(time.Millisecond)
	put(t, s, "n1", 4, "k", v2)
	if ok, _ := s.Delete(cur); ok || s.Len() != 1 {
		t.Fatal("Delete with a Hint read before the hint was put again at another time deleted it")
	}
}

func TestNextPaginates(t *testing.T) {
	s := open(t, storage.NewMemory())
	long := strings.Repeat("\xff", maxOwnerLen) // its prefix range ends at the end of the keyspace
	names := []string{"n1", "n10", "n1\x00", "n", "n2", long, strings.Repeat("z", maxOwnerLen)}
	partitions := []uint32{math.MaxUint32, 0, 1 << 31, 7, 1, 256}
	keys := []string{"b", "a", "a\x00", "a\x00\x00", "\x00", "\xff", "\xff\xff"}
	want := map[string][]Hint{}
	i := 0
	for _, o := range names {
		for _, p := range partitions {
			for _, k := range keys {
				i++
				if i%3 == 0 && o != "n1" {
					continue // owners with different hints
				}
				put(t, s, o, p, k, write(t, "a@1", fmt.Sprint(i)))
				want[o] = append(want[o], Hint{Owner: o, Partition: p, Key: []byte(k)})
			}
		}
	}
	total := 0
	for _, o := range names {
		slices.SortFunc(want[o], func(a, b Hint) int {
			if a.Partition != b.Partition {
				return cmp.Compare(a.Partition, b.Partition)
			}
			return bytes.Compare(a.Key, b.Key)
		})
		total += len(want[o])
	}
	if s.Len() != total {
		t.Fatalf("Len %d, want %d", s.Len(), total)
	}
	for _, o := range names {
		full := all(t, s, o, len(want[o])+1)
		got := ids(full)
		if !slices.Equal(got, ids(want[o])) {
			t.Fatalf("owner %q: got %v, want %v", o, got, ids(want[o]))
		}
		for _, h := range full {
			if h.Set == nil {
				t.Fatalf("owner %q: hint %v without a set", o, ids([]Hint{h}))
			}
		}
		for limit := 1; limit <= len(full)+1; limit++ {
			if paged := ids(all(t, s, o, limit)); !slices.Equal(paged, got) {
				t.Fatalf("owner %q limit %d: %v, want %v", o, limit, paged, got)
			}
		}
		// A position with an empty key starts at the beginning of its
		// partition.
		from, _, err := s.Next(o, Position{Partition: 7}, len(full))
		if err != nil {
			t.Fatal(err)
		}
		var wantFrom []string
		for _, h := range full {
			if h.Partition >= 7 {
				wantFrom = append(wantFrom, ids([]Hint{h})[0])
			}
		}
		if !slices.Equal(ids(from), wantFrom) {
			t.Fatalf("owner %q from partition 7: %v, want %v", o, ids(from), wantFrom)
		}
	}
	if got := all(t, s, "n3", 5); len(got) != 0 {
		t.Fatalf("owner without hints: %v", ids(got))
	}
	// Deleting while paging neither skips nor repeats.
	var pos Position
	var seen []string
	for {
		batch, next, err := s.Next("n1", pos, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, h := range batch {
			seen = append(seen, ids([]Hint{h})[0])
			if ok, err := s.Delete(h); !ok || err != nil {
				t.Fatalf("Delete: %v %v", ok, err)
			}
		}
		pos = next
	}
	if !slices.Equal(seen, ids(want["n1"])) {
		t.Fatalf("paging while deleting saw %v, want %v", seen, ids(want["n1"]))
	}
	if len(all(t, s, "n1", 3)) != 0 || len(all(t, s, "n10", 100)) != len(want["n10"]) {
		t.Fatal("deleting n1's hints touched another owner or left some")
	}
}

func TestCorruptRecords(t *testing.T) {
	e := storage.NewMemory()
	good := write(t, "a@1", "good")
	garbage := []byte("\xffnot a stored object")
	seed := open(t, e)
	put(t, seed, "n1", 2, "good", good)
	put(t, seed, "n1", 2, "replace", good)
	for _, k := range [][]byte{hintKey("n1", 2, []byte("bad")), hintKey("n1", 2, []byte("replace"))} {
		if err := storage.Put(e, storage.KeyspaceHints, k, garbage, storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Keys no hint can have: a truncated one inside n1's prefix range, and
	// one with a zero owner length.
	for _, k := range [][]byte{{2, 'n', '1', 0, 0}, {0, 'x'}} {
		if err := storage.Put(e, storage.KeyspaceHints, k, garbage, storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	s := open(t, e)
	if s.Len() != 3 || owners(s) != "[{n1 3}]" || s.Stats().Corrupt != 4 {
		t.Fatalf("Open: Len %d Owners %s Stats %+v", s.Len(), owners(s), s.Stats())
	}
	if _, err := s.Get("n1", 2, []byte("bad")); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "n1 partition 2") {
		t.Fatalf("Get of a corrupt hint: %v", err)
	}
	hs := all(t, s, "n1", 1)
	if fmt.Sprint(ids(hs)) != `[n1/2/"bad" n1/2/"good" n1/2/"replace"]` {
		t.Fatalf("Next: %v", ids(hs))
	}
	if hs[0].Set != nil || hs[0].Digest != sha256.Sum256(garbage) || !version.Equal(hs[1].Set, good) {
		t.Fatalf("Next: corrupt hint with set %v digest %x", hs[0].Set, hs[0].Digest)
	}
	if ok, err := s.Delete(hs[0]); !ok || err != nil {
		t.Fatalf("Delete of a corrupt hint: %v %v", ok, err)
	}
	if _, err := e.Get(storage.KeyspaceHints, hintKey("n1", 2, []byte("bad"))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the corrupt hint is still stored: %v", err)
	}
	// Put over a corrupt hint replaces it and keeps the count.
	if !put(t, s, "n1", 2, "replace", good) || !version.Equal(get(t, s, "n1", 2, "replace"), good) {
		t.Fatal("Put did not replace a corrupt hint")
	}
	if s.Len() != 2 || owners(s) != "[{n1 2}]" {
		t.Fatalf("after Delete and Put: Len %d Owners %s", s.Len(), owners(s))
	}
	if s = open(t, e); s.Len() != 2 || s.Stats().Corrupt != 2 {
		t.Fatalf("reopened: Len %d Stats %+v", s.Len(), s.Stats())
	}
}

func TestStorageErrors(t *testing.T) {
	errDisk := errors.New("disk on fire")
	inner := storage.NewMemory()
	sw := storage.FailOps(errDisk, storage.OpWrite)
	sw.SetEnabled(false)
	s := open(t, storage.NewFaulty(inner, sw))
	v1 := write(t, "a@1", "v1")
	put(t, s, "n3", 5, "k", v1)
	h := all(t, s, "n3", 1)[0]
	st := s.Stats()

	sw.SetEnabled(true)
	_, err := s.Put("n3", 5, []byte("new"), v1)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "hints: writing hint for n3 partition 5: ") {
		t.Fatalf("failed Put of a new key: %v", err)
	}
	_, err = s.Put("n3", 5, []byte("k"), update(t, v1, "a@1", "v2"))
	if !errors.Is(err, errDisk) {
		t.Fatalf("failed Put of an existing key: %v", err)
	}
	if ok, err := s.Delete(h); ok || !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "n3 partition 5") {
		t.Fatalf("failed Delete: %v %v", ok, err)
	}
	if s.Len() != 1 || owners(s) != "[{n3 1}]" || s.Stats() != st {
		t.Fatalf("failed writes changed the counts: Len %d Owners %s Stats %+v", s.Len(), owners(s), s.Stats())
	}
	if got, err := s.Get("n3", 5, []byte("k")); err != nil || !version.Equal(got, v1) {
		t.Fatalf("failed writes changed the hint: %v %v", got, err)
	}
	sw.SetEnabled(false)
	if ok, err := s.Delete(h); !ok || err != nil || s.Len() != 0 {
		t.Fatalf("Delete after the disk recovered: %v %v, Len %d", ok, err, s.Len())
	}

	for _, op := range []storage.Op{storage.OpGet, storage.OpIterate, storage.OpIterNext} {
		put(t, s, "n3", 5, "k", v1)
		h := all(t, s, "n3", 1)[0]
		fs := storage.NewFaulty(inner, storage.FailOps(errDisk, op))
		f, err := Open(fs, DefaultConfig())
		if op != storage.OpGet {
			if !errors.Is(err, errDisk) {
				t.Fatalf("Open with failing %s: %v", op, err)
			}
			f = &Store{e: fs, counts: map[string]int{"n3": 1}, total: 1}
		} else if err != nil {
			t.Fatal(err)
		}
		if op == storage.OpGet {
			if _, err := f.Put("n3", 5, []byte("x"), v1); !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "reading hint for n3 partition 5") {
				t.Fatalf("Put with failing %s: %v", op, err)
			}
			if _, err := f.Get("n3", 5, []byte("k")); !errors.Is(err, errDisk) {
				t.Fatalf("Get with failing %s: %v", op, err)
			}
			if ok, err := f.Delete(h); ok || !errors.Is(err, errDisk) {
				t.Fatalf("Delete with failing %s: %v %v", op, ok, err)
			}
		} else if hs, _, err := f.Next("n3", Position{}, 10); !errors.Is(err, errDisk) || hs != nil {
			t.Fatalf("Next with failing %s: %v %v", op, ids(hs), err)
		}
		if f.Len() != 1 {
			t.Fatalf("failing %s changed Len to %d", op, f.Len())
		}
	}
}

func TestBadInput(t *testing.T) {
	s := open(t, storage.NewMemory())
	set := write(t, "a@1", "v")
	long := strings.Repeat("o", maxOwnerLen+1)
	for _, c := range []struct {
		name, field string
		err         func() error
	}{
		{"Put empty owner", "owner", func() error { _, err := s.Put("", 1, []byte("k"), set); return err }},
		{"Put long owner", "owner", func() error { _, err := s.Put(long, 1, []byte("k"), set); return err }},
		{"Put empty key", "key", func() error { _, err := s.Put("n1", 1, nil, set); return err }},
		{"Put nil set", "set", func() error { _, err := s.Put("n1", 1, []byte("k"), nil); return err }},
		{"Get empty owner", "owner", func() error { _, err := s.Get("", 1, []byte("k")); return err }},
		{"Get long owner", "owner", func() error { _, err := s.Get(long, 1, []byte("k")); return err }},
		{"Get empty key", "key", func() error { _, err := s.Get("n1", 1, []byte{}); return err }},
		{"Next empty owner", "owner", func() error { _, _, err := s.Next("", Position{}, 1); return err }},
		{"Next long owner", "owner", func() error { _, _, err := s.Next(long, Position{}, 1); return err }},
		{"Next zero limit", "limit", func() error { _, _, err := s.Next("n1", Position{}, 0); return err }},
		{"Delete empty owner", "owner", func() error { _, err := s.Delete(Hint{Key: []byte("k")}); return err }},
		{"Delete empty key", "key", func() error { _, err := s.Delete(Hint{Owner: "n1"}); return err }},
		{"Open nil engine", "engine", func() error { _, err := Open(nil, DefaultConfig()); return err }},
	} {
		err := c.err()
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "hints: invalid: "+c.field+": ") {
			t.Errorf("%s: %v, want ErrInvalid naming %s", c.name, err, c.field)
		}
	}
	// The longest owner is fine.
	put(t, s, strings.Repeat("o", maxOwnerLen), 1, "k", set)
	if s.Len() != 1 || s.Stats().Stored != 1 {
		t.Fatalf("bad input changed the store: Len %d Stats %+v", s.Len(), s.Stats())
	}
}

// syncRecorder records the Sync option of every Write.
type syncRecorder struct {
	storage.Engine
	syncs []bool
}

func (r *syncRecorder) Write(b *storage.Batch, opts storage.WriteOptions) error {
	r.syncs = append(r.syncs, opts.Sync)
	return r.Engine.Write(b, opts)
}

// Put fsyncs (Config.Sync), PutWith follows its options, Delete never
// fsyncs (a lost delete only repeats an idempotent delivery).
func TestSyncOptions(t *testing.T) {
	rec := &syncRecorder{Engine: storage.NewMemory()}
	s := open(t, rec)
	a, b := write(t, "x@1", "a"), write(t, "y@1", "b")
	if _, err := s.Put("n1", 1, []byte("k"), a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutWith("n1", 1, []byte("k"), b, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := values(mustGet(t, s, "n1", 1, "k")); len(got) != 2 {
		t.Fatalf("PutWith did not merge: %v", got)
	}
	hs, _, err := s.Next("n1", Position{}, 10)
	if err != nil || len(hs) != 1 {
		t.Fatal(hs, err)
	}
	if ok, err := s.Delete(hs[0]); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if want := []bool{true, false, false}; !slices.Equal(rec.syncs, want) {
		t.Fatalf("sync per write %v, want %v (put, putwith, delete)", rec.syncs, want)
	}
}

func mustGet(t *testing.T, s *Store, owner string, p uint32, key string) *version.Set {
	t.Helper()
	set, err := s.Get(owner, p, []byte(key))
	if err != nil || set == nil {
		t.Fatalf("get %s/%d/%s: %v %v", owner, p, key, set, err)
	}
	return set
}
