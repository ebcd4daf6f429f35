package vnode

import (
	"sync"
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
	other, err := version.Update(nil, version.Context{}, write("v"), "other@1", 1)
	if err != nil {
		t.Fatal(err)
	}
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
