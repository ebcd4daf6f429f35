package vnode

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// Fault injection (`dynamo debug corrupt`, the chaos harness): stored
// objects overwritten with garbage under a running vnode, as a disk that
// rots would leave them.

// Corrupt overwrites the stored bytes of each key of keys that this vnode
// holds with garbage (bytes that never decode), in one storage write, and
// returns the keys it corrupted; keys not stored are skipped. The object
// cache forgets them, and the Merkle tree takes the digest a corrupt object
// gets when the tree is rebuilt at the next start (a domain of its own), so
// anti-entropy repairs them from the other replicas as it would after a
// restart. For fault injection only: it destroys data.
func (s *Store) Corrupt(keys [][]byte, rng *rand.Rand) ([][]byte, error) {
	s.drain()
	type victim struct {
		key, okey, raw, oldDigest []byte
		seg                       uint16
	}
	var vs []victim
	b := storage.NewBatch()
	for _, key := range keys {
		okey, seg, err := s.locate(key)
		if err != nil {
			return nil, err
		}
		old, err := s.e.Get(storage.KeyspaceData, okey)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("vnode %d: %w", s.cfg.Partition, err)
		}
		_, oldDigest, _ := s.decode(okey, old)
		raw := garbage(rng)
		b.Put(storage.KeyspaceData, okey, raw)
		vs = append(vs, victim{key: key, okey: okey, raw: raw, oldDigest: oldDigest, seg: seg})
	}
	if len(vs) == 0 {
		return nil, nil
	}
	err := s.commit(b, s.opts)
	out := make([][]byte, 0, len(vs))
	for _, v := range vs {
		s.cache.remove(v.okey) // storage may hold either after a failed write
		if err == nil {
			// The vnode learns of the damage when it next reads the
			// object, as it would of a disk's.
			s.tree.Update(uint32(v.seg), v.key, v.oldDigest, corruptDigest(v.raw))
			out = append(out, v.key)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("vnode %d: corrupting %d keys: %w", s.cfg.Partition, len(vs), err)
	}
	return out, nil
}

// SampleKeys returns up to n keys stored in the partition, drawn uniformly
// by rng (one scan).
func (s *Store) SampleKeys(n int, rng *rand.Rand) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	it := s.e.NewIterator(storage.KeyspaceData, storage.PartitionRange(s.cfg.Partition))
	defer it.Close()
	var out [][]byte
	seen := 0
	for it.Next() {
		_, _, key, err := storage.ParseObjectKey(it.Key())
		if err != nil {
			return nil, err
		}
		seen++
		if len(out) < n {
			out = append(out, append([]byte(nil), key...))
		} else if j := rng.IntN(seen); j < n {
			out[j] = append([]byte(nil), key...)
		}
	}
	return out, it.Error()
}

// garbage is 16 to 80 random bytes that do not decode as a stored object:
// the first byte is a protobuf tag of the invalid wire type 7.
func garbage(rng *rand.Rand) []byte {
	for {
		b := make([]byte, 16+rng.IntN(65))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		b[0] = 0x07
		if _, err := version.Unmarshal(b); err != nil {
			return b
		}
	}
}
