// Package request owns what a client request may be, for every entry point
// that takes one: the Go client, the HTTP API and a node's router. It holds
// the operations (Op), the bounds on keys, values, quorums and deadlines
// (Limits, MaxTimeout), the check every entry point runs (Limits.Check), and
// the one decoding of a request's causal context (DecodeContext).
//
// Contract:
//   - Errors are wire errors (*messages.Error) naming the field and the
//     limit: INVALID_ARGUMENT for an empty key, a negative quorum, a quorum
//     above N or a deadline out of range; TOO_LARGE for a key or value above
//     its limit (Need is the limit); BAD_CONTEXT for a context that does not
//     decode. The client turns them into its typed errors, the HTTP API into
//     status codes, the router into its reply.
//   - A client does not know a node's limits: it checks with the zero
//     Limits (sizes unchecked) and the cluster's N; the router checks with
//     its node's Limits, so a request is refused for the same reason, in the
//     same words, wherever it is checked.
//   - No I/O, no clocks: it depends only on messages and version.
package request
