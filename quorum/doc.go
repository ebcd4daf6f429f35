// Package quorum holds the pure decision logic of a Dynamo-style request
// coordinator: given the replies of the replicas asked for a key, has the
// request heard enough, what is the answer, and which replicas need read
// repair. It is modelled on riak_kv's riak_kv_get_core and riak_kv_put_core.
//
// # Purity
//
// The package does no I/O, reads no clock, starts no goroutine and keeps no
// global state. A coordinator (an actor written elsewhere) owns one core per
// request, sends the requests itself, feeds every reply in with Add, and asks
// Enough, Result, Done and RepairTargets after each one. Time is outside the
// package: when the coordinator's deadline fires it calls Timeout, which marks
// every replica that has not replied as TimedOut. A core is not safe for
// concurrent use; it needs no locking when it is owned by one actor.
//
// # Stored objects
//
// The cores do not know the versioning scheme. A GetCore is generic over the
// stored object type V and is told how to handle it by an Object[V]:
//
//   - Merge(a, b) returns the synchronisation of two version sets. It must be
//     commutative, associative and idempotent, and must not modify a or b
//     (the core keeps both, and a Result handed out earlier shares them).
//   - Descends(a, b) reports whether a has seen everything in b (a >= b
//     causally).
//
// # Configuration
//
// N is the replication factor, R and W the read and write quorums, with
// 1 <= R, W <= N <= MaxN (see Validate). Replicas is the list of nodes the
// coordinator asked, in preference-list order; it is taken as given (it may
// hold sloppy-quorum fallbacks, so it may be shorter or longer than N) but it
// must hold at least R (or W) distinct nodes. Configuration errors wrap
// ErrInvalid and name the field and the limit, e.g. "quorum: r=4 exceeds n=3".
//
// # Reads (GetCore)
//
// Each asked replica replies once: Found (with a value), NotFound, Failed (the
// replica returned an error) or TimedOut (deadline or dropped connection).
//
//   - A Found reply always counts toward R. A NotFound reply counts toward R
//     only when NotFoundOK is set (riak's notfound_ok, true by default in riak;
//     the zero value of the Go field is false, so a coordinator wanting riak's
//     default must set it).
//   - The read succeeds as soon as R replies count. The answer is the Merge of
//     every Found reply received up to that moment; a NotFound is just an empty
//     version set, so if any of them was Found the merged value wins and the
//     key is reported found. If none was Found the key is not found.
//   - The read is decided without success as soon as so many replies did not
//     count (Failed, TimedOut, and NotFound when NotFoundOK is false) that R
//     can no longer be reached. With BasicQuorum (riak's basic_quorum) it is
//     also decided once a majority of the replicas asked replied without
//     counting, even if R could in theory still be reached; as in riak this
//     applies to failures too, not only to not-founds.
//   - A read decided without success is answered "not found" (no error) when
//     every reply was NotFound: no replica reached has the key and none failed
//     (this only happens when NotFoundOK is false). Otherwise it is answered
//     with a *Error whose Kind is "quorum".
//   - A coordinator that asks only some replicas at first (and the others
//     when one fails or is slow) marks the ones it will not ask with Skip:
//     the core then decides as one built over the others only. A skipped
//     replica counts neither toward R nor against it, is no repair target
//     and no cause in an error.
//   - Once decided the answer never changes. Later replies are still recorded
//     so that, when every replica has replied or timed out (Done), the core can
//     tell which replicas need read repair: those that answered NotFound, and
//     those that answered Found with a value that does not descend the Merge of
//     all Found replies. Failed and TimedOut replicas are never repair targets
//     (their state is unknown).
//
// # Writes (PutCore)
//
// Each asked replica replies once: Acked, Failed or TimedOut. A replica listed
// in Fallbacks stands in for a down primary (it holds a hinted-handoff copy for
// it); its ack counts toward W (sloppy quorum), and PutResult.Hinted says how
// many of the acks were fallbacks'. The write succeeds once W replicas have
// acked; it fails as soon as W can no longer be reached, or at Timeout.
//
// # Errors
//
// A request that cannot reach its quorum is answered with a *Error, which
// carries what was needed and what was got, in riak's style:
//
//	read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)
//	read primary quorum: 1 of 2 primaries answered not found (2 asked: 1 failed)
//
// errors.Is(err, ErrQuorum) reports such a failure and errors.As gives the
// *Error. Misuse of Add wraps ErrDuplicate, ErrUnknownNode or ErrInvalid, and
// Result before the core has decided returns ErrPending.
package quorum
