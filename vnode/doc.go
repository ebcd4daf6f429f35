// Package vnode is the storage side of a vnode: one partition's replica on
// one node. The vnode actor (package actors) owns a Store and calls it from
// its single goroutine, so a Store is not safe for concurrent use.
//
// Contract:
//   - Objects are version.Set values stored as messages.StoredObject under
//     storage.ObjectKey(partition, segment, key), segment = ring.SegmentOf.
//   - Get returns the stored set (nil when absent). Prepare applies a client
//     write as the coordinating replica (version.Update under the vnode's
//     current actor id) without storing it, and Commit stores it, so the
//     coordinator can replicate in between. Merge syncs
//     a set from another replica (replication, read repair, hints,
//     anti-entropy, handoff) into the stored one and writes only when
//     something changed.
//   - The vnode's actor id is Node@<16 random hex digits>, drawn at Open and
//     again before writing a key of which it may have lost a version it
//     coordinated under it (a corrupt object, a failed read, a drop, a
//     stored clock claiming more of it than was issued): a new version's
//     clock entry covers every lower counter of its actor, so it must never
//     claim a version the vnode no longer holds (Riak's kv679). A version
//     whose Commit failed (or never came) is kept in memory and the key's
//     next version is built on it. Counters start at 1 under each id and
//     are unique across the vnode's keys; nothing about them is persisted.
//   - A client context naming a counter of the current actor above the last
//     one issued is refused with version.ErrBadContext.
//   - The partition's merkle.Tree is rebuilt by a scan at Open and kept
//     current on every write in O(1) from the old and new digests. It is
//     updated only after the write succeeded: a failed write (full disk,
//     I/O error) changes neither storage nor the tree and returns an error
//     wrapping the storage error.
//   - A stored object that does not decode is reported by Get as an error
//     wrapping ErrCorrupt and counted; it hashes to a digest no valid object
//     has, so anti-entropy finds it, and Merge or a client write (Prepare) replace it (the
//     other replicas still hold its siblings).
//   - Reap passes (package reap) list candidates with ReapCandidates, check
//     digests with ReapCheck, and apply with Reap: a tombstone is deleted
//     and a set replaced by its pruned copy only if the key still has the
//     checked digest, in one storage write, with the tree and the cache
//     following. Reap says when the partition's storage range is worth
//     compacting (Compact).
package vnode
