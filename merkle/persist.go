package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrLeaves marks an encoded tree (Tree.AppendLeaves) that does not decode.
var ErrLeaves = errors.New("merkle: encoded leaves invalid")

// Add folds d into t: every leaf of t becomes the XOR of the two leaves and
// t's count grows by d's. Because a leaf is the XOR of its items' hashes,
// the tree built from a snapshot, added to a tree of the Updates made
// after that snapshot (started empty, its count possibly negative), is
// the tree of the current state: Updates commute. Both must have the same
// Config.
func (t *Tree) Add(d *Tree) error {
	if d.cfg != t.cfg {
		return fmt.Errorf("merkle: adding a tree of shape %+v to one of shape %+v", d.cfg, t.cfg)
	}
	leaves, dl := t.nodes[t.cfg.Depth], d.nodes[d.cfg.Depth]
	for i := range leaves {
		xorInto(&leaves[i], dl[i])
	}
	t.count += d.count
	t.markAllDirty()
	return nil
}

func (t *Tree) markAllDirty() {
	for l := range t.dirty {
		for i := range t.dirty[l] {
			t.dirty[l][i] = true
		}
	}
}

// leavesHeader is the encoded count (8 bytes, big endian).
const leavesHeader = 8

// EncodedSize is the length of AppendLeaves' output for a tree of shape c.
func (c Config) EncodedSize() int { return leavesHeader + c.Leaves()*len(Hash{}) }

// AppendLeaves appends the tree's count and leaves to b: count (8 bytes, big
// endian, two's complement) then each leaf's 16 bytes in index order. The
// inner nodes follow from the leaves; the shape is the caller's to record.
func (t *Tree) AppendLeaves(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(int64(t.count)))
	for _, h := range t.nodes[t.cfg.Depth] {
		b = append(b, h[:]...)
	}
	return b
}

// DecodeLeaves returns the tree of shape cfg encoded by AppendLeaves. It
// fails, wrapping ErrLeaves, unless b is exactly cfg.EncodedSize() bytes
// holding a count >= 0.
func DecodeLeaves(cfg Config, b []byte) (*Tree, error) {
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if len(b) != cfg.EncodedSize() {
		return nil, fmt.Errorf("%w: %d bytes, a tree of %d leaves takes %d", ErrLeaves, len(b), cfg.Leaves(), cfg.EncodedSize())
	}
	count := int64(binary.BigEndian.Uint64(b))
	if count < 0 {
		return nil, fmt.Errorf("%w: count %d", ErrLeaves, count)
	}
	t.count = int(count)
	leaves := t.nodes[cfg.Depth]
	for i := range leaves {
		copy(leaves[i][:], b[leavesHeader+i*len(Hash{}):])
	}
	t.markAllDirty()
	return t, nil
}
