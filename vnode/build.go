package vnode

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// ErrBuildStopped is what Build.Run returns when its stop channel closed
// first.
var ErrBuildStopped = errors.New("vnode: Merkle tree build stopped")

// Build makes a vnode's Merkle tree from a scan of a snapshot of its
// partition, taken when the Store opened (OpenBuilding), while the Store
// serves reads and writes. The Store records its writes meanwhile in a
// tree of changes; Store.Finish adds the two. Run scans on the caller's
// goroutine and touches nothing of the Store, so it runs beside it.
type Build struct {
	it      storage.Iterator
	cfg     merkle.Config
	p       uint32
	scanned atomic.Int64
	// Set by Run.
	tree    *merkle.Tree
	corrupt uint64
	err     error
	ran     bool
}

// Scanned is how many keys Run has read so far; safe from any goroutine.
func (b *Build) Scanned() int { return int(b.scanned.Load()) }

// Run scans the snapshot into a tree. It returns ErrBuildStopped once stop
// is closed (checked every few hundred keys), or the scan's storage error;
// either way Finish then fails and the vnode has no tree. It releases the
// snapshot before it returns. Call it once; nil stop never stops.
func (b *Build) Run(stop <-chan struct{}) error {
	if b.ran {
		return errors.New("vnode: Build.Run called twice")
	}
	b.ran = true
	defer b.it.Close()
	var scanErr error
	n := 0
	t, err := merkle.Build(b.cfg, func(yield func(segment uint32, key, digest []byte) bool) {
		for b.it.Next() {
			if n++; n%256 == 0 {
				b.scanned.Store(int64(n))
				select {
				case <-stop:
					scanErr = ErrBuildStopped
					return
				default:
				}
			}
			_, seg, key, err := storage.ParseObjectKey(b.it.Key())
			if err != nil {
				scanErr = err
				return
			}
			var digest []byte
			if set, err := version.Unmarshal(b.it.Value()); err != nil {
				b.corrupt++
				digest = corruptDigest(b.it.Value())
			} else {
				d := version.Digest(set)
				digest = d[:]
			}
			if !yield(uint32(seg), key, digest) {
				return
			}
		}
		scanErr = b.it.Error()
	})
	b.scanned.Store(int64(n))
	if err == nil {
		err = scanErr
	}
	if err != nil {
		b.err = fmt.Errorf("vnode %d: building the Merkle tree: %w", b.p, err)
		return b.err
	}
	b.tree = t
	return nil
}

// Close releases the snapshot of a Build that will not Run.
func (b *Build) Close() {
	if !b.ran {
		b.ran = true
		b.err = ErrBuildStopped
		_ = b.it.Close()
	}
}
