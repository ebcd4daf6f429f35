// Package merkle maintains one Merkle tree per partition replica and runs the
// anti-entropy exchange that finds where two replicas disagree, as in Amazon's
// Dynamo paper and Cassandra's repair.
//
// # Purity
//
// The package is pure in the style of etcd-io/raft: no I/O, no clocks, no
// goroutines, no actors, no randomness. A Tree is plain data; an Exchange is a
// state machine that is stepped with messages, and the network lives outside.
// Neither type is safe for concurrent use, not even for reads: Root and Hashes
// recompute dirty inner nodes in place. The caller owns synchronisation.
//
// # Segments and leaves
//
// The caller assigns every key a 16-bit segment (0..65535), computed from the
// key's hash with the same function on every replica. Only the low 16 bits of
// the segment argument are used. With Config{Depth, FanoutBits} an inner node
// has Fanout = 1<<FanoutBits children and there are Depth levels below the
// root, so the tree has Fanout^Depth = 1<<(Depth*FanoutBits) leaves. Config
// requires FanoutBits in 1..8, Depth in 1..6 and Depth*FanoutBits <= 16 (so at
// most 65536 leaves, well under the 1<<20 limit). A segment maps to the leaf
// given by its top bits:
//
//	leaf = segment >> (16 - Depth*FanoutBits)
//
// and leaf l covers the inclusive segment range
// [l << shift, (l+1) << shift - 1] with shift = 16 - Depth*FanoutBits.
// DefaultConfig is FanoutBits 4, Depth 3: 4096 leaves of 16 segments each.
//
// # Hashing
//
// All hashes are 16 bytes (Hash), truncated SHA-256.
//
//   - Item hash: h(key, digest) = SHA-256(u64be(len(key)) || key ||
//     u64be(len(digest)) || digest)[:16]. The digest is the caller's canonical
//     hash of the stored object (all of its versions). Length prefixes make
//     ("ab","c") and ("a","bc") hash differently. A nil digest in Build and an
//     empty digest are the same item.
//   - Leaf hash: XOR of the item hashes of the keys in the leaf. An empty leaf
//     is zero.
//   - Inner hash: zero if all of its children are zero, otherwise
//     SHA-256(child_0 || child_1 || ... || child_{Fanout-1})[:16]. So an
//     all-empty subtree, and an empty tree's root, hash to zero by definition.
//
// Every hash is a function of the set of (key, digest) pairs only, so the
// order of writes does not matter, and Build (a full rescan) gives exactly the
// same tree as any history of Updates that ends in the same set.
//
// # Incremental updates
//
// Update(segment, key, oldDigest, newDigest) XORs h(key, oldDigest) out of
// the leaf and h(key, newDigest) in, in O(1): a nil oldDigest means the key
// was absent, a nil newDigest means it is removed. The caller promises that
// oldDigest is what the tree holds for the key (it has just read it from its
// store); the tree does not remember keys and cannot check. Count (number of
// keys) is maintained from the nil-ness of the digests. Update then marks the
// leaf's ancestors dirty (stopping at the first already-dirty one); Root and
// Hashes recompute only dirty nodes, each at most once per batch of writes.
// Use Clone to snapshot a tree for an exchange while writes continue.
//
// # Exchange protocol
//
// An Exchange compares the local tree with a remote tree it can only ask
// questions of. It is one-sided: the local side asks, the remote answers with
// Tree.Answer, and the local side learns which leaves differ (the caller then
// reconciles those segment ranges key by key, in both directions, e.g. with
// DiffKeys).
//
//		x := merkle.NewExchange(local)
//		for {
//			req, ok := x.Request()
//			if !ok {
//				break // x.Done(); x.DifferingSegments()
//			}
//			resp := send(req)            // remote runs remoteTree.Answer(req)
//			if err := x.Step(resp); err != nil {
//				return err // state is unchanged; retry or abandon
//			}
//		}
//
//	  - The first request is the root: Request{Level: 0, Indices: [0]}.
//	  - A response carries the level, the indices asked (echoed, in order),
//	    one hash per index and the remote's Config. Step rejects, with an error
//	    prefixed "merkle: " and without changing state, a response after the
//	    exchange finished, a remote error (Response.Err), a different Config, a
//	    wrong level, wrong lengths or indices other than those asked for. It
//	    never panics on any input.
//	  - Step compares each answered hash with the local one. If equal, the
//	    subtree is in sync and is never visited again. If the remote hash is
//	    zero (remote subtree empty), every non-empty local leaf below it differs
//	    and is recorded without further questions. Otherwise, at leaf level the
//	    leaf is recorded as differing; above it, all Fanout children are asked
//	    next. All questions for one level are batched into one Request, so an
//	    exchange takes at most Depth+1 round trips.
//	  - DifferingSegments merges the differing leaves into inclusive ranges of
//	    the 16-bit segment space, adjacent leaves merged.
//
// # Costs
//
// Wire size is estimated as 8 bytes of framing per message, 4 bytes per index
// and 16 bytes per hash; a response adds 2 bytes of Config plus any error
// text (see Request.WireSize and Response.WireSize). Identical trees finish
// after one round trip carrying only the root (42 bytes). With k
// differing leaves the exchange asks at most Depth*Fanout*k nodes below the
// root (fewer when differences share ancestors), each costing 24 bytes (index
// out, index and hash back), so the cost grows with k and with
// Depth*Fanout but not with the number of keys. CPU cost on each side is one
// hash lookup per question plus recomputing dirty inner nodes (at most the
// whole tree, Fanout^Depth * Fanout/(Fanout-1) nodes, once after writes).
package merkle
