// Package hints is the durable hinted-handoff store of one node: the
// version sets this node keeps for other nodes (their "owners") because an
// owner was down when a write was replicated to it. The hints actor
// (package actors) owns a Store and calls it from its single goroutine, so
// a Store is not safe for concurrent use.
//
// Contract:
//   - Hints live in storage.KeyspaceHints, apart from the node's own data,
//     under len(owner) (1 byte) | owner | partition (4 bytes, big endian) |
//     key. The length byte makes one owner's hints one prefix range, in
//     (partition, key) order, that never mixes with an owner whose name
//     extends it ("n1" and "n10"). The value is a messages.HintRecord (format
//     1) holding the set and stored_ms (the storage key has the owner,
//     partition and key). It is laid out as a messages.StoredObject plus
//     the time, so a value an earlier release wrote (a bare StoredObject)
//     reads here, and a record written here reads there after a downgrade.
//   - A hint's stored time (Hint.StoredMs, Unix ms) is Config.Now at the
//     Put that created it; a Put that merges into it keeps the earlier of
//     its time and now, so a hint is as old as the oldest write it holds,
//     until it is deleted. A record without a readable time (earlier
//     format, or unparsable) counts as stored when the Store was opened.
//   - Put merges a set into the hint held for (owner, partition, key) with
//     version.Sync, and writes nothing when the stored hint already
//     descends the set, so a hint can be put any number of times. A stored
//     hint that does not decode is replaced by the set put over it.
//   - With Config.Sync (the default) every Put is on stable storage before
//     it returns: an acknowledged hint survives a crash. Delete does not
//     fsync: a delete lost in a crash only means the hint is delivered
//     again, which merges idempotently.
//   - Next pages through one owner's hints in (partition, key) order from a
//     Position, so delivery resumes where it stopped and never skips or
//     repeats a hint that stayed put. Each Hint carries the SHA-256 of the
//     stored bytes it was read from.
//   - Delete removes a hint only if the stored bytes still have that
//     digest: a hint merged again after it was read (a newer write the
//     owner has not received) is kept.
//   - A stored record whose value does not decode is still a hint: Open
//     counts it, Next returns it with a nil Set, Get reports it as an error
//     wrapping ErrCorrupt, and Delete removes it. A record whose key does
//     not parse is no hint of anyone: Open counts it as corrupt and Next
//     never returns it.
//   - NextStoredBy is Next restricted to the hints stored at or before a
//     time; it reads at most 16 records per hint it may return, so a call
//     stays short, and says whether it reached the end.
//   - The number of hints per owner, their bytes (Hint.Size: storage key
//     plus value) and their bytes per second stored are counted by one
//     scan at Open and kept exact in memory by Put and Delete, which change
//     them only after their write succeeded: Bytes, OldestMs (to the
//     second) and SizeCutoff (the second up to which the oldest hints must
//     go to bring an owner within a byte bound) read them without a scan. A failed write (full disk, I/O error) changes neither
//     storage nor the counts and returns an error wrapping the storage
//     error.
//   - Bad arguments fail with an error wrapping ErrInvalid that names the
//     field.
//
// Bucket is a token bucket, pure (the caller passes the time in), that
// bounds the rate at which hints are delivered.
package hints
