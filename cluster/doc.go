// Package cluster turns serf membership into dynamo's view of the cluster.
//
// This file set holds the pure part, used by the membership actor
// and tested on its own:
//   - Tags: what each node publishes in its serf tags (canonical actor
//     address, capacity weight, zone, Q, protocol version), encoded within
//     serf's 512-byte limit, decoded with errors that name the tag.
//   - Compatible: a node whose Q or protocol version differs from the
//     cluster's is refused with an error saying both values.
//   - View: serf members (name, status, tags) to ring members; failed nodes
//     stay in the ring as Down, leaving nodes as Leaving, left nodes go.
//
// Cluster-wide constants (Q, hash, protocol version) travel in every node's
// tags so that a node started with a different Q is refused at join.
package cluster
