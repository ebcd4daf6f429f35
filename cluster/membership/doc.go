// Package membership runs this node's serf agent (gossip membership and
// failure detection) and reports the cluster as []cluster.Node. It holds
// the I/O that the pure package cluster must not: sockets, goroutines, the
// snapshot file.
//
// Contract:
//   - Start binds the gossip address (TCP and UDP, same port) and starts serf
//     alone; Join then contacts seeds given as host:port. A node may list
//     itself among the seeds.
//   - Members is a point-in-time copy of every member serf knows, sorted by
//     name, statuses mapped to cluster.Status. Failed members stay until serf
//     reaps them after Config.ReconnectTimeout (72 h by default); left members
//     stay as StatusLeft until serf's tombstone timeout (24 h).
//   - Changes is a capacity-1 channel, signalled (coalesced, never blocking
//     serf) after every member event: join, leave, failed, update, reap. The
//     receiver re-reads Members; it never gets the events themselves.
//   - SetTags gossips new tags; tags must encode within serf's 512 bytes.
//   - Leave then Shutdown is a graceful exit (peers see StatusLeft); Shutdown
//     alone looks like a crash (peers see StatusFailed). Shutdown is
//     idempotent and waits for this package's own goroutine.
//
// Choices made here that serf leaves open:
//   - A node that comes back under the same name on another address is
//     accepted once its old incarnation is dead and DeadNodeReclaimTime
//     (5 probe intervals: 5 s with LAN timings, 500 ms with Config.Fast) has
//     passed, at its next push/pull (30 s LAN, 500 ms Fast).
//   - Serf's name-conflict resolution is off: with it on, a node restarted on
//     a new address before the others noticed its death loses the vote
//     (they still hold the old address) and serf shuts itself down silently.
//     Duplicate live names are an operator error that memberlist logs.
//   - serf and memberlist log through Config.Logger: "[ERR]" lines at Warn,
//     the rest at Debug.
package membership
