// Package reap is the pure logic of reclaiming deleted keys and bounding
// clocks (docs/design.md section 3, "Deletes" and "Pruning", and 9b, "Reap
// passes"): no I/O, clocks, goroutines or randomness. The Merkle syncer
// actor (actors/syncer.go) carries out a pass; the vnode store
// (vnode.Store.ReapCandidates, ReapCheck, Reap) answers it.
//
// A reap pass covers a batch of keys of one partition, coordinated by the
// partition's first primary while every primary is up:
//
//  1. The coordinator's vnode lists candidates (Classify): dead keys
//     (every sibling a delete or expired) whose latest death is older than
//     Policy.Grace, and keys whose clock is longer than
//     Policy.Prune.KeepEntries with an entry that pruning might drop.
//  2. Every other primary's vnode answers, for each candidate, whether it
//     stores exactly that version (same digest) or nothing of the key, and
//     names its own retired incarnations (Retired) among the clocks' actors.
//  3. Plan keeps the candidates every primary holds identically (for a dead
//     key, a primary that has nothing of it counts as holding it): a dead
//     key is deleted; a clock is pruned with version.Prune, stable
//     being the common clock and Retired the union of what the primaries
//     named. Every primary then applies each Item only if it still stores
//     the checked digest (IsPruneOf guards a replacement), so a write that
//     races the pass wins.
//
// What is safe and what is not is said in Plan's documentation and in
// docs/design.md; the package's tests check it exhaustively over small
// sets.
package reap
