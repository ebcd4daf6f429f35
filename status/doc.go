// Package status builds a node's status document: the JSON shape shared by
// `dynamo status --json`, the HTTP API's GET /status and the status web
// page. It is computed from a membership (client.Membership, as a node
// answers it) and the ring that membership gives; it does no I/O.
//
// Field names are a public interface: add fields, do not rename them.
package status
