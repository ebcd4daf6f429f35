// Package client is the Go client of a dynamo cluster: get, put, delete and
// read-merge-write of keys, with routing to the key's replicas and failover
// between nodes.
//
// Contract:
//   - The client runs its own protoactor actor system with remoting
//     (remoting.StartSystem) on Config.ListenAddr: a node replies on a
//     connection it opens back to the client, so that address must be
//     reachable from the nodes (set Advertise behind NAT). Only
//     messages.Envelope travels, addressed to each node's request router
//     (remoting.RouterName), with a request id from an atomic counter that the
//     reply must echo.
//   - New reads the membership (MembersRequest) from the first seed that
//     answers; when none does, the error matches ErrUnavailable and names
//     each seed tried and why. The membership is re-read in the background
//     every RefreshInterval and after every failover; Members reads it on
//     demand.
//   - Routing: the client computes the ring from the membership exactly as
//     the nodes do (ring.New with the members' weights, zones and states)
//     and sends each request to the first Up primary of the key's preference
//     list, then the next Up nodes of that list, then any other member, then
//     the seeds. A node that does not answer (no reply within the request
//     deadline plus a slack, a dead letter because it runs no router, a
//     refused or dropped connection) is suspected for a few seconds and the
//     request goes to the next node; so is a node that answers UNAVAILABLE
//     (for example one still starting). Any other answer, success or error,
//     is returned as is. At most six nodes are tried.
//   - A node the client holds no connection to is probed with a TCP connect
//     first, so a dead node costs microseconds instead of protoactor's
//     ~10 s of connection retries; a dropped connection (remoting's
//     EndpointTerminatedEvent) fails over the requests waiting on it at once.
//   - Deadlines: each request carries a deadline (Config.Timeout or the
//     Timeout option) that the node enforces; the client waits that long
//     plus a slack (100 ms + a quarter) so the node's own TIMEOUT or QUORUM
//     answer arrives first. The call's context bounds everything: when its
//     deadline is nearer, the node is sent a deadline that leaves it time to
//     answer, and when the context ends the call returns at once with an
//     error wrapping ctx.Err() (and ErrTimeout for a deadline).
//   - Checked before sending, nothing sent when wrong (*InvalidError,
//     ErrInvalid): an empty key, R or W negative or above the cluster's N
//     (from the membership), a negative timeout or one above a minute.
//   - Errors from nodes are typed: QUORUM gives *QuorumError (ErrQuorum)
//     with Need and Got; INVALID_ARGUMENT, TOO_LARGE and BAD_CONTEXT give
//     *InvalidError (ErrInvalid) naming the field; everything else gives
//     *ServerError with its code, and TIMEOUT and UNAVAILABLE also match
//     ErrTimeout and ErrUnavailable.
//   - Versions are opaque: Get returns every sibling and a Context (its own
//     type, so it cannot be swapped with a key or a value); Put and Delete
//     take it back, and the zero Context is a blind write. Update is Get, merge, Put with the read's context.
//     A write retried on another node after no answer may have been applied
//     by the first one too: the value then appears twice as siblings.
//   - Messages travel through a remoting.Transport: by default the
//     client's own protoactor system (remoting.NewTransport); tests give it
//     a remoting.MemoryNetwork's (Config.Transport), so that the client's
//     logic runs under the race detector. Tests over real remoting, and the
//     examples, are built only without it (several protoactor systems in
//     one process trip the detector inside the library).
package client
