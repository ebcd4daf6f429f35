package vnode

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/storage"
)

// A vnode persists its Merkle tree when it closes cleanly (Store.Close),
// so that the next Open loads it instead of scanning the partition. The
// record lives in KeyspaceMeta under treeKey(partition) and is valid while
// the partition's data is what it was at the Close: the first write after
// an Open deletes it in the same atomic batch as its data (Store.commit),
// so a crash after any change finds no record, and the vnode builds its
// tree again from a scan (OpenBuilding).
//
// Record format 1:
//
//	magic "dynamo-tree" | format (1 byte) | partition (4 bytes, big endian) |
//	Depth (1 byte) | FanoutBits (1 byte) | count and leaves (merkle.Tree.AppendLeaves) |
//	SHA-256 of everything before, truncated to 16 bytes
const (
	treeMagic   = "dynamo-tree"
	treeFormat1 = 1
	treeHeader  = len(treeMagic) + 1 + 4 + 1 + 1
	treeSumLen  = 16
)

// errTreeRecord marks a persisted tree that cannot be trusted: torn,
// another format, another partition or shape.
var errTreeRecord = errors.New("vnode: persisted Merkle tree unusable")

// treeKey is the KeyspaceMeta key of partition p's persisted tree.
func treeKey(p uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), treePrefix...), p)
}

// encodeTree is the record of t, the tree of partition p.
func encodeTree(p uint32, t *merkle.Tree) []byte {
	cfg := t.Config()
	b := make([]byte, 0, treeHeader+cfg.EncodedSize()+treeSumLen)
	b = append(b, treeMagic...)
	b = append(b, treeFormat1)
	b = binary.BigEndian.AppendUint32(b, p)
	b = append(b, byte(cfg.Depth), byte(cfg.FanoutBits))
	b = t.AppendLeaves(b)
	sum := sha256.Sum256(b)
	return append(b, sum[:treeSumLen]...)
}

// decodeTree returns the tree a record holds, if it is an intact record of
// partition p with shape cfg; otherwise an error wrapping errTreeRecord
// that says why.
func decodeTree(p uint32, cfg merkle.Config, b []byte) (*merkle.Tree, error) {
	if len(b) < treeHeader+treeSumLen || !bytes.HasPrefix(b, []byte(treeMagic)) {
		return nil, fmt.Errorf("%w: %d bytes, no record header", errTreeRecord, len(b))
	}
	body, sum := b[:len(b)-treeSumLen], b[len(b)-treeSumLen:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:treeSumLen]) {
		return nil, fmt.Errorf("%w: checksum mismatch (torn or damaged)", errTreeRecord)
	}
	h := body[len(treeMagic):]
	if h[0] != treeFormat1 {
		return nil, fmt.Errorf("%w: format %d, this build reads %d", errTreeRecord, h[0], treeFormat1)
	}
	if got := binary.BigEndian.Uint32(h[1:]); got != p {
		return nil, fmt.Errorf("%w: record of partition %d, not %d", errTreeRecord, got, p)
	}
	if got := (merkle.Config{Depth: int(h[5]), FanoutBits: int(h[6])}); got != cfg {
		return nil, fmt.Errorf("%w: tree of shape %+v, the vnode uses %+v", errTreeRecord, got, cfg)
	}
	t, err := merkle.DecodeLeaves(cfg, body[treeHeader:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTreeRecord, err)
	}
	return t, nil
}

// loadTree reads partition p's persisted tree. found reports whether any
// record was there (the first write must delete it even when it was
// unusable); t is nil when there was none or it cannot be trusted, and
// why says which. A record of a non-empty tree for a partition without
// data, or of an empty one for a partition with data, is stale (the data
// changed without this vnode, as a drop by another build would).
func loadTree(e storage.Engine, p uint32, cfg merkle.Config) (t *merkle.Tree, found bool, why error, err error) {
	raw, err := e.Get(storage.KeyspaceMeta, treeKey(p))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil, nil
	}
	if err != nil {
		return nil, false, nil, fmt.Errorf("vnode %d: reading the persisted Merkle tree: %w", p, err)
	}
	t, why = decodeTree(p, cfg, raw)
	if why != nil {
		return nil, true, why, nil
	}
	has, err := HasData(e, p)
	if err != nil {
		return nil, true, nil, fmt.Errorf("vnode %d: %w", p, err)
	}
	if has != (t.Count() > 0) {
		return nil, true, fmt.Errorf("%w: it counts %d keys, and the partition has data: %v", errTreeRecord, t.Count(), has), nil
	}
	return t, true, nil, nil
}

// cleanKey is the KeyspaceMeta key of the journal marker MarkClean writes.
var cleanKey = []byte("trees-clean")

// treePrefix is the KeyspaceMeta prefix of every persisted tree.
var treePrefix = []byte("tree/")

// MarkClean records, after every vnode over e has closed and as the last
// write before e closes, the engine's journal (storage.Journaled): the
// next start keeps the persisted trees only if it finds that marker equal
// to the engine's journal before its open (ForgetUnclean), so a record is
// never trusted after a crash, or after any other process (an older
// build that does not know the records, a tool) wrote to the directory.
// Engines that are not Journaled need no marker: their records rest on
// the first write deleting them.
func MarkClean(e storage.Engine) error {
	j, ok := e.(storage.Journaled)
	if !ok {
		return nil
	}
	// Writing the marker may rotate the journal; the second write then
	// lands in the new one, which it cannot fill.
	for range 3 {
		n, err := j.Journal()
		if err != nil {
			return err
		}
		b := storage.NewBatch()
		b.Put(storage.KeyspaceMeta, cleanKey, binary.BigEndian.AppendUint64(nil, n))
		if err := e.Write(b, storage.WriteOptions{Sync: true}); err != nil {
			return fmt.Errorf("vnode: marking the persisted Merkle trees: %w", err)
		}
		if after, err := j.Journal(); err != nil || after == n {
			return err
		}
	}
	return nil
}

// ForgetUnclean deletes every persisted tree unless the engine's last
// session ended with MarkClean and no process opened it since (its marker
// equals the journal before this open). Call it at start, before any
// vnode opens; it reports how many records it deleted.
func ForgetUnclean(e storage.Engine) (int, error) {
	j, ok := e.(storage.Journaled)
	if !ok {
		return 0, nil
	}
	raw, err := e.Get(storage.KeyspaceMeta, cleanKey)
	if err == nil && len(raw) == 8 && binary.BigEndian.Uint64(raw) == j.PriorJournal() {
		return 0, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("vnode: reading the persisted trees' marker: %w", err)
	}
	it := e.NewIterator(storage.KeyspaceMeta, storage.Range{Start: treePrefix, Limit: []byte("tree0")})
	b := storage.NewBatch()
	for it.Next() {
		b.Delete(storage.KeyspaceMeta, it.Key())
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("vnode: listing persisted trees: %w", err)
	}
	n := b.Len()
	if n == 0 {
		return 0, nil
	}
	if err := e.Write(b, storage.WriteOptions{Sync: true}); err != nil {
		return 0, fmt.Errorf("vnode: deleting %d persisted trees: %w", n, err)
	}
	return n, nil
}
