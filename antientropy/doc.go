// Package antientropy is the pure logic of Merkle-tree anti-entropy between
// two replicas of a partition, in the style of etcd-io/raft: no I/O, clocks,
// goroutines or randomness. The Merkle syncer actor (actors/syncer.go) is a
// thin shell that carries out what a Session asks and feeds back the answers.
//
// # A session
//
// A Session compares the local replica (a clone of its Merkle tree) with one
// remote replica and plans the repairs that make both identical:
//
//		s := antientropy.NewSession(localTree.Clone(), antientropy.DefaultConfig())
//		for {
//			a := s.Next()
//			switch a.Kind {
//			case antientropy.AskHashes:   // remote tree: Tree.Answer(a.Hashes)
//				err = s.StepHashes(resp)
//			case antientropy.ListKeys:    // both sides: (key, digest) in a.Range, key order
//				err = s.StepKeys(local, remote)
//			case antientropy.RepairKeys:  // read the flagged sides of a.Repairs, Resolve, write
//				s.StepRepaired(changed)
//			case antientropy.Finished:
//				return s.Stats()
//			}
//		}
//
//	 1. Trees: merkle.Exchange walks both trees from the root down, one round
//	    trip per level; identical replicas stop after the root.
//	 2. Keys: the differing segment ranges are listed on both sides, in pieces
//	    of at most Config.ListSegments segments (so one listing stays small
//	    however large the difference), and compared with merkle.DiffKeys.
//	 3. Repairs: every key present on one side only, or with different digests,
//	    becomes a Repair that says which sides to read. The shell reads them,
//	    merges with Resolve (version.Sync: commutative, associative,
//	    idempotent, so concurrent writes and repeated repairs do no harm), and
//	    writes the merged set to each side that lacks it.
//
// Next returns the same action until it is answered; a malformed answer
// returns an error and leaves the session unchanged. Sessions never panic on
// any input.
//
// # Scheduling
//
// A Scheduler pairs, round-robin, each partition a node holds with the next
// of its other replicas, so every pair of replicas is compared in turn.
//
// A Planner chooses the syncer's next job from a World (time passed in as
// NowMs): handoffs of partitions held but not owned, exchanges and reap
// passes take turns, each round robin; a handoff waits for every owner to
// be reachable and backs off after a failure (1 s doubling to 30 s); a reap
// pass runs only at the partition's first primary, when it is due and every
// primary is reachable. The syncer actor only carries the job out.
package antientropy
