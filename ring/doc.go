// Package ring maps keys to partitions and partitions to nodes, as a pure
// function of a membership view: every node that sees the same members
// computes the same preference lists, with no leader and no history.
//
// Contract:
//   - A key's position is the MD5 of its bytes (128 bits). The ring is cut
//     into Q equal partitions, Q a power of two from 8 to 1024 fixed when a
//     cluster is created; a key's partition is the top log2(Q) bits of its
//     hash, and its segment (used by anti-entropy and storage ranges) is the
//     next 16 bits. Data never changes partition; partitions change owners.
//   - A Ring is built from a Config (Q, N) and members (name, weight, zone,
//     state). Members that are Up or Down own partitions (a failure is
//     temporary); Leaving members own none. Each partition has N primaries on
//     N distinct nodes, on N distinct zones when the owning members span at
//     least N zones.
//   - Ownership: every (partition, member) pair gets a weighted rendezvous
//     score; pairs are taken greedily in descending score order while each
//     member stays under a capacity cap derived from its weight (water-filled
//     so no member exceeds Q and no zone exceeds Q when zones are enforced),
//     then any partition left short is filled by swaps. This keeps balance
//     within a few percent of the weighted ideal and, because scores do not
//     depend on other members, moves close to the ideal share when one member
//     joins or leaves (measured by `go run ./bench ring`).
//   - PreferenceList(p) is the N primaries, best score first, then every
//     other eligible member in descending score order: the fallbacks used by
//     sloppy quorum. SloppyTargets picks, for a set of down nodes, the
//     fallbacks that stand in for each down primary.
//   - The package is pure: no I/O, no clocks, no goroutines. A Ring is
//     immutable and safe for concurrent use.
package ring
