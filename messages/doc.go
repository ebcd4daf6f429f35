// Package messages holds every protobuf message that crosses a process
// boundary or is stored on disk (proto package dynamo.v1), generated from
// proto/dynamo/v1/*.proto by `make proto`. The generated .pb.go files are
// committed; `make verify` regenerates them and fails when they drift.
//
// Contract:
//   - Between processes, only Envelope travels. Its body is a oneof; a node
//     built from an older release decodes a newer body as unknown fields, and
//     Body(env) reports it as unknown, so the node answers
//     ERROR_CODE_UNSUPPORTED instead of crashing (protoactor remoting crashes
//     a process that receives a message type it does not have compiled in).
//   - Field numbers are never reused; new fields are optional in meaning.
//   - Every node links this one package, so all inter-node types are known to
//     every node of the same ProtocolVersion.
//   - Stored formats (StoredObject, Hint, CausalContext) carry a format
//     number; decoders reject formats they do not know with an error.
package messages
