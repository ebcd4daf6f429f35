// Package storage is the local storage engine of a dynamo node.
//
// An [Engine] is an ordered key-value store split into a few keyspaces
// ([KeyspaceData] for partition objects, [KeyspaceHints] for hinted handoff,
// [KeyspaceMeta] for node metadata). Two implementations exist: [LevelDB],
// the durable engine backed by goleveldb, and [Memory], a deliberately simple
// in-memory reference model used by tests. [Faulty] wraps any engine and
// injects errors, in the spirit of pebble's errorfs.
//
// The contract every engine honours:
//
//   - Get returns a copy of the stored value, or [ErrNotFound].
//   - Write applies a [Batch] atomically: all of its records, in order, or
//     none of them. With [WriteOptions.Sync] the write is on stable storage
//     before Write returns.
//   - NewIterator sees a consistent snapshot taken when it is created and
//     yields keys of one keyspace in ascending byte order. Later writes are
//     invisible to it. Key and Value return copies the caller may keep.
//   - Bad arguments (nil batch, unknown keyspace, empty key, inverted range)
//     fail with an error wrapping [ErrInvalid].
//   - Disk failures surface as errors, never panics; a full disk is reported
//     as an error wrapping [ErrNoSpace] where it can be detected.
//   - After Close every operation, including operations on iterators that
//     were still open, returns [ErrClosed]. A second Close returns
//     [ErrClosed]. Nothing panics.
//
// Engines are safe for concurrent use. Iterators and batches are not: each
// belongs to one goroutine at a time.
//
// Object keys of partition data are laid out by [ObjectKey] as
// partition (4 bytes, big endian) | segment (2 bytes, big endian) | key, so
// that [PartitionRange] and [SegmentRange] can scan one partition or one
// Merkle segment of it.
//
// [LoadIdentity] keeps the node's name and epoch in [KeyspaceMeta]: a data
// directory belongs to one node name, and a wiped one gets a fresh epoch.
package storage
