package vnode

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

func TestObjectCacheStaysWithinItsBound(t *testing.T) {
	stats := &CacheStats{}
	c := newObjectCache(10_000, stats)
	for i := range 1000 {
		c.put(fmt.Appendf(nil, "key-%d", i), make([]byte, 100), nil)
		if c.used > c.max {
			t.Fatalf("after %d puts the cache holds %d bytes, bound %d", i+1, c.used, c.max)
		}
	}
	sum := 0
	for _, e := range c.items {
		sum += e.size
	}
	if stats.Bytes.Load() != int64(c.used) {
		t.Fatalf("the Bytes counter says %d, the cache holds %d", stats.Bytes.Load(), c.used)
	}
	if sum != c.used || len(c.items) == 0 || len(c.items) > 10_000/(100+cacheOverhead) {
		t.Fatalf("%d entries of %d bytes, used %d", len(c.items), sum, c.used)
	}
	// Replacing an entry does not count it twice.
	k := []byte("key-999")
	if _, ok := c.get(k); !ok {
		t.Fatal("the last key put was evicted at once")
	}
	before := c.used
	c.put(k, make([]byte, 100), nil)
	if c.used != before {
		t.Fatalf("replacing an entry moved used from %d to %d", before, c.used)
	}
	// Too large for the cache: not kept, and the old entry is gone.
	c.put(k, make([]byte, 2_000), nil)
	if _, ok := c.get(k); ok {
		t.Fatal("an object above an eighth of the cache was kept")
	}
	hits, misses := stats.Hits.Load(), stats.Misses.Load()
	c.get([]byte("key-0"))
	c.get([]byte("key-999")) // removed above
	if stats.Hits.Load()+stats.Misses.Load() != hits+misses+2 || stats.Misses.Load() == misses {
		t.Fatalf("hits %d->%d, misses %d->%d after two reads, one of an absent key", hits, stats.Hits.Load(), misses, stats.Misses.Load())
	}
	c.clear()
	if c.used != 0 || len(c.items) != 0 || stats.Bytes.Load() != 0 {
		t.Fatalf("clear left %d bytes (counter %d)", c.used, stats.Bytes.Load())
	}
	var off *objectCache = newObjectCache(0, nil)
	off.put(k, []byte{1}, nil)
	if _, ok := off.get(k); ok || off != nil {
		t.Fatal("a disabled cache keeps objects")
	}
}

// The cache never makes a read differ from storage: random writes, merges,
// batch merges, failing writes (a full disk, on and off) and drops, on a
// cache small enough to evict, and after each step every key reads as
// storage holds it.
func TestCachedStoreReadsAsStorage(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	full := storage.FailOps(fmt.Errorf("disk: %w", storage.ErrNoSpace), storage.OpWrite)
	full.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), full)
	cfg := DefaultConfig(5, q, "n1")
	cfg.CacheBytes = 4_000 // a handful of objects
	s, err := Open(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, storage.NewMemory(), 5, "n2@1")
	keys := keysOf(5, 40)
	check := func(step int) {
		t.Helper()
		for _, k := range keys {
			got, err := s.Get(k)
			if err != nil {
				t.Fatalf("seed %d step %d: get: %v", seed, step, err)
			}
			okey, _, _ := s.locate(k)
			var want *version.Set
			raw, err := e.Get(storage.KeyspaceData, okey)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				t.Fatal(err)
			default:
				if want, err = version.Unmarshal(raw); err != nil {
					t.Fatal(err)
				}
			}
			if !version.Equal(got, want) {
				t.Fatalf("seed %d step %d: key %q reads %v, storage holds %v", seed, step, k, got, want)
			}
		}
	}
	for step := range 3000 {
		k := keys[r.IntN(len(keys))]
		full.SetEnabled(r.IntN(10) == 0)
		switch r.IntN(10) {
		case 0, 1, 2, 3:
			cur, _ := s.Get(k)
			_, _ = coordinate(s, k, cur.Context(), write(fmt.Sprint(step)), int64(step))
		case 4, 5:
			in, err := coordinate(other, k, version.Context{}, write(fmt.Sprint("o", step)), int64(step))
			if err != nil {
				t.Fatal(err)
			}
			_, _, _ = s.Merge(k, in)
		case 6:
			var items []Item
			for _, j := range r.Perm(len(keys))[:5] {
				in, err := coordinate(other, keys[j], version.Context{}, write(fmt.Sprint("b", step)), int64(step))
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, Item{Key: keys[j], Set: in})
			}
			_, _ = s.MergeMany(items)
		case 7:
			if r.IntN(20) == 0 {
				_, _ = s.Drop(s.Tree().Root())
			}
		default:
			_, _ = s.Get(k)
		}
		full.SetEnabled(false)
		check(step)
	}
	if len(s.cache.items) == 0 {
		t.Fatal("the cache never held anything")
	}
}
