// Package version implements dotted version vector sets (DVV sets), the
// causality tracking of dynamo's values, as a pure package: no I/O, no
// clocks (callers pass wall time in), no goroutines.
//
// A Set holds, for one key, a causal summary (a version vector: actor ->
// highest counter seen) and the siblings: the values that are still
// concurrent, each tagged with the dot (actor, counter) of the write that
// made it. Invariant: every sibling's dot is covered by the clock, and no
// two siblings share a dot.
//
// Contract:
//   - Sync(a, b) merges two replicas' sets. It is commutative, associative
//     and idempotent: a sibling survives unless the other side has seen its
//     dot (clock covers it) and no longer holds it, i.e. it was overwritten.
//   - Update(local, ctx, write, actor, now) is what a coordinating replica
//     does with a client write: discard the siblings the client's context
//     covers (the client saw them), keep the rest as siblings, and add the new
//     value with a fresh dot of actor. Two writes with the same context
//     through the same coordinator therefore both survive (plain vector
//     clocks keyed by the coordinator lose one of them).
//   - An actor is a node incarnation ("name@epoch"), so a node that lost its
//     data never reissues dots (Riak's kv679 "key amnesia").
//   - A delete is an Update with a tombstone; a set whose siblings are all
//     tombstones reads as not found. Its context still covers the tombstones.
//   - Last-write-wins (ModeLWW) is opt-in: an LWW write discards every
//     sibling its coordinator knows, and an LWW read returns only the sibling
//     with the greatest (timestamp, dot). Concurrent writes are lost by
//     design. Sync stays the same causal merge, so the laws above hold in
//     both modes.
//   - Prune drops clock entries of retired actors by count and age. It never
//     drops an entry that a sibling's dot needs, so it can only make a later
//     merge keep an extra sibling (false concurrency), never order two
//     concurrent versions or lose a write.
//   - Contexts are opaque, versioned bytes (EncodeContext/DecodeContext);
//     stored sets are messages.StoredObject (Marshal/Unmarshal). Decoders
//     validate everything and return errors wrapping ErrInvalid or
//     ErrBadContext, never panic.
//   - Digest is a hash of a canonical encoding (sorted clock, sorted
//     siblings, no wall-clock metadata), so equal sets hash equal on every
//     node and anti-entropy never "repairs" equal objects forever.
package version
