package messages

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ProtocolVersion is the inter-node protocol this build speaks. It travels in
// serf tags and in every Envelope. Version 1 is the first release.
const ProtocolVersion uint32 = 1

// ErrUnknownBody is returned by Open for an envelope whose body this build
// does not know (sent by a newer node) or that has no body at all.
var ErrUnknownBody = errors.New("messages: envelope body unknown to this node")

// Wrap puts a message into an Envelope for requestID. It panics only on a
// programming error: a message type that has no oneof case.
func Wrap(requestID uint64, m proto.Message) *Envelope {
	env := &Envelope{Protocol: ProtocolVersion, RequestId: requestID}
	switch b := m.(type) {
	case *GetRequest:
		env.Body = &Envelope_Get{Get: b}
	case *GetReply:
		env.Body = &Envelope_GetReply{GetReply: b}
	case *PutRequest:
		env.Body = &Envelope_Put{Put: b}
	case *PutReply:
		env.Body = &Envelope_PutReply{PutReply: b}
	case *DeleteRequest:
		env.Body = &Envelope_Delete{Delete: b}
	case *DeleteReply:
		env.Body = &Envelope_DeleteReply{DeleteReply: b}
	case *MembersRequest:
		env.Body = &Envelope_Members{Members: b}
	case *MembersReply:
		env.Body = &Envelope_MembersReply{MembersReply: b}
	case *FaultRequest:
		env.Body = &Envelope_Fault{Fault: b}
	case *FaultReply:
		env.Body = &Envelope_FaultReply{FaultReply: b}
	case *ReplicaGetRequest:
		env.Body = &Envelope_ReplicaGet{ReplicaGet: b}
	case *ReplicaGetReply:
		env.Body = &Envelope_ReplicaGetReply{ReplicaGetReply: b}
	case *ReplicaCoordinateRequest:
		env.Body = &Envelope_ReplicaCoordinate{ReplicaCoordinate: b}
	case *ReplicaCoordinateReply:
		env.Body = &Envelope_ReplicaCoordinateReply{ReplicaCoordinateReply: b}
	case *ReplicaPutRequest:
		env.Body = &Envelope_ReplicaPut{ReplicaPut: b}
	case *ReplicaPutReply:
		env.Body = &Envelope_ReplicaPutReply{ReplicaPutReply: b}
	case *Error:
		env.Body = &Envelope_Error{Error: b}
	default:
		panic(fmt.Sprintf("messages: %T cannot travel in an Envelope", m))
	}
	return env
}

// Open returns the message inside env, or ErrUnknownBody when env is nil,
// has no body, or carries a body this build does not know.
func Open(env *Envelope) (proto.Message, error) {
	if env == nil {
		return nil, fmt.Errorf("%w: nil envelope", ErrUnknownBody)
	}
	switch b := env.GetBody().(type) {
	case *Envelope_Get:
		return b.Get, nil
	case *Envelope_GetReply:
		return b.GetReply, nil
	case *Envelope_Put:
		return b.Put, nil
	case *Envelope_PutReply:
		return b.PutReply, nil
	case *Envelope_Delete:
		return b.Delete, nil
	case *Envelope_DeleteReply:
		return b.DeleteReply, nil
	case *Envelope_Members:
		return b.Members, nil
	case *Envelope_MembersReply:
		return b.MembersReply, nil
	case *Envelope_Fault:
		return b.Fault, nil
	case *Envelope_FaultReply:
		return b.FaultReply, nil
	case *Envelope_ReplicaGet:
		return b.ReplicaGet, nil
	case *Envelope_ReplicaGetReply:
		return b.ReplicaGetReply, nil
	case *Envelope_ReplicaCoordinate:
		return b.ReplicaCoordinate, nil
	case *Envelope_ReplicaCoordinateReply:
		return b.ReplicaCoordinateReply, nil
	case *Envelope_ReplicaPut:
		return b.ReplicaPut, nil
	case *Envelope_ReplicaPutReply:
		return b.ReplicaPutReply, nil
	case *Envelope_Error:
		return b.Error, nil
	}
	return nil, fmt.Errorf("%w (protocol %d, request %d)", ErrUnknownBody, env.GetProtocol(), env.GetRequestId())
}

// Unsupported is the reply to an envelope that Open could not open.
func Unsupported(env *Envelope) *Envelope {
	return Wrap(env.GetRequestId(), &Error{
		Code:    ErrorCode_ERROR_CODE_UNSUPPORTED,
		Message: fmt.Sprintf("protocol %d does not know this request (sender speaks %d)", ProtocolVersion, env.GetProtocol()),
	})
}
