// Package vnode is the storage side of a vnode: one partition's replica on
// one node. The vnode actor (package actors) owns a Store and calls it from
// its single goroutine, so a Store is not safe for concurrent use.
//
// Contract:
//   - Objects are version.Set values stored as messages.StoredObject under
//     storage.ObjectKey(partition, segment, key), segment = ring.SegmentOf.
//   - Get returns the stored set (nil when absent). Coordinate applies a
//     client write as the coordinating replica (version.Update with this
//     node incarnation's actor id) and stores the result. Merge syncs a set
//     from another replica (replication, read repair, hints, anti-entropy,
//     handoff) into the stored one and writes only when something changed.
//   - Dots are unique per actor across the whole vnode: the vnode keeps a
//     dot sequence, passed to version.Update as the floor, and persists a
//     lease ahead of it in the same atomic batch as the object, so after a
//     restart, or after a key's tombstone was reaped, no dot is reused
//     (Riak's kv679).
//   - The partition's merkle.Tree is rebuilt by a scan at Open and kept
//     current on every write in O(1) from the old and new digests. It is
//     updated only after the write succeeded: a failed write (full disk,
//     I/O error) changes neither storage nor the tree and returns an error
//     wrapping the storage error.
//   - A stored object that does not decode is reported by Get as an error
//     wrapping ErrCorrupt and counted; it hashes to a digest no valid object
//     has, so anti-entropy finds it, and Merge or Coordinate replace it (the
//     other replicas still hold its siblings).
package vnode
