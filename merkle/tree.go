package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Hash is a 16-byte truncated SHA-256 node hash. The zero Hash is the hash of
// an empty leaf or subtree.
type Hash [16]byte

// IsZero reports whether h is the empty hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// Tree is the Merkle tree of one partition replica. It is not safe for
// concurrent use (Root and Hashes update dirty nodes in place).
type Tree struct {
	cfg Config
	// nodes[l] holds the cfg.width(l) hashes of level l; nodes[cfg.Depth]
	// are the leaves, which are always up to date.
	nodes [][]Hash
	// dirty[l][i] (l < Depth) marks inner nodes to recompute. Invariant: a
	// dirty node's ancestors are all dirty.
	dirty [][]bool
	count int

	h   hash.Hash // reused SHA-256 state
	sum [sha256.Size]byte
	lb  [8]byte
}

// New returns an empty tree (every hash zero).
func New(cfg Config) (*Tree, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tree{cfg: cfg, h: sha256.New()}
	t.nodes = make([][]Hash, cfg.Depth+1)
	t.dirty = make([][]bool, cfg.Depth)
	for l := 0; l <= cfg.Depth; l++ {
		t.nodes[l] = make([]Hash, cfg.width(l))
		if l < cfg.Depth {
			t.dirty[l] = make([]bool, cfg.width(l))
		}
	}
	return t, nil
}

// Build returns the tree of the (segment, key, digest) items produced by
// scan, e.g. a full scan of a partition's store. Each key must be yielded
// once; a nil digest counts as a present key with an empty digest. The
// result is identical to applying Update(segment, key, nil, digest) for every
// item to an empty tree.
func Build(cfg Config, scan func(yield func(segment uint32, key, digest []byte) bool)) (*Tree, error) {
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	leaves := t.nodes[cfg.Depth]
	scan(func(segment uint32, key, digest []byte) bool {
		xorInto(&leaves[cfg.Leaf(segment)], t.item(key, digest))
		t.count++
		return true
	})
	for l := cfg.Depth - 1; l >= 0; l-- {
		for i := range t.nodes[l] {
			t.nodes[l][i] = t.inner(l, uint32(i))
		}
	}
	return t, nil
}

// Config returns the tree's shape.
func (t *Tree) Config() Config { return t.cfg }

// Count returns the number of keys, maintained from Update's nil digests.
func (t *Tree) Count() int { return t.count }

// Clone returns an independent deep copy of t.
func (t *Tree) Clone() *Tree {
	c := &Tree{cfg: t.cfg, count: t.count, h: sha256.New()}
	c.nodes = make([][]Hash, len(t.nodes))
	for l := range t.nodes {
		c.nodes[l] = append([]Hash(nil), t.nodes[l]...)
	}
	c.dirty = make([][]bool, len(t.dirty))
	for l := range t.dirty {
		c.dirty[l] = append([]bool(nil), t.dirty[l]...)
	}
	return c
}

// Update records that key, in segment, changed from oldDigest to newDigest.
// A nil oldDigest means the key was absent; a nil newDigest means it is
// removed; non-nil empty digests are present keys. The caller promises that
// oldDigest is what the tree currently holds for key. O(1) amortised: the
// leaf is updated by XOR and its ancestors are marked dirty.
func (t *Tree) Update(segment uint32, key, oldDigest, newDigest []byte) {
	if oldDigest == nil && newDigest == nil {
		return
	}
	leaf := t.cfg.Leaf(segment)
	lh := &t.nodes[t.cfg.Depth][leaf]
	if oldDigest != nil {
		xorInto(lh, t.item(key, oldDigest))
	} else {
		t.count++
	}
	if newDigest != nil {
		xorInto(lh, t.item(key, newDigest))
	} else {
		t.count--
	}
	idx := leaf
	for l := t.cfg.Depth - 1; l >= 0; l-- {
		idx >>= t.cfg.FanoutBits
		if t.dirty[l][idx] {
			break // ancestors already dirty (invariant)
		}
		t.dirty[l][idx] = true
	}
}

// Root returns the root hash, recomputing dirty nodes. Zero for an empty
// tree.
func (t *Tree) Root() Hash {
	t.refresh(0, 0)
	return t.nodes[0][0]
}

// Hashes returns the hashes of the nodes at level (0 = root, Depth = leaves)
// with the given indices, in order, recomputing dirty nodes as needed. It
// panics if level or an index is out of range; Answer is the checked variant
// for requests from the network.
func (t *Tree) Hashes(level int, indices []uint32) []Hash {
	if err := t.checkRange(level, indices); err != nil {
		panic(err)
	}
	out := make([]Hash, len(indices))
	for i, idx := range indices {
		t.refresh(level, idx)
		out[i] = t.nodes[level][idx]
	}
	return out
}

func (t *Tree) checkRange(level int, indices []uint32) error {
	if level < 0 || level > t.cfg.Depth {
		return fmt.Errorf("merkle: level %d out of range 0..%d", level, t.cfg.Depth)
	}
	w := t.cfg.width(level)
	for _, idx := range indices {
		if uint64(idx) >= uint64(w) {
			return fmt.Errorf("merkle: index %d out of range 0..%d at level %d", idx, w-1, level)
		}
	}
	return nil
}

// refresh brings node (level, idx) up to date.
func (t *Tree) refresh(level int, idx uint32) {
	if level == t.cfg.Depth || !t.dirty[level][idx] {
		return
	}
	f := uint32(t.cfg.Fanout())
	for c := idx * f; c < (idx+1)*f; c++ {
		t.refresh(level+1, c)
	}
	t.nodes[level][idx] = t.inner(level, idx)
	t.dirty[level][idx] = false
}

// inner computes node (level, idx) from its (up to date) children: zero if
// all children are zero, else SHA-256 of their concatenation, truncated.
func (t *Tree) inner(level int, idx uint32) Hash {
	f := uint32(t.cfg.Fanout())
	children := t.nodes[level+1][idx*f : (idx+1)*f]
	empty := true
	for i := range children {
		if !children[i].IsZero() {
			empty = false
			break
		}
	}
	if empty {
		return Hash{}
	}
	t.h.Reset()
	for i := range children {
		t.h.Write(children[i][:])
	}
	return Hash(t.h.Sum(t.sum[:0])[:16])
}

// item is h(key, digest) = SHA-256(u64be(len key) key u64be(len digest) digest)[:16].
func (t *Tree) item(key, digest []byte) Hash {
	t.h.Reset()
	binary.BigEndian.PutUint64(t.lb[:], uint64(len(key)))
	t.h.Write(t.lb[:])
	t.h.Write(key)
	binary.BigEndian.PutUint64(t.lb[:], uint64(len(digest)))
	t.h.Write(t.lb[:])
	t.h.Write(digest)
	return Hash(t.h.Sum(t.sum[:0])[:16])
}

// ItemHash returns h(key, digest), the contribution of one key to its leaf.
func ItemHash(key, digest []byte) Hash {
	var t Tree
	t.h = sha256.New()
	return t.item(key, digest)
}

func xorInto(dst *Hash, x Hash) {
	for i := range dst {
		dst[i] ^= x[i]
	}
}

// Answer serves a remote Exchange's request from t. It never panics: an
// invalid request (level or index out of range, more indices than the level
// has nodes) gets a Response with Err set. The response always carries t's
// Config so the asker can detect a shape mismatch.
func (t *Tree) Answer(req Request) Response {
	resp := Response{Level: req.Level, Config: t.cfg}
	err := t.checkRange(req.Level, req.Indices)
	if err == nil && len(req.Indices) > t.cfg.width(req.Level) {
		err = fmt.Errorf("merkle: %d indices requested at level %d, which has %d nodes",
			len(req.Indices), req.Level, t.cfg.width(req.Level))
	}
	if err != nil {
		resp.Err = err.Error()
		return resp
	}
	resp.Indices = append([]uint32(nil), req.Indices...)
	resp.Hashes = t.Hashes(req.Level, req.Indices)
	return resp
}
