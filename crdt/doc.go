// Package crdt holds convergent replicated data types for applications that
// store their state in dynamo: an observed-remove set (ORSet, for shopping
// carts and other collections) and a counter (Counter, a PN-counter). It is
// pure: no I/O, no clocks, no goroutines, no randomness.
//
// Why: dynamo never loses a concurrent write; it keeps concurrent values as
// siblings and leaves their reconciliation to the application. These types
// make that reconciliation a merge whose result does not depend on the order
// or number of times it is applied, so any client may merge any siblings at
// any time and every replica converges to the same value.
//
// Contract:
//   - Merge is a join: commutative, associative and idempotent (property
//     tests check all three on states reached by random histories).
//   - ORSet is add-wins: an add concurrent with a remove of the same element
//     survives the merge; a remove of an add it observed is honoured (the
//     element does not come back in a merge with an older state); concurrent
//     adds all survive. Each add is tagged with a dot (actor, counter): the
//     caller names the actor and the set counts, so tags are unique without
//     randomness as long as one actor id is never used by two writers at
//     the same time (give each client process or device its own id; reuse
//     across its sequential writes is fine).
//   - Counter is a PN-counter: per actor, the sum of its increments and of
//     its decrements; the merge takes each actor's maxima. The same rule on
//     actor ids applies: two concurrent writers with one id lose increments.
//   - Encode is deterministic (equal states encode to equal bytes) and
//     versioned: two bytes of header (the type, 'S' or 'C', and the format,
//     1), then uvarint-framed fields in canonical order. Decode accepts only
//     that canonical form (so Decode then Encode gives back the input
//     bytes), refuses input above MaxEncodedSize, actor ids above
//     MaxActorLen bytes and elements above MaxElementLen bytes, and reports
//     every malformed input with an error wrapping ErrMalformed,
//     ErrUnknownFormat or ErrTooLarge; it never panics (fuzzed). Empty
//     input decodes as the empty state (a key written with no bytes).
//   - MergeORSets and MergeCounters have the shape of client.Update's merge
//     argument (func(siblings [][]byte) []byte). They cannot return an
//     error, and dropping a sibling they cannot decode would delete it for
//     good (the write that follows supersedes every sibling read). So an
//     undecodable sibling (garbage, another type, or a format written by a
//     newer version of this package) is kept verbatim in the merged value's
//     Unreadable list, which merges carry along (by union) until the
//     application inspects it and calls DropUnreadable. Nothing valid is
//     ever dropped silently.
//   - Limits on merged values are the store's: Encode does not refuse a
//     large state, and a value above the store's 1 MiB limit is refused by
//     the put that writes it (so client.Update fails and nothing is lost).
package crdt
