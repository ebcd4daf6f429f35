// Package actors holds dynamo's protoactor actors, built on the pure
// packages and spawned on a remoting.System: the root supervisor,
// membership, the vnode manager and vnodes, the hint dispatcher, the Merkle
// syncer, the request router and its get/put coordinators.
//
// Contract (see docs/design.md, "Actors"):
//   - Per node: a root supervisor (one-for-one, restart limit, restarts
//     counted); a membership actor (serf events in, ring.Ring views out, via
//     package cluster); a vnode manager that starts and stops vnode actors
//     as ownership changes; one vnode actor per partition replica held, which
//     owns the partition's storage range and merkle.Tree; a hint dispatcher;
//     a Merkle syncer; a request router that spawns one short-lived
//     coordinator actor per get, put or delete.
//   - Actors are thin shells: quorum arithmetic is quorum.GetCore and
//     quorum.PutCore, versions are version.Set, placement is ring.Ring,
//     anti-entropy is merkle.Exchange. Actors feed them messages and carry
//     out what they return.
//   - Coordinators enforce a hard deadline with a scheduled message, not
//     SetReceiveTimeout (an idle timer).
//   - Only messages.Envelope crosses process boundaries. Messages between
//     actors of one node may be Go structs (a put coordinator's
//     coordinateWrite to its local vnode, which answers writePrepared
//     before its write is durable, so a put costs one round of fsyncs).
//   - The request path's actors (router, coordinators, vnodes, hint
//     dispatcher) run on the system's pool of long-lived goroutines
//     (remoting.System.Pool, which SpawnNode passes into their configs):
//     protoactor's default starts a goroutine per mailbox run, whose stack
//     growth cost a tenth of a node's CPU under load.
package actors
