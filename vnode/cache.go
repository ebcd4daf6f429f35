package vnode

import "sync/atomic"

// objectCache keeps objects of one vnode in memory, bounded in bytes, so
// a read of a hot key, and the read before each write, skip goleveldb (a
// fifth of a node's CPU under a read load whose data did not fit its block
// cache) and the digest. It keeps the encoded object, not the decoded
// set: a pointer-free byte slice costs the garbage collector nothing to
// scan, where a hundred thousand decoded sets made it a tenth of the CPU,
// and its size is what it costs in memory. It holds exactly what
// storage holds: the Store puts an object in it only after reading or
// writing it successfully, and removes or replaces it on every write.
// Eviction is random (Go's map iteration order), which needs no
// bookkeeping per read. The vnode's goroutine is its only user.
type objectCache struct {
	max, used int
	items     map[string]cached
	stats     *CacheStats // never nil
}

// CacheStats are a node's object cache counters, shared by its vnodes
// (Config.CacheStats).
type CacheStats struct {
	// Hits and Misses count the object reads the cache answered and those
	// that went to storage (absent keys included).
	Hits, Misses atomic.Uint64
	// Bytes is what the cached objects count for (key, encoded object
	// and overhead).
	Bytes atomic.Int64
}

type cached struct {
	raw    []byte // the stored object
	digest [32]byte
	size   int
}

// cacheOverhead approximates the memory of an entry beyond its key and
// encoded object: the map slot and the allocations' headers.
const cacheOverhead = 96

func newObjectCache(maxBytes int, stats *CacheStats) *objectCache {
	if maxBytes <= 0 {
		return nil
	}
	if stats == nil {
		stats = &CacheStats{}
	}
	return &objectCache{max: maxBytes, items: map[string]cached{}, stats: stats}
}

func (c *objectCache) get(okey []byte) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	e, ok := c.items[string(okey)]
	if ok {
		c.stats.Hits.Add(1)
	} else {
		c.stats.Misses.Add(1)
	}
	return e, ok
}

// put caches the stored object raw (not to be modified afterwards) and
// its digest under okey, replacing what was there. An object larger than
// an eighth of the cache is not kept.
func (c *objectCache) put(okey, raw []byte, digest []byte) {
	if c == nil {
		return
	}
	c.remove(okey)
	size := len(okey) + len(raw) + cacheOverhead
	if size > c.max/8 {
		return
	}
	for k, e := range c.items {
		if c.used+size <= c.max {
			break
		}
		delete(c.items, k)
		c.used -= e.size
		c.stats.Bytes.Add(-int64(e.size))
	}
	e := cached{raw: raw, size: size}
	copy(e.digest[:], digest)
	c.items[string(okey)] = e
	c.used += size
	c.stats.Bytes.Add(int64(size))
}

func (c *objectCache) remove(okey []byte) {
	if c == nil {
		return
	}
	if e, ok := c.items[string(okey)]; ok {
		delete(c.items, string(okey))
		c.used -= e.size
		c.stats.Bytes.Add(-int64(e.size))
	}
}

func (c *objectCache) clear() {
	if c == nil {
		return
	}
	clear(c.items)
	c.stats.Bytes.Add(-int64(c.used))
	c.used = 0
}
