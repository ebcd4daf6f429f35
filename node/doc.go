// Package node assembles one dynamo node: the LevelDB data directory and
// the node's identity (name plus an epoch per data directory), the actor
// system with remoting on the node's canonical address, serf membership
// (cluster/membership) and the node's actors (package actors) under a root
// supervisor. `dynamo agent` and `dynamo dev` are thin shells over Start.
//
// Contract:
//   - Start fails with an error naming the `dynamo agent` flag at fault
//     (ErrConfig) on a bad configuration, and with ErrIncompatible when the
//     cluster it joins uses another Q or N. Nothing keeps running after a
//     failed Start.
//   - Q and N are stored in the data directory when it is created; a later
//     start with other values is refused.
//   - Stop does not leave the cluster: a stopped node is failed, a temporary
//     condition, and keeps its partitions. A node started again on the same
//     data directory keeps all its data and its identity.
package node
