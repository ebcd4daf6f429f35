// Package actors holds dynamo's protoactor actors, built on the pure
// packages. Present today: StartSystem (actor system and remoting on a
// canonical address, quiet by default) and the vnode actor (one partition
// replica over vnode.Store, serving replica requests in Envelopes). The rest
// of the list below is issue 3's remaining work.
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
//   - Only messages.Envelope crosses process boundaries.
package actors
