package vnode

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// syncLog is an engine that records, per keyspace, whether each write was
// synced.
type syncLog struct {
	storage.Engine
	mu     sync.Mutex
	writes map[storage.Keyspace][]bool
}

func (l *syncLog) Write(b *storage.Batch, opts storage.WriteOptions) error {
	ks := storage.KeyspaceData
	if b.Len() > 0 {
		ks = b.Keyspace(0)
	}
	l.mu.Lock()
	l.writes[ks] = append(l.writes[ks], opts.Sync)
	l.mu.Unlock()
	return l.Engine.Write(b, opts)
}

func (l *syncLog) of(ks storage.Keyspace) []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bool(nil), l.writes[ks]...)
}

// A buffered replica write reaches the engine without fsync, and the
// Flusher's synced record follows within its interval; without a Flusher
// it is an ordinary synced write, and Merge always syncs.
func TestMergeBufferedLeavesTheFsyncToTheFlusher(t *testing.T) {
	const p = 3
	keys := keysOf(p, 3)
	other := otherVersion(t)
	for _, tc := range []struct {
		name    string
		flusher bool
		merge   func(s *Store, key []byte, in *version.Set) (*version.Set, bool, error)
		want    bool // the data write is synced
	}{
		{"buffered with a flusher", true, (*Store).MergeBuffered, false},
		{"buffered without a flusher", false, (*Store).MergeBuffered, true},
		{"merge with a flusher", true, (*Store).Merge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &syncLog{Engine: storage.NewMemory(), writes: map[storage.Keyspace][]bool{}}
			cfg := DefaultConfig(p, q, "n1")
			var f *storage.Flusher
			if tc.flusher {
				f = storage.NewFlusher(e, 20*time.Millisecond)
				defer f.Stop()
				cfg.Flusher = f
			}
			s, err := Open(e, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := tc.merge(s, keys[0], other)
			if err != nil || !changed || !version.Descends(got, other) {
				t.Fatalf("merge: %v, changed %v", err, changed)
			}
			if w := e.of(storage.KeyspaceData); len(w) != 1 || w[0] != tc.want {
				t.Fatalf("data writes synced %v, want [%v]", w, tc.want)
			}
			if back, err := s.Get(keys[0]); err != nil || !version.Descends(back, other) {
				t.Fatalf("read back: %v, %v", back, err)
			}
			if !tc.flusher {
				return
			}
			if tc.want {
				time.Sleep(100 * time.Millisecond) // five intervals: nothing is due
				if meta := e.of(storage.KeyspaceMeta); len(meta) != 0 {
					t.Fatalf("a synced merge made the flusher write: %v", meta)
				}
				return
			}
			for deadline := time.Now().Add(5 * time.Second); f.Flushes() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if meta := e.of(storage.KeyspaceMeta); len(meta) != 1 || !meta[0] || f.Flushes() != 1 {
				t.Fatalf("flusher writes %v (Flushes %d), want one synced", e.of(storage.KeyspaceMeta), f.Flushes())
			}
			// What the replica already holds writes nothing and dirties
			// nothing.
			if _, changed, err := s.MergeBuffered(keys[0], other); err != nil || changed {
				t.Fatalf("second merge: changed %v, %v", changed, err)
			}
			time.Sleep(60 * time.Millisecond)
			if f.Flushes() != 1 {
				t.Fatalf("an unchanged merge was flushed: %d", f.Flushes())
			}
		})
	}
}

// syncCount is an engine that counts its synced writes.
type syncCount struct {
	storage.Engine
	synced atomic.Int64
}

func (c *syncCount) Write(b *storage.Batch, opts storage.WriteOptions) error {
	err := c.Engine.Write(b, opts)
	if err == nil && opts.Sync {
		c.synced.Add(1)
	}
	return err
}

// A replica's copy written by a buffered write is durable only once the
// Flusher has synced it. A durable write of the same version (a hint
// delivered, a handoff, an anti-entropy repair) finds nothing to change,
// yet its sender counts the ack as a durable copy and may drop its own,
// and a reap check's "held" lets the others reap: the answer waits for a
// synced write. Once the Flusher has synced, or with no buffered write
// before, it writes nothing.
func TestADurableMergeOfABufferedVersionSyncsIt(t *testing.T) {
	const p = 3
	keys := keysOf(p, 2)
	other := otherVersion(t)
	durable := map[string]func(s *Store, key []byte) (bool, error){
		"Merge": func(s *Store, key []byte) (bool, error) {
			_, changed, err := s.Merge(key, other)
			return changed, err
		},
		"MergeMany": func(s *Store, key []byte) (bool, error) {
			n, err := s.MergeMany([]Item{{Key: key, Set: other}})
			return n > 0, err
		},
		"MergeAsync": func(s *Store, key []byte) (bool, error) {
			r := <-mergeAsync(s, key, other)
			return r.changed, r.err
		},
		// A handoff's barrier before its source drops the partition.
		"MergeMany of nothing": func(s *Store, _ []byte) (bool, error) {
			n, err := s.MergeMany(nil)
			return n > 0, err
		},
		// A reap check vouches that the replica holds the version: the
		// others may reap on the strength of it.
		"ReapCheck": func(s *Store, key []byte) (bool, error) {
			d := version.Digest(other)
			held, _, _, err := s.ReapCheck([][]byte{key}, [][]byte{d[:]})
			if err == nil && !held[0] {
				err = errors.New("the version is not held")
			}
			return false, err
		},
	}
	buffer := map[string]func(s *Store, key []byte) (bool, error){
		"MergeBuffered": func(s *Store, key []byte) (bool, error) {
			_, changed, err := s.MergeBuffered(key, other)
			return changed, err
		},
		"MergeAsync": func(s *Store, key []byte) (bool, error) {
			r := <-mergeBufferedAsync(s, key, other)
			return r.changed, r.err
		},
	}
	for name, merge := range durable {
		for bname, buffered := range buffer {
			for _, committed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/after %s/committer=%v", name, bname, committed), func(t *testing.T) {
					e := &syncCount{Engine: storage.NewMemory()}
					f := storage.NewFlusher(e, time.Hour) // flushes only when stopped
					defer f.Stop()
					s := openFlushed(t, e, f, p, committed)
					// No buffered write yet: an unchanged durable merge
					// writes nothing; the barrier always syncs.
					idle := int64(0)
					if name == "MergeMany of nothing" {
						idle = 1
					}
					if _, changed, err := s.Merge(keys[1], other); err != nil || !changed {
						t.Fatalf("durable merge: changed %v, %v", changed, err)
					}
					before := e.synced.Load()
					if changed, err := merge(s, keys[1]); err != nil || changed {
						t.Fatalf("unchanged durable merge: changed %v, %v", changed, err)
					}
					if n := e.synced.Load() - before; n != idle {
						t.Fatalf("an unchanged durable merge of a synced copy made %d synced writes, want %d", n, idle)
					}
					if changed, err := buffered(s, keys[0]); err != nil || !changed {
						t.Fatalf("buffered merge: changed %v, %v", changed, err)
					}
					before = e.synced.Load()
					if changed, err := merge(s, keys[0]); err != nil || changed {
						t.Fatalf("durable merge of the buffered copy: changed %v, %v", changed, err)
					}
					if n := e.synced.Load() - before; n != 1 {
						t.Fatalf("a durable merge acked a copy only buffered after %d synced writes, want 1", n)
					}
					if f.Flushes() != 0 {
						t.Fatalf("the flusher flushed %d times during the test", f.Flushes())
					}
					// Once the Flusher has synced, nothing more is written.
					f.Stop()
					if f.Flushes() != 1 {
						t.Fatalf("the flusher's stop flushed %d times, want 1", f.Flushes())
					}
					before = e.synced.Load()
					if changed, err := merge(s, keys[0]); err != nil || changed {
						t.Fatalf("durable merge after the flush: changed %v, %v", changed, err)
					}
					if n := e.synced.Load() - before; n != idle {
						t.Fatalf("a durable merge of a flushed copy made %d synced writes, want %d", n, idle)
					}
				})
			}
		}
	}
}

// hookEngine runs hook before each unsynced write of the data keyspace.
type hookEngine struct {
	*syncCount
	hook func()
}

func (h *hookEngine) Write(b *storage.Batch, opts storage.WriteOptions) error {
	if !opts.Sync && b.Len() > 0 && b.Keyspace(0) == storage.KeyspaceData && h.hook != nil {
		h.hook()
	}
	return h.syncCount.Write(b, opts)
}

// A flush that ran while a buffered write was being written does not
// cover it: its record may come first in the journal. The write's mark is
// taken once the write returned.
func TestAFlushDuringABufferedWriteDoesNotCoverIt(t *testing.T) {
	const p = 3
	key := keysOf(p, 1)[0]
	other := otherVersion(t)
	for _, committed := range []bool{false, true} {
		t.Run(fmt.Sprintf("committer=%v", committed), func(t *testing.T) {
			e := &hookEngine{syncCount: &syncCount{Engine: storage.NewMemory()}}
			f := storage.NewFlusher(e, time.Hour)
			e.hook = func() {
				f.Dirty()
				f.Stop() // flushes now, before the write lands
				e.hook = nil
			}
			s := openFlushed(t, e, f, p, committed)
			if r := <-mergeBufferedAsync(s, key, other); r.err != nil || !r.changed {
				t.Fatalf("buffered merge: %+v", r)
			}
			if f.Flushes() != 1 {
				t.Fatalf("%d flushes during the write, want 1", f.Flushes())
			}
			before := e.synced.Load()
			if _, changed, err := s.Merge(key, other); err != nil || changed {
				t.Fatalf("durable merge: changed %v, %v", changed, err)
			}
			if n := e.synced.Load() - before; n != 1 {
				t.Fatalf("a durable merge of a copy written after the last flush began made %d synced writes, want 1", n)
			}
		})
	}
}

// openFlushed opens partition p's Store over e with flusher f, and the
// node's committer when committed.
func openFlushed(t *testing.T, e storage.Engine, f *storage.Flusher, p uint32, committed bool) *Store {
	t.Helper()
	cfg := DefaultConfig(p, q, "n1")
	cfg.Flusher = f
	if committed {
		cfg.Committer = newCommitter(t, e)
	}
	s, err := Open(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mergeBufferedAsync is a buffered replica write through MergeAsync.
func mergeBufferedAsync(s *Store, key []byte, in *version.Set) chan result {
	ch := make(chan result, 1)
	s.MergeAsync(key, in, true, func(changed bool, err error) { ch <- result{changed, err} })
	return ch
}

// A vnode that restarted without Close may have left buffered writes
// unsynced: its next Store treats them as such until the Flusher has
// flushed.
func TestAReopenedStoreSyncsWhatAnEarlierOneBuffered(t *testing.T) {
	const p = 3
	key := keysOf(p, 1)[0]
	other := otherVersion(t)
	for _, committed := range []bool{false, true} {
		t.Run(fmt.Sprintf("committer=%v", committed), func(t *testing.T) {
			e := &syncCount{Engine: storage.NewMemory()}
			f := storage.NewFlusher(e, time.Hour)
			defer f.Stop()
			first := openFlushed(t, e, f, p, committed)
			if r := <-mergeBufferedAsync(first, key, other); r.err != nil || !r.changed {
				t.Fatalf("buffered merge: %+v", r)
			}
			s := openFlushed(t, e, f, p, committed) // no Close: a crash
			before := e.synced.Load()
			if _, changed, err := s.Merge(key, other); err != nil || changed {
				t.Fatalf("durable merge: changed %v, %v", changed, err)
			}
			if n := e.synced.Load() - before; n != 1 {
				t.Fatalf("a durable merge of a copy an earlier Store buffered made %d synced writes, want 1", n)
			}
		})
	}
}

// A reap pass's coordinator counts its own copy of each candidate as
// held: a buffered one is synced before the list is answered.
func TestReapCandidatesSyncABufferedCopy(t *testing.T) {
	const p = 3
	key := keysOf(p, 1)[0]
	e := &syncCount{Engine: storage.NewMemory()}
	f := storage.NewFlusher(e, time.Hour)
	defer f.Stop()
	s := openFlushed(t, e, f, p, false)
	if _, changed, err := s.MergeBuffered(key, longClock(t, "n2@00000000000000b1", "n1@00000000000000a1", "n1@00000000000000a2", "n3@00000000000000c1")); err != nil || !changed {
		t.Fatalf("buffered merge: changed %v, %v", changed, err)
	}
	before := e.synced.Load()
	list, err := s.ReapCandidates(ReapScan{Max: 100, Scan: 100, Policy: reapPolicy(), Owners: []string{"n1", "n2", "n3"}, NowNs: reapNow})
	if err != nil || len(list.Candidates) != 1 {
		t.Fatalf("candidates %d, %v; want the one buffered", len(list.Candidates), err)
	}
	if n := e.synced.Load() - before; n != 1 {
		t.Fatalf("listing a buffered candidate made %d synced writes, want 1", n)
	}
}

// otherVersion is a version another node coordinated.
func otherVersion(t *testing.T) *version.Set {
	t.Helper()
	other, err := version.Update(nil, version.Context{}, write("v"), "other@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return other
}
