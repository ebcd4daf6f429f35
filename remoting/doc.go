// Package remoting is what a node and its clients share to talk to each
// other: the protoactor actor system with remoting on a canonical address
// (StartSystem, quiet by default, optionally with mutual TLS) and its
// worker pool, the actor ids every node uses (RouterName, VnodeName, ...),
// the decoding of a vnode's replica read (ReplicaRead, RemoteError), the
// fault injection vocabulary (Component), and the Transport seam: requests,
// sends and connection news over a System (NewTransport) or inside one
// process (MemoryNetwork, for tests under the race detector).
//
// Contract:
//   - It depends only on messages, version and protoactor, so the Go client
//     links neither the storage engine nor the node's actors (a lint test
//     holds this).
//   - Actors must be spawned only after StartSystem returns: before remoting
//     starts their PIDs carry the address "nonhost" and replies cannot find
//     them.
//   - Messages addressed to another spelling of the system's own address
//     (localhost, 127.0.0.1, a local interface, with its port) are delivered
//     locally: protoactor compares addresses as strings and would otherwise
//     forward them to itself forever.
//   - A wire error a peer answered with stays a RemoteError, its code and
//     field kept, until a coordinator passes it on.
package remoting
