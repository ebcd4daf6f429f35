package hints

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// testClock is a settable clock for Config.Now.
type testClock struct{ ms int64 }

func (c *testClock) now() time.Time          { return time.UnixMilli(c.ms) }
func (c *testClock) advance(d time.Duration) { c.ms += d.Milliseconds() }

func newClock() *testClock {
	return &testClock{ms: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
}

func openAt(t *testing.T, e storage.Engine, c *testClock) *Store {
	t.Helper()
	s, err := Open(e, Config{Sync: true, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func only(t *testing.T, s *Store, owner string) Hint {
	t.Helper()
	hs := all(t, s, owner, 10)
	if len(hs) != 1 {
		t.Fatalf("%d hints for %s, want 1", len(hs), owner)
	}
	return hs[0]
}

// A hint is stamped with the time of its first Put; merges keep it (its
// age is its oldest write's), it survives a reopen, and a hint deleted and
// put again starts over. The stored value is a messages.HintRecord.
func TestStoredTimeIsTheOldestWrites(t *testing.T) {
	c, e := newClock(), storage.NewMemory()
	s := openAt(t, e, c)
	t0 := c.ms
	a := write(t, "a@1", "a")
	put(t, s, "n1", 3, "k", a)
	if h := only(t, s, "n1"); h.StoredMs != t0 {
		t.Fatalf("StoredMs %d, want %d", h.StoredMs, t0)
	}
	raw, err := e.Get(storage.KeyspaceHints, hintKey("n1", 3, []byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	var rec messages.HintRecord
	if err := proto.Unmarshal(raw, &rec); err != nil || rec.GetFormat() != RecordFormat || rec.GetStoredMs() != t0 || rec.GetSet() == nil {
		t.Fatalf("stored value: %v %v", &rec, err)
	}
	c.advance(time.Hour)
	put(t, s, "n1", 3, "k", write(t, "b@1", "b")) // concurrent: merged
	h := only(t, s, "n1")
	if h.StoredMs != t0 || len(values(h.Set)) != 2 {
		t.Fatalf("after a merge an hour later: StoredMs %d (want %d), values %v", h.StoredMs, t0, values(h.Set))
	}
	c.advance(time.Hour)
	if s = openAt(t, e, c); only(t, s, "n1").StoredMs != t0 {
		t.Fatal("the stored time changed on reopen")
	}
	if ok, err := s.Delete(only(t, s, "n1")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	put(t, s, "n1", 3, "k", a)
	if h := only(t, s, "n1"); h.StoredMs != c.ms {
		t.Fatalf("a hint put again after its delivery: StoredMs %d, want now %d", h.StoredMs, c.ms)
	}
	// The clock stepping back does not make a hint younger.
	c.advance(-3 * time.Hour)
	put(t, s, "n1", 3, "k", write(t, "c@1", "c"))
	if h := only(t, s, "n1"); h.StoredMs != c.ms {
		t.Fatalf("merged with the clock stepped back: StoredMs %d, want the earlier %d", h.StoredMs, c.ms)
	}
}

// Bytes, OldestMs and SizeCutoff follow Put, Delete and reopen; Size is
// key plus value.
func TestBytesAndAges(t *testing.T) {
	c, e := newClock(), storage.NewMemory()
	s := openAt(t, e, c)
	if _, ok := s.OldestMs("n1"); ok || s.Bytes("n1") != 0 {
		t.Fatal("an empty store has bytes or an oldest hint")
	}
	t0 := c.ms
	var sizes []int64
	for i := range 4 {
		put(t, s, "n1", uint32(10-i), fmt.Sprintf("k%d", i), write(t, "a@1", "v"))
		c.advance(1500 * time.Millisecond)
	}
	put(t, s, "n2", 1, "other", write(t, "a@1", "v"))
	var total int64
	for _, h := range all(t, s, "n1", 10) {
		raw, err := e.Get(storage.KeyspaceHints, hintKey(h.Owner, h.Partition, h.Key))
		if err != nil || h.Size != len(hintKey(h.Owner, h.Partition, h.Key))+len(raw) {
			t.Fatalf("Size %d, key and value %d (%v)", h.Size, len(hintKey(h.Owner, h.Partition, h.Key))+len(raw), err)
		}
		total += int64(h.Size)
		sizes = append(sizes, int64(h.Size))
	}
	if s.Bytes("n1") != total || s.Stats().Bytes != total+s.Bytes("n2") || s.Bytes("n2") == 0 {
		t.Fatalf("Bytes n1 %d (want %d), n2 %d, Stats %+v", s.Bytes("n1"), total, s.Bytes("n2"), s.Stats())
	}
	if o, ok := s.OldestMs("n1"); !ok || o != t0/1000*1000 {
		t.Fatalf("OldestMs %d %v, want %d", o, ok, t0/1000*1000)
	}
	if _, over := s.SizeCutoff("n1", total); over {
		t.Fatal("within the bound, SizeCutoff says over")
	}
	// The hints were stored at t0, +1.5 s, +3 s, +4.5 s: each in its own
	// second. One byte over: the oldest second goes.
	if cut, over := s.SizeCutoff("n1", total-1); !over || cut != t0/1000*1000+999 {
		t.Fatalf("SizeCutoff one byte over: %d %v", cut, over)
	}
	// Room for one hint: the three oldest go.
	third := (t0 + 3000) / 1000 * 1000
	if cut, over := s.SizeCutoff("n1", slices.Min(sizes)); !over || cut != third+999 {
		t.Fatalf("SizeCutoff for one hint: %d %v, want %d", cut, over, third+999)
	}
	hs, _, done, err := s.NextStoredBy("n1", Position{}, 10, t0+1500)
	if err != nil || !done || len(hs) != 2 || hs[0].StoredMs != t0+1500 || hs[1].StoredMs != t0 {
		t.Fatalf("NextStoredBy: %v done %v err %v", ids(hs), done, err)
	}
	for _, h := range hs {
		if ok, err := s.Delete(h); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if o, _ := s.OldestMs("n1"); o != third {
		t.Fatalf("OldestMs after deleting the two oldest: %d, want %d", o, third)
	}
	want := s.Bytes("n1")
	if s = openAt(t, e, c); s.Bytes("n1") != want {
		t.Fatalf("Bytes after reopen %d, want %d", s.Bytes("n1"), want)
	}
	if o, _ := s.OldestMs("n1"); o != third {
		t.Fatalf("OldestMs after reopen: %d", o)
	}
}

// NextStoredBy reads at most 16 records per hint it may return, so a
// call stays short when few hints match; it then says it is not done.
func TestNextStoredByReadsABoundedNumberOfRecords(t *testing.T) {
	c, e := newClock(), storage.NewMemory()
	s := openAt(t, e, c)
	old := c.ms
	put(t, s, "n1", 99, "last", write(t, "a@1", "old"))
	c.advance(time.Minute)
	for i := range 100 {
		put(t, s, "n1", uint32(i), "k", write(t, "a@1", "new"))
	}
	var reads int
	counted := storage.NewFaulty(e, storage.InjectorFunc(func(op storage.Op, _ storage.Keyspace) error {
		if op == storage.OpIterNext {
			reads++
		}
		return nil
	}))
	s.e = counted
	hs, next, done, err := s.NextStoredBy("n1", Position{}, 1, old)
	if err != nil || len(hs) != 0 || done || reads > scanFactor+1 {
		t.Fatalf("first call: %v done %v err %v after %d reads", ids(hs), done, err, reads)
	}
	var found []Hint
	for calls := 0; !done; calls++ {
		if calls > 100 {
			t.Fatal("no end")
		}
		hs, next, done, err = s.NextStoredBy("n1", next, 1, old)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, hs...)
	}
	if fmt.Sprint(ids(found)) != `[n1/99/"last"]` {
		t.Fatalf("found %v", ids(found))
	}
}

// Records an earlier version wrote (a bare StoredObject, no time) are
// hints: they count as stored when the Store was opened, a Put merges
// into them keeping that time (and rewrites them as messages.HintRecord), Delete
// removes them, and the bytes follow.
func TestRecordsOfTheEarlierFormat(t *testing.T) {
	c, e := newClock(), storage.NewMemory()
	a := write(t, "a@1", "a")
	raw, err := version.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	hk := hintKey("n1", 2, []byte("k"))
	if err := storage.Put(e, storage.KeyspaceHints, hk, raw, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, e, c)
	opened := c.ms
	h := only(t, s, "n1")
	if !version.Equal(h.Set, a) || h.StoredMs != opened || s.Bytes("n1") != int64(len(hk)+len(raw)) || s.Stats().Corrupt != 0 {
		t.Fatalf("old record: %+v, bytes %d, stats %+v", h, s.Bytes("n1"), s.Stats())
	}
	c.advance(time.Hour)
	put(t, s, "n1", 2, "k", write(t, "b@1", "b"))
	h = only(t, s, "n1")
	if h.StoredMs != opened || len(values(h.Set)) != 2 {
		t.Fatalf("merged into an old record: StoredMs %d (want %d) values %v", h.StoredMs, opened, values(h.Set))
	}
	if s.Bytes("n1") != int64(h.Size) {
		t.Fatalf("Bytes %d, Size %d", s.Bytes("n1"), h.Size)
	}
	if ok, err := s.Delete(h); !ok || err != nil || s.Bytes("n1") != 0 || s.Stats().Bytes != 0 {
		t.Fatalf("Delete: %v %v, bytes %d", ok, err, s.Bytes("n1"))
	}
	// A messages.HintRecord of an unknown format is corrupt.
	bad, _ := proto.Marshal(&messages.HintRecord{Format: 9, Set: version.ToProto(a), StoredMs: 1})
	if err := storage.Put(e, storage.KeyspaceHints, hk, bad, storage.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, e, c)
	if _, err := s.Get("n1", 2, []byte("k")); !errors.Is(err, ErrCorrupt) || s.Stats().Corrupt != 2 {
		t.Fatalf("format 9: %v, stats %+v", err, s.Stats())
	}
}

// A hint record reads as a StoredObject to a release that stored hints
// that way (a downgrade): the set survives, the time is ignored.
func TestHintRecordReadsAsAStoredObject(t *testing.T) {
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v")}, "a@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := encodeRecord(set, 12345)
	if err != nil {
		t.Fatal(err)
	}
	old, err := version.Unmarshal(raw)
	if err != nil || !version.Equal(old, set) {
		t.Fatalf("an earlier release's decoder reads %v, %v; want the hint's set", old, err)
	}
}
