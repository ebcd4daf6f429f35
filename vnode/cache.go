package vnode

import "github.com/dynamokv/dynamo/version"

// objectCache keeps decoded objects of one vnode in memory, bounded in
// bytes, so a read of a hot key, and the read before each write, skip
// goleveldb and the decoding (a third of a node's CPU under a read load
// whose data did not fit goleveldb's block cache). It holds exactly what
// storage holds: the Store puts an object in it only after reading or
// writing it successfully, and removes or replaces it on every write.
// Eviction is random (Go's map iteration order), which needs no
// bookkeeping per read. The vnode's goroutine is its only user.
type objectCache struct {
	max, used int
	items     map[string]cached
}

type cached struct {
	set    *version.Set // immutable
	digest []byte
	size   int
}

// cacheOverhead approximates the memory of an entry beyond its key and
// encoded object: the map slot, the Set and its slices.
const cacheOverhead = 160

func newObjectCache(maxBytes int) *objectCache {
	if maxBytes <= 0 {
		return nil
	}
	return &objectCache{max: maxBytes, items: map[string]cached{}}
}

func (c *objectCache) get(okey []byte) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	e, ok := c.items[string(okey)]
	return e, ok
}

// put caches set (encoded in encodedLen bytes) under okey, replacing what
// was there. An object larger than an eighth of the cache is not kept.
func (c *objectCache) put(okey []byte, set *version.Set, digest []byte, encodedLen int) {
	if c == nil {
		return
	}
	c.remove(okey)
	size := len(okey) + encodedLen + cacheOverhead
	if size > c.max/8 {
		return
	}
	for k, e := range c.items {
		if c.used+size <= c.max {
			break
		}
		delete(c.items, k)
		c.used -= e.size
	}
	c.items[string(okey)] = cached{set: set, digest: digest, size: size}
	c.used += size
}

func (c *objectCache) remove(okey []byte) {
	if c == nil {
		return
	}
	if e, ok := c.items[string(okey)]; ok {
		delete(c.items, string(okey))
		c.used -= e.size
	}
}

func (c *objectCache) clear() {
	if c == nil {
		return
	}
	clear(c.items)
	c.used = 0
}
